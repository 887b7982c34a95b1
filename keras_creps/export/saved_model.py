"""Writing a generator as a TF Serving model version, atomically."""

import json
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from keras_creps.export.export_config import CONFIG_FILE
from keras_creps.export.export_config import build_config
from keras_creps.export.renderer import Renderer
from keras_creps.export.request_checks import DEFAULT_MAX_PIXELS
from keras_creps.export.request_checks import DEFAULT_MAX_SAMPLES
from keras_creps.export.request_checks import MAX_ABS_TRUNCATION_PSI
from keras_creps.export.request_checks import ServingLimits
from keras_creps.export.serving_module import ServingModule
from keras_creps.rendering.coords import ALIGNMENTS
from keras_creps.utils.arguments import finite_float
from keras_creps.utils.arguments import positive_int

_VERSION = re.compile(r"^[0-9]+$")


def next_version(export_dir):
    """`1 +` the largest integer version directory in `export_dir` (1 if none).

    Example:
    ```python
    next_version("models/creps")   # 3 when 1/ and 2/ exist
    ```
    """
    if not os.path.isdir(export_dir):
        return 1
    versions = [int(name) for name in os.listdir(export_dir) if _VERSION.match(name)]
    return max(versions, default=0) + 1


def export_saved_model(generator, export_dir, *, version=None, max_samples=DEFAULT_MAX_SAMPLES,
                       max_pixels=DEFAULT_MAX_PIXELS, truncation_psi=1.0, align="corners", keep_aspect=False,
                       band_pixels=16384, max_tile_width=1024, line_chunk=1024):
    """Writes `generator` as a TF Serving model version `export_dir/<version>/`.

    Must run under the TensorFlow backend (`KERAS_BACKEND=tensorflow`); the
    generator may have been trained on any backend and saved as `.keras`.
    The SavedModel is written to a temporary directory inside `export_dir`
    and renamed into place, so TF Serving never sees a partial version.
    The signatures are described in `keras_creps.export`'s docstring; the
    export settings are recorded in
    `<version>/assets.extra/keras_creps_export.json` and in the loaded
    object's `export_config` (a JSON string variable), see
    `keras_creps.export.export_config`.

    Inside the graph every request is checked before anything is rendered
    (`keras_creps.export.request_checks`): more than `max_samples` samples,
    more than `max_pixels` samples x pixels, sizes `< 1` or above `2**24`,
    empty or reversed tiles, tiles outside the view, non-finite inputs,
    `|truncation_psi| > 100` and mismatched label counts raise
    `InvalidArgumentError` naming the limit or input and the received value.

    Args:
        generator: a `keras_creps.CREPSGenerator`.
        export_dir: str. The model's base directory (TF Serving's
            `--model_base_path`); created if missing.
        version: int or None. Version directory; defaults to one more than
            the largest existing version (1 for a new directory). An
            existing version is never overwritten.
        max_samples: int. Largest number of samples `N` one request may
            render. Defaults to `64`.
        max_pixels: int. Largest `N * rows * cols` (samples x pixels) one
            request may render. Defaults to `2**22` (4 Mpx, e.g. four
            1024x1024 images).
        truncation_psi: float. The recommended `truncation_psi`, recorded in
            the export config for clients (the signatures still require it).
            Finite, at most 100 in magnitude. Defaults to `1.0`.
        align: `"corners"` (official) or `"centers"`. Defaults to `"corners"`.
        keep_aspect: bool. `True` keeps the row pixel spacing on the columns
            (wide views show more of the image). Defaults to `False`.
        band_pixels: int. Pixels per rendered tile inside the graph
            (`keras_creps.utils.tile_plan`). Defaults to `16384`.
        max_tile_width: int. Columns per rendered tile. Defaults to `1024`.
        line_chunk: int. Coordinates per line-network call. Defaults to `1024`.

    Returns:
        The version directory's path.

    Example:
    ```python
    # KERAS_BACKEND=tensorflow
    generator = keras.saving.load_model("generator.keras")
    path = export_saved_model(generator, "/models/creps", max_samples=16, max_pixels=4 * 1024**2)
    served = tf.saved_model.load(path)
    out = served.signatures["serving_default"](
        seeds=tf.constant([0, 1], tf.int64), truncation_psi=tf.constant(0.7),
        height=tf.constant(256), width=tf.constant(384), zoom=tf.constant(1.0),
        center=tf.constant([0.5, 0.5]))
    out["images"]  # uint8 [2, 256, 384, 3]
    ```
    """
    _check_backend_and_generator(generator)
    limits = ServingLimits(max_samples=max_samples, max_pixels=max_pixels)
    for name, value in (("band_pixels", band_pixels), ("max_tile_width", max_tile_width),
                        ("line_chunk", line_chunk)):
        positive_int(name, value)
    if align not in ALIGNMENTS:
        raise ValueError(f"`align` must be one of {ALIGNMENTS}. Received: align={align!r}")
    truncation_psi = finite_float("truncation_psi", truncation_psi)
    if abs(truncation_psi) > MAX_ABS_TRUNCATION_PSI:
        raise ValueError(f"`truncation_psi` must be at most {MAX_ABS_TRUNCATION_PSI:g} in magnitude. "
                         f"Received: truncation_psi={truncation_psi!r}")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 0:
            raise ValueError(f"`version` must be a non-negative integer. Received: version={version!r}")
        version = int(version)
    export_dir = os.fspath(export_dir)
    os.makedirs(export_dir, exist_ok=True)
    if version is None:
        version = next_version(export_dir)
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final):
        raise ValueError(f"Version {version} already exists in {export_dir!r}; pick another `version`.")

    config = build_config(generator, limits, truncation_psi, align, keep_aspect, band_pixels, max_tile_width,
                          line_chunk)
    renderer = Renderer(generator, limits, align, bool(keep_aspect), band_pixels, max_tile_width, line_chunk)
    _write_version(ServingModule(generator, config, renderer), config, export_dir, version, final)
    return final


def _check_backend_and_generator(generator):
    import keras

    if keras.config.backend() != "tensorflow":
        raise RuntimeError(
            "SavedModel export runs under the TensorFlow backend, but the Keras backend is "
            f"{keras.config.backend()!r}. Save the generator (`generator.save('g.keras')`) and "
            "run the export with KERAS_BACKEND=tensorflow, e.g. "
            "`python recipes/export.py --network g.keras --outdir models/creps`."
        )
    for attr in ("mapping", "synthesis", "z_dim", "c_dim", "img_channels"):
        if not hasattr(generator, attr):
            raise ValueError(
                f"`generator` must be a keras_creps.CREPSGenerator. Received: {type(generator).__name__}"
            )


def _write_version(module, config, export_dir, version, final):
    """Saves `module` under a temporary name in `export_dir`, then renames it to `final`."""
    # Not a numeric name: TF Serving ignores it until the rename.
    tmp = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=export_dir)
    try:
        tf.saved_model.save(module, tmp, signatures=module.signature_functions())
        os.makedirs(os.path.join(tmp, os.path.dirname(CONFIG_FILE)), exist_ok=True)
        with open(os.path.join(tmp, CONFIG_FILE), "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 would hide the model from a server running as another user
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final

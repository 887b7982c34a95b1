"""SavedModel export of a CREPS generator for TensorFlow Serving.

The exported SavedModel holds the generator's variables and four graph
functions (signatures); it needs only TensorFlow to load and serve, not
Keras or this package:

| signature         | latents                 | renders                            |
|-------------------|-------------------------|------------------------------------|
| `serving_default` | `seeds` int64 `[N]`     | the whole `height x width` view    |
| `render_z`        | `z` float32 `[N, z_dim]`| the whole view                     |
| `render_tile`     | `seeds`                 | rows `[row_start, row_stop)` x cols `[col_start, col_stop)` of the view |
| `render_tile_z`   | `z`                     | a tile, as above                   |

TF Serving signatures cannot have optional inputs, so seeds and latents get
separate signatures and every input listed is required:

- `truncation_psi` float32 scalar: `w_avg + psi * (w - w_avg)`; 1 = none.
- `height`, `width` int32 scalars: the view's size, chosen per request.
- `scale` float32 scalar: zoom factor (1 = the whole training image, 2 =
  its central half on each axis).
- `translate` float32 `[2]`: shift of the view's centre as `(row, col)` in
  image units (the training image spans 1.0): `[0, 0.25]` looks a quarter
  image to the right.
- conditional models only: `class_index` int64 `[N]` (seed signatures) or
  `class_labels` float32 `[N, c_dim]` (latent signatures).
- tile signatures: `row_start`, `row_stop`, `col_start`, `col_stop` int32
  scalars.

Outputs: `images` uint8 `[N, rows, cols, img_channels]` (StyleGAN's
`clip(rint(x * 127.5 + 128), 0, 255)`), and `z` float32 `[N, z_dim]` for the
seed signatures.

The view's coordinates are
`keras_creps.rendering.view_coords(height, width, center=(0.5 + translate[0],
0.5 + translate[1]), zoom=scale, align=align, keep_aspect=keep_aspect)` with
the export-time `align` (default `"corners"`, the official grid, so
`height = width = R` at `scale=1` is the native image) and `keep_aspect`
(default `False`: the view spans the image on both axes, like
`recipes/generate.py`). A tile's pixels are the same pixels of the whole view.

Seeds become latents with `seeds_to_z` (`tf.random.stateless_normal` with the
Philox algorithm and key `[seed, 0]`), not with NumPy's `RandomState` (which a
graph cannot reproduce); `seeds_to_z` gives clients the same latents.
"""

import json
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2

from keras_creps.utils.arguments import positive_int
from keras_creps.rendering.coords import ALIGNMENTS, MAX_AXIS

SIGNATURES = ("serving_default", "render_z", "render_tile", "render_tile_z")
SEED_ALGORITHM = "philox"
CONFIG_FILE = os.path.join("assets.extra", "keras_creps_export.json")
_VERSION = re.compile(r"^[0-9]+$")


def seeds_to_z(seeds, z_dim):
    """The latents the exported seed signatures use for `seeds`.

    `z[i] = tf.random.stateless_normal([z_dim], seed=[seeds[i], 0],
    alg="philox")`: deterministic across machines and devices. (This is not
    `recipes/generate.py`'s NumPy `RandomState(seed)` mapping, which a
    TensorFlow graph cannot reproduce; pass those latents to the `render_z`
    signature to match its images.)

    Args:
        seeds: int or sequence of ints (int64 range).
        z_dim: int. Latent size of the generator.

    Returns:
        float32 NumPy array `[len(seeds), z_dim]`.

    Example:
    ```python
    z = seeds_to_z([0, 7], generator.z_dim)
    images = served.signatures["render_z"](z=z, ...)   # == serving_default(seeds=[0, 7], ...)
    ```
    """
    positive_int("z_dim", z_dim)
    seeds = np.asarray(seeds).reshape(-1)
    if seeds.size and not np.issubdtype(seeds.dtype, np.integer):
        raise ValueError(f"`seeds` must be integers. Received: seeds={seeds!r}")
    with tf.device("/CPU:0"):
        return np.stack(
            [_seed_latent(tf.constant(int(s), tf.int64), z_dim).numpy() for s in seeds]
        ).reshape(len(seeds), z_dim)


def _seed_latent(seed, z_dim):
    key = tf.stack([seed, tf.zeros([], tf.int64)])
    return tf.random.stateless_normal([z_dim], seed=key, dtype=tf.float32, alg=SEED_ALGORITHM)


def view_window_coords(height, width, scale, translate, window=None, align="corners", keep_aspect=False):
    """Graph-side `view_coords`: the coordinates of a window of a view, as TensorFlow ops.

    Equal bit for bit to
    `rows, cols = keras_creps.rendering.view_coords(height, width,
    center=(0.5 + translate[0], 0.5 + translate[1]), zoom=scale, align=align,
    keep_aspect=keep_aspect)` followed by `rows[row_start:row_stop]`,
    `cols[col_start:col_stop]` (the same float64 arithmetic, element by
    element, then float32), without building the whole vectors: built with
    `tf.range`, so sizes may be tensors known only at run time. Arguments are
    not checked here (the serving functions check them first).

    Args:
        height, width: int32 scalars. The view's size.
        scale: float scalar. Zoom factor.
        translate: `[2]` floats. `(row, col)` shift of the view centre in
            image units.
        window: `(row_start, row_stop, col_start, col_stop)` or None for the
            whole view.
        align: `"corners"` or `"centers"`.
        keep_aspect: bool.

    Returns:
        `(rows, cols)` float32 tensors.

    Example:
    ```python
    rows, cols = view_window_coords(tf.constant(512), tf.constant(512), 2.0, [0.0, 0.1], (0, 64, 128, 256))
    ```
    """
    if align not in ALIGNMENTS:
        raise ValueError(f"`align` must be one of {ALIGNMENTS}. Received: align={align!r}")
    if window is None:
        window = (0, height, 0, width)
    f64 = tf.float64
    extent = 1.0 / tf.cast(scale, f64)
    center = 0.5 + tf.cast(translate, f64)
    if keep_aspect:
        if align == "centers":
            intervals = lambda n: tf.cast(n, f64)
        else:
            intervals = lambda n: tf.cast(tf.maximum(n - 1, 1), f64)
        col_extent = extent / intervals(height) * intervals(width)
    else:
        col_extent = extent

    def axis(start_index, stop_index, size, low, high):
        # The order of operations of `rendering.coords.axis_coords`.
        i = tf.cast(tf.range(start_index, stop_index), f64)
        size = tf.cast(size, f64)
        t = (i + 0.5) / size if align == "centers" else i / tf.maximum(size - 1.0, 1.0)
        return tf.cast(low + (high - low) * t, tf.float32)

    row_start, row_stop, col_start, col_stop = window
    rows = axis(row_start, row_stop, height, center[0] - extent / 2, center[0] + extent / 2)
    cols = axis(col_start, col_stop, width, center[1] - col_extent / 2, center[1] + col_extent / 2)
    return rows, cols


def next_version(export_dir):
    """`1 +` the largest integer version directory in `export_dir` (1 if none)."""
    if not os.path.isdir(export_dir):
        return 1
    versions = [int(name) for name in os.listdir(export_dir) if _VERSION.match(name)]
    return max(versions, default=0) + 1


def export_saved_model(
    generator,
    export_dir,
    *,
    version=None,
    max_pixels=1 << 22,
    truncation_psi=1.0,
    align="corners",
    keep_aspect=False,
    band_pixels=16384,
    max_tile_width=1024,
    line_chunk=1024,
):
    """Writes `generator` as a TF Serving model version `export_dir/<version>/`.

    Must run under the TensorFlow backend (`KERAS_BACKEND=tensorflow`); the
    generator may have been trained on any backend and saved as `.keras`.
    The SavedModel is written to a temporary directory inside `export_dir`
    and renamed into place, so TF Serving never sees a partial version.
    The signatures are described in this module's docstring; the export
    settings are recorded in `<version>/assets.extra/keras_creps_export.json`
    and in the loaded object's `export_config` (a JSON string variable).

    Inside the graph every request is checked before anything is rendered:
    sizes `< 1` or above `2**24`, `N * rows * cols > max_pixels`, empty or
    reversed tile ranges, tiles outside the view, non-finite or non-positive
    `scale` and mismatched label counts raise `InvalidArgumentError` naming
    the bad value. Rendering then runs one sample at a time: the line network
    in chunks of `line_chunk` coordinates per axis, the per-pixel network in
    tiles of at most `band_pixels` pixels (and `max_tile_width` columns), each
    converted to uint8 at once, so memory stays bounded for large views.

    Args:
        generator: a `keras_creps.CREPSGenerator`.
        export_dir: str. The model's base directory (TF Serving's
            `--model_base_path`); created if missing.
        version: int or None. Version directory; defaults to one more than
            the largest existing version (1 for a new directory). An
            existing version is never overwritten.
        max_pixels: int. Largest `N * rows * cols` one request may render.
            Defaults to `2**22` (4 Mpx, e.g. four 1024x1024 images).
        truncation_psi: float. The recommended `truncation_psi`, recorded in
            the export config for clients (the signatures still require it).
            Defaults to `1.0`.
        align: `"corners"` (official) or `"centers"`. Defaults to `"corners"`.
        keep_aspect: bool. `True` keeps the row pixel spacing on the columns
            (wide views show more of the image). Defaults to `False`.
        band_pixels: int. Pixels per rendered tile inside the graph.
            Defaults to `16384`.
        max_tile_width: int. Columns per rendered tile. Defaults to `1024`.
        line_chunk: int. Coordinates per line-network call. Defaults to `1024`.

    Returns:
        The version directory's path.

    Example:
    ```python
    # KERAS_BACKEND=tensorflow
    generator = keras.saving.load_model("generator.keras")
    path = export_saved_model(generator, "/models/creps", max_pixels=4 * 1024**2)
    served = tf.saved_model.load(path)
    out = served.signatures["serving_default"](
        seeds=tf.constant([0, 1], tf.int64), truncation_psi=tf.constant(0.7),
        height=tf.constant(256), width=tf.constant(384), scale=tf.constant(1.0),
        translate=tf.constant([0.0, 0.0]))
    out["images"]  # uint8 [2, 256, 384, 3]
    ```
    """
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
    positive_int("max_pixels", max_pixels)
    positive_int("band_pixels", band_pixels)
    positive_int("max_tile_width", max_tile_width)
    positive_int("line_chunk", line_chunk)
    if align not in ALIGNMENTS:
        raise ValueError(f"`align` must be one of {ALIGNMENTS}. Received: align={align!r}")
    if isinstance(truncation_psi, bool) or not isinstance(truncation_psi, (int, float)) or not np.isfinite(
        truncation_psi
    ):
        raise ValueError(f"`truncation_psi` must be a finite number. Received: truncation_psi={truncation_psi!r}")
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

    config = {
        "format": "keras_creps.export/1",
        "signatures": list(SIGNATURES),
        "generator": generator.get_config(),
        "resolution": int(generator.resolution),
        "z_dim": int(generator.z_dim),
        "c_dim": int(generator.c_dim),
        "img_channels": int(generator.img_channels),
        "max_pixels": int(max_pixels),
        "max_axis": MAX_AXIS,
        "truncation_psi": float(truncation_psi),
        "align": align,
        "keep_aspect": bool(keep_aspect),
        "band_pixels": int(band_pixels),
        "max_tile_width": int(max_tile_width),
        "line_chunk": int(line_chunk),
        "seed_to_z": f"tf.random.stateless_normal([z_dim], seed=[seed, 0], alg='{SEED_ALGORITHM}')",
        "images": "uint8 clip(rint(x * 127.5 + 128), 0, 255)",
    }
    module = _ServingModule(generator, config)
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


def read_export_config(path):
    """The export settings recorded in a version directory (a dict)."""
    with open(os.path.join(os.fspath(path), CONFIG_FILE)) as f:
        return json.load(f)


def describe_saved_model(path):
    """The signatures at `path` as `saved_model_cli show --dir <path> --all` lists them (a str).

    Read from `saved_model.pb` alone (no graph is loaded), so it is quick.

    Example:
    ```python
    print(describe_saved_model("models/creps/1"))
    ```
    """
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(os.fspath(path), "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    lines = []
    for meta_graph in saved_model.meta_graphs:
        tags = ", ".join(sorted(meta_graph.meta_info_def.tags))
        lines += [f"MetaGraphDef with tag-set: '{tags}' contains the following SignatureDefs:", ""]
        for name in sorted(meta_graph.signature_def):
            signature = meta_graph.signature_def[name]
            lines.append(f"signature_def['{name}']:")
            lines.append("  The given SavedModel SignatureDef contains the following input(s):")
            for key in sorted(signature.inputs):
                lines += _tensor_info("inputs", key, signature.inputs[key])
            lines.append("  The given SavedModel SignatureDef contains the following output(s):")
            for key in sorted(signature.outputs):
                lines += _tensor_info("outputs", key, signature.outputs[key])
            lines += [f"  Method name is: {signature.method_name}", ""]
    return "\n".join(lines)


def _tensor_info(kind, key, info):
    shape = info.tensor_shape
    dims = "unknown_rank" if shape.unknown_rank else "(" + ", ".join(str(d.size) for d in shape.dim) + ")"
    return [
        f"    {kind}['{key}'] tensor_info:",
        f"        dtype: {types_pb2.DataType.Name(info.dtype)}",
        f"        shape: {dims}",
        f"        name: {info.name}",
    ]


def _tf_variable(variable):
    value = getattr(variable, "value", variable)
    if not isinstance(value, tf.Variable):
        raise TypeError(f"Expected a TensorFlow-backed variable. Received: {variable!r}")
    return value


class _ServingModule(tf.Module):
    """Holds the generator's variables and the serving functions (closures).

    The Keras objects are not attributes, so the SavedModel contains only
    variables and graphs: loading it needs neither Keras nor keras_creps.
    """

    def __init__(self, generator, config):
        super().__init__(name="creps_serving")
        # The backend's own tf.Variables: TF1-style loaders (TF Serving,
        # `saved_model_cli run`) restore these, but not Keras' wrappers.
        self.generator_variables = [_tf_variable(v) for v in generator.variables]
        self.export_config = tf.Variable(json.dumps(config, sort_keys=True), trainable=False, name="export_config")
        self._renderer = _Renderer(generator, config)

    def signature_functions(self):
        r = self._renderer
        z_dim, c_dim = r.z_dim, r.c_dim
        view = {
            "truncation_psi": tf.TensorSpec([], tf.float32, name="truncation_psi"),
            "height": tf.TensorSpec([], tf.int32, name="height"),
            "width": tf.TensorSpec([], tf.int32, name="width"),
            "scale": tf.TensorSpec([], tf.float32, name="scale"),
            "translate": tf.TensorSpec([2], tf.float32, name="translate"),
        }
        tile = {k: tf.TensorSpec([], tf.int32, name=k) for k in ("row_start", "row_stop", "col_start", "col_stop")}
        seeds = {"seeds": tf.TensorSpec([None], tf.int64, name="seeds")}
        latents = {"z": tf.TensorSpec([None, z_dim], tf.float32, name="z")}
        if c_dim:
            seeds["class_index"] = tf.TensorSpec([None], tf.int64, name="class_index")
            latents["class_labels"] = tf.TensorSpec([None, c_dim], tf.float32, name="class_labels")

        def make(name, latent_specs, tiled):
            specs = dict(latent_specs, **view, **(tile if tiled else {}))
            names = list(specs)

            def fn(*args):
                return r.render(**dict(zip(names, args)))

            fn.__name__ = name
            return tf.function(fn, input_signature=[specs[k] for k in names], autograph=False)

        functions = {
            "serving_default": make("serving_default", seeds, False),
            "render_z": make("render_z", latents, False),
            "render_tile": make("render_tile", seeds, True),
            "render_tile_z": make("render_tile_z", latents, True),
        }
        # Signatures only: also saving them as attributes of the module would
        # store every graph twice (slower to save and to load).
        return {name: fn.get_concrete_function() for name, fn in functions.items()}


class _Renderer:
    """The graph code behind every signature (see `export_saved_model`)."""

    def __init__(self, generator, config):
        self.mapping = generator.mapping
        self.synthesis = generator.synthesis
        self.z_dim = int(generator.z_dim)
        self.c_dim = int(generator.c_dim)
        self.config = config
        self.compute_dtype = generator.synthesis.compute_dtype
        # The rendering graph is traced once and shared by every signature.
        grid_specs = [tf.TensorSpec([None, self.z_dim], tf.float32)]
        if self.c_dim:
            grid_specs.append(tf.TensorSpec([None, self.c_dim], tf.float32))
        grid_specs += [tf.TensorSpec([], tf.float32), tf.TensorSpec([None], tf.float32),
                       tf.TensorSpec([None], tf.float32)]
        self._grid = tf.function(self._render_grid_fn, input_signature=grid_specs, autograph=False)

    # ------------------------------------------------------------- checks

    def _checks(self, n, height, width, scale, translate, psi, window, labels_rows):
        """Assert ops for every input; rendering depends on all of them."""
        cfg = self.config

        def check(condition, *message):
            return tf.debugging.Assert(condition, list(message), summarize=16)

        def size_checks(name, value):
            return [
                check(value >= 1, f"`{name}` must be at least 1. Received: {name}=", value),
                check(value <= MAX_AXIS, f"`{name}` must be at most {MAX_AXIS}. Received: {name}=", value),
            ]

        ops = [check(n >= 1, "at least one sample is needed. Received: N=", n)]
        ops += size_checks("height", height) + size_checks("width", width)
        ops.append(
            check(
                tf.logical_and(tf.math.is_finite(scale), scale > 0),
                "`scale` must be positive and finite. Received: scale=",
                scale,
            )
        )
        ops.append(
            check(tf.reduce_all(tf.math.is_finite(translate)), "`translate` must be finite. Received: translate=",
                  translate)
        )
        ops.append(
            check(tf.math.is_finite(psi), "`truncation_psi` must be finite. Received: truncation_psi=", psi)
        )
        if self.mapping.w_avg is None:
            ops.append(check(tf.equal(psi, 1.0), "this generator has no w_avg: `truncation_psi` must be 1. "
                             "Received: truncation_psi=", psi))
        row_start, row_stop, col_start, col_stop = window
        for axis, start, stop, size, size_name in (
            ("row", row_start, row_stop, height, "height"),
            ("col", col_start, col_stop, width, "width"),
        ):
            ops.append(check(start >= 0, f"`{axis}_start` must be >= 0. Received: {axis}_start=", start))
            ops.append(
                check(stop > start, f"`{axis}_stop` must be greater than `{axis}_start`. Received: "
                      f"{axis}_start=", start, f", {axis}_stop=", stop)
            )
            ops.append(
                check(stop <= size, f"`{axis}_stop` must be at most `{size_name}`. Received: {axis}_stop=", stop,
                      f", {size_name}=", size)
            )
        pixels = (
            tf.cast(n, tf.float64)
            * tf.cast(row_stop - row_start, tf.float64)
            * tf.cast(col_stop - col_start, tf.float64)
        )
        ops.append(
            check(pixels <= float(cfg["max_pixels"]),
                  f"the request renders N * rows * cols pixels, more than max_pixels={cfg['max_pixels']}. "
                  "Received: N=", n, ", rows=", row_stop - row_start, ", cols=", col_stop - col_start)
        )
        if labels_rows is not None:
            name, rows = labels_rows
            ops.append(
                check(tf.equal(rows, n), f"`{name}` must have one entry per sample. Received: {name} rows=", rows,
                      ", samples=", n)
            )
        return ops

    # ------------------------------------------------------------- render

    def render(self, truncation_psi, height, width, scale, translate, seeds=None, z=None, class_index=None,
               class_labels=None, row_start=None, row_stop=None, col_start=None, col_stop=None):
        from_seeds = seeds is not None
        n = tf.shape(seeds if from_seeds else z)[0]
        tiled = row_start is not None
        window = (row_start, row_stop, col_start, col_stop) if tiled else (0, height, 0, width)
        labels_rows = None
        if class_index is not None:
            labels_rows = ("class_index", tf.shape(class_index)[0])
        elif class_labels is not None:
            labels_rows = ("class_labels", tf.shape(class_labels)[0])
        checks = self._checks(n, height, width, scale, translate, truncation_psi, window, labels_rows)
        if class_index is not None:
            checks.append(
                tf.debugging.Assert(
                    tf.reduce_all(tf.logical_and(class_index >= 0, class_index < self.c_dim)),
                    [f"`class_index` entries must be in [0, {self.c_dim}). Received: class_index=", class_index],
                    summarize=16,
                )
            )
        # Everything below depends on the checks, so a bad request fails
        # before any allocation.
        with tf.control_dependencies(checks):
            height, width = tf.identity(height), tf.identity(width)
            window = tuple(tf.identity(v) for v in window)
            if from_seeds:
                seeds = tf.identity(seeds)
            else:
                z = tf.identity(z)

        if from_seeds:
            z = tf.map_fn(lambda s: _seed_latent(s, self.z_dim), seeds, fn_output_signature=tf.float32,
                          parallel_iterations=1)
        labels = None
        if self.c_dim:
            if class_index is not None:
                labels = tf.one_hot(class_index, self.c_dim, dtype=tf.float32)
            else:
                labels = class_labels
        rows, cols = view_window_coords(height, width, scale, translate, window, align=self.config["align"],
                                        keep_aspect=self.config["keep_aspect"])
        images = self._grid(*([z] + ([labels] if self.c_dim else []) + [truncation_psi, rows, cols]))
        outputs = {"images": images}
        if from_seeds:
            outputs["z"] = z
        return outputs

    def _render_grid_fn(self, z, *args):
        """uint8 `[N, len(rows), len(cols), C]`, one sample at a time."""
        labels, (psi, rows, cols) = (args[0], args[1:]) if self.c_dim else (None, args)
        if self.mapping.w_avg is None:
            ws = self.mapping(z, labels)
        else:
            ws = self.mapping(z, labels, truncation_psi=psi)
        n = tf.shape(z)[0]
        channels = self.synthesis.img_channels
        images = tf.TensorArray(tf.uint8, size=n, element_shape=tf.TensorShape([None, None, channels]))

        def body(i, images):
            ws_i = ws[i : i + 1]
            row_lines = self._axis_lines(ws_i, rows, axis=0)
            col_lines = self._axis_lines(ws_i, cols, axis=1)
            return i + 1, images.write(i, self._render_pixels(row_lines, col_lines, ws_i[:, -1]))

        _, images = tf.while_loop(lambda i, _: i < n, body, (tf.constant(0), images), parallel_iterations=1)
        return images.stack()

    def _axis_lines(self, ws, coords, axis):
        """Line-network outputs for one axis of one sample, in chunks: list of `[L, rank, b]`."""
        chunk = self.config["line_chunk"]
        size = tf.shape(coords)[0]
        num_chunks = (size + chunk - 1) // chunk
        num_blocks = len(self.synthesis.line_blocks) - 1
        shape = tf.TensorShape([None, self.synthesis.rank, self.synthesis.biline_channels])
        arrays = [
            tf.TensorArray(self.compute_dtype, size=num_chunks, infer_shape=False, element_shape=shape)
            for _ in range(num_blocks)
        ]
        empty = tf.zeros([1, 0], self.compute_dtype)

        def body(k, *arrays):
            part = tf.cast(coords[k * chunk : (k + 1) * chunk][None], self.compute_dtype)
            if axis == 0:
                lines, _ = self.synthesis.line_network(ws, part, empty)
            else:
                _, lines = self.synthesis.line_network(ws, empty, part)
            return (k + 1,) + tuple(a.write(k, line[0]) for a, line in zip(arrays, lines))

        out = tf.while_loop(lambda k, *_: k < num_chunks, body, (tf.constant(0), *arrays), parallel_iterations=1)
        return [a.concat() for a in out[1:]]

    def _render_pixels(self, row_lines, col_lines, w_last):
        """uint8 `[H, W, C]` of one sample from its line outputs, tile by tile."""
        height = tf.shape(row_lines[0])[0]
        width = tf.shape(col_lines[0])[0]
        tile_width = tf.minimum(width, self.config["max_tile_width"])
        band = tf.maximum(1, self.config["band_pixels"] // tile_width)
        num_bands = (height + band - 1) // band
        num_tiles = (width + tile_width - 1) // tile_width
        channels = self.synthesis.img_channels
        element = tf.TensorShape([None, None, channels])

        def band_body(b, bands):
            row_parts = [r[None, b * band : (b + 1) * band] for r in row_lines]

            def tile_body(t, tiles):
                col_parts = [c[None, t * tile_width : (t + 1) * tile_width] for c in col_lines]
                tile = self.synthesis.render_rows(row_parts, col_parts, w_last)[0]  # [h, w, C]
                # Stored transposed so that `concat` joins along columns.
                return t + 1, tiles.write(t, tf.transpose(to_uint8(tile), (1, 0, 2)))

            tiles = tf.TensorArray(tf.uint8, size=num_tiles, infer_shape=False, element_shape=element)
            _, tiles = tf.while_loop(lambda t, _: t < num_tiles, tile_body, (tf.constant(0), tiles),
                                     parallel_iterations=1)
            return b + 1, bands.write(b, tf.transpose(tiles.concat(), (1, 0, 2)))

        bands = tf.TensorArray(tf.uint8, size=num_bands, infer_shape=False, element_shape=element)
        _, bands = tf.while_loop(lambda b, _: b < num_bands, band_body, (tf.constant(0), bands),
                                 parallel_iterations=1)
        return bands.concat()


def to_uint8(images):
    """`[-1, 1]` floats -> uint8 in the graph, as `rendering.large_image.to_uint8` does in NumPy."""
    images = tf.cast(images, tf.float32) * 127.5 + 128.0
    return tf.cast(tf.clip_by_value(tf.round(images), 0.0, 255.0), tf.uint8)

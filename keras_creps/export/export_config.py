"""The export config: what a SavedModel version was exported with, for clients and for us.

Written as JSON to `<version>/assets.extra/keras_creps_export.json` and as
the loaded object's `export_config` string variable. Its `format` names the
signatures' contract:

- `keras_creps.export/2` (current): view inputs `zoom` (was `scale`, same
  meaning) and `center` (was `translate`: now the `[row, col]` position of
  the view's centre in image units, `center = [0.5, 0.5] + translate`, the
  `center` of `keras_creps.rendering.view_coords`); serving limits
  `max_samples` and `max_abs_truncation_psi` added to `max_pixels`;
  non-finite `z` / `class_labels` and renders with NaN or Inf pixels fail
  with InvalidArgument instead of returning black images; `inputs`
  documents every input.
- `keras_creps.export/1`: inputs `scale` and `translate` (`[row, col]`
  offset of the centre from `[0.5, 0.5]`); `max_pixels` only.
"""

import json
import os

from keras_creps.export.request_checks import MAX_ABS_TRUNCATION_PSI
from keras_creps.export.seeds import SEED_ALGORITHM
from keras_creps.export.serving_module import SIGNATURES
from keras_creps.rendering.coords import MAX_AXIS

FORMAT = "keras_creps.export/2"
CONFIG_FILE = os.path.join("assets.extra", "keras_creps_export.json")
IMAGES = "uint8 clip(rint(x * 127.5 + 128), 0, 255) in float32, as keras_creps.utils.images.to_uint8"

# One line per input, as recorded in the config (units and axis order).
INPUTS = {
    "seeds": "int64 [N]: one latent per seed, tf.random.stateless_normal([z_dim], seed=[seed, 0], alg='philox')",
    "z": "float32 [N, z_dim]: latents",
    "class_index": "int64 [N] (conditional models, seed signatures): class of each sample, in [0, c_dim)",
    "class_labels": "float32 [N, c_dim] (conditional models, latent signatures): label vectors, e.g. one-hot",
    "truncation_psi": "float32 scalar: w = w_avg + psi * (w - w_avg); 1 = no truncation; "
                      "finite, |psi| <= max_abs_truncation_psi",
    "height": "int32 scalar: rows of the whole view, in output pixels",
    "width": "int32 scalar: columns of the whole view, in output pixels",
    "zoom": "float32 scalar > 0: magnification; the view's rows span 1 / zoom of the training image",
    "center": "float32 [2]: [row, col] of the view's centre in image units (the training image spans [0, 1] "
              "on both axes; [0.5, 0.5] is its centre)",
    "row_start": "int32 scalar (tile signatures): first row of the tile, 0 <= row_start < row_stop <= height",
    "row_stop": "int32 scalar (tile signatures): one past the tile's last row",
    "col_start": "int32 scalar (tile signatures): first column of the tile, 0 <= col_start < col_stop <= width",
    "col_stop": "int32 scalar (tile signatures): one past the tile's last column",
}


def build_config(generator, limits, truncation_psi, align, keep_aspect, band_pixels, max_tile_width, line_chunk):
    """The export config dict of `export_saved_model`'s arguments (all checked before)."""
    conditional = bool(generator.c_dim)
    return {
        "format": FORMAT,
        "signatures": list(SIGNATURES),
        "inputs": {k: v for k, v in INPUTS.items()
                   if conditional or k not in ("class_index", "class_labels")},
        "generator": generator.get_config(),
        "resolution": int(generator.resolution),
        "z_dim": int(generator.z_dim),
        "c_dim": int(generator.c_dim),
        "img_channels": int(generator.img_channels),
        "max_samples": int(limits.max_samples),
        "max_pixels": int(limits.max_pixels),
        "max_axis": MAX_AXIS,
        "max_abs_truncation_psi": MAX_ABS_TRUNCATION_PSI,
        "truncation_psi": float(truncation_psi),
        "align": align,
        "keep_aspect": bool(keep_aspect),
        "band_pixels": int(band_pixels),
        "max_tile_width": int(max_tile_width),
        "line_chunk": int(line_chunk),
        "seed_to_z": f"tf.random.stateless_normal([z_dim], seed=[seed, 0], alg='{SEED_ALGORITHM}')",
        "images": IMAGES,
    }


def read_export_config(path):
    """The export settings recorded in a version directory (a dict).

    Example:
    ```python
    read_export_config("models/creps/1")["max_samples"]   # 64
    ```
    """
    with open(os.path.join(os.fspath(path), CONFIG_FILE)) as f:
        return json.load(f)

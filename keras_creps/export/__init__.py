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
separate signatures and every input listed is required. The views use the
vocabulary of `keras_creps.rendering.view_coords`:

- `truncation_psi` float32 scalar: `w_avg + psi * (w - w_avg)`; 1 = none.
- `height`, `width` int32 scalars: the view's size in output pixels, chosen
  per request.
- `zoom` float32 scalar: magnification (1 = the whole training image, 2 =
  its central half on each axis).
- `center` float32 `[2]`: `[row, col]` of the view's centre in image units
  (the training image spans `[0, 1]` on both axes): `[0.5, 0.5]` is the
  centre of the training image, `[0.5, 0.75]` looks a quarter image to the
  right.
- conditional models only: `class_index` int64 `[N]` (seed signatures) or
  `class_labels` float32 `[N, c_dim]` (latent signatures).
- tile signatures: `row_start`, `row_stop`, `col_start`, `col_stop` int32
  scalars.

Outputs: `images` uint8 `[N, rows, cols, img_channels]`
(`keras_creps.utils.images.to_uint8`'s `clip(rint(x * 127.5 + 128), 0, 255)`,
to the bit), and `z` float32 `[N, z_dim]` for the seed signatures.

The view's coordinates are `keras_creps.rendering.view_coords(height, width,
center=center, zoom=zoom, align=align, keep_aspect=keep_aspect)` with the
export-time `align` (default `"corners"`, the official grid, so
`height = width = R` at `zoom=1` is the native image) and `keep_aspect`
(default `False`: the view spans the image on both axes, like
`recipes/generate.py`). A tile's pixels are the same pixels of the whole view.

Requests are bounded (`request_checks`): at most `max_samples` samples and
`max_pixels` samples x pixels per request, both chosen at export time and
recorded in the export config (`export_config`, which also records the
format version and its changes).

Seeds become latents with `seeds_to_z` (`tf.random.stateless_normal` with the
Philox algorithm and key `[seed, 0]`), not with NumPy's `RandomState` (which a
graph cannot reproduce); `seeds_to_z` gives clients the same latents.
"""

from keras_creps.export.describe import describe_saved_model
from keras_creps.export.export_config import CONFIG_FILE
from keras_creps.export.export_config import FORMAT
from keras_creps.export.export_config import read_export_config
from keras_creps.export.graph_coords import view_window_coords
from keras_creps.export.graph_images import to_uint8
from keras_creps.export.request_checks import MAX_ABS_TRUNCATION_PSI
from keras_creps.export.request_checks import ServingLimits
from keras_creps.export.saved_model import export_saved_model
from keras_creps.export.saved_model import next_version
from keras_creps.export.seeds import SEED_ALGORITHM
from keras_creps.export.seeds import seeds_to_z
from keras_creps.export.serving_module import SIGNATURES

__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "MAX_ABS_TRUNCATION_PSI",
    "SEED_ALGORITHM",
    "SIGNATURES",
    "ServingLimits",
    "describe_saved_model",
    "export_saved_model",
    "next_version",
    "read_export_config",
    "seeds_to_z",
    "to_uint8",
    "view_window_coords",
]

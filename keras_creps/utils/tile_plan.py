"""Band/tile planning: how a render is cut into pieces that fit a memory budget.

The per-pixel network is the memory-hungry part of a CREPS render: its
activations grow with the number of pixels evaluated at once, while the
line network's outputs (one vector per row and per column) stay small.
Every tiled renderer cuts its image the same way, with the rule written
here once:

- `generator.make_generate_function` (and `render_large_image`, which
  renders through it) for NumPy / any backend;
- the SavedModel renderer in `keras_creps.export`, inside the TF graph,
  where sizes are tensors known only per request.

The rule, for an `height x width` image of `batch` samples:

- columns in strips of `tile_width = min(width, max_tile_width)`;
- rows in bands of
  `band_height = max(1, min(height, band_pixels // (tile_width * batch)))`,
  so a tile of the whole batch holds at most `band_pixels` pixels (or one
  row, if a single row of the strip is already larger);
- the last strip and band are narrower / shorter (renderers compiled for
  one shape pad them to the full tile and crop the result).

Pixels are independent, so any plan gives the same image; the plan only
bounds memory and fixes the shapes the compiled functions see.
"""

import collections
import dataclasses

import numpy as np

from keras_creps.utils.arguments import positive_int

Tile = collections.namedtuple("Tile", ["row_start", "row_stop", "col_start", "col_stop"])


def ceil_div(numerator, denominator):
    """`ceil(numerator / denominator)` for non-negative ints or integer tensors (no float rounding)."""
    return (numerator + denominator - 1) // denominator


def tile_shape(height, width, band_pixels, max_tile_width, batch=1, minimum=min, maximum=max):
    """The full tile of a plan: `(band_height, tile_width)`.

    Written for Python ints and for integer tensors alike: graph code passes
    its own element-wise `minimum` / `maximum` (e.g. `tf.minimum`,
    `tf.maximum`), since Python's `min` cannot compare symbolic sizes.
    Arguments are not checked here (`plan_tiles` checks them).

    Args:
        height, width: int or int scalar tensor. The image's size.
        band_pixels: int. Pixels one tile may hold, over the whole batch.
        max_tile_width: int. Columns one tile may hold.
        batch: int or int scalar tensor. Samples rendered together.
            Defaults to `1`.
        minimum, maximum: two-argument element-wise functions. Default to
            Python's `min` and `max`.

    Returns:
        `(band_height, tile_width)`.

    Example:
    ```python
    tile_shape(1000, 3000, band_pixels=16384, max_tile_width=1024)  # (16, 1024)
    tile_shape(tf.constant(7), tf.constant(9), 16384, 1024, minimum=tf.minimum, maximum=tf.maximum)
    ```
    """
    tile_width = minimum(width, max_tile_width)
    band_height = maximum(1, minimum(height, band_pixels // (tile_width * batch)))
    return band_height, tile_width


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """The tiles of one `height x width` render (see the module docstring).

    Attributes:
        height, width: int. The image's size.
        band_height, tile_width: int. The full tile's size; edge tiles are
            smaller.
        row_bands: tuple of `(row_start, row_stop)`, top to bottom.
        col_strips: tuple of `(col_start, col_stop)`, left to right.
    """

    height: int
    width: int
    band_height: int
    tile_width: int

    @property
    def row_bands(self):
        return _spans(self.height, self.band_height)

    @property
    def col_strips(self):
        return _spans(self.width, self.tile_width)

    @property
    def tiles(self):
        """Every `Tile`, row-major: band by band, each band left to right."""
        return tuple(Tile(r0, r1, c0, c1) for r0, r1 in self.row_bands for c0, c1 in self.col_strips)


def _spans(size, step):
    return tuple((start, min(start + step, size)) for start in range(0, size, step))


def plan_tiles(height, width, band_pixels, max_tile_width, batch=1):
    """The `TilePlan` of an `height x width` render of `batch` samples.

    Args:
        height, width: int. The image's size in pixels.
        band_pixels: int. Pixels one tile may hold, over the whole batch.
        max_tile_width: int. Columns one tile may hold.
        batch: int. Samples rendered together. Defaults to `1`.

    Returns:
        A `TilePlan`; its `tiles` cover every pixel exactly once.

    Example:
    ```python
    plan = plan_tiles(37, 53, band_pixels=200, max_tile_width=16)
    plan.band_height, plan.tile_width     # (12, 16)
    plan.tiles[0]                         # Tile(row_start=0, row_stop=12, col_start=0, col_stop=16)
    ```
    """
    height, width, band_pixels, max_tile_width, batch = (
        positive_int(name, int(value) if isinstance(value, np.integer) else value)
        for name, value in (("height", height), ("width", width), ("band_pixels", band_pixels),
                            ("max_tile_width", max_tile_width), ("batch", batch))
    )
    band_height, tile_width = tile_shape(height, width, band_pixels, max_tile_width, batch)
    return TilePlan(height, width, band_height, tile_width)


def auto_band_pixels(precision, backend):
    """Pixels per tile of `make_generate_function` when it is given `band_pixels="auto"`.

    Args:
        precision: `"float32"` or `"bfloat16"`, the render's product precision.
        backend: the Keras backend's name.

    Returns:
        65536 for bfloat16 on TensorFlow and PyTorch, 16384 otherwise.

    Example:
    ```python
    band_pixels = auto_band_pixels("bfloat16", keras.config.backend())
    plan = plan_tiles(512, 512, band_pixels, max_tile_width=1024)
    ```

    Why: each tile is one call of a compiled function, and a call has a fixed
    cost besides its work, which weighs more on tiles that bfloat16
    computes about twice as fast. The paper generator at 256^2, batch 1,
    per-pixel network per image, 16384 -> 65536 pixels per tile (2-core AMX
    CPU, 2026-12-04, alternating runs): TensorFlow (XLA) 85-88 -> 72-74 ms
    at the same working memory (381 -> 391 MB), so bfloat16 on TensorFlow
    takes 65536. JAX got slower (67-68 -> 75-76 ms) and float32 PyTorch too
    (111 -> 178 ms: the tiles leave the caches): 16384. Compiled bfloat16
    PyTorch got faster (57-63 -> 45-47 ms) but its working memory rose from
    416 to 528 MB, nearly all of it from the eager call before compiling.
    Since that call runs on a few rows (`keras_creps.models.settle_calls`),
    PyTorch takes 65536 too: whole renders 0.111 -> 0.104 s at 256^2 and
    0.324 -> 0.301 s at 512^2 (2026-12-05, both tile sizes in one process,
    alternating, medians of 12 and 6), working memory 370-405 -> 398-434 MB
    at 256^2 and 449 -> 485 MB at 512^2 (separate processes).
    """
    if precision == "bfloat16" and backend in ("tensorflow", "torch"):
        return 65536
    return 16384

import numpy as np
import pytest

from keras_creps.models.settle_calls import SETTLE_PIXELS
from keras_creps.models.settle_calls import few_lines
from keras_creps.models.settle_calls import few_points
from keras_creps.models.settle_calls import few_tile_rows

# The largest input width of a per-pixel `EqualizedDense` in the presets
# (block1's 4 * biline_channels); a settled call must stay on the same side
# of it as the real one.
WIDEST_PIXEL_LAYER = 128


def lines(batch, length, rank=2, channels=3):
    return np.zeros((batch, length, rank, channels), "float32")


@pytest.mark.parametrize("batch, rows, width", [
    (1, 64, 256),  # a 256-wide band: one row is enough
    (1, 128, 3),  # a narrow strip: enough rows for SETTLE_PIXELS
    (4, 100, 1),
    (1, 5, 7),  # smaller than SETTLE_PIXELS: kept whole
    (2, 1, 1),
])
def test_few_tile_rows_keeps_enough_pixels(batch, rows, width):
    row_lines = [lines(batch, rows), lines(batch, rows)]
    col_lines = [lines(batch, width)]
    w_last = np.ones((batch, 4), "float32")
    few_rows, few_cols, few_w = few_tile_rows(row_lines, col_lines, w_last)
    kept = few_rows[0].shape[1]
    pixels, real = batch * kept * width, batch * rows * width
    assert all(r.shape == (batch, kept, 2, 3) for r in few_rows)
    assert few_cols is col_lines and few_w is w_last
    assert pixels == real or pixels >= SETTLE_PIXELS
    assert (pixels < WIDEST_PIXEL_LAYER) == (real < WIDEST_PIXEL_LAYER)
    assert kept <= rows


def test_few_lines_cuts_both_axes_to_eight():
    z, rows, cols = np.ones((1, 4)), np.ones((1, 300)), np.ones((1, 0))
    out = few_lines(z, None, rows, cols)
    assert out[0] is z and out[1] is None
    assert out[2].shape == (1, 8) and out[3].shape == (1, 0)


@pytest.mark.parametrize("shape", [(1000,), (3, 1000), (2, 7)])
def test_few_points_cuts_rows_and_cols_alike(shape):
    batch = shape[0] if len(shape) == 2 else 3
    ws = np.ones((batch, 5, 4))
    coords = np.zeros(shape)
    _, rows, cols = few_points(ws, coords, coords + 1)
    assert rows.shape == cols.shape
    points = rows.shape[-1]
    assert points == shape[-1] or batch * points >= SETTLE_PIXELS

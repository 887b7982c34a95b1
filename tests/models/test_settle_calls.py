import numpy as np
import pytest

from keras_creps.models.creps_synthesis import CREPSSynthesis
from keras_creps.models.settle_calls import SETTLE_PIXELS
from keras_creps.models.settle_calls import few_lines
from keras_creps.models.settle_calls import few_points
from keras_creps.models.settle_calls import few_tile_rows
from keras_creps.models.settle_calls import settle_pixels


def lines(batch, length, rank=2, channels=3):
    return np.zeros((batch, length, rank, channels), "float32")


def built_synthesis(biline_channels):
    synthesis = CREPSSynthesis(w_dim=8, resolution=16, channel_base=64, channel_max=16,
                               biline_channels=biline_channels, rank=2)
    synthesis.build()
    return synthesis


@pytest.mark.parametrize("biline_channels, expected", [
    (4, SETTLE_PIXELS),  # widest per-pixel layer: 4 * 4 = 16 inputs
    (256, 1024),  # the decoders' 4x hidden layer has 1024 inputs
])
def test_settle_pixels_covers_the_widest_per_pixel_layer(biline_channels, expected):
    assert settle_pixels(built_synthesis(biline_channels)) == expected


@pytest.mark.parametrize("batch, rows, width, widest", [
    (1, 64, 256, 128),  # a 256-wide band: two rows are enough
    (1, 128, 3, 128),  # a narrow strip: enough rows for SETTLE_PIXELS
    (4, 100, 1, 128),
    (1, 5, 7, 128),  # smaller than SETTLE_PIXELS: kept whole
    (2, 1, 1, 128),
    (1, 64, 256, 1024),  # a wide network: more rows
])
def test_few_tile_rows_keeps_each_layer_on_the_side_of_its_width(batch, rows, width, widest):
    row_lines = [lines(batch, rows), lines(batch, rows)]
    col_lines = [lines(batch, width)]
    w_last = np.ones((batch, 4), "float32")
    pixels = max(SETTLE_PIXELS, widest)
    few_rows, few_cols, few_w = few_tile_rows(row_lines, col_lines, w_last, pixels=pixels)
    kept = few_rows[0].shape[1]
    cut, real = batch * kept * width, batch * rows * width
    assert all(r.shape == (batch, kept, 2, 3) for r in few_rows)
    assert few_cols is col_lines and few_w is w_last
    assert kept <= rows and (cut == real or cut >= pixels)
    # `EqualizedDense` multiplies fewer rows than inputs another way: same side for every width.
    for width_of_layer in (16, 64, widest):
        assert (cut < width_of_layer) == (real < width_of_layer)


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

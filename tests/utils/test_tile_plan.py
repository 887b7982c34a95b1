import numpy as np
import pytest
from test_case import TestCase
from test_case import load_fixture

from keras_creps.convert import generator_from_official
from keras_creps.utils.tile_plan import Tile
from keras_creps.utils.tile_plan import auto_band_pixels
from keras_creps.utils.tile_plan import ceil_div
from keras_creps.utils.tile_plan import plan_tiles
from keras_creps.utils.tile_plan import tile_shape

CASES = [  # height, width, band_pixels, max_tile_width, batch
    (1, 1, 1, 1, 1),
    (37, 53, 200, 16, 1),
    (10, 12, 20, 5, 1),
    (7, 3000, 16384, 1024, 1),
    (1000, 300, 16384, 1024, 4),
    (64, 64, 10, 1024, 3),  # one row of the strip is already over the budget
    (5, 9, 1 << 20, 4, 2),  # the budget holds the whole strip: one band
]


class TestTilePlan(TestCase):
    @pytest.mark.parametrize("height, width, band_pixels, max_tile_width, batch", CASES)
    def test_tiles_cover_every_pixel_once(self, height, width, band_pixels, max_tile_width, batch):
        plan = plan_tiles(height, width, band_pixels, max_tile_width, batch)
        covered = np.zeros((height, width), int)
        for tile in plan.tiles:
            assert 0 <= tile.row_start < tile.row_stop <= height and 0 <= tile.col_start < tile.col_stop <= width
            covered[tile.row_start : tile.row_stop, tile.col_start : tile.col_stop] += 1
        np.testing.assert_array_equal(covered, 1)
        assert len(plan.tiles) == len(plan.row_bands) * len(plan.col_strips)
        assert plan.tiles == tuple(sorted(plan.tiles))  # row-major

    @pytest.mark.parametrize("height, width, band_pixels, max_tile_width, batch", CASES)
    def test_tiles_respect_the_budget(self, height, width, band_pixels, max_tile_width, batch):
        plan = plan_tiles(height, width, band_pixels, max_tile_width, batch)
        assert plan.tile_width == min(width, max_tile_width) and 1 <= plan.band_height <= height
        for r0, r1, c0, c1 in plan.tiles:
            assert c1 - c0 <= max_tile_width and r1 - r0 <= plan.band_height
            # At most band_pixels over the batch, unless one row of the strip alone is more.
            assert batch * (r1 - r0) * (c1 - c0) <= max(band_pixels, batch * plan.tile_width)
        # The bands are as tall as the budget allows: one more row would break it.
        if plan.band_height < height:
            assert batch * (plan.band_height + 1) * plan.tile_width > band_pixels

    def test_known_plan(self):
        plan = plan_tiles(37, 53, band_pixels=200, max_tile_width=16)
        assert (plan.band_height, plan.tile_width) == (12, 16)
        assert plan.row_bands == ((0, 12), (12, 24), (24, 36), (36, 37))
        assert plan.col_strips == ((0, 16), (16, 32), (32, 48), (48, 53))
        assert plan.tiles[0] == Tile(0, 12, 0, 16) and plan.tiles[-1] == Tile(36, 37, 48, 53)

    def test_graph_shape_equals_python_shape(self):
        import tensorflow as tf

        for height, width, band_pixels, max_tile_width, batch in CASES:
            expected = tile_shape(height, width, band_pixels, max_tile_width, batch)
            got = tile_shape(tf.constant(height), tf.constant(width), band_pixels, max_tile_width, batch,
                             minimum=tf.minimum, maximum=tf.maximum)
            assert tuple(int(v) for v in got) == expected
            plan = plan_tiles(height, width, band_pixels, max_tile_width, batch)
            assert int(ceil_div(tf.constant(height), got[0])) == len(plan.row_bands)
            assert int(ceil_div(tf.constant(width), got[1])) == len(plan.col_strips)

    def test_ceil_div(self):
        assert [ceil_div(n, 4) for n in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"height": 0}, "Received: height=0"),
            ({"width": 2.5}, "Received: width=2.5"),
            ({"band_pixels": -1}, "Received: band_pixels=-1"),
            ({"max_tile_width": True}, "Received: max_tile_width=True"),
            ({"batch": 0}, "Received: batch=0"),
        ],
    )
    def test_bad_arguments_are_named(self, kwargs, match):
        args = dict(height=4, width=4, band_pixels=16, max_tile_width=4, batch=1)
        args.update(kwargs)
        with pytest.raises(ValueError, match=match):
            plan_tiles(**args)

    def test_numpy_integers_are_accepted(self):
        plan = plan_tiles(np.int64(8), np.int32(8), 16, 4)
        assert (plan.band_height, plan.tile_width) == (4, 4) and isinstance(plan.height, int)


class TestGenerateFunctionFollowsThePlan(TestCase):
    """`make_generate_function` renders exactly the plan's tiles (a check that the two stay one rule)."""

    @pytest.mark.parametrize("height, width, band_pixels, max_tile_width, batch",
                             [(13, 21, 40, 8, 1), (9, 10, 30, 4, 2), (5, 6, 1000, 1024, 2)])
    def test_sink_receives_the_planned_tiles(self, height, width, band_pixels, max_tile_width, batch):
        arrays, meta = load_fixture("creps_tiny")
        g = generator_from_official({k[2:]: v for k, v in arrays.items() if k.startswith("G/")}, **meta["G_kwargs"])
        z = arrays["in/z"][:batch] / 200.0
        seen = []
        generate = g.make_generate_function(band_pixels=band_pixels, max_tile_width=max_tile_width, jit_compile=False)
        generate(z, rows=np.linspace(0, 1, height), cols=np.linspace(0, 1, width),
                 sink=lambda r0, c0, tile: seen.append(Tile(r0, r0 + tile.shape[1], c0, c0 + tile.shape[2])))
        plan = plan_tiles(height, width, band_pixels, max_tile_width, batch)
        assert sorted(seen) == list(plan.tiles)


@pytest.mark.parametrize("precision, backend, expected", [
    ("bfloat16", "tensorflow", 65536),  # fewer calls pay there (see auto_band_pixels)
    ("bfloat16", "torch", 65536),  # once its eager first call is small (see auto_band_pixels)
    ("bfloat16", "jax", 16384),
    ("float32", "tensorflow", 16384),
    ("float32", "torch", 16384),
])
def test_auto_band_pixels(precision, backend, expected):
    assert auto_band_pixels(precision, backend) == expected

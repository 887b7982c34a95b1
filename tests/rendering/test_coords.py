import numpy as np
import pytest
from test_case import TestCase
from test_case import load_fixture
from test_case import to_numpy

from keras_creps.convert import generator_from_official
from keras_creps.rendering import axis_coords
from keras_creps.rendering import scale_coords
from keras_creps.rendering import view_coords

_G = {}


def tiny():
    if not _G:
        arrays, meta = load_fixture("creps_tiny")
        _G["g"] = generator_from_official({k[2:]: v for k, v in arrays.items() if k.startswith("G/")}, **meta["G_kwargs"])
        _G["ws"] = arrays["out/ws"]
    return _G["g"], _G["ws"]


class TestCoords(TestCase):
    def test_corners_is_the_official_grid(self):
        arrays, _ = load_fixture("creps_tiny")
        for scale in ("1", "1.5", "2"):
            rows, cols = scale_coords(16, float(scale))
            np.testing.assert_allclose(rows, arrays[f"in/coords_scale{scale}"][0, :, 0, 0], atol=1e-7)
            np.testing.assert_array_equal(rows, cols)
        np.testing.assert_array_equal(axis_coords(1), [0.0])

    def test_centers_nest_across_scales(self):
        fine = axis_coords(32, align="centers").astype(np.float64)
        coarse = axis_coords(16, align="centers")
        np.testing.assert_allclose(fine.reshape(16, 2).mean(1), coarse, atol=1e-7)

    def test_view_keeps_pixel_spacing(self):
        for align in ("corners", "centers"):
            rows, cols = view_coords(9, 21, zoom=3.0, center=(0.2, 0.7), align=align)
            np.testing.assert_allclose(np.diff(cols), np.diff(rows)[0], rtol=1e-4)
            assert abs(rows.mean() - 0.2) < 1e-6 and abs(cols.mean() - 0.7) < 1e-6
        rows, cols = view_coords(16)
        np.testing.assert_allclose(rows, np.linspace(0, 1, 16), atol=1e-7)

    @pytest.mark.parametrize(
        "call, match",
        [
            (lambda: axis_coords(0), "size=0"),
            (lambda: axis_coords(2.5), "size=2.5"),
            (lambda: axis_coords(1 << 30), "absurdly large"),
            (lambda: axis_coords(4, align="edges"), "align='edges'"),
            (lambda: axis_coords(4, stop=float("nan")), "stop=nan"),
            (lambda: scale_coords(16, -1), "scale=-1.0"),
            (lambda: view_coords(8, zoom=0), "zoom=0.0"),
            (lambda: view_coords(-3), "height=-3"),
        ],
    )
    def test_bad_values_are_named(self, call, match):
        with pytest.raises(ValueError, match=match):
            call()


class TestGeometryThroughTheGenerator(TestCase):
    def test_zoom_window_is_a_crop_of_a_finer_render(self):
        g, ws = tiny()
        fine = to_numpy(g.synthesis(ws, axis_coords(32, align="centers"), axis_coords(32, align="centers")))
        rows, cols = view_coords(16, zoom=2.0, center=(0.25, 0.75), align="centers")
        zoomed = to_numpy(g.synthesis(ws, rows, cols))
        assert np.max(np.abs(zoomed - fine[:, :16, 16:])) <= 1e-5 * np.abs(fine).max()

    def test_translation_by_whole_pixels_is_a_shifted_crop(self):
        g, ws = tiny()
        spacing = 1.0 / 15
        wide = to_numpy(g.synthesis(ws, axis_coords(16), axis_coords(16 + 5, 0.0, 1.0 + 5 * spacing)))
        rows, cols = view_coords(16, center=(0.5, 0.5 + 3 * spacing))
        moved = to_numpy(g.synthesis(ws, rows, cols))
        assert np.max(np.abs(moved - wide[:, :, 3:19])) <= 1e-4 * np.abs(wide).max()

import numpy as np
import pytest
from test_case import TestCase
from test_case import load_fixture
from test_case import to_numpy

from keras_creps.convert import generator_from_official
from keras_creps.rendering import affine_matrix
from keras_creps.rendering import affine_points
from keras_creps.rendering import axis_coords
from keras_creps.rendering import field_points
from keras_creps.rendering import render_points_grid
from keras_creps.rendering import swirl_field


@pytest.fixture(scope="module")
def tiny():
    arrays, meta = load_fixture("creps_tiny")
    g = generator_from_official({k[2:]: v for k, v in arrays.items() if k.startswith("G/")}, **meta["G_kwargs"])
    return g, arrays["out/ws"]


class TestWarps(TestCase):
    @pytest.mark.parametrize("degrees, k", [(90, 1), (180, 2), (-90, -1), (270, 3)])
    def test_quarter_turns_equal_rot90(self, tiny, degrees, k):
        g, ws = tiny
        grid = axis_coords(16)
        plain = to_numpy(g.synthesis(ws, grid, grid))
        pr, pc = affine_points(grid, grid, affine_matrix(rotate=degrees))
        rotated = render_points_grid(g, ws, pr, pc, 16, 16, chunk=100)
        expected = np.rot90(plain, k=k, axes=(1, 2))
        assert np.max(np.abs(rotated - expected)) <= 1e-5 * np.abs(plain).max()

    def test_identity_and_zoom(self, tiny):
        g, ws = tiny
        grid = axis_coords(12)
        plain = to_numpy(g.synthesis(ws, grid, grid))
        pr, pc = affine_points(grid, grid, affine_matrix())
        np.testing.assert_allclose(render_points_grid(g, ws, pr, pc, 12, 12), plain, rtol=1e-5, atol=1e-5 * np.abs(plain).max())
        pr, pc = affine_points(grid, grid, affine_matrix(zoom=(2.0, 2.0)))
        zoomed = to_numpy(g.synthesis(ws, axis_coords(12, 0.25, 0.75), axis_coords(12, 0.25, 0.75)))
        assert np.max(np.abs(render_points_grid(g, ws, pr, pc, 12, 12) - zoomed)) <= 1e-5 * np.abs(zoomed).max()

    def test_zoom_is_checked(self):
        for zoom, match in (((0.0, 1.0), "zoom=\\(0.0, 1.0\\)"), ((1.0, float("nan")), "zoom\\[1\\]=nan")):
            with pytest.raises(ValueError, match=match):
                affine_matrix(zoom=zoom)

    def test_free_form_field(self, tiny):
        g, ws = tiny
        rows, cols = swirl_field(10, 14, strength=0.0)
        pr, pc = field_points(rows, cols)
        plain = to_numpy(g.synthesis(ws, rows[:, 0], cols[0]))
        assert np.max(np.abs(render_points_grid(g, ws, pr, pc, 10, 14) - plain)) <= 1e-5 * np.abs(plain).max()
        swirled = render_points_grid(g, ws, *field_points(*swirl_field(10, 14, strength=2.0)), 10, 14)
        assert np.isfinite(swirled).all() and np.abs(swirled - plain).max() > 1e-3 * np.abs(plain).max()

    def test_bad_inputs(self, tiny):
        g, ws = tiny
        with pytest.raises(ValueError, match="2x2"):
            affine_points(axis_coords(4), axis_coords(4), np.eye(3))
        with pytest.raises(ValueError, match=r"\[H, W\]"):
            field_points(np.zeros((3, 4)), np.zeros((4, 3)))
        with pytest.raises(ValueError, match="Expected 16 points"):
            render_points_grid(g, ws, np.zeros(15), np.zeros(15), 4, 4)

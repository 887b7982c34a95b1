import numpy as np
import pytest
from PIL import Image
from test_case import TestCase
from test_case import load_fixture
from test_case import to_numpy

from keras_creps.convert import generator_from_official
from keras_creps.rendering import render_large_image
from keras_creps.rendering import view_coords
from keras_creps.utils.images import to_uint8


@pytest.fixture(scope="module")
def tiny():
    arrays, meta = load_fixture("creps_tiny")
    g = generator_from_official({k[2:]: v for k, v in arrays.items() if k.startswith("G/")}, **meta["G_kwargs"])
    return g, arrays["in/z"][:1] / 200.0  # small z: images roughly in range, so uint8 is informative


class TestRenderLargeImage(TestCase):
    @pytest.mark.parametrize("ext", [".npy", ".png"])
    def test_tiles_equal_the_untiled_render(self, tiny, tmp_path, ext):
        g, z = tiny
        height, width = 37, 53
        path = render_large_image(g, z, str(tmp_path / f"big{ext}"), height, width, tile=16, band_pixels=200)
        image = np.load(path) if ext == ".npy" else np.asarray(Image.open(path))
        assert image.shape == (height, width, 3) and image.dtype == np.uint8
        rows, cols = view_coords(height, width, keep_aspect=False)
        reference = to_uint8(to_numpy(g.synthesis(g.mapping(z), rows, cols))[0])
        assert np.max(np.abs(image.astype(int) - reference.astype(int))) <= 1
        assert not list(tmp_path.glob("*.tmp.npy"))

    def test_progress_and_errors(self, tiny, tmp_path):
        g, z = tiny
        seen = []
        render_large_image(g, z, str(tmp_path / "p.npy"), 10, 12, tile=5, band_pixels=20,
                           progress=lambda done, total: seen.append((done, total)))
        assert seen[-1] == (120, 120) and len(seen) > 3
        with pytest.raises(ValueError, match="big.jpg"):
            render_large_image(g, z, str(tmp_path / "big.jpg"), 8)
        with pytest.raises(ValueError, match="use a .npy path"):
            render_large_image(g, z, str(tmp_path / "huge.png"), 20000, 20000)
        with pytest.raises(ValueError, match="Received: band_pixels=0"):
            render_large_image(g, z, str(tmp_path / "bad.npy"), 8, band_pixels=0)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npy"]  # nothing written for refused calls

    @pytest.mark.parametrize("ext", [".npy", ".png"])
    def test_interrupted_render_leaves_no_file(self, tiny, tmp_path, ext):
        g, z = tiny

        def interrupt(done, total):
            if done >= total // 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            render_large_image(g, z, str(tmp_path / f"big{ext}"), 12, 12, tile=4, band_pixels=16, progress=interrupt)
        assert not list(tmp_path.iterdir())

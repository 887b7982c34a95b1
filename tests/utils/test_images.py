import numpy as np
import pytest
from PIL import Image

from keras_creps.utils.images import image_grid
from keras_creps.utils.images import save_png
from keras_creps.utils.images import to_uint8


def test_to_uint8_one_rounding():
    x = np.array([-1.0, -1.01, 0.0, 1.0, 2.0, -127.0 / 127.5, 0.5 / 127.5], np.float32)
    # -1 -> 0.5 -> rint 0; 0 -> 128; 1 -> 255.5 -> 256 -> clipped 255;
    # -127/127.5 -> 1; 0.5/127.5 -> 128.5 -> rint half to even 128.
    np.testing.assert_array_equal(to_uint8(x), [0, 0, 128, 255, 255, 1, 128])


def test_to_uint8_passes_uint8_through():
    x = np.arange(256, dtype=np.uint8)
    assert to_uint8(x) is x


def test_image_grid_places_images_row_major():
    images = np.stack([np.full((2, 3, 1), v, np.uint8) for v in (10, 20, 30)])
    grid = image_grid(images, columns=2)
    assert grid.shape == (4, 6, 1)
    assert grid[0, 0, 0] == 10 and grid[0, 3, 0] == 20 and grid[2, 0, 0] == 30
    assert grid[2, 3, 0] == 0  # missing cell stays black


def test_image_grid_rejects_empty():
    with pytest.raises(ValueError, match="shape=\\(0,"):
        image_grid(np.zeros((0, 2, 2, 3), np.uint8), columns=2)


def test_save_png_round_trips_and_leaves_no_temporary(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = save_png(tmp_path / "a.png", image)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
    assert (path.stat().st_mode & 0o777) != 0o600

"""Plans of recipes/generate.py's renders, in the library: views, file names, memory, disk, seeds, videos."""

import numpy as np
import pytest

from keras_creps.rendering import Outputs
from keras_creps.rendering import Video
from keras_creps.rendering import View
from keras_creps.rendering import view_coords
from keras_creps.rendering.batch_render import image_name
from keras_creps.rendering.batch_render import png_memory
from keras_creps.rendering.batch_render import tiled_disk_bytes
from keras_creps.rendering.batch_render import tiled_extension
from keras_creps.rendering.large_image import PNG_MAX_PIXELS
from keras_creps.rendering.seed_batches import parse_seeds
from keras_creps.rendering.video import video_frame_views
from keras_creps.rendering.view import center_from_translate


def test_parse_seeds():
    assert parse_seeds("0,3,5-9") == [0, 3, 5, 6, 7, 8, 9]
    assert parse_seeds(" 4294967295 ") == [4294967295]
    for text, message in (("3-1", "'3-1' is not a seed"), ("a", "'a' is not a seed"), ("-5", "'-5' is not a seed"),
                          ("4294967296", "seeds must be integers in [0, 2**32)")):
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("*", r"\*").replace(")", r"\)")):
            parse_seeds(text)
    with pytest.raises(ValueError, match="4294967296 seeds, at most 10 a run"):
        parse_seeds("0-4294967295", max_count=10)  # counted, never expanded


def test_view_axes():
    rows, cols = View().axes(8, 16)
    expected = view_coords(8, 16, center=(0.5, 0.5), zoom=1.0, align="corners", keep_aspect=False)
    np.testing.assert_array_equal(rows, expected[0])
    np.testing.assert_array_equal(cols, expected[1])
    # A tall panorama keeps the columns' pitch on the rows: the same as the transposed wide one.
    tall_rows, tall_cols = View(panorama=True).axes(16, 8)
    wide_rows, wide_cols = View(panorama=True).axes(8, 16)
    np.testing.assert_allclose(tall_rows, wide_cols)
    np.testing.assert_allclose(tall_cols, wide_rows)


def test_center_from_translate():
    assert center_from_translate(0.0, 0.0, 64) == (0.5, 0.5)
    row, col = center_from_translate(3.0, -63.0, 64)
    assert col == pytest.approx(0.5 + 3 / 63) and row == pytest.approx(0.5 - 1.0)


def test_file_names_memory_and_disk():
    assert image_name("tiny", None, 3, "64x64") == "tiny-seed0003-64x64"
    assert image_name("tiny", 2, 12345, "zoom") == "tiny-class2-seed12345-zoom"
    assert png_memory(100, 1) == 300 and png_memory(100, 3) == 1000
    outputs = Outputs("out", "g", memory_bytes=1 << 20, max_untiled_pixels=1000)
    assert not outputs.is_tiled(10, 100) and outputs.is_tiled(10, 101)
    assert tiled_extension(100, 100, 3, outputs) == ".png"  # 100 kB to encode
    assert tiled_extension(1000, 1000, 3, outputs) == ".npy"  # 10 MB: over the budget
    assert tiled_extension(PNG_MAX_PIXELS, 2, 1, Outputs("out", "g", memory_bytes=1 << 40)) == ".npy"
    raw = 100 * 100 * 3 + 4096
    assert tiled_disk_bytes([(10, 10), (100, 100)], 2, 3, outputs) == 2 * raw + raw  # + the PNG's temporary


def test_video_frames_and_memory():
    video = Video("zoom", (4, 6), frames=3)
    assert [v.zoom for v in video_frame_views(View(zoom=2.0), video)] == [2.0, 8.0, 32.0]
    pan = video_frame_views(View(), Video("pan", (4, 4), frames=2))
    assert [v.center for v in pan] == [(0.5, 0.5), (0.5, 1.5)]
    turn = video_frame_views(View(rotate=10.0), Video("rotate", (4, 4), frames=4))
    assert [v.rotate for v in turn] == [10.0, 100.0, 190.0, 280.0]  # the last leads back to the first
    assert video.memory_bytes(3) == 3 * 4 * 6 * 4 and video.memory_bytes(1) == 3 * 4 * 6

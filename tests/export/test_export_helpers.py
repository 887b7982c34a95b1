"""The export's pure helpers: graph coordinates, uint8 conversion, seeds, versions, arguments.

These run on every backend (TensorFlow is installed for tf.data and the
SavedModel whatever `KERAS_BACKEND` is); only `export_saved_model` itself
needs the TensorFlow backend.
"""

import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_case import TestCase

from keras_creps import CREPSGenerator, export
from keras_creps.rendering.coords import view_coords
from keras_creps.utils import images


def tiny_generator():
    keras.utils.set_random_seed(3)
    return CREPSGenerator(resolution=16, z_dim=8, w_dim=8, c_dim=3, channel_base=256, channel_max=32,
                          biline_channels=8, mapping_layers=1)


def crafted_floats():
    """Floats around every uint8 rounding boundary, out of range, signed zeros, tiny and huge values."""
    halfway = (np.arange(-3, 260) + 0.5 - 128.0) / 127.5  # x * 127.5 + 128 = k + 0.5 in exact arithmetic
    near = np.float32(halfway)
    around = [near]
    for steps in (1, 2, 3):
        up, down = near.copy(), near.copy()
        for _ in range(steps):
            up, down = np.nextafter(up, np.float32(np.inf)), np.nextafter(down, np.float32(-np.inf))
        around += [up, down]
    special = np.float32([0.0, -0.0, 1.0, -1.0, 0.5 / 127.5, -0.5 / 127.5, 1.5 / 127.5, 2.0, -2.0, 1e-45, -1e-45,
                          1e-30, 3e38, -3e38, np.inf, -np.inf, 127.5 / 127.5, 126.5 / 127.5, -127.5 / 127.5])
    random = np.random.default_rng(0).uniform(-1.2, 1.2, 100_000).astype(np.float32)
    return np.concatenate(around + [special, random])


class TestUint8(TestCase):
    def test_graph_rounding_equals_utils_to_uint8_bitwise(self):
        x = crafted_floats()
        with np.errstate(over="ignore"):  # 3e38 * 127.5 overflows to inf on purpose
            expected = images.to_uint8(x)
        eager = export.to_uint8(tf.constant(x)).numpy()
        graph = tf.function(export.to_uint8, input_signature=[tf.TensorSpec([None], tf.float32)])(x).numpy()
        for got in (eager, graph):
            assert got.dtype == np.uint8
            mismatch = np.flatnonzero(got != expected)
            assert mismatch.size == 0, f"differs at x={x[mismatch[:5]]!r}: {got[mismatch[:5]]} vs {expected[mismatch[:5]]}"

    def test_halfway_values_round_to_even(self):
        # 0.5 / 127.5 * 127.5 + 128 = 128.5 -> 128; 1.5 / 127.5 -> 129.5 -> 130; -1 -> 0.5 -> 0; 1 -> 255.5 -> 255.
        x = np.float32([0.5 / 127.5, 1.5 / 127.5, -1.0, 1.0, 7.0, -7.0])
        np.testing.assert_array_equal(export.to_uint8(tf.constant(x)).numpy(), [128, 130, 0, 255, 255, 0])
        np.testing.assert_array_equal(images.to_uint8(x), [128, 130, 0, 255, 255, 0])


class TestGraphCoords(TestCase):
    @pytest.mark.parametrize("align", ["corners", "centers"])
    @pytest.mark.parametrize("keep_aspect", [False, True])
    def test_graph_coordinates_equal_view_coords_bitwise(self, align, keep_aspect):
        for height, width, zoom, center in ((1, 1, 1.0, (0.5, 0.5)), (7, 300, 3.7, (0.75, -1.0)),
                                            (64, 64, 1.0, (0.5, 0.5)), (513, 100, 0.3, (0.501, 2.5))):
            c = np.float32(center)
            rows, cols = view_coords(height, width, center=(float(c[0]), float(c[1])),
                                     zoom=float(np.float32(zoom)), align=align, keep_aspect=keep_aspect)
            got_rows, got_cols = export.view_window_coords(
                tf.constant(height), tf.constant(width), tf.constant(zoom, tf.float32), tf.constant(c),
                align=align, keep_aspect=keep_aspect)
            np.testing.assert_array_equal(got_rows.numpy(), rows)
            np.testing.assert_array_equal(got_cols.numpy(), cols)
            window = (height // 3, height, width // 2, width // 2 + 1)
            tile_rows, tile_cols = export.view_window_coords(
                tf.constant(height), tf.constant(width), tf.constant(zoom, tf.float32), tf.constant(c),
                tuple(tf.constant(v) for v in window), align=align, keep_aspect=keep_aspect)
            np.testing.assert_array_equal(tile_rows.numpy(), rows[window[0] : window[1]])
            np.testing.assert_array_equal(tile_cols.numpy(), cols[window[2] : window[3]])

    def test_bad_align_is_named(self):
        with pytest.raises(ValueError, match="Received: align='edges'"):
            export.view_window_coords(tf.constant(2), tf.constant(2), 1.0, [0.5, 0.5], align="edges")


class TestSeedsAndVersions(TestCase):
    def test_seeds_to_z(self):
        z = export.seeds_to_z([0, 1, 2**40], 16)
        assert z.shape == (3, 16) and z.dtype == np.float32
        np.testing.assert_array_equal(z[1], export.seeds_to_z(1, 16)[0])
        assert not np.allclose(z[0], z[1])
        assert abs(float(export.seeds_to_z(range(64), 64).std()) - 1.0) < 0.05
        with pytest.raises(ValueError, match="Received: z_dim=0"):
            export.seeds_to_z([0], 0)
        with pytest.raises(ValueError, match="must be integers"):
            export.seeds_to_z([0.5], 4)

    def test_next_version(self, tmp_path):
        assert export.next_version(tmp_path / "missing") == 1
        for name in ("1", "7", "003", ".tmp-9-x", "notes"):
            os.makedirs(tmp_path / name)
        assert export.next_version(tmp_path) == 8

    def test_serving_limits(self):
        limits = export.ServingLimits()
        assert (limits.max_samples, limits.max_pixels) == (64, 1 << 22)
        for kwargs, message in (({"max_samples": 0}, "Received: max_samples=0"),
                                ({"max_pixels": 2.5}, "Received: max_pixels=2.5")):
            with pytest.raises(ValueError, match=message):
                export.ServingLimits(**kwargs)


class TestExportArguments(TestCase):
    def test_argument_errors(self, tmp_path):
        if keras.config.backend() != "tensorflow":
            with pytest.raises(RuntimeError, match="KERAS_BACKEND=tensorflow"):
                export.export_saved_model(tiny_generator(), tmp_path)
            assert not os.listdir(tmp_path)
            return
        generator = tiny_generator()
        os.makedirs(tmp_path / "2")
        with pytest.raises(ValueError, match="Version 2 already exists"):
            export.export_saved_model(generator, tmp_path, version=2)
        for kwargs, message in (({"max_pixels": 0}, "Received: max_pixels=0"),
                                ({"max_samples": -1}, "Received: max_samples=-1"),
                                ({"align": "middle"}, "Received: align='middle'"),
                                ({"version": -1}, "Received: version=-1"),
                                ({"band_pixels": 0}, "Received: band_pixels=0"),
                                ({"truncation_psi": float("nan")}, "Received: truncation_psi=nan"),
                                ({"truncation_psi": float("-inf")}, "Received: truncation_psi=-inf"),
                                ({"truncation_psi": 1e38}, "at most 100 in magnitude. Received: truncation_psi=1e")):
            with pytest.raises(ValueError, match=message):
                export.export_saved_model(generator, tmp_path, **kwargs)
        with pytest.raises(ValueError, match="keras_creps.CREPSGenerator"):
            export.export_saved_model(keras.Sequential(), tmp_path)
        shutil.rmtree(tmp_path / "2")
        assert not os.listdir(tmp_path)

"""Tests of the Laplacian-pyramid sliced Wasserstein distance."""

import numpy as np
import pytest
from scipy import ndimage
from scipy import stats
from test_case import TestCase

from keras_creps.metrics import sliced_wasserstein as swd
from keras_creps.metrics.sliced_wasserstein import laplacian_pyramid
from keras_creps.metrics.sliced_wasserstein import laplacian_pyramid_descriptors
from keras_creps.metrics.sliced_wasserstein import sliced_wasserstein_distance
from keras_creps.metrics.sliced_wasserstein import sliced_wasserstein_from_descriptors
from keras_creps.metrics.sliced_wasserstein import wasserstein_1d

# Small settings keep each call well under a second.
FAST = dict(num_descriptors_per_image=32, num_projections=32, num_repeats=2)


def _smooth_images(seed, num=24, size=32):
    """Blurred colour noise as float images on the [0, 255] scale."""
    noise = np.random.default_rng(seed).standard_normal((num, size, size, 3))
    smooth = ndimage.gaussian_filter(noise, sigma=(0, 1.5, 1.5, 0))
    return np.clip(smooth / smooth.std() * 40 + 128, 0, 255)


def _desaturate(images, amount):
    return (1 - amount) * images + amount * images.mean(axis=-1, keepdims=True)


def _reference_pyramid(images, num_levels):
    """NCHW pyramid with full 2-D 5x5 convolutions (the separable-free route)."""
    taps = np.array([1, 4, 6, 4, 1], dtype=np.float64) / 16
    kernel = np.outer(taps, taps)[None, None]
    gaussian = np.transpose(images, (0, 3, 1, 2)).astype(np.float64)
    levels = []
    for _ in range(num_levels - 1):
        coarser = ndimage.convolve(gaussian, kernel, mode="mirror")[:, :, ::2, ::2]
        spread = np.zeros(coarser.shape[:2] + (2 * coarser.shape[2], 2 * coarser.shape[3]))
        spread[:, :, ::2, ::2] = coarser
        up = ndimage.convolve(spread, kernel * 4, mode="mirror")
        up = up[:, :, : gaussian.shape[2], : gaussian.shape[3]]
        levels.append(gaussian - up)
        gaussian = coarser
    levels.append(gaussian)
    return [np.transpose(level, (0, 2, 3, 1)) for level in levels]


class TestSlicedWasserstein(TestCase):
    @pytest.mark.parametrize("size", [32, 20])
    def test_pyramid_matches_2d_convolution_reference(self, size):
        images = _smooth_images(0, num=2, size=size)
        for actual, expected in zip(laplacian_pyramid(images, 2), _reference_pyramid(images, 2)):
            assert actual.shape == expected.shape
            self.assert_close_to_reference(actual, expected, tol=1e-5, label=f"laplacian pyramid {size}")

    def test_constant_image_has_empty_detail_levels(self):
        images = np.full((1, 24, 24, 3), 77.0)
        levels = laplacian_pyramid(images, 3)
        assert [level.shape[1] for level in levels] == [24, 12, 6]
        assert max(np.max(np.abs(level)) for level in levels[:-1]) < 1e-4
        self.assert_all_close(levels[-1], np.full((1, 6, 6, 3), 77.0), atol=1e-4)

    def test_descriptors_are_normalised_per_channel(self):
        images = _smooth_images(1).astype(np.uint8)
        descriptors = laplacian_pyramid_descriptors(images, num_descriptors_per_image=16)
        assert list(descriptors) == [32, 16]
        for values in descriptors.values():
            assert values.shape == (24 * 16, 7 * 7 * 3) and values.dtype == np.float32
            per_channel = values.reshape(-1, 3, 49)  # (channel, row, column) order
            self.assert_all_close(per_channel.mean(axis=(0, 2)), np.zeros(3), atol=1e-5)
            self.assert_all_close(per_channel.std(axis=(0, 2)), np.ones(3), atol=1e-5)

    def test_descriptor_content_at_the_only_position(self):
        # At a 7x7 level a 7x7 patch can only be the whole level.
        images = _smooth_images(15, num=3, size=14)
        descriptors = laplacian_pyramid_descriptors(
            images / 127.5 - 1, min_resolution=7, num_descriptors_per_image=2
        )
        assert list(descriptors) == [14, 7]
        coarse = laplacian_pyramid(images, 2)[1]  # [3, 7, 7, 3]
        coarse = (coarse - coarse.mean(axis=(0, 1, 2))) / coarse.std(axis=(0, 1, 2))
        expected = np.repeat(np.transpose(coarse, (0, 3, 1, 2)).reshape(3, -1), 2, axis=0)
        self.assert_all_close(descriptors[7], expected, atol=1e-4)

    def test_float_and_uint8_inputs_agree(self):
        images = _smooth_images(2).astype(np.uint8)
        from_uint8 = laplacian_pyramid_descriptors(images, num_descriptors_per_image=8)
        from_float = laplacian_pyramid_descriptors(images / 127.5 - 1.0, num_descriptors_per_image=8)
        for key in from_uint8:
            self.assert_all_close(from_float[key], from_uint8[key], atol=1e-3)

    def test_self_distance_is_zero_and_same_law_is_small(self):
        # 128 images: with fewer, the sampling floor of the coarse level
        # (few distinct 16x16 images) hides the difference from noise.
        a = _smooth_images(3, num=128).astype(np.uint8)
        b = _smooth_images(4, num=128).astype(np.uint8)
        noise = np.random.default_rng(5).integers(0, 256, a.shape, dtype=np.uint8)
        itself = sliced_wasserstein_distance(a, a, **FAST)
        assert itself == {"levels": {32: 0.0, 16: 0.0}, "mean": 0.0}
        same_law = sliced_wasserstein_distance(a, b, **FAST)
        other_law = sliced_wasserstein_distance(a, noise, **FAST)
        assert 0 < same_law["mean"] < 0.6 * other_law["mean"]
        for key in (32, 16):
            assert same_law["levels"][key] < other_law["levels"][key]

    def test_grows_with_a_colour_shift(self):
        a, b = _smooth_images(6), _smooth_images(7)
        extract = dict(num_descriptors_per_image=32)
        compare = dict(num_projections=32, num_repeats=2)
        cached_a = laplacian_pyramid_descriptors(a, **extract)
        cached_b = laplacian_pyramid_descriptors(b, **extract)
        to_itself, to_other = [], []
        for amount in [0.0, 0.3, 0.6, 0.9]:
            shifted = laplacian_pyramid_descriptors(_desaturate(b, amount) / 127.5 - 1, **extract)
            to_itself.append(sliced_wasserstein_from_descriptors(cached_b, shifted, **compare)["mean"])
            to_other.append(sliced_wasserstein_from_descriptors(cached_a, shifted, **compare)["mean"])
        assert to_itself[0] < 1e-5
        assert np.all(np.diff(to_itself) > 0.01), to_itself
        assert np.all(np.diff(to_other) > 0), to_other
        # A per-channel offset is normalised away (documented behaviour).
        offset = sliced_wasserstein_distance(b / 127.5 - 1, b / 127.5 - 0.9, **FAST)["mean"]
        assert offset < 1e-5

    def test_levels_for_non_power_of_two_and_non_square(self):
        images = _smooth_images(8, num=4, size=40)[:, :, :24]
        result = sliced_wasserstein_distance(images, images[::-1] * 0.5, min_resolution=8, **FAST)
        assert list(result["levels"]) == [40, 20]
        assert result["mean"] == pytest.approx(np.mean(list(result["levels"].values())))

    def test_constant_images_give_finite_zero(self):
        images = np.full((2, 16, 16, 3), 200, np.uint8)
        result = sliced_wasserstein_distance(images, images, **FAST)
        assert result == {"levels": {16: 0.0}, "mean": 0.0}

    def test_deterministic_and_cacheable(self):
        a, b = _smooth_images(9).astype(np.uint8), _smooth_images(10).astype(np.uint8)
        first = sliced_wasserstein_distance(a, b, seed=3, **FAST)
        assert sliced_wasserstein_distance(a, b, seed=3, **FAST) == first
        assert sliced_wasserstein_distance(a, b, seed=4, **FAST) != first
        extract = dict(num_descriptors_per_image=32, seed=3)
        cached = laplacian_pyramid_descriptors(a, **extract)
        again = sliced_wasserstein_from_descriptors(
            cached, laplacian_pyramid_descriptors(b, **extract), num_projections=32, num_repeats=2, seed=3
        )
        assert again == first

    @pytest.mark.parametrize("size_a, size_b", [(50, 50), (50, 70), (13, 29), (40, 8)])
    def test_wasserstein_1d_matches_scipy(self, size_a, size_b):
        rng = np.random.default_rng(11)
        a = rng.standard_normal((3, size_a)).astype(np.float32)
        b = (rng.standard_normal((3, size_b)) * 2 + 0.5).astype(np.float32)
        expected = [stats.wasserstein_distance(a[i], b[i]) for i in range(3)]
        self.assert_all_close(wasserstein_1d(a.copy(), b.copy()), expected, atol=1e-6, rtol=1e-6)

    def test_unequal_set_sizes(self):
        # Sets of different sizes through the public entry point.
        images = _smooth_images(12)
        result = sliced_wasserstein_distance(images, images[:10], **FAST)
        assert result["mean"] > 0

    def test_projection_chunks_do_not_change_the_result(self, monkeypatch):
        a, b = _smooth_images(13, num=8), _smooth_images(14, num=8)
        whole = sliced_wasserstein_distance(a, b, **FAST)
        monkeypatch.setattr(swd, "_PROJECTION_ELEMENTS", 3 * 8 * 32)  # 3 directions per chunk
        chunked = sliced_wasserstein_distance(a, b, **FAST)
        for key in whole["levels"]:
            assert chunked["levels"][key] == pytest.approx(whole["levels"][key], rel=1e-6)

    def test_bad_arguments_raise(self):
        images = np.zeros((2, 16, 16, 3), np.uint8)
        with pytest.raises(ValueError, match=r"Received: images.shape=\(2, 8, 8, 3\)"):
            laplacian_pyramid_descriptors(np.zeros((2, 8, 8, 3), np.uint8))
        with pytest.raises(ValueError, match="Received: descriptor_size=6"):
            laplacian_pyramid_descriptors(images, descriptor_size=6)
        with pytest.raises(ValueError, match="Received: images.dtype=int32"):
            laplacian_pyramid_descriptors(images.astype(np.int32))
        with pytest.raises(ValueError, match=r"images_b.shape=\(2, 16, 16, 1\)"):
            sliced_wasserstein_distance(images, np.zeros((2, 16, 16, 1), np.uint8))
        with pytest.raises(ValueError, match="Received: num_projections=0"):
            sliced_wasserstein_distance(images, images, num_projections=0)
        with pytest.raises(ValueError, match=r"Received: levels_a=\[16\], levels_b=\[8\]"):
            sliced_wasserstein_from_descriptors({16: np.zeros((4, 3))}, {8: np.zeros((4, 3))})

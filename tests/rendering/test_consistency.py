import numpy as np
from test_case import TestCase

from keras_creps.rendering import psnr
from keras_creps.rendering import scale_consistency


class TestScaleConsistency(TestCase):
    def test_smooth_image_is_consistent(self):
        # A band-limited continuous image: both measures must be high.
        def render(rows, cols):
            r, c = np.meshgrid(rows, cols, indexing="ij")
            return (0.5 * np.sin(2 * np.pi * r) * np.cos(np.pi * c))[None, :, :, None]

        out = scale_consistency(render, 32)
        assert out["centers"] > 40 and out["corners"] > 40

    def test_noise_is_inconsistent(self):
        rng = np.random.default_rng(0)

        def render(rows, cols):
            return rng.uniform(-1, 1, (1, rows.size, cols.size, 3))

        out = scale_consistency(render, 16)
        assert out["centers"] < 12 and out["corners"] < 12

    def test_psnr(self):
        a = np.zeros((1, 4, 4, 3))
        assert psnr(a, a) == float("inf")
        assert abs(psnr(a, a + 0.2) - 10 * np.log10(4 / 0.04)) < 1e-9

import numpy as np
from test_case import TestCase
from test_case import to_numpy

from keras_creps.layers.biline_fusion import BilineFusion


class TestBilineFusion(TestCase):
    def test_grid(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(2, 5, 8, 3)).astype("float32")
        y = rng.normal(size=(2, 7, 8, 3)).astype("float32")
        _, out = self.run_layer_test(BilineFusion, {}, (x, y), (2, 5, 7, 3))
        np.testing.assert_allclose(to_numpy(out), 0.5 * np.einsum("nhdc,nwdc->nhwc", x, y), rtol=1e-5, atol=1e-5)

    def test_pointwise_equals_grid_diagonal(self):
        rng = np.random.default_rng(1)
        x = rng.normal(size=(2, 6, 8, 3)).astype("float32")
        y = rng.normal(size=(2, 6, 8, 3)).astype("float32")
        _, points = self.run_layer_test(BilineFusion, dict(pointwise=True), (x, y), (2, 6, 3))
        grid = to_numpy(BilineFusion()(x, y))
        np.testing.assert_allclose(to_numpy(points), np.stack([grid[:, i, i] for i in range(6)], 1), rtol=1e-5, atol=1e-6)

import numpy as np
from test_case import TestCase
from test_case import to_numpy

from keras_creps.layers.pixel_decoder import PixelDecoder


class TestPixelDecoder(TestCase):
    def test_layer_basics_and_widths(self):
        x = np.random.default_rng(0).normal(size=(2, 4, 5, 8)).astype("float32")
        layer, _ = self.run_layer_test(PixelDecoder, dict(channels=8), (x,), (2, 4, 5, 8))
        assert [l.units for l in layer.dense_layers] == [16, 32, 16, 8]

    def test_is_a_chain_of_lrelu_layers(self):
        x = np.random.default_rng(1).normal(size=(3, 8)).astype("float32")
        layer = PixelDecoder(8)
        y = to_numpy(layer(x))
        ref = x
        for dense in layer.dense_layers:
            k, b = dense.get_weights()
            pre = ref @ (k / np.sqrt(k.shape[0])) + b
            ref = np.where(pre >= 0, pre, 0.2 * pre) * np.sqrt(2)
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)

import math

import numpy as np
import pytest

import discriminator_reference as ref
from keras_creps.layers.equalized_conv2d import EqualizedConv2D
from test_case import TestCase
from test_case import to_numpy


class TestEqualizedConv2D(TestCase):
    @pytest.mark.parametrize(
        "kwargs, expected",
        [
            ({"filters": 6, "kernel_size": 3}, (2, 8, 8, 6)),
            ({"filters": 6, "kernel_size": 3, "down": 2, "activation": "lrelu", "clamp": 256.0}, (2, 4, 4, 6)),
            ({"filters": 6, "kernel_size": 1, "down": 2, "use_bias": False}, (2, 4, 4, 6)),
        ],
    )
    def test_layer(self, kwargs, expected):
        x = np.random.RandomState(0).randn(2, 8, 8, 5).astype("float32")
        layer, _ = self.run_layer_test(EqualizedConv2D, kwargs, [x], expected)
        k = kwargs["kernel_size"]
        assert tuple(layer.kernel.shape) == (k, k, 5, 6)
        assert (layer.bias is None) == (kwargs.get("use_bias") is False)
        assert math.isclose(layer.weight_gain, 1 / math.sqrt(5 * k * k))

    @pytest.mark.parametrize("kernel_size, down", [(3, 1), (3, 2), (1, 2), (1, 1)])
    @pytest.mark.parametrize("gain", [1.0, math.sqrt(0.5)])
    def test_matches_numpy_reference(self, kernel_size, down, gain):
        rng = np.random.RandomState(3)
        x = (rng.randn(2, 8, 8, 4) * 3).astype("float32")
        layer = EqualizedConv2D(5, kernel_size, down=down, activation="lrelu", clamp=1.5)
        layer.build(x.shape)
        layer.bias.assign(rng.randn(5).astype("float32"))
        y = to_numpy(layer(x, gain=gain))
        expected = ref.conv_layer(layer, x, gain=gain)
        assert np.mean(np.abs(expected) >= 1.5 * gain - 1e-6) > 0.05  # the clamp is active
        np.testing.assert_allclose(y, expected, rtol=0, atol=2e-5)

    def test_skip_has_no_clamp_and_linear_gain(self):
        x = (np.random.RandomState(4).randn(1, 4, 4, 3) * 100).astype("float32")
        layer = EqualizedConv2D(2, 1, down=2, use_bias=False)
        y = to_numpy(layer(x, gain=0.5))
        np.testing.assert_allclose(y, ref.conv_layer(layer, x, gain=0.5), rtol=1e-5, atol=1e-4)

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="Received: down=3"):
            EqualizedConv2D(4, 3, down=3)
        with pytest.raises(ValueError, match="Received: kernel_size=2"):
            EqualizedConv2D(4, 2)
        with pytest.raises(ValueError, match="Received: filters=0"):
            EqualizedConv2D(0, 3)
        with pytest.raises(ValueError, match="Received: activation='gelu'"):
            EqualizedConv2D(4, 3, activation="gelu")
        with pytest.raises(ValueError, match="Received: clamp=-1"):
            EqualizedConv2D(4, 3, clamp=-1)
        with pytest.raises(ValueError, match="Received: fir_taps"):
            EqualizedConv2D(4, 3, fir_taps=(1, 2, 1))
        # The output gain is folded into the kernel, which needs a positive gain.
        layer = EqualizedConv2D(4, 3, activation="lrelu")
        with pytest.raises(ValueError, match="Received: gain=-0.5"):
            layer(np.zeros((1, 4, 4, 2), "float32"), gain=-0.5)

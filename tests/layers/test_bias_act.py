import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps.layers.bias_act import bias_act
from keras_creps.layers.bias_act import normalize_2nd_moment


class TestBiasAct(TestCase):
    def test_lrelu_gain_clamp(self):
        x = np.array([[-300.0, -1.0, 0.5, 100.0, 250.0]], "float32")
        b = np.array([0.0, 0.5, 0.5, 0.0, 0.0], "float32")
        y = to_numpy(bias_act(x, b, "lrelu", gain=2.0, clamp=256.0))
        pre = x + b
        ref = np.clip(np.where(pre >= 0, pre, 0.2 * pre) * 2.0, -256, 256)
        np.testing.assert_allclose(y, ref, rtol=1e-6)

    def test_default_gains(self):
        x = np.array([-1.0, 2.0], "float32")
        np.testing.assert_allclose(to_numpy(bias_act(x, activation="lrelu")), [-0.2 * np.sqrt(2), 2 * np.sqrt(2)], rtol=1e-6)
        np.testing.assert_allclose(to_numpy(bias_act(x, activation="linear")), x)

    def test_unknown_activation(self):
        with pytest.raises(ValueError, match="activation='swish'"):
            bias_act(np.zeros(2, "float32"), activation="swish")

    def test_normalize_2nd_moment(self):
        x = np.random.default_rng(0).normal(size=(3, 16)).astype("float32")
        ref = x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-8)
        np.testing.assert_allclose(to_numpy(normalize_2nd_moment(x)), ref, rtol=1e-5)

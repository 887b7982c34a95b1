import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps.layers.modulated_dense import ModulatedDense


def reference(x, w, kernel, bias, a_kernel, a_bias, demodulate, activation, clamp):
    """NumPy StyleGAN2 modulated FC in the official [out, in] convention."""
    weight = kernel.T  # [O, I]
    styles = w @ (a_kernel / np.sqrt(w.shape[-1])) + a_bias  # [N, I]
    if not demodulate:
        styles = styles / np.sqrt(weight.shape[1])
    wn = weight[None] * styles[:, None, :]  # [N, O, I]
    if demodulate:
        wn = wn / np.sqrt(np.sum(wn**2, axis=2, keepdims=True) + 1e-8)
    y = np.einsum("n...i,noi->n...o", x, wn) + bias
    if activation == "lrelu":
        y = np.where(y >= 0, y, 0.2 * y) * np.sqrt(2)
    if clamp is not None:
        y = np.clip(y, -clamp, clamp)
    return y


class TestModulatedDense(TestCase):
    def test_layer_basics(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(2, 6, 8, 12)).astype("float32")
        w = rng.normal(size=(2, 16)).astype("float32")
        self.run_layer_test(ModulatedDense, dict(units=5, clamp=256.0), (x, w), (2, 6, 8, 5))

    @pytest.mark.parametrize("demodulate, activation, clamp", [(True, "lrelu", 1.0), (False, "linear", None), (True, "lrelu", None)])
    @pytest.mark.parametrize("x_shape", [(3, 12), (3, 7, 12), (3, 4, 5, 12)])
    def test_matches_reference(self, demodulate, activation, clamp, x_shape):
        rng = np.random.default_rng(2)
        x = rng.normal(size=x_shape).astype("float32")
        w = rng.normal(size=(3, 16)).astype("float32")
        layer = ModulatedDense(6, demodulate=demodulate, activation=activation, clamp=clamp)
        layer(x, w)
        kernel = rng.normal(size=(12, 6)).astype("float32")
        bias = rng.normal(size=(6,)).astype("float32")
        a_kernel = rng.normal(size=(16, 12)).astype("float32")
        a_bias = 1 + rng.normal(size=(12,)).astype("float32") * 0.5
        layer.kernel.assign(kernel)
        layer.bias.assign(bias)
        layer.affine.set_weights([a_kernel, a_bias])
        y = to_numpy(layer(x, w))
        ref = reference(x, w, kernel, bias, a_kernel, a_bias, demodulate, activation, clamp)
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)

    def test_positions_are_independent(self):
        rng = np.random.default_rng(3)
        x = rng.normal(size=(2, 9, 4)).astype("float32")
        w = rng.normal(size=(2, 8)).astype("float32")
        layer = ModulatedDense(3)
        full = to_numpy(layer(x, w))
        part = to_numpy(layer(x[:, 2:5], w))
        np.testing.assert_allclose(part, full[:, 2:5], rtol=1e-6, atol=1e-6)

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="units=-2"):
            ModulatedDense(-2)
        with pytest.raises(ValueError, match="activation='tanh'"):
            ModulatedDense(2, activation="tanh")

import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps.layers.equalized_dense import EqualizedDense


class TestEqualizedDense(TestCase):
    def test_layer_basics(self):
        x = np.random.default_rng(0).normal(size=(2, 5, 7, 8)).astype("float32")
        self.run_layer_test(
            EqualizedDense,
            dict(units=6, activation="lrelu", lr_multiplier=0.01, bias_init=1.0, clamp=3.0),
            (x,),
            (2, 5, 7, 6),
        )

    @pytest.mark.parametrize("activation, clamp", [("linear", None), ("lrelu", 0.5), ("relu", None)])
    def test_matches_reference_formula(self, activation, clamp):
        rng = np.random.default_rng(1)
        x = rng.normal(size=(4, 3, 10)).astype("float32")
        layer = EqualizedDense(5, activation=activation, lr_multiplier=0.1, clamp=clamp)
        layer.build(x.shape)
        kernel = rng.normal(size=(10, 5)).astype("float32") * 10
        bias = rng.normal(size=(5,)).astype("float32")
        layer.set_weights([kernel, bias])
        y = to_numpy(layer(x))
        pre = x @ (kernel * 0.1 / np.sqrt(10)) + bias * 0.1
        act = {"linear": pre, "lrelu": np.where(pre >= 0, pre, 0.2 * pre) * np.sqrt(2), "relu": np.maximum(pre, 0) * np.sqrt(2)}[activation]
        if clamp is not None:
            act = np.clip(act, -clamp, clamp)
        np.testing.assert_allclose(y, act, rtol=1e-5, atol=1e-6)

    def test_bfloat16_scope_rounds_pixel_products_not_latent_ones(self):
        from keras_creps.layers.matmul_precision import matmul_precision

        rng = np.random.default_rng(3)
        layer = EqualizedDense(24, activation="lrelu")
        pixels = rng.normal(size=(2, 9, 11, 16)).astype("float32")  # 198 rows >= 16 inputs
        latents = rng.normal(size=(2, 16)).astype("float32")  # 2 rows: a style affine
        exact_pixels, exact_latents = to_numpy(layer(pixels)), to_numpy(layer(latents))
        with matmul_precision("bfloat16"):
            rounded_pixels, kept_latents = to_numpy(layer(pixels)), to_numpy(layer(latents))
        error = np.max(np.abs(rounded_pixels - exact_pixels)) / np.max(np.abs(exact_pixels))
        assert 1e-4 < error < 3e-2, error
        np.testing.assert_array_equal(kept_latents, exact_latents)

    def test_initialisation_is_scaled_by_lr_multiplier(self):
        layer = EqualizedDense(256, lr_multiplier=0.01)
        layer.build((None, 256))
        assert 90 < np.std(to_numpy(layer.kernel)) < 110

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            (dict(units=0), "units=0"),
            (dict(units=4, lr_multiplier=0), "lr_multiplier=0"),
            (dict(units=4, activation="gelu"), "activation='gelu'"),
            (dict(units=4, clamp=0), "clamp=0"),
            (dict(units=4, bias_init="one"), "bias_init='one'"),
        ],
    )
    def test_invalid_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            EqualizedDense(**kwargs)

import keras
import numpy as np
import pytest
from keras import ops

import discriminator_reference as ref
from keras_creps.layers.blur import Blur
from keras_creps.layers.blur import _by_products
from keras_creps.layers.blur import _fir_by_products
from keras_creps.layers.blur import _separable_factors
from keras_creps.layers.blur import fir_downsample
from keras_creps.layers.blur import fir_filter_2d
from test_case import TestCase
from test_case import to_numpy


class TestBlur(TestCase):
    def test_layer(self):
        x = np.random.RandomState(0).randn(2, 16, 16, 5).astype("float32")
        self.run_layer_test(Blur, {"padding": 1, "down": 2}, [x], (2, 8, 8, 5))
        self.run_layer_test(Blur, {"padding": 2}, [x], (2, 17, 17, 5))

    def test_filter(self):
        f = fir_filter_2d()
        np.testing.assert_allclose(f, np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0, rtol=0, atol=0)
        assert f.dtype == np.float32

    @pytest.mark.parametrize("padding, down, size", [(2, 1, 16), (1, 2, 16), (1, 2, 9), (0, 2, 8), (3, 1, 5)])
    def test_matches_numpy_reference(self, padding, down, size):
        x = np.random.RandomState(1).randn(3, size, size + 2, 4).astype("float32")
        layer = Blur(padding=padding, down=down)
        y = to_numpy(layer(x))
        expected = ref.upfirdn_down(x, ref.fir_2d(), padding, down)
        assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
        np.testing.assert_allclose(y, expected, rtol=0, atol=1e-5)

    def test_asymmetric_taps_are_convolved(self):
        # upfirdn2d convolves (flips the filter); visible only for asymmetric taps.
        x = np.random.RandomState(2).randn(1, 7, 7, 2).astype("float32")
        taps = (1.0, 2.0, 5.0, 0.5)
        y = to_numpy(fir_downsample(x, fir_filter_2d(taps), 1, 1))
        np.testing.assert_allclose(y, ref.upfirdn_down(x, ref.fir_2d(taps), 1, 1), rtol=0, atol=1e-5)

    @pytest.mark.parametrize("separable", [True, False])
    def test_any_filter_with_down_sampling(self, separable):
        # Separable filters take two 1-D passes on JAX; the rest a depthwise
        # convolution. Both are the same upfirdn2d.
        rng = np.random.RandomState(3)
        x = rng.randn(2, 11, 9, 3).astype("float32")
        if separable:
            filt = np.outer([0.5, 2.0, 1.0], [1.0, -0.5, 3.0]).astype("float32")
        else:
            filt = rng.rand(3, 3).astype("float32")
        y = to_numpy(fir_downsample(x, filt, 2, 2))
        np.testing.assert_allclose(y, ref.upfirdn_down(x, filt, 2, 2), rtol=0, atol=1e-5)

    @pytest.mark.parametrize("padding, down, height, width", [(1, 2, 16, 16), (1, 2, 9, 12), (2, 1, 7, 5), (0, 3, 10, 8)])
    def test_band_products_equal_upfirdn(self, padding, down, height, width):
        # The route of strided bfloat16 filters on TensorFlow and PyTorch,
        # checked here in float32 on every backend, with asymmetric taps so
        # that a missing flip of the filter shows.
        rng = np.random.RandomState(4)
        x = rng.randn(2, height, width, 3).astype("float32")
        filt = np.outer([0.5, 2.0, 1.0, 0.25], [1.0, -0.5, 3.0, 0.75]).astype("float32")
        y = to_numpy(_fir_by_products(ops.convert_to_tensor(x), _separable_factors(filt), padding, down))
        np.testing.assert_allclose(y, ref.upfirdn_down(x, filt, padding, down), rtol=0, atol=1e-5)

    def test_strided_bfloat16_filters_take_the_products_on_tensorflow_and_pytorch(self):
        backend = keras.config.backend()
        half = ops.zeros((1, 8, 8, 2), "bfloat16")
        assert _by_products(half, 2, backend) == (backend in ("tensorflow", "torch"))
        assert not _by_products(half, 1, backend)
        assert not _by_products(ops.zeros((1, 8, 8, 2)), 2, backend)
        x = np.random.RandomState(5).randn(2, 16, 16, 4).astype("float32")
        rounded = to_numpy(ops.cast(ops.cast(x, "bfloat16"), "float32"))
        y = to_numpy(ops.cast(Blur(padding=1, down=2, dtype="bfloat16")(ops.cast(x, "bfloat16")), "float32"))
        expected = ref.upfirdn_down(rounded, ref.fir_2d(), 1, 2)
        np.testing.assert_allclose(y, expected, rtol=2.0**-7, atol=2.0**-7)

    def test_constant_input_keeps_its_value_inside(self):
        x = np.full((1, 8, 8, 1), 3.0, "float32")
        y = to_numpy(Blur(padding=1, down=2)(x))
        np.testing.assert_allclose(y[0, 1:-1, 1:-1, 0], 3.0, rtol=1e-6)

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="Received: down=0"):
            Blur(down=0)
        with pytest.raises(ValueError, match="Received: padding=-1"):
            Blur(padding=-1)
        with pytest.raises(ValueError, match="Received: taps"):
            Blur(taps=(1, -1))

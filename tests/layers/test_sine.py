"""keras_creps.layers.sine: the polynomial sine's accuracy, and which sine the Fourier features take."""

import keras
import numpy as np
import pytest
from test_case import to_numpy

from keras_creps.layers.sine import fourier_sine
from keras_creps.layers.sine import sine


@pytest.mark.parametrize("limit, tolerance", [
    (10.0, 1.3e-7), (1000.0, 1.3e-7), (25000.0, 1.3e-7),  # float32 sinf: ~7e-8
    (1e5, 2e-6),  # the input's own spacing there: 7.8e-3
])
def test_matches_float64_sine_of_the_float32_input(limit, tolerance):
    x = np.random.default_rng(0).uniform(-limit, limit, 200_000).astype("float32")
    x[:5] = [0.0, np.pi / 2, -np.pi, 1e-30, -limit]
    got = to_numpy(sine(keras.ops.convert_to_tensor(x))).astype("float64")
    assert np.abs(got - np.sin(x.astype("float64"))).max() < tolerance


def test_keeps_shape_and_dtype_and_odd_symmetry():
    x = np.linspace(-40.0, 40.0, 2 * 3 * 7, dtype="float32").reshape(2, 3, 7)
    got = sine(keras.ops.convert_to_tensor(x))
    assert tuple(got.shape) == (2, 3, 7) and keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_array_equal(to_numpy(got), -to_numpy(sine(keras.ops.convert_to_tensor(-x))))


def test_fourier_features_use_the_polynomial_under_xla_and_sin_on_pytorch():
    x = keras.ops.convert_to_tensor(np.linspace(-300.0, 300.0, 4097, dtype="float32"))
    expected = keras.ops.sin(x) if keras.config.backend() == "torch" else sine(x)
    np.testing.assert_array_equal(to_numpy(fourier_sine(x)), to_numpy(expected))

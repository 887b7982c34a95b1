import keras
import numpy as np
import pytest

from keras_creps import CREPSGenerator
from keras_creps.layers import ModulatedDense
from keras_creps.layers.input_modulation import modulate_inputs
from keras_creps.layers.matmul_precision import matmul_precision
from keras_creps.utils.random_seed import set_random_seed


@pytest.mark.parametrize("kwargs", [
    {},  # demodulated, lrelu gain folded in
    {"demodulate": False, "activation": "linear", "gain": 0.5},  # ToRes: equalized-lr gain on the styles
    {"activation": "relu", "clamp": 0.3},
])
def test_inputs_or_kernel_modulated_give_the_same_outputs(kwargs):
    set_random_seed(4)
    layer = ModulatedDense(24, **kwargs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 7, 16)).astype("float32")
    w = rng.standard_normal((3, 10)).astype("float32")
    kernel_side = keras.ops.convert_to_numpy(layer(x, w))
    with modulate_inputs():
        input_side = keras.ops.convert_to_numpy(layer(x, w))
    assert input_side.shape == (3, 5, 7, 24)
    np.testing.assert_allclose(input_side, kernel_side, rtol=1e-5, atol=1e-6)
    assert np.abs(kernel_side).max() > 0.1  # not a trivially zero comparison


def test_bfloat16_products_with_modulated_inputs():
    set_random_seed(5)
    layer = ModulatedDense(32)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 64)).astype("float32")
    w = rng.standard_normal((2, 8)).astype("float32")
    exact = keras.ops.convert_to_numpy(layer(x, w))
    with modulate_inputs(), matmul_precision("bfloat16"):
        rounded = keras.ops.convert_to_numpy(layer(x, w))
    assert rounded.dtype == np.float32
    # Both operands rounded to 8 significant bits: close, not equal.
    np.testing.assert_allclose(rounded, exact, rtol=0.05, atol=0.05)
    assert not np.array_equal(rounded, exact)


@pytest.mark.skipif(keras.config.backend() != "jax", reason="reads XLA's buffer assignment through JAX")
def test_line_network_holds_fewer_temporaries_on_jax():
    import jax

    set_random_seed(0)
    generator = CREPSGenerator(resolution=32, channel_base=2048, channel_max=256)
    synthesis = generator.synthesis
    variables = synthesis.variables
    ws = np.random.default_rng(0).standard_normal((1, synthesis.num_ws, generator.w_dim)).astype("float32")
    coords = np.linspace(0, 1, 32, dtype="float32")[None]

    def temporaries(enabled):
        def lines(values, ws, rows, cols):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))), modulate_inputs(enabled):
                return synthesis.line_network(ws, rows, cols)

        compiled = jax.jit(lines).lower([v.value for v in variables], ws, coords, coords).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    # Measured when written: 2.06 MB with per-sample kernels (XLA made them
    # all as soon as ws was known), 1.58 MB with scaled inputs.
    assert temporaries(True) < 0.85 * temporaries(False)

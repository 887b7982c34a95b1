import keras
import numpy as np
import pytest
from keras import ops
from test_case import to_numpy

from keras_creps.layers.matmul_precision import matmul
from keras_creps.layers.matmul_precision import matmul_precision
from keras_creps.layers.modulated_dense import ModulatedDense


def bfloat16_rounded(x):
    return to_numpy(ops.cast(ops.cast(x, "bfloat16"), "float32")).astype(np.float64)


def test_bfloat16_products_round_the_operands_and_return_float32():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 64, 96)).astype("float32")
    kernel = rng.normal(size=(2, 96, 48)).astype("float32")
    exact = x.astype(np.float64) @ kernel.astype(np.float64)
    np.testing.assert_allclose(to_numpy(matmul(x, kernel)), exact, rtol=1e-4, atol=1e-4)
    with matmul_precision("bfloat16"):
        y = matmul(x, kernel)
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    from_rounded = bfloat16_rounded(x) @ bfloat16_rounded(kernel)
    scale = np.max(np.abs(exact))
    # Rounded operands, float32 accumulation; at most one more rounding of the result (2^-8).
    assert np.max(np.abs(to_numpy(y) - from_rounded)) <= 2.0**-8 * scale
    if keras.backend.backend() == "jax":
        # JAX asks for the float32 result directly (faster on XLA:CPU): no rounding of it.
        np.testing.assert_allclose(to_numpy(y), from_rounded, rtol=1e-5, atol=1e-5 * scale)
    assert np.max(np.abs(to_numpy(y) - exact)) > 1e-4 * scale


def test_modulated_dense_rounds_only_inside_the_scope():
    rng = np.random.default_rng(1)
    layer = ModulatedDense(32, activation="lrelu")
    x = rng.normal(size=(2, 4, 5, 64)).astype("float32")
    w = rng.normal(size=(2, 16)).astype("float32")
    exact = to_numpy(layer(x, w))
    with matmul_precision("bfloat16"):
        rounded = to_numpy(layer(x, w))
    np.testing.assert_array_equal(to_numpy(layer(x, w)), exact)
    error = np.max(np.abs(rounded - exact)) / np.max(np.abs(exact))
    assert 1e-4 < error < 3e-2, error


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="XLA:CPU multiplies bfloat16 in float32 itself")
def test_a_cpu_without_bfloat16_units_multiplies_the_rounded_operands_in_float32(monkeypatch):
    import keras_creps.layers.matmul_precision as module

    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 40, 72)).astype("float32")
    kernel = rng.normal(size=(3, 72, 24)).astype("float32")
    from_rounded = bfloat16_rounded(x) @ bfloat16_rounded(kernel)
    scale = np.max(np.abs(from_rounded))
    monkeypatch.setattr(module, "cpu_has_bfloat16", lambda: False)
    monkeypatch.setattr(module, "bfloat16_is_emulated", lambda: True)  # and no GPU
    assert module.multiplies_bfloat16_in_float32()  # what the benchmark reads its bfloat16 rows against
    with matmul_precision("bfloat16"):
        y = to_numpy(matmul(x, kernel))
    # The float32 product of the rounded operands, not a bfloat16 one (which rounds its result).
    assert np.max(np.abs(y - from_rounded)) <= 1e-6 * scale
    assert np.max(np.abs(y - x.astype(np.float64) @ kernel.astype(np.float64))) > 1e-4 * scale


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch.compile is PyTorch's")
def test_torch_compiles_a_bfloat16_layer_in_one_graph():
    # The CPU check inside `matmul` read /proc/cpuinfo while being traced:
    # `open` split the graph, and the line network ran partly eagerly.
    import torch

    layer = ModulatedDense(16, activation="lrelu")
    x = np.random.default_rng(4).normal(size=(1, 40, 32)).astype("float32")
    w = np.random.default_rng(5).normal(size=(1, 8)).astype("float32")
    eager = to_numpy(layer(x, w))  # builds the layer outside the compiled function

    def rounded(x, w):
        with matmul_precision("bfloat16"):
            return layer(x, w)

    torch._dynamo.reset()
    with torch.inference_mode():
        x, w = torch.from_numpy(x), torch.from_numpy(w)
        rounded(x, w)  # settles the layer's first-call state, as `make_generate_function` does
        compiled = to_numpy(torch.compile(rounded, fullgraph=True)(x, w))  # raises on a graph break
    error = np.max(np.abs(compiled - eager)) / np.max(np.abs(eager))
    assert 1e-4 < error < 3e-2, error


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.function's XLA context")
@pytest.mark.parametrize(
    "kernel_shape",
    [(2, 96, 48), (96, 32), (2, 96, 16), (96, 3), (2, 96, 64), (96, 80)],
    ids=["batched-48", "32", "batched-16", "3", "batched-64", "80"],
)
def test_tensorflow_under_xla_asks_for_a_float32_result(kernel_shape):
    # XLA:CPU computed a bfloat16-result product 3x slower; under XLA the
    # product keeps its float32 result, so it equals the float32 product of
    # the rounded operands (a bfloat16 result would be off by up to 2^-8).
    # Results of 16 to 63 columns are computed 64 wide and sliced; the
    # zero columns must not show.
    import tensorflow as tf

    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 64, 96)).astype("float32")
    kernel = rng.normal(size=kernel_shape).astype("float32")
    from_rounded = bfloat16_rounded(x) @ bfloat16_rounded(kernel)
    scale = np.max(np.abs(from_rounded))

    def rounded(x, kernel):
        with matmul_precision("bfloat16"):
            return matmul(x, kernel)

    compiled = tf.function(rounded, jit_compile=True)(x, kernel)
    assert compiled.dtype == tf.float32
    assert tuple(compiled.shape) == (2, 64, kernel_shape[-1])
    np.testing.assert_allclose(compiled.numpy(), from_rounded, rtol=1e-5, atol=1e-5 * scale)
    graph = tf.function(rounded, jit_compile=False)(x, kernel)  # no XLA: the portable product
    assert np.max(np.abs(graph.numpy() - from_rounded)) <= 2.0**-8 * scale

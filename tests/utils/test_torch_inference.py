import collections

import keras
import numpy as np
import pytest
from test_case import to_numpy

from keras_creps.layers.equalized_dense import EqualizedDense
from keras_creps.utils.torch_inference import guard_filter
from keras_creps.utils.torch_inference import inference_function

pytestmark = pytest.mark.skipif(keras.config.backend() != "torch", reason="torch.compile is PyTorch's")

Entry = collections.namedtuple("Entry", "name guard_type is_global")


def test_guard_filter_keeps_tensors_arguments_and_plain_closure_values():
    entries = [
        Entry("x", "TENSOR_MATCH", False),  # an argument
        Entry("rows[1]", "TYPE_MATCH", False),  # inside an argument
        Entry("scale", "CONSTANT_MATCH", False),  # a plain closure value
        Entry("", "GRAD_MODE", False),  # PyTorch's global state
        Entry("layer._modules['fc']._value", "TENSOR_MATCH", False),  # a weight
        Entry("layer._modules['fc'].activation", "CONSTANT_MATCH", False),  # a layer's attribute
        Entry("list.__getitem__(layer.blocks, 1)._layers[0]", "TYPE_MATCH", False),
        Entry("G['__import_keras_dot_src_dot_backend_dot_config']._BACKEND", "CONSTANT_MATCH", True),
        Entry("G['__import_torch_dot_utils_dot__pytree']", "DUPLICATE_INPUT", False),
        Entry("player", "CONSTANT_MATCH", False),  # a name containing "layer" is not the layer
    ]
    keep = guard_filter({"layer"})(entries)
    assert keep == [True, True, True, True, True, False, False, False, False, True]
    assert guard_filter(set())(entries[:6]) == [True] * 6


def scaled(layer, scale):
    def run(x):
        return layer(x) * scale

    return run


def expected(layer, x, scale):
    return to_numpy(layer(x)) * scale


# Each compile of this one-layer function takes a few seconds on 2 cores.
def test_compiled_closures_follow_weights_shapes_and_their_own_settings():
    import torch

    rng = np.random.default_rng(0)
    first = EqualizedDense(8, activation="lrelu")
    other = EqualizedDense(8, activation="linear")  # same weight shapes, another setting
    for layer in (first, other):
        layer.build((None, 4))
    x = rng.normal(size=(3, 4)).astype("float32")

    run = inference_function(scaled(first, 2.0), compiled=True, owner=first)
    np.testing.assert_allclose(to_numpy(run(x)), expected(first, x, 2.0), rtol=1e-5, atol=1e-6)
    # Weights assigned after compiling are read at the next call.
    first.kernel.assign(rng.normal(size=(4, 8)).astype("float32"))
    np.testing.assert_allclose(to_numpy(run(x)), expected(first, x, 2.0), rtol=1e-5, atol=1e-6)
    # Another batch size: the tensor guards make it compile again.
    x5 = rng.normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(to_numpy(run(x5)), expected(first, x5, 2.0), rtol=1e-5, atol=1e-6)

    # The same code over another plain value or another layer is its own compiled function.
    halved = inference_function(scaled(first, 0.5), compiled=True, owner=first)
    np.testing.assert_allclose(to_numpy(halved(x)), expected(first, x, 0.5), rtol=1e-5, atol=1e-6)
    # (`first`'s graph would apply its leaky ReLU to `other`'s weights.)
    linear = inference_function(scaled(other, 2.0), compiled=True, owner=other)
    np.testing.assert_allclose(to_numpy(linear(x)), expected(other, x, 2.0), rtol=1e-5, atol=1e-6)

    # Made again with equal settings: the compiled function is reused, nothing compiles.
    again = inference_function(scaled(first, 2.0), compiled=True, owner=first)
    with torch._dynamo.config.patch(error_on_recompile=True):
        np.testing.assert_allclose(to_numpy(again(x)), expected(first, x, 2.0), rtol=1e-5, atol=1e-6)


def test_eager_functions_run_without_gradients():
    layer = EqualizedDense(8)
    layer.build((None, 4))
    run = inference_function(scaled(layer, 3.0), compiled=False)
    y = run(np.ones((2, 4), "float32"))
    assert not y.requires_grad
    np.testing.assert_allclose(to_numpy(y), expected(layer, np.ones((2, 4), "float32"), 3.0), rtol=1e-6)


def test_the_eager_first_call_takes_the_settled_arguments():
    import torch

    layer = EqualizedDense(8)
    layer.build((None, 4))
    shapes = []

    def run(x):
        if not torch.compiler.is_compiling():
            shapes.append(tuple(x.shape))
        return layer(x) * 2.0

    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    compiled = inference_function(run, compiled=True, settle_args=lambda x: (x[:2],))
    np.testing.assert_allclose(to_numpy(compiled(x)), expected(layer, x, 2.0), rtol=1e-5, atol=1e-6)
    # The eager call saw two rows; the compiled one ran on all six.
    assert shapes == [(2, 4)]
    with torch._dynamo.config.patch(error_on_recompile=True):
        compiled(x)
    # Eager functions have no first call to settle: every call runs as given.
    eager = inference_function(run, compiled=False, settle_args=lambda x: (x[:2],))
    assert tuple(eager(x).shape) == (6, 8)

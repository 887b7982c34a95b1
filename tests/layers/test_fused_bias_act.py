"""`fused_bias_act` against the same formula in Keras ops: values, gradients, double backward, memory."""

import contextlib
import math
import warnings

import keras
import numpy as np
import pytest
from keras import ops
from test_case import to_numpy

from keras_creps.layers import fused_bias_act as fused_module
from keras_creps.layers.bias_act import bias_act
from keras_creps.layers.fused_bias_act import compiled_bias_act
from keras_creps.layers.fused_bias_act import fused_bias_act

BACKEND = keras.backend.backend()
fused_backends = pytest.mark.skipif(BACKEND not in ("torch", "tensorflow"), reason="JAX keeps the Keras ops")

# (slope, gain, clamp): lrelu with and without a clamp, relu, linear with a clamp.
SETTINGS = [(0.2, math.sqrt(2.0), 0.7), (0.2, math.sqrt(2.0), None), (0.0, 2.0, None), (1.0, 1.0, 0.7)]


def keras_bias_act(x, bias, slope, gain, clamp):
    """The formula in plain Keras ops (what autodiff differentiates op by op)."""
    y = x if bias is None else x + bias
    if slope != 1.0:
        y = ops.where(y > 0, y, y * slope)
    y = y * gain
    return y if clamp is None else ops.clip(y, -clamp, clamp)


@contextlib.contextmanager
def _compiled_for_every_size():
    """PyTorch's compiled kernels for the tests' small tensors too (they start at 65,536 elements)."""
    saved = fused_module._TORCH_COMPILED_MIN_ELEMENTS
    fused_module._TORCH_COMPILED_MIN_ELEMENTS = 1
    try:
        yield
    finally:
        fused_module._TORCH_COMPILED_MIN_ELEMENTS = saved


def _fused(compiled):
    """`fused_bias_act`, inside `compiled_bias_act` (the training steps' route) if asked."""
    if not compiled:
        return fused_bias_act

    def fn(*args):
        with compiled_bias_act(), _compiled_for_every_size():
            return fused_bias_act(*args)

    return fn


def _inputs(seed=0, shape=(2, 5, 7)):
    rng = np.random.default_rng(seed)
    # Values on both sides of zero and of the clamp.
    return rng.normal(size=shape).astype("float32"), rng.normal(size=shape[-1:]).astype("float32") * 0.3


def _gradients(fn, inputs, create_graph=False):
    """`(value, [d sum(value) / d input])` with the backend's autodiff; differentiable again if asked."""
    if BACKEND == "torch":
        import torch

        y = fn(*inputs)
        return y, list(torch.autograd.grad(y.sum(), inputs, create_graph=create_graph))
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(inputs)
        y = fn(*inputs)
        total = tf.reduce_sum(y)
    return y, tape.gradient(total, inputs)


def _variables(*arrays):
    if BACKEND == "torch":
        import torch

        return [torch.tensor(a, requires_grad=True) for a in arrays]
    import tensorflow as tf

    return [tf.constant(a) for a in arrays]


@fused_backends
@pytest.mark.parametrize("slope, gain, clamp", SETTINGS)
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("compiled", [False, True])
def test_values_and_gradients_equal_the_keras_ops(slope, gain, clamp, with_bias, compiled):
    x, bias = _inputs()
    weights = np.random.default_rng(1).normal(size=x.shape).astype("float32")
    args = _variables(x, bias) if with_bias else _variables(x)

    def loss_terms(fn):
        return lambda x, bias=None: fn(x, bias, slope, gain, clamp) * ops.convert_to_tensor(weights)

    y, grads = _gradients(loss_terms(_fused(compiled)), args)
    y_ref, grads_ref = _gradients(loss_terms(keras_bias_act), args)
    np.testing.assert_allclose(to_numpy(y), to_numpy(y_ref), rtol=1e-7 if compiled else 0, atol=0)
    for got, want in zip(grads, grads_ref):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-6, atol=1e-6)
    if clamp is not None:  # the clamp is reached, and stops the gradient there
        clipped = np.abs(to_numpy(y_ref) / weights) >= clamp
        assert clipped.any() and (~clipped).any()
        assert np.all(to_numpy(grads[0])[clipped] == 0)


@fused_backends
@pytest.mark.parametrize("slope, gain, clamp", SETTINGS[:2])
@pytest.mark.parametrize("compiled", [False, True])
def test_double_backward_equals_the_keras_ops(slope, gain, clamp, compiled):
    """The path-length / R1 pattern: a penalty on an input gradient, differentiated w.r.t. weights."""
    x, bias = _inputs(2)
    p, q = (np.random.default_rng(s).normal(size=x.shape[-1:]).astype("float32") + 1.5 for s in (3, 4))
    noise = ops.convert_to_tensor(np.random.default_rng(5).normal(size=x.shape).astype("float32"))

    def penalty_gradients(fn):
        x_t, bias_t, p_t, q_t = _variables(x, bias, p, q)
        if BACKEND == "torch":
            import torch

            hidden = fn(x_t * p_t, bias_t, slope, gain, clamp)
            y = fn(hidden * q_t, None, slope, gain, clamp) * noise
            (g,) = torch.autograd.grad(y.sum(), [x_t], create_graph=True)
            return torch.autograd.grad((g * g).sum(), [p_t, q_t])
        import tensorflow as tf

        with tf.GradientTape() as outer:
            outer.watch([p_t, q_t])
            with tf.GradientTape() as inner:
                inner.watch(x_t)
                hidden = fn(x_t * p_t, bias_t, slope, gain, clamp)
                total = tf.reduce_sum(fn(hidden * q_t, None, slope, gain, clamp) * noise)
            g = inner.gradient(total, x_t)
            penalty = tf.reduce_sum(g * g)
        return outer.gradient(penalty, [p_t, q_t])

    got = penalty_gradients(_fused(compiled))
    want = penalty_gradients(keras_bias_act)
    for g, w in zip(got, want):
        assert g is not None
        np.testing.assert_allclose(to_numpy(g), to_numpy(w), rtol=1e-5, atol=1e-6)
    assert min(np.abs(to_numpy(g)).max() for g in got) > 0


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the compiled route is TensorFlow's")
def test_only_the_training_scope_puts_xla_programs_in_a_graph():
    # A SavedModel traced outside the scope must not need XLA (TensorFlow
    # Serving runs XLA programs only behind a flag).
    import tensorflow as tf

    x, bias = (tf.constant(a) for a in _inputs())

    def xla_calls(fn):
        graph = tf.function(fn).get_concrete_function(x, bias).graph
        return [op for op in graph.get_operations() if op.node_def.attr["_XlaMustCompile"].b]

    plain = lambda x, bias: fused_bias_act(x, bias, 0.2, 2.0, 0.5)  # noqa: E731
    assert xla_calls(plain) == []
    compiled = _fused(True)
    assert len(xla_calls(lambda x, bias: compiled(x, bias, 0.2, 2.0, 0.5))) == 1
    assert xla_calls(plain) == []  # the scope ended with its block


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's compiled kernels")
def test_torch_compiles_large_tensors_inside_the_scope_only():
    import torch

    compiled_keys = lambda: set(fused_module._torch_kernels)  # noqa: E731
    big = torch.randn(4, 128, 128)  # 65,536 elements: the smallest compiled size
    small = torch.randn(4, 128, 127)
    bias = torch.randn(big.shape[-1])
    settings = (0.2, 1.25, 0.75)  # used by no other test: its kernels are made here
    before = compiled_keys()
    fused_bias_act(big, bias, *settings)
    with compiled_bias_act():
        fused_bias_act(small, bias[:127], *settings)
    assert compiled_keys() == before
    with compiled_bias_act():
        got = fused_bias_act(big, bias, *settings)
    assert compiled_keys() - before == {("forward",) + settings + (True,)}
    assert not fused_module._torch_compile_error
    torch.testing.assert_close(got, keras_bias_act(big, bias, *settings), rtol=1e-7, atol=0)


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's compiled kernels")
def test_torch_without_a_compiler_warns_once_and_keeps_atens_ops(monkeypatch):
    import torch

    def no_compiler(*settings):
        def fail(*args):
            raise RuntimeError("InvalidCxxCompiler: no working C++ compiler found")

        return fail

    monkeypatch.setattr(fused_module, "_torch_kernels", {})
    monkeypatch.setattr(fused_module, "_torch_compile_error", [])
    monkeypatch.setattr(fused_module, "_compiled_torch_kernel", no_compiler)
    x, bias = (torch.tensor(a, requires_grad=True) for a in _inputs(7))
    with pytest.warns(UserWarning, match="could not compile.*InvalidCxxCompiler"):
        y, grads = _gradients(lambda x, bias: _fused(True)(x, bias, 0.2, 1.0, None), [x, bias])
    y_ref, grads_ref = _gradients(lambda x, bias: keras_bias_act(x, bias, 0.2, 1.0, None), [x, bias])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: the next call neither tries nor warns
        _fused(True)(x, bias, 0.2, 1.0, None)
    assert len(fused_module._torch_compile_error) == 1
    torch.testing.assert_close(y, y_ref, rtol=0, atol=0)
    for got, want in zip(grads, grads_ref):
        torch.testing.assert_close(got, want)


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's compiled kernels")
def test_torch_compiled_bfloat16_is_within_a_rounding_of_the_op_by_op_result():
    import torch

    x = (torch.randn(3, 9, 33, generator=torch.Generator().manual_seed(0)) * 3).to(torch.bfloat16)
    bias = torch.linspace(-1, 1, 33).to(torch.bfloat16).requires_grad_(True)
    x.requires_grad_(True)
    results = []
    for compiled in (False, True):
        y = _fused(compiled)(x, bias, 0.2, math.sqrt(2.0), 4.0)
        results.append((y,) + torch.autograd.grad(y, [x, bias], torch.ones_like(y)))
    for eager, compiled in zip(*results):
        assert compiled.dtype == torch.bfloat16
        # Rounded once in float32 against after every op: within 2 bfloat16 steps (2^-7 relative).
        torch.testing.assert_close(compiled.float(), eager.float(), rtol=2 ** -6, atol=1e-6)
    assert torch.equal(results[1][0].abs() >= 4.0, results[0][0].abs() >= 4.0)  # the same elements clamped


@pytest.mark.skipif(BACKEND != "torch", reason="counts PyTorch's saved tensors")
def test_only_the_output_is_kept_for_backward():
    import torch

    x = torch.randn(4, 64, 32, requires_grad=True)
    bias = torch.randn(32, requires_grad=True)
    x_before = x.detach().clone()

    def kept_elements(fn):
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel()) or t, lambda t: t):
            fn(x, bias, 0.2, math.sqrt(2.0), 0.5).sum().backward()
        return sum(saved)

    assert kept_elements(fused_bias_act) == x.numel()
    assert kept_elements(keras_bias_act) >= 2 * x.numel()  # what the fused route saves
    torch.testing.assert_close(x.detach(), x_before, rtol=0, atol=0)  # the forward pass works in place, not on x


def test_bias_act_uses_it_where_it_exists():
    x, bias = _inputs(6)
    y = bias_act(x, bias, "lrelu", clamp=0.7)
    np.testing.assert_array_equal(to_numpy(y), to_numpy(keras_bias_act(ops.convert_to_tensor(x), ops.convert_to_tensor(bias), 0.2, math.sqrt(2.0), 0.7)))
    fused = fused_bias_act(ops.convert_to_tensor(x), ops.convert_to_tensor(bias), 0.2, math.sqrt(2.0), 0.7)
    assert (fused is None) == (BACKEND not in ("torch", "tensorflow"))


@pytest.mark.parametrize("kwargs, match", [(dict(gain=0.0), "gain=0.0"), (dict(gain=-1.0), "gain=-1.0"),
                                           (dict(slope=1.5), "slope=1.5"), (dict(slope=-0.1), "slope=-0.1")])
def test_bad_settings_are_named(kwargs, match):
    settings = dict(slope=0.2, gain=1.0, clamp=None) | kwargs
    with pytest.raises(ValueError, match=match):
        fused_bias_act(ops.ones((2, 3)), None, **settings)

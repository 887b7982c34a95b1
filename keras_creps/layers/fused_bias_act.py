"""`fused_bias_act`: bias, activation, gain and clamp whose gradient keeps only the output.

Every layer of CREPS ends in `clip(act(x + bias) * gain, -clamp, clamp)`
(`bias_act`). Written with Keras ops, autodiff keeps what each op's own
gradient needs: the input of the leaky ReLU, the input of the clip and the
output, three tensors of the layer's size. Everything the backward pass
needs can be read off the output `y` alone, because the gain is positive
and the clamp comes last:

- the activation's slope is `1` where `y > 0` and `slope` elsewhere;
- the clamp passes the gradient where `|y| < clamp` and stops it elsewhere.

So here the forward pass is the same sequence of operations (the output is
bit-identical) and the backward pass is `dy * gain * slope(y) * [|y| < clamp]`,
with only `y` kept, as StyleGAN's CUDA `bias_act` kernel does. That halves
what the generator keeps for its backward pass: the `small` configuration's
generator at 64^2 batch 16 kept 2.39 -> 1.17 GB after its forward pass,
its discriminator 0.87 -> 0.45 GB (PyTorch, RSS growth with the graph
kept). Training `train_small_64_b16` on a 2-core CPU (2026-12-02, one step
of each phase plan, RSS sampled per phase): PyTorch peak 5.17 -> 4.32 GB,
TensorFlow (graph, two compiled variants of the step) 5.95 -> 4.98 GB,
with the same losses to every printed digit. In the training benchmark
(`recipes/benchmark.py --only train_small_64_b16`, before and after run in
turn): PyTorch 5.97 -> 4.63 GB peak RSS at 1377 -> 1320 s/kimg, TensorFlow
6.73 -> 5.71 GB at 1217 -> 1241 s/kimg (speed within the day's noise); the
official implementation 5.32 GB in the same session. Rendering
(`creps_256_b1`, one run each) was unchanged within noise in speed and
memory.

The backward pass is itself written in differentiable operations of the
backend, so a double backward (the path-length penalty's, R1's) goes
through it: the masks are piecewise constant, and their own derivative is
zero, as that of the ops they replace.

PyTorch (a `torch.autograd.Function`; its forward pass also works in place,
one output buffer instead of four) and TensorFlow (`tf.custom_gradient`)
take this route. Inside `compiled_bias_act`, as the training steps are,
each chain runs as one compiled loop (an XLA program on TensorFlow, an
Inductor kernel on PyTorch); the values are then computed in float32 and
rounded once, so in bfloat16 they may differ from the op-by-op result in
the last bit. On JAX, XLA already fuses the element-wise chain and
keeps its own residuals: a `jax.custom_jvp` version measured 6.94 GB
against 6.81 GB for the Keras ops, so JAX keeps them (`fused_bias_act`
returns `None`, and `bias_act` falls back).
"""

import functools
import warnings

import keras

from keras_creps.utils.arguments import boolean
from keras_creps.utils.thread_setting import ThreadSetting

__all__ = ["compiled_bias_act", "compiles_bias_act", "fused_bias_act"]


def fused_bias_act(x, bias, slope, gain, clamp):
    """`clip(leaky_relu(x + bias, slope) * gain, -clamp, clamp)` with an output-only gradient.

    Args:
        x: tensor `[..., C]`.
        bias: tensor `[C]` of `x`'s dtype, or `None`.
        slope: float in `[0, 1]`. The activation's slope below zero: `0.2`
            for lrelu, `0` for relu, `1` for linear.
        gain: float > 0. Multiplies the activation's output.
        clamp: float > 0 or `None`. Clips the output to `[-clamp, clamp]`.

    Returns:
        The result, or `None` on a backend without this route (JAX, NumPy):
        the caller computes it with Keras ops then.

    Example:
    ```python
    y = fused_bias_act(x, bias, slope=0.2, gain=2**0.5, clamp=256.0)
    if y is None:
        y = bias_act(x, bias, "lrelu", clamp=256.0)
    ```
    """
    if not gain > 0:
        raise ValueError(f"`gain` must be positive for an output-only gradient. Received: gain={gain!r}")
    if not 0.0 <= slope <= 1.0:
        raise ValueError(f"`slope` must lie in [0, 1]. Received: slope={slope!r}")
    backend = keras.config.backend()
    if backend == "torch":
        return _TorchBiasAct.apply(x, bias, float(slope), float(gain), clamp)
    if backend == "tensorflow":
        return _tensorflow_bias_act(x, bias, float(slope), float(gain), clamp)
    return None


def _torch_forward_in_place(x, bias, slope, gain, clamp):
    import torch.nn.functional as F

    # The first operation makes the output buffer; the rest work in it.
    activate = slope != 1.0
    if bias is not None:
        y = x + bias
    elif activate:
        y = F.leaky_relu(x, slope)
        activate = False
    else:
        y = x.clone()
    if activate:
        F.leaky_relu_(y, slope)
    if gain != 1.0:
        y.mul_(gain)
    if clamp is not None:
        y.clamp_(-clamp, clamp)
    return y


def _output_gradient_torch(y, dy, slope, gain, clamp):
    import torch

    # ATen's own activation backward kernels, one pass each over `[..., C]`.
    # They are what `torch.where(y > 0, dy * gain, dy * (gain * slope))` and
    # `masked_fill(y.abs() >= clamp, 0)` compute, and were 8-24x faster on a
    # `[16, 128, 8, 512]` tensor (2-core AMX CPU, 2026-12-04; bfloat16
    # 31.1 + 4.3 ms for `where` and its mask against 1.3 ms; float32 48.8
    # against 10.0 ms): `torch.where` on a CPU is not vectorised. In the
    # `train_small_64_b16` step this backward had been 26 % of the time.
    # Their derivatives (for R1's and the path-length penalty's double
    # backward) are themselves on `dz`, with a zero one for `y`: `y` is
    # detached so that no zero tensor is made and sent back through it.
    aten = torch.ops.aten
    y = y.detach()
    dz = dy
    if slope != 1.0:
        # `y` has the sign of the activation's input (gain > 0), so the
        # output form (`self_is_result=True`) picks the same branch.
        dz = aten.leaky_relu_backward(dz, y, slope, True)
    if clamp is not None:
        dz = aten.hardtanh_backward(dz, y, -clamp, clamp)  # 0 where |y| >= clamp
    if gain != 1.0:
        dz = dz * gain
    return dz


def _torch_function_class():
    import torch

    class TorchBiasAct(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, bias, slope, gain, clamp):
            ctx.compiled = _uses_compiled_kernels(x)
            y = None
            if ctx.compiled:
                y = _run_compiled("forward", (slope, gain, clamp, bias is not None), x, bias)
            if y is None:
                y = _torch_forward_in_place(x, bias, slope, gain, clamp)
            ctx.save_for_backward(y)
            ctx.settings = (slope, gain, clamp)
            return y

        @staticmethod
        def backward(ctx, dy):
            (y,) = ctx.saved_tensors
            with_dbias = ctx.needs_input_grad[1]
            result = None
            # A double backward (R1, path length) differentiates this pass:
            # compiled kernels have no gradient of their own, ATen's ops do.
            if ctx.compiled and not torch.is_grad_enabled():
                result = _run_compiled("backward", ctx.settings + (with_dbias,), y, dy)
            if result is None:
                dz = _output_gradient_torch(y, dy, *ctx.settings)
                dbias = dz.sum(dim=tuple(range(dz.ndim - 1))) if with_dbias else None  # [C]
                result = (dz, dbias)
            return result[0], result[1], None, None, None

    return TorchBiasAct


# The smallest tensor (elements) given to the compiled PyTorch kernels. A
# compiled call costs ~40 us before any work. 2-core AMX CPU, 2026-12-05,
# bfloat16, medians of 50 calls (forward / backward with the bias
# gradient, ms, compiled against ATen's ops): [16, 512] 0.043 / 0.039
# against 0.014 / 0.019; [16, 4, 4, 512] (131,072) 0.055 / 0.077 against
# 0.083 / 0.088; [16, 8, 8, 512] 0.17 / 0.29 against 0.28 / 0.44;
# [16, 64, 64, 256] 3.8 / 8.9 against 15.6 / 22.8.
_TORCH_COMPILED_MIN_ELEMENTS = 65536
_torch_kernels = {}
_torch_compile_error = []


def _uses_compiled_kernels(x):
    """Whether `fused_bias_act` runs `x` through compiled kernels (PyTorch, inside `compiled_bias_act`)."""
    return (compiles_bias_act() and not _torch_compile_error and x.device.type == "cpu"
            and x.numel() >= _TORCH_COMPILED_MIN_ELEMENTS)


def _run_compiled(kind, settings, *args):
    """The compiled `kind` kernel ("forward" or "backward") on `args`, or None if PyTorch cannot compile here."""
    key = (kind,) + settings
    if key not in _torch_kernels:
        _torch_kernels[key] = _compiled_torch_kernel(kind, *settings)
    try:
        return _torch_kernels[key](*args)
    except Exception as error:  # no C++ compiler, an unsupported platform: ATen's ops instead
        if not _torch_compile_error:
            _torch_compile_error.append(error)
            warnings.warn(f"`fused_bias_act` could not compile its PyTorch kernels and uses PyTorch's "
                          f"own operations instead (slower): {type(error).__name__}: {error}")
        return None


def _compiled_torch_kernel(kind, slope, gain, clamp, with_bias):
    """One fused loop for the forward pass or for the backward pass (`dx`, and `dbias` if `with_bias`).

    The same formulas as `_torch_forward_in_place` and
    `_output_gradient_torch`, computed in float32 and rounded once at the
    end (ATen's ops round bfloat16 after each step, so bfloat16 results
    may differ in the last bit). Dynamic shapes: one compiled kernel per
    rank and dtype.
    """
    import torch

    from keras_creps.utils.torch_compile import compile_separately

    def forward(x, bias):
        y = x + bias if with_bias else x
        if slope != 1.0:
            y = torch.where(y > 0, y, y * slope)
        if gain != 1.0:
            y = y * gain
        return y if clamp is None else y.clamp(-clamp, clamp)

    def backward(y, dy):
        dz = dy
        if slope != 1.0:
            dz = torch.where(y > 0, dz, dz * slope)
        if clamp is not None:
            # As `hardtanh_backward`: stopped at and beyond the clamp (a NaN passes).
            dz = torch.where((y <= -clamp) | (y >= clamp), 0.0, dz)
        if gain != 1.0:
            dz = dz * gain
        if not with_bias:
            return dz, None
        return dz, dz.sum(dim=tuple(range(dz.ndim - 1)), dtype=torch.float32).to(dz.dtype)  # [C]

    return compile_separately(forward if kind == "forward" else backward, dynamic=True, fullgraph=True)


class _LazyTorchFunction:
    """The `torch.autograd.Function`, defined on first use so that importing needs no PyTorch."""

    _cls = None

    def apply(self, *args):
        if _LazyTorchFunction._cls is None:
            _LazyTorchFunction._cls = _torch_function_class()
        return _LazyTorchFunction._cls.apply(*args)


_TorchBiasAct = _LazyTorchFunction()


def _tensorflow_bias_act(x, bias, slope, gain, clamp):
    import tensorflow as tf

    forward, input_gradient = _tensorflow_functions(slope, gain, clamp, bias is not None)

    # Only `y` is captured by the gradient functions, so only `y` is kept.
    if bias is None:

        @tf.custom_gradient
        def without_bias(x):
            y = forward(x)
            return y, lambda dy: input_gradient(y, dy)[0]

        return without_bias(x)

    @tf.custom_gradient
    def with_bias(x, bias):
        y = forward(x, bias)
        return y, lambda dy: input_gradient(y, dy)

    return with_bias(x, bias)


def _tensorflow_functions(slope, gain, clamp, with_bias):
    """`(forward, input_gradient)` for TensorFlow: plain ops, or XLA programs inside `compiled_bias_act`."""
    compiled = compiles_bias_act()
    key = (slope, gain, clamp, with_bias, compiled)
    if key not in _tensorflow_cache:
        forward = _tensorflow_forward(slope, gain, clamp)
        gradient = _tensorflow_gradient(slope, gain, clamp, with_bias)
        if compiled:
            import tensorflow as tf

            forward = tf.function(forward, jit_compile=True, autograph=False)
            gradient = tf.function(gradient, jit_compile=True, autograph=False)
        _tensorflow_cache[key] = (forward, gradient)
    return _tensorflow_cache[key]


def _tensorflow_forward(slope, gain, clamp):
    import tensorflow as tf

    def forward(x, bias=None):
        y = x if bias is None else x + bias
        if slope != 1.0:
            y = tf.nn.leaky_relu(y, slope) if slope > 0 else tf.nn.relu(y)
        if gain != 1.0:
            y = y * gain
        if clamp is not None:
            y = tf.clip_by_value(y, -clamp, clamp)
        return y

    return forward


def _tensorflow_gradient(slope, gain, clamp, with_bias):
    import tensorflow as tf

    def gradient(y, dy):
        """`(dx, dbias)`; `dbias` is `None` without a bias."""
        dz = dy * gain if gain != 1.0 else dy
        if slope != 1.0:
            dz = tf.where(y > 0, dz, dz * slope)
        if clamp is not None:
            dz = tf.where(tf.abs(y) < clamp, dz, tf.zeros_like(dz))
        if not with_bias:
            return dz, None
        return dz, tf.reduce_sum(dz, axis=list(range(len(dz.shape) - 1)))  # [C]

    return gradient


_tensorflow_cache = {}
_setting = ThreadSetting(False, check=functools.partial(boolean, "enabled"))


def compiles_bias_act():
    """Whether `fused_bias_act` builds XLA programs on TensorFlow in this thread (`compiled_bias_act`)."""
    return _setting.value()


def compiled_bias_act(enabled=True):
    """Runs each `fused_bias_act` (forward and backward) as one compiled loop: XLA on TensorFlow, Inductor on PyTorch.

    Op by op, every step of the element-wise chain is a pass over the
    layer's output; compiled, the chain is one loop.

    - TensorFlow: each chain becomes a small XLA program inside the graph.
      On a 2-core AMX CPU (2026-12-04, `[16, 64, 64, 256]`, the `small`
      discriminator's first layers) the backward took 48.0 -> 19.4 ms in
      bfloat16 and 58.9 -> 14.1 in float32, the forward (with a bias)
      56.8 -> 14.5 and 20.7 -> 7.8. The training step enters this scope
      while it is traced (`training/gradients/tensorflow.py`); elsewhere, a
      SavedModel above all, the plain ops stay, as TensorFlow Serving runs
      XLA programs only behind a flag.
    - PyTorch (CPU tensors of 65,536 elements or more): kernels compiled
      once per setting, rank and dtype by `torch.compile` (dynamic shapes;
      Inductor needs a C++ compiler, and without one the function warns
      once and keeps ATen's ops). A backward pass that is itself
      differentiated (R1, path length) keeps ATen's ops. The training step
      runs inside this scope (`training/gradients/torch.py`): in
      `train_small_64_b16`, whole 16-step cycles alternating with and
      without it in one process took 0.93x the time in `mixed_bfloat16`
      and 0.98x in float32 (2026-12-05).

    JAX ignores it (XLA fuses the chain anyway). The scope belongs to the
    thread that enters it (as `modulate_inputs` and `matmul_precision`).

    Args:
        enabled: bool. `True` compiles; `False` restores the plain ops
            inside the block. Defaults to `True`.

    Example:
    ```python
    with compiled_bias_act():
        loss = train_step(data)  # traced inside the scope
    ```
    """
    return _setting.scope(enabled)

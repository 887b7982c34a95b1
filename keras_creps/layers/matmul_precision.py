"""A scope that runs the generator's large matrix products in bfloat16, everything else in float32.

Almost all of a CREPS generator's work is matrix products: at 256^2 the
line network is 43 of 54 GMACs per image and the per-pixel decoders 10 more
(`keras_creps.models.creps_macs`). CPUs with AMX or AVX512-BF16 (and GPUs
with tensor cores) multiply bfloat16 matrices several times faster than
float32 ones; measured on this project's 2-core CPU, a [4096, 1024] x
[1024, 1024] product ran at 380 GFLOP/s in bfloat16 against 207 in float32
through TensorFlow without XLA (oneDNN), and 440 against 88 through PyTorch.

A Keras `mixed_bfloat16` policy rounds every activation instead, including
the Fourier features' phases (a coordinate times a frequency drawn with
standard deviation 10 keeps about 3 significant digits in bfloat16) and the
weight demodulation's sums of squares. With that policy the paper
configuration rendered at 36 dB PSNR against float32 (one pixel off by 53
grey levels) and only 1.2x faster. Inside `matmul_precision("bfloat16")`
only the products of `ModulatedDense` and the per-pixel products of
`EqualizedDense` (those with at least as many rows as inputs, not the
style affines of a few latents) are rounded: both operands become bfloat16,
the backend accumulates in float32 (oneDNN and XLA do), and the result is
cast back to the caller's dtype. Styles, demodulation, biases, activations
and the Fourier input stay float32. The same render was at 56 dB with the
line network's products rounded, and at 49-54 dB (2026-12-04, TensorFlow,
JAX and PyTorch, 4 seeds) with the per-pixel decoders' too, which made it
1.5-2.3x faster again on an AMX machine: at 256^2 PyTorch's per-pixel
network went from 0.117 to 0.061 s per image.

The scope is read when a layer's `call` runs its Python code: at trace time
for `tf.function` and `jax.jit` (enter it inside the traced function, so the
compiled program fixes its precision) and at every call in eager mode.

On a CPU without bfloat16 instructions (and no GPU in use), TensorFlow and
PyTorch multiply the rounded operands in float32: their own emulated
bfloat16 products were slower than float32 there, PyTorch's about 100x,
and TensorFlow's strayed further than one rounding
(`keras_creps.utils.cpu_features` has the measurements).
"""

import keras
from keras import ops

from keras_creps.layers.fast_matmul import fast_matmul
from keras_creps.utils.cpu_features import bfloat16_is_emulated
from keras_creps.utils.cpu_features import cpu_has_bfloat16
from keras_creps.utils.thread_setting import ThreadSetting

__all__ = ["MATMUL_DTYPES", "current_matmul_dtype", "matmul", "matmul_precision", "multiplies_bfloat16_in_float32"]

MATMUL_DTYPES = ("float32", "bfloat16")

# Read the CPU's flags now, outside any compiled function: `matmul` asks for
# them while being traced, and `torch.compile` cannot trace a file read
# (`keras_creps.utils.cpu_features`).
cpu_has_bfloat16()


def _rounding_dtype(dtype):
    """The dtype products are rounded to: `None` for float32 (no rounding)."""
    if dtype is not None and dtype not in MATMUL_DTYPES:
        raise ValueError(f"`dtype` must be one of {MATMUL_DTYPES} or None. Received: dtype={dtype!r}")
    return None if dtype == "float32" else dtype


# Result widths [low, high) that TensorFlow's XLA products compute `high` wide (`matmul`).
_NARROW_COLUMNS = (16, 64)

_setting = ThreadSetting(None, check=_rounding_dtype)


def current_matmul_dtype():
    """The dtype `matmul` rounds its operands to in this thread: `None` (no rounding) or `"bfloat16"`."""
    return _setting.value()


def matmul_precision(dtype):
    """Runs `ModulatedDense` products in `dtype` inside the `with` block.

    Args:
        dtype: str or None. `"bfloat16"` rounds both operands of each product
            to bfloat16 (float32 accumulation, float32 result); `"float32"` or
            None leaves them as they are.

    Example:
    ```python
    with matmul_precision("bfloat16"):
        images = generator(z)   # float32 images, bfloat16 products
    ```
    """
    return _setting.scope(dtype)


def matmul(x, kernel):
    """`x @ kernel` in the scope's precision, returned in `x`'s dtype.

    Args:
        x: tensor `[..., P, I]`.
        kernel: tensor `[..., I, O]`, any float dtype (cast to `x`'s outside
            a bfloat16 scope).

    Returns:
        Tensor `[..., P, O]` of `x`'s dtype.
    """
    dtype = current_matmul_dtype()
    if dtype is None or keras.backend.standardize_dtype(x.dtype) != "float32":
        # Float32 as written, or a mixed-precision layer already computing in 16 bits.
        return fast_matmul(x, ops.cast(kernel, x.dtype))
    x16, kernel16 = ops.cast(x, dtype), ops.cast(kernel, dtype)
    if multiplies_bfloat16_in_float32(x16):
        # Same rounded operands, float32 accumulation, faster than the emulation.
        return fast_matmul(ops.cast(x16, x.dtype), ops.cast(kernel16, x.dtype))  # [..., P, O]
    if keras.backend.backend() == "jax":
        # `ops.matmul` has no way to ask for a float32 result, and XLA:CPU
        # computes a bfloat16-result product slowly: measured on this
        # project's CPU, [4096, 1024] x [1024, 1024] ran at 124 GFLOP/s with
        # a bfloat16 result, 457 with a float32 one (float32 operands: 185).
        # The float32 result also skips one rounding.
        import jax.numpy as jnp

        return jnp.matmul(x16, kernel16, preferred_element_type=x.dtype)  # [..., P, O]
    if keras.backend.backend() == "tensorflow" and _tensorflow_traces_for_xla():
        # The same request through TensorFlow: XLA:CPU ran a bfloat16-result
        # [4096, 1024] x [1024, 1024] product at 248 GFLOP/s and this one at
        # 707 on an AMX machine (2026-12-04; plain graph, oneDNN: 752). The op
        # has no kernel outside XLA.
        import tensorflow as tf

        columns = kernel16.shape[-1]
        if columns is None or not _NARROW_COLUMNS[0] <= columns < _NARROW_COLUMNS[1]:
            return tf.raw_ops.BatchMatMulV3(x=x16, y=kernel16, Tout=x.dtype)  # [..., P, O]
        # XLA:CPU in TensorFlow 2.21 multiplies a product with fewer than 64
        # result columns slower than one with 64: [16384, 64] x [64, 32] took
        # 1.29-1.49 ms against 0.85 for [64, 64] (2026-12-04). Zero columns
        # up to 64 (the decoders' last layers and the line blocks' bi-line
        # outputs, 32 wide) made whole bfloat16 renders 1-5 % faster
        # (2026-12-05, both versions in one process, alternating; median
        # time ratio of two runs each: 256^2 0.978 and 0.995 over 30 pairs,
        # 512^2 0.944 and 0.968 over 12). JAX's XLA removes such padding
        # itself (identical output, same time), and padding the 3-column
        # products (to RGB) too gained nothing: those keep the plain product.
        widths = [[0, 0]] * (len(kernel16.shape) - 1) + [[0, _NARROW_COLUMNS[1] - columns]]
        wide = tf.raw_ops.BatchMatMulV3(x=x16, y=tf.pad(kernel16, widths), Tout=x.dtype)  # [..., P, 64]
        return wide[..., :columns]
    product = ops.matmul(x16, kernel16)  # [..., P, O], float32 accumulation
    return ops.cast(product, x.dtype)


def _tensorflow_traces_for_xla():
    """Whether TensorFlow is tracing a function that XLA will compile (`jit_compile=True`)."""
    try:
        from tensorflow.python.framework import ops as tf_ops
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # a TensorFlow without these internals: the portable product
        return False
    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


def multiplies_bfloat16_in_float32(x16=None):
    """Whether `matmul` in a bfloat16 scope multiplies the rounded operands in float32 here.

    True on TensorFlow and PyTorch when the CPU computing the product has no
    bfloat16 instructions (see the module); a benchmark reads such rows
    against the float32 product rate.

    Args:
        x16: the rounded left operand, whose device decides on PyTorch;
            None for a CPU tensor.
    """
    backend = keras.backend.backend()
    if backend == "jax" or cpu_has_bfloat16() is not False:
        return False  # XLA:CPU multiplies bfloat16 operands in float32 itself (utils/cpu_features.py)
    if backend == "torch":
        return x16 is None or x16.device.type == "cpu"  # a CPU tensor, whatever GPUs the machine has
    return bfloat16_is_emulated()

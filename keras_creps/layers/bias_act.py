"""Bias, activation, gain and clamp: the fused epilogue of every StyleGAN layer."""

import math

from keras import ops

from keras_creps.layers.fast_matmul import fast_matmul
from keras_creps.layers.fused_bias_act import fused_bias_act

# Each activation: (slope below zero, default gain). The default gain keeps
# the second moment of a unit-variance input roughly unchanged.
_ACTIVATIONS = {
    "linear": (1.0, 1.0),
    "relu": (0.0, math.sqrt(2.0)),
    "lrelu": (0.2, math.sqrt(2.0)),
}


def validate_activation(activation):
    """Return `activation` if it is a known name, else raise `ValueError`."""
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"`activation` must be one of {sorted(_ACTIVATIONS)}. "
            f"Received: activation={activation!r}"
        )
    return activation


def default_gain(activation):
    """The gain StyleGAN applies after `activation` when none is given."""
    return _ACTIVATIONS[validate_activation(activation)][1]


def validate_clamp(clamp):
    """`None` (no clamp) or a positive number."""
    if clamp is None:
        return None
    if isinstance(clamp, bool) or not isinstance(clamp, (int, float)) or not clamp > 0:
        raise ValueError(
            f"`clamp` must be None or a positive number. Received: clamp={clamp!r}"
        )
    return float(clamp)


def bias_act(x, bias=None, activation="linear", gain=None, clamp=None):
    """Computes `clip(act(x + bias) * gain, -clamp, clamp)` on the last axis.

    This is StyleGAN's `bias_act` with the reference semantics: the bias is
    broadcast over the channel (last) axis, `gain` defaults to the
    activation's default gain, and the clamp is applied after the gain.

    On PyTorch and TensorFlow an activation or a clamp with a positive gain
    runs as `fused_bias_act`: the same values, and a gradient that keeps
    only the output (half the memory the generator keeps for training).

    Args:
        x: tensor `[..., C]`.
        bias: optional tensor `[C]`.
        activation: `"linear"`, `"relu"` or `"lrelu"` (slope 0.2).
        gain: float multiplier after the activation. Defaults to the
            activation's default gain (`sqrt(2)` for relu/lrelu, 1 for linear).
        clamp: optional float; the output is clipped to `[-clamp, clamp]`.

    Returns:
        A tensor with the shape and dtype of `x`.
    """
    slope, def_gain = _ACTIVATIONS[validate_activation(activation)]
    gain = def_gain if gain is None else gain
    x = ops.convert_to_tensor(x)
    if bias is not None:
        bias = ops.cast(bias, x.dtype)
    if (slope != 1.0 or clamp is not None) and gain > 0:
        y = fused_bias_act(x, bias, slope, gain, clamp)
        if y is not None:
            return y
    if bias is not None:
        x = x + bias
    if slope == 0.0:
        x = ops.relu(x)
    elif slope != 1.0:
        x = ops.leaky_relu(x, negative_slope=slope)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = ops.clip(x, -clamp, clamp)
    return x


def normalize_2nd_moment(x, epsilon=1e-8):
    """Scales each vector on the last axis to unit root-mean-square."""
    x = ops.convert_to_tensor(x)
    return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + epsilon)


def dense_last_axis(x, kernel, product=fast_matmul):
    """`x [..., I] @ kernel [I, O] -> [..., O]` as one 2-D matrix product.

    Flattening the leading axes first gives every backend a single GEMM
    (a rank-4 `matmul` can otherwise become many small batched products).
    `product(x2d, kernel)` computes it (e.g. `matmul_precision.matmul`).
    """
    units = kernel.shape[-1]
    leading = ops.shape(x)[:-1]
    y = product(ops.reshape(x, (-1, ops.shape(x)[-1])), kernel)  # [P, O]
    return ops.reshape(y, tuple(leading) + (units,))

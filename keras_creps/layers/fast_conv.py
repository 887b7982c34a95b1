"""`fast_conv`: a channels-last 2-D convolution without PyTorch's layout copies.

The discriminator is a stack of 3x3 and 1x1 convolutions and depthwise FIR
filters on `[N, H, W, C]` tensors. On the PyTorch backend
`keras.ops.conv` first makes the input channels-first contiguous and then
converts it back to channels-last memory (two full copies of every input),
and copies the kernel the same way. A `[N, H, W, C]` tensor viewed as
`[N, C, H, W]` is already what PyTorch calls channels-last memory, which its
oneDNN convolutions take as it is, so here the convolution gets that view
and no copy is made; its output, channels-last too, is viewed back as
`[N, H, W, C]`.

The padding of the FIR filter goes into the convolution too (no padded
copy), and a bias is added by the convolution itself (no pass over its
output). Measured on `train_small_64_b16` (PyTorch, 2 cores, 2026-12-02):
`aten::copy_` fell from 15 % to 1 % of the CPU time (`torch.profiler`, four
steps; the largest copies were `[16, 256, 65, 65]` around the
down-sampling convolutions), and a training step from 20.9 / 21.7 s to
17.2 / 16.7 s (two pairs, before and after alternating, together with the
gains folded into the kernels in `EqualizedConv2D`).

Every other backend (and a PyTorch tensor that is not on the CPU) takes
`keras.ops.conv` / `keras.ops.depthwise_conv`, which need no copy there.
"""

import keras
from keras import ops

__all__ = ["fast_conv", "fast_depthwise_conv"]


def fast_conv(x, kernel, strides=1, padding="valid", bias=None):
    """`keras.ops.conv` (plus a bias) on channels-last `x`, without layout copies on PyTorch.

    Args:
        x: tensor `[N, H, W, C]`.
        kernel: tensor `[k, k, C, filters]` of `x`'s dtype.
        strides: int. The same stride on both spatial axes. Defaults to `1`.
        padding: `"valid"`, `"same"` (an odd `k` with stride 1: `k // 2`
            zeros on every side) or an int, the zeros added on every side.
            Defaults to `"valid"`.
        bias: optional tensor `[filters]` of `x`'s dtype, added to the
            output (inside the convolution on PyTorch, saving a pass over
            the output). Defaults to `None`.

    Returns:
        Tensor `[N, H', W', filters]`: what `keras.ops.conv` returns, plus `bias`.

    Example:
    ```python
    y = fast_conv(x, kernel, padding="same")  # [N, H, W, C] x [3, 3, C, F] -> [N, H, W, F]
    ```
    """
    pad = _padding(kernel.shape[0], strides, padding)
    if _torch_cpu(x):
        return _torch_conv_nhwc(x, _torch_channels_last_weight(kernel), strides, pad, groups=1, bias=bias)
    x, keras_padding = _keras_input(x, pad, padding)
    y = ops.conv(x, kernel, strides=strides, padding=keras_padding)
    return y if bias is None else y + bias


def fast_depthwise_conv(x, kernel, strides=1, padding="valid"):
    """`keras.ops.depthwise_conv` (multiplier 1) on channels-last `x`, without copies on PyTorch.

    Args:
        x: tensor `[N, H, W, C]`.
        kernel: tensor `[k, k, C, 1]` of `x`'s dtype.
        strides: int. The same stride on both spatial axes. Defaults to `1`.
        padding: `"valid"`, `"same"` or an int, as in `fast_conv`. Defaults
            to `"valid"`.

    Returns:
        Tensor `[N, H', W', C]`.

    Example:
    ```python
    y = fast_depthwise_conv(x, kernel, strides=2, padding=1)  # [N, H, W, C] -> [N, H/2, W/2, C]
    ```
    """
    pad = _padding(kernel.shape[0], strides, padding)
    if kernel.shape[-1] != 1:
        raise ValueError(
            f"`kernel` must have a depth multiplier of 1. Received: kernel.shape={tuple(kernel.shape)}"
        )
    if _torch_cpu(x):
        weight = kernel.permute(2, 3, 0, 1)  # [C, 1, k, k]
        return _torch_conv_nhwc(x, weight, strides, pad, groups=x.shape[-1])
    x, keras_padding = _keras_input(x, pad, padding)
    return ops.depthwise_conv(x, kernel, strides=strides, padding=keras_padding)


def _padding(size, strides, padding):
    """The zeros added on every side for `padding`."""
    if padding == "valid":
        return 0
    if padding == "same":
        if strides != 1 or size % 2 != 1:
            raise ValueError(
                f"`padding='same'` needs an odd kernel and stride 1. "
                f"Received: kernel size {size}, strides={strides!r}"
            )
        return size // 2
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(
            f"`padding` must be 'valid', 'same' or a non-negative int. Received: padding={padding!r}"
        )
    return padding


def _keras_input(x, pad, padding):
    """`(input, padding)` for `keras.ops`: `"same"` is Keras' own; other padding is added to `x` first."""
    if padding == "same":
        return x, "same"
    if pad > 0:
        x = ops.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])  # [N, H + 2p, W + 2p, C]
    return x, "valid"


def _torch_cpu(x):
    if keras.config.backend() != "torch":
        return False
    import torch

    return isinstance(x, torch.Tensor) and x.device.type == "cpu"


def _torch_channels_last_weight(kernel):
    """`kernel` `[k, k, C, F]` as `[F, C, k, k]` in channels-last memory (`[F, k, k, C]` contiguous).

    The convolution wants its weight in the input's memory format. Handed
    `kernel.permute(3, 2, 0, 1)`, PyTorch copies it with a stride of
    `C * F` elements in the innermost loop; as a 2-D transpose
    (`[k * k * C, F] -> [F, k * k * C]`) the copy runs twice as fast
    (3.5 vs 7.3 ms for `[3, 3, 512, 512]` in bfloat16), and a 3x3
    convolution's forward + backward at batch 16 took 121 / 33 / 21 ms
    instead of 139 / 47 / 33 ms at 32^2 / 16^2 / 8^2 with 512 channels
    (2-core AMX CPU, 2026-12-04; 64^2 with 256 channels unchanged).
    """
    size, _, channels, filters = kernel.shape
    rows = kernel.reshape(size * size * channels, filters).t().contiguous()  # [F, k * k * C]
    return rows.reshape(filters, size, size, channels).permute(0, 3, 1, 2)  # [F, C, k, k]


def _torch_conv_nhwc(x, weight, strides, pad, groups, bias=None):
    import torch.nn.functional as F

    # [N, H, W, C] seen as [N, C, H, W]: channels-last memory, no copy. The
    # padding is the convolution's own (no padded copy of the input).
    images = x.permute(0, 3, 1, 2)
    y = F.conv2d(images, weight, bias=bias, stride=strides, padding=pad, groups=groups)  # [N, F, H', W']
    return y.permute(0, 2, 3, 1)  # [N, H', W', F]

"""Float64 NumPy reference of StyleGAN2's residual discriminator, for the tests.

Written from the fixtures README (channels-last here): plain loops and
slicing, no Keras, so that it checks the layers independently.
"""

import math

import numpy as np


def fir_2d(taps=(1, 3, 3, 1)):
    f = np.outer(taps, taps).astype(np.float64)
    return f / f.sum()


def upfirdn_down(x, filt, pad, down):
    """Zero-pad by `pad`, true-convolve each channel with `filt`, keep every `down`-th sample."""
    x = np.pad(np.asarray(x, np.float64), [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    k = filt.shape[0]
    flipped = filt[::-1, ::-1]
    h = x.shape[1] - k + 1
    w = x.shape[2] - k + 1
    y = np.zeros((x.shape[0], h, w, x.shape[3]))
    for i in range(k):
        for j in range(k):
            y += flipped[i, j] * x[:, i : i + h, j : j + w, :]
    return y[:, ::down, ::down, :]


def correlate(x, kernel, stride=1, pad=0):
    """Cross-correlation of NHWC `x` with `kernel [k, k, I, O]`."""
    x = np.pad(np.asarray(x, np.float64), [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    k = kernel.shape[0]
    h = (x.shape[1] - k) // stride + 1
    w = (x.shape[2] - k) // stride + 1
    y = np.zeros((x.shape[0], h, w, kernel.shape[3]))
    for i in range(k):
        for j in range(k):
            patch = x[:, i : i + stride * (h - 1) + 1 : stride, j : j + stride * (w - 1) + 1 : stride, :]
            y += patch @ np.asarray(kernel[i, j], np.float64)
    return y


def bias_act(x, bias, activation, gain=1.0, clamp=None):
    if bias is not None:
        x = x + np.asarray(bias, np.float64)
    if activation == "lrelu":
        x = np.where(x >= 0, x, 0.2 * x) * math.sqrt(2.0)
    x = x * gain
    if clamp is not None:
        x = np.clip(x, -clamp * gain, clamp * gain)
    return x


def equalized_conv(x, kernel, bias, down=1, activation="linear", gain=1.0, clamp=None):
    """StyleGAN2 `Conv2dLayer` (Keras kernel layout), float64."""
    k = kernel.shape[0]
    kernel = np.asarray(kernel, np.float64) / math.sqrt(kernel.shape[2] * k * k)
    if down == 1:
        y = correlate(x, kernel, pad=k // 2)
    elif k == 1:
        y = correlate(upfirdn_down(x, fir_2d(), 1, 2), kernel)
    else:
        y = correlate(upfirdn_down(x, fir_2d(), k // 2 + 1, 1), kernel, stride=2)
    return bias_act(y, bias, activation, gain, clamp)


def minibatch_std(x, group_size=4, num_channels=1):
    """Sample by sample: group of sample k = {k mod n + j*n}, n = N / G."""
    x = np.asarray(x, np.float64)
    n_total, h, w, c = x.shape
    g = n_total if group_size is None else max(d for d in range(1, min(group_size, n_total) + 1) if n_total % d == 0)
    n = n_total // g
    per = c // num_channels
    stats = np.zeros((n_total, h, w, num_channels))
    for k in range(n_total):
        members = [k % n + j * n for j in range(g)]
        group = x[members]  # [G, H, W, C]
        std = np.sqrt(group.var(axis=0) + 1e-8)  # biased variance
        for f in range(num_channels):
            stats[k, :, :, f] = std[..., f * per : (f + 1) * per].mean()
    return np.concatenate([x, stats], axis=-1)


def dense(x, kernel, bias, activation="linear", lr=1.0):
    y = np.asarray(x, np.float64) @ (np.asarray(kernel, np.float64) * lr / math.sqrt(kernel.shape[0]))
    return bias_act(y, None if bias is None else np.asarray(bias, np.float64) * lr, activation)


def _np(v):
    import keras

    return None if v is None else np.asarray(keras.ops.convert_to_numpy(v), np.float64)


def conv_layer(layer, x, gain=1.0):
    return equalized_conv(
        x, _np(layer.kernel), _np(layer.bias), layer.down, layer.activation, gain, layer.clamp
    )


def block(layer, x):
    """`DiscriminatorBlock` forward with that layer's weights."""
    if layer.fromrgb is not None:
        x = conv_layer(layer.fromrgb, x)
    skip = conv_layer(layer.skip, x, gain=math.sqrt(0.5))
    x = conv_layer(layer.conv1, conv_layer(layer.conv0, x), gain=math.sqrt(0.5))
    return skip + x


def epilogue(layer, x, cmap=None):
    """`DiscriminatorEpilogue` forward with that layer's weights."""
    if layer.mbstd is not None:
        x = minibatch_std(x, layer.mbstd_group_size, layer.mbstd_num_channels)
    x = conv_layer(layer.conv, x)
    x = np.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)  # NCHW flatten
    x = dense(x, _np(layer.fc.kernel), _np(layer.fc.bias), "lrelu")
    x = dense(x, _np(layer.out.kernel), _np(layer.out.bias))
    if layer.cmap_dim > 0:
        x = (x * np.asarray(cmap, np.float64)).sum(axis=1, keepdims=True) / math.sqrt(layer.cmap_dim)
    return x


def mapping(layer, c):
    """Label mapping (z_dim = 0) of a conditional discriminator."""

    def normalize(v):
        return v / np.sqrt(np.mean(v**2, axis=-1, keepdims=True) + 1e-8)

    x = normalize(dense(c, _np(layer.embed.kernel), _np(layer.embed.bias)))
    for fc in layer.dense_layers:
        x = dense(x, _np(fc.kernel), _np(fc.bias), "lrelu", lr=fc.lr_multiplier)
    return x


def discriminator(model, images, c=None):
    x = np.asarray(images, np.float64)
    for b in model.blocks:
        x = block(b, x)
    cmap = None if model.mapping is None else mapping(model.mapping, c)
    return epilogue(model.epilogue, x, cmap)

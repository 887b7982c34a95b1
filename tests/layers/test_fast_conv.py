import discriminator_reference as ref
import keras
import numpy as np
import pytest
from keras import ops
from test_case import to_numpy

from keras_creps.layers.fast_conv import fast_conv
from keras_creps.layers.fast_conv import fast_depthwise_conv

torch_only = pytest.mark.skipif(keras.backend.backend() != "torch", reason="the copy-free route is PyTorch's")


def _data(shape, seed):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize(
    "k, strides, padding, pad",
    [(3, 1, "same", 1), (1, 1, "valid", 0), (3, 2, "valid", 0), (1, 2, "valid", 0), (3, 1, 2, 2)],
)
@pytest.mark.parametrize("with_bias", [False, True])
def test_conv_equals_the_float64_reference(k, strides, padding, pad, with_bias):
    x, kernel, bias = _data((2, 9, 7, 5), 0), _data((k, k, 5, 6), 1), _data((6,), 2)
    y = fast_conv(
        ops.convert_to_tensor(x), ops.convert_to_tensor(kernel), strides=strides, padding=padding,
        bias=ops.convert_to_tensor(bias) if with_bias else None,
    )
    expected = ref.correlate(x, kernel, strides, pad) + (bias if with_bias else 0)
    assert tuple(y.shape) == expected.shape
    np.testing.assert_allclose(to_numpy(y), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("strides, padding", [(1, 2), (2, 1), (1, "valid")])
def test_depthwise_equals_the_float64_reference(strides, padding):
    x, kernel = _data((2, 10, 8, 3), 3), _data((4, 4, 3, 1), 4)
    y = fast_depthwise_conv(ops.convert_to_tensor(x), ops.convert_to_tensor(kernel), strides, padding)
    pad = 0 if padding == "valid" else padding
    # Depthwise: each channel correlated with its own [k, k, 1, 1] kernel.
    expected = np.concatenate(
        [ref.correlate(x[..., c : c + 1], kernel[:, :, c : c + 1], strides, pad) for c in range(3)], axis=-1
    )
    np.testing.assert_allclose(to_numpy(y), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(padding="full"), "padding='full'"),
        (dict(padding=-1), "padding=-1"),
        (dict(padding=True), "padding=True"),
        (dict(padding="same", strides=2), "strides=2"),
    ],
)
def test_bad_padding_is_named(kwargs, match):
    x, kernel = ops.convert_to_tensor(_data((1, 6, 6, 2), 0)), ops.convert_to_tensor(_data((3, 3, 2, 2), 1))
    with pytest.raises(ValueError, match=match):
        fast_conv(x, kernel, **kwargs)


def test_depthwise_needs_a_multiplier_of_one():
    x, kernel = ops.convert_to_tensor(_data((1, 6, 6, 2), 0)), ops.convert_to_tensor(_data((3, 3, 2, 2), 1))
    with pytest.raises(ValueError, match=r"kernel.shape=\(3, 3, 2, 2\)"):
        fast_depthwise_conv(x, kernel)


@torch_only
@pytest.mark.parametrize("depthwise", [False, True])
def test_torch_gradients_equal_keras_conv_and_nothing_is_copied(depthwise):
    import torch
    from torch.profiler import profile

    x = torch.tensor(_data((2, 12, 12, 4), 0), requires_grad=True)
    shape = (4, 4, 4, 1) if depthwise else (3, 3, 4, 6)
    kernel = torch.tensor(_data(shape, 1), requires_grad=True)
    ours, keras_op = (fast_depthwise_conv, ops.depthwise_conv) if depthwise else (fast_conv, ops.conv)
    with profile(record_shapes=True) as prof:
        y = ours(x, kernel, strides=2)
        gradients = torch.autograd.grad((y * y).sum(), [x, kernel])
    # The kernel may be reordered (it is small); the activations never are.
    copied = [
        tuple(e.input_shapes[0]) for e in prof.key_averages(group_by_input_shape=True)
        if e.key in ("aten::copy_", "aten::contiguous", "aten::clone")
    ]
    assert all(np.prod(shape) <= kernel.numel() for shape in copied), copied
    assert y.is_contiguous()  # [N, H', W', F] in its natural layout: the next op reads it as it is
    y_keras = keras_op(x, kernel, strides=2, padding="valid")
    expected = torch.autograd.grad((y_keras * y_keras).sum(), [x, kernel])
    np.testing.assert_allclose(y.detach().numpy(), y_keras.detach().numpy(), rtol=1e-6, atol=1e-6)
    for got, want in zip(gradients, expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)

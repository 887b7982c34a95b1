import keras
import numpy as np
import pytest
from keras import ops
from test_case import to_numpy

from keras_creps.layers import fast_matmul as fast_matmul_module
from keras_creps.layers.fast_matmul import fast_matmul

SHAPES = [
    ((300, 24), (24, 40)),  # one matrix, as EqualizedDense
    ((3, 50, 24), (3, 24, 40)),  # one kernel per sample, as ModulatedDense
    ((3, 50, 24), (1, 24, 40)),  # one kernel broadcast over the samples
    ((1, 64, 17), (1, 17, 5)),
]


def _inputs(x_shape, k_shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=x_shape).astype("float32"), rng.normal(size=k_shape).astype("float32")


def _no_grad():
    if keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    import contextlib

    return contextlib.nullcontext()


@pytest.mark.parametrize("x_shape,k_shape", SHAPES)
def test_equals_the_float64_product(x_shape, k_shape):
    x, kernel = _inputs(x_shape, k_shape)
    exact = x.astype(np.float64) @ kernel.astype(np.float64)
    with _no_grad():
        y = fast_matmul(ops.convert_to_tensor(x), ops.convert_to_tensor(kernel))
    assert tuple(y.shape) == exact.shape
    np.testing.assert_allclose(to_numpy(y), exact, rtol=1e-4, atol=1e-4)


def test_a_strided_view_is_read_correctly():
    x, kernel = _inputs((4, 40, 24), (24, 16))
    x_view = ops.transpose(ops.convert_to_tensor(np.ascontiguousarray(x.transpose(0, 2, 1))), (0, 2, 1))
    with _no_grad():
        y = fast_matmul(x_view, ops.convert_to_tensor(kernel))
    np.testing.assert_allclose(to_numpy(y), x.astype(np.float64) @ kernel, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="the convolution route is PyTorch's")
def test_torch_takes_the_convolution_route_only_without_gradients(monkeypatch):
    import torch

    monkeypatch.setattr(fast_matmul_module, "cpu_vendor", lambda: "AuthenticAMD")
    calls = []
    real = fast_matmul_module._torch_matmul_as_conv
    monkeypatch.setattr(fast_matmul_module, "_torch_matmul_as_conv", lambda x, k: calls.append(1) or real(x, k))
    x, kernel = (torch.tensor(a) for a in _inputs((2, 30, 8), (2, 8, 6)))
    with torch.no_grad():
        fast_matmul(x, kernel)
    assert len(calls) == 1
    x.requires_grad_(True)
    y = fast_matmul(x, kernel)  # training: matmul, whose gradient is cheaper
    y.sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(kernel.numpy().sum(-1)[:, None, :], x.shape), rtol=1e-5)
    with torch.no_grad():
        fast_matmul(x.bfloat16(), kernel.bfloat16())  # bfloat16 goes to oneDNN already
        fast_matmul(x.to("meta"), kernel.to("meta"))  # shape inference
    assert len(calls) == 1


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="the convolution route is PyTorch's")
def test_torch_on_an_intel_cpu_keeps_matmul(monkeypatch):
    import torch

    monkeypatch.setattr(fast_matmul_module, "cpu_vendor", lambda: "GenuineIntel")
    calls = []
    monkeypatch.setattr(fast_matmul_module, "_torch_matmul_as_conv", lambda x, k: calls.append(1))
    x, kernel = (torch.tensor(a) for a in _inputs((2, 30, 8), (2, 8, 6)))
    with torch.no_grad():
        y = fast_matmul(x, kernel)
    assert not calls
    np.testing.assert_allclose(y.numpy(), x.numpy() @ kernel.numpy(), rtol=1e-5, atol=1e-5)

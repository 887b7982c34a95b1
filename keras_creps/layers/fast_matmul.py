"""`fast_matmul`: a matrix product by the fastest route each backend has on this kind of CPU.

Almost all of CREPS' work is products of per-pixel (or per-line) features
with a weight matrix, `[N, P, I] x [I, O]` or, modulated, `[N, P, I] x
[N, I, O]`. TensorFlow and JAX send float32 products to oneDNN or XLA's
own kernels, which run near the CPU's peak. PyTorch sends them to MKL, and
MKL runs at half that rate on AMD CPUs such as the one this project was
first measured on: a [4096, 1024] x [1024, 1024] product ran at 171 GFLOP/s
through `torch.matmul` and 430 as a 1x1 convolution, which PyTorch gives to
oneDNN (channels-last input, so no layout copy). In the paper generator at
256^2 batch 1 this cut the modulated products from 527 to 234 ms and the
whole render from 0.95 to 0.68 s (eager PyTorch, `torch.profiler`).

In the benchmark (`recipes/benchmark.py --backend torch --jit_compile=false`,
side by side in one run) rendering went from 0.90-1.04 to 1.40-1.61 images/s
at 256^2 batch 1, 1.09 to 1.76 at 256^2 batch 4 and 0.29 to 0.44 at 512^2.

On Intel CPUs MKL is the faster one: on a 2-core Xeon with AMX
(2026-12-04) the same product ran at 364-383 GFLOP/s through `torch.matmul`
and `torch.bmm` against 314-320 as a convolution, and the paper
generator's compiled line network at 256^2 took 0.252-0.296 s against
0.307-0.315 (three alternating pairs).

So on PyTorch, on a CPU other than Intel's, a float32 product computed
without gradients (any rendering: `make_generate_function`, `predict`,
`torch.no_grad`) runs as `conv2d` with a 1x1 kernel. With gradients it
stays `matmul`: training the demo configuration, whose modulated products
need one small convolution per sample, took 86-109 s/kimg through
convolutions against 74-83 through `matmul`. Everywhere else (Intel CPUs,
other backends, other dtypes, GPUs, symbolic shape inference on the meta
device) it is `keras.ops.matmul`.
"""

import keras
from keras import ops

from keras_creps.utils.cpu_features import cpu_vendor

__all__ = ["fast_matmul"]

# Read now, outside any compiled function: `torch.compile` cannot trace the
# file read (see `keras_creps.utils.cpu_features`).
cpu_vendor()


def fast_matmul(x, kernel):
    """`x @ kernel` in `x`'s dtype, by the backend's fastest route.

    Args:
        x: tensor `[P, I]` or `[N, P, I]`.
        kernel: tensor `[I, O]`, `[1, I, O]` or `[N, I, O]` (one matrix for
            all samples, or one per sample), of `x`'s dtype.

    Returns:
        Tensor `[P, O]` or `[N, P, O]`: what `keras.ops.matmul` returns.

    Example:
    ```python
    y = fast_matmul(features, kernel)  # [N, P, I] x [N, I, O] -> [N, P, O]
    ```
    """
    if keras.backend.backend() == "torch" and _takes_the_convolution_route(x, kernel):
        return _torch_matmul_as_conv(x, kernel)
    return ops.matmul(x, kernel)


def _takes_the_convolution_route(x, kernel):
    import torch

    return (
        cpu_vendor() != "GenuineIntel"  # MKL is the faster route there (see the module)
        and isinstance(x, torch.Tensor)
        and isinstance(kernel, torch.Tensor)
        and not torch.is_grad_enabled()
        and x.device.type == "cpu"
        and kernel.device.type == "cpu"
        and x.dtype == torch.float32
        and kernel.dtype == torch.float32
        and x.ndim in (2, 3)
        and kernel.ndim in (2, 3)
        # One matrix, or one per sample of a 3-D x (or one broadcast to all).
        and (kernel.ndim == 2 or (x.ndim == 3 and kernel.shape[0] in (1, x.shape[0])))
    )


def _torch_matmul_as_conv(x, kernel):
    import torch
    import torch.nn.functional as F

    squeeze = x.ndim == 2
    x = x[None] if squeeze else x  # [N, P, I]
    n, p, i = x.shape
    o = kernel.shape[-1]
    if kernel.ndim == 2:
        kernel = kernel[None]  # [1, I, O]
    # [N, P, I] read as a channels-last image [N, I, P, 1]: the same memory,
    # which oneDNN takes without reordering.
    images = x.reshape(n, p, 1, i).permute(0, 3, 1, 2)  # [N, I, P, 1]
    if kernel.shape[0] == 1:
        weight = kernel[0].t().reshape(o, i, 1, 1)  # [O, I, 1, 1]
        y = F.conv2d(images, weight)  # [N, O, P, 1], channels-last
    else:
        # One kernel per sample: one convolution each (a grouped convolution
        # would need the samples' channels side by side, a copy of x).
        y = torch.cat(
            [F.conv2d(images[s : s + 1], kernel[s].t().reshape(o, i, 1, 1)) for s in range(n)],
            dim=0,
        )  # [N, O, P, 1]
    y = y.permute(0, 2, 3, 1).reshape(n, p, o)  # [N, P, O]
    return y[0] if squeeze else y

"""This machine's matrix-product rate per backend and precision: the ceiling a benchmark row is read against.

Almost all of a CREPS generator's work is matrix products (`creps_macs`), so
the rate of one large product, measured in the same process, backend and
precision as the configuration, says how far a row is from what the
hardware gives that backend. Measured on this project's 2-core CPU (quiet,
2026-12-01): float32 ~400-450 GFLOP/s on TensorFlow and JAX, bfloat16
~730-850 (AVX512-BF16, no AMX units: ~1.9x, not the 5-7x of AMX); PyTorch's
float32 products go through MKL, which runs ~190-200 GFLOP/s on this AMD
processor, its bfloat16 ones through oneDNN at ~900. On a 2-core AMX machine
(2026-12-04): float32 270-330 on every backend, bfloat16 ~940 through
TensorFlow (oneDNN), ~1670 through JAX and ~2600 through PyTorch.
"""

import statistics
import time

__all__ = ["matmul_gflops"]

# [4096, 1024] x [1024, 1024]: the shape class of the line network's products at 256^2.
_ROWS, _INNER, _COLS = 4096, 1024, 1024


def _product_function(backend, dtype):
    """A zero-argument function computing one product in `backend`'s fastest CPU path for `dtype`."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((_ROWS, _INNER)).astype("float32")
    b = rng.standard_normal((_INNER, _COLS)).astype("float32")
    if backend == "tensorflow":
        import tensorflow as tf

        a, b = tf.cast(a, dtype), tf.cast(b, dtype)
        # Without XLA (oneDNN), TensorFlow's fastest route to either precision; the generator's
        # compiled products run under XLA (bfloat16 ones at ~75 % of this rate on an AMX CPU).
        product = tf.function(lambda: tf.matmul(a, b), jit_compile=False)
        return lambda: product().numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        a, b = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
        product = jax.jit(lambda x, y: jnp.matmul(x, y, preferred_element_type=jnp.float32))
        return lambda: product(a, b).block_until_ready()
    if backend == "torch":
        import torch

        a, b = torch.from_numpy(a).to(getattr(torch, dtype)), torch.from_numpy(b).to(getattr(torch, dtype))

        def product():
            with torch.inference_mode():
                return torch.matmul(a, b)

        return product
    raise ValueError(f"Unknown backend {backend!r}")


def matmul_gflops(backend, dtype="float32", runs=5):
    """GFLOP/s of one `[4096, 1024] x [1024, 1024]` product on `backend` in `dtype` (median of `runs`).

    Args:
        backend: str. `"tensorflow"`, `"jax"` or `"torch"`.
        dtype: str. `"float32"` or `"bfloat16"` operands (float32 accumulation).
        runs: int. Timed products after one warm-up.

    Example:
    ```python
    print(f"{matmul_gflops('tensorflow', 'bfloat16'):.0f} GFLOP/s")
    ```
    """
    product = _product_function(backend, dtype)
    product()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        product()
        times.append(time.perf_counter() - t0)
    return 2.0 * _ROWS * _INNER * _COLS / statistics.median(times) / 1e9

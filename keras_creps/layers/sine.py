"""`sine`: sin(x) as a range reduction and a polynomial, which XLA:CPU compiles into vector code.

XLA:CPU lowers `sin` to one call of the C library's scalar `sinf` per
element. The bi-line input takes `(H + W) * rank * channels` sines per
sample, half of them cosines (4.2 M at 256^2 for the paper generator),
and `perf` put `__sinf_fma` at 11.3-11.6 % of TensorFlow's compiled
bfloat16 line network (2026-12-05, AMX CPU, with and without XLA's loop
emitters). The same sine from multiplies, adds and a rounding is
vectorized like any element-wise loop: the line network at 256^2 in
bfloat16, alternating pairs, 40 calls each: TensorFlow 0.147 / 0.150 /
0.144 / 0.144 -> 0.127 / 0.116 / 0.135 / 0.117 s; JAX (whole render, two
pairs) 0.230 / 0.269 -> 0.202 / 0.242 s, its line network 0.144 / 0.171 ->
0.120 / 0.144 s.

PyTorch's `sin` is already vectorized (eager and compiled), so
`fourier_sine` keeps it there and uses `sine` on TensorFlow and JAX.

Accuracy (against `sin` in float64 of the same float32 inputs, 10^6
uniform samples per range): at most 1.2e-7 for `|x| <= 25000` (float32
`sinf`: 7e-8); 9.6e-7 at `|x| <= 1e5` and 3e-2 at `|x| <= 1e6`, where the
float32 input itself is only known to its spacing (7.8e-3, 6.2e-2). The
bi-line phases are `2 * pi * t * f` with frequencies of standard deviation
10: |x| stays below a few hundred for coordinates in [0, 1], and below
25000 for views translated by up to ~80 image widths.

How: `k = round(x / pi)`, `r = x - k * pi` in three steps (Cody-Waite: the
first two parts of pi have few enough bits that `k * part` is exact for
`|k| < 8192`), so `|r| <= pi / 2`; then the Taylor series of `sin(r)` to
`r^13` (its remainder is below 6e-9 there) and the sign `(-1)^k`.

Example:
```python
x = keras.ops.linspace(-100.0, 100.0, 1001)
np.testing.assert_allclose(sine(x), np.sin(np.linspace(-100.0, 100.0, 1001)), atol=3e-7)
```
"""

import math

import keras
from keras import ops

__all__ = ["fourier_sine", "sine"]

# pi split so that k * _PI_HIGH and k * _PI_MIDDLE are exact in float32 for |k| < 8192.
_PI_HIGH = 3.140625
_PI_MIDDLE = 9.67502593994140625e-4
_PI_LOW = math.pi - _PI_HIGH - _PI_MIDDLE
# Taylor coefficients of sin(r) / r - 1, in powers of r^2: -1/3!, 1/5!, ..., -1/13!.
_TAYLOR = tuple((-1.0) ** i / math.factorial(2 * i + 1) for i in range(1, 7))


def sine(x):
    """`sin(x)` from `keras.ops` multiplies, adds and roundings; float32 accuracy (see the module).

    Args:
        x: float tensor, any shape.

    Returns:
        A tensor of `x`'s shape and dtype.

    Example:
    ```python
    sine(keras.ops.convert_to_tensor([0.0, math.pi / 2, 10.0]))  # [0.0, 1.0, -0.5440211]
    ```
    """
    k = ops.round(x * (1.0 / math.pi))
    r = ((x - k * _PI_HIGH) - k * _PI_MIDDLE) - k * _PI_LOW  # |r| <= pi / 2
    r2 = r * r
    series = _TAYLOR[-1]
    for coefficient in reversed(_TAYLOR[:-1]):
        series = series * r2 + coefficient
    sin_r = r + r * r2 * series
    odd = k - 2.0 * ops.floor(0.5 * k)  # 1 where k is odd: sin(x) = -sin(r)
    return sin_r * (1.0 - 2.0 * odd)


def fourier_sine(x):
    """The sine the Fourier features use on the current backend: `sine` under XLA, `ops.sin` on PyTorch.

    Example:
    ```python
    features = fourier_sine(phase)  # [N, L, rank, C]
    ```
    """
    if keras.config.backend() == "torch":
        return ops.sin(x)
    return sine(x)

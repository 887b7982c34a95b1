"""`HostNormal` and `HostConstant`: initial weights drawn with NumPy on the host.

Our layers build their weights with these instead of Keras' `RandomNormal`,
`Constant` and `"zeros"`, for two reasons.

Memory and time on JAX. Keras' initializers run as JAX operations, and JAX
compiles one XLA program per operation and weight shape (a normal draw, a
multiplication by the standard deviation, an addition of the mean, a fill
for each bias) and keeps every program in its caches, ~2.5-3 MB of memory
each on XLA:CPU whatever the operation. Building the paper generator at
256^2 (114 MB of weights) on JAX, 2026-12-04, one run each (a probe
script timing the build and reading RSS): 12.7 s and 320 MB above the
imports with Keras' initializers, 1.15 s and 172 MB with these. TensorFlow (1.1 vs 1.2
s, 130 vs 127 MB) and PyTorch (0.4 vs 0.75 s, 118 vs 117 MB) were left
much as they were.

The same weights on every backend. The draw depends only on the seed, so
`set_random_seed(s)` followed by the same constructor gives bit-identical
initial weights on TensorFlow, JAX and PyTorch, as the tests check.

Seeding follows Keras' random initializers: without a `seed`, one is drawn
from Python's `random` module when the initializer is made (which
`keras.utils.set_random_seed` seeds), and every call with the same seed
returns the same values.
"""

import random

import keras
import numpy as np

from keras_creps.utils.arguments import finite_float
from keras_creps.utils.arguments import non_negative_int
from keras_creps.utils.arguments import positive_float

__all__ = ["HostConstant", "HostNormal"]


def _finish(values, dtype):
    """The float32 NumPy array `values` as a backend tensor of `dtype`.

    Converted here with the dtype named, not left to the variable: on JAX a
    NumPy array converted without a dtype goes through `lax.stage`, one more
    compiled program per shape (32 of them, 43 MB, for the paper generator),
    while a named dtype copies it straight to the device.
    """
    return keras.ops.convert_to_tensor(values, dtype=dtype or keras.config.floatx())


@keras.saving.register_keras_serializable(package="keras_creps")
class HostNormal(keras.initializers.Initializer):
    """Normal initial values `mean + stddev * N(0, 1)`, drawn with NumPy.

    Args:
        mean: float. Mean of the values. Defaults to `0.0`.
        stddev: float. Standard deviation of the values (positive).
            Defaults to `1.0`.
        seed: int or `None`. Seed of NumPy's generator (`default_rng`);
            `None` draws one from Python's `random` module now.

    Example:
    ```python
    keras_creps.utils.random_seed.set_random_seed(0)
    kernel = layer.add_weight(shape=(512, 512), initializer=HostNormal(stddev=0.01))
    ```
    """

    def __init__(self, mean=0.0, stddev=1.0, seed=None):
        self.mean = finite_float("mean", mean)
        self.stddev = positive_float("stddev", stddev)
        if seed is None:
            seed = random.randint(1, 10**9)  # the range Keras' own default seeds use
        self.seed = non_negative_int("seed", seed)

    def __call__(self, shape, dtype=None):
        generator = np.random.default_rng(self.seed)
        values = generator.standard_normal(tuple(shape), dtype=np.float32)
        if self.stddev != 1.0:
            values *= np.float32(self.stddev)
        if self.mean != 0.0:
            values += np.float32(self.mean)
        return _finish(values, dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_creps")
class HostConstant(keras.initializers.Initializer):
    """Initial values that all equal `value`, filled with NumPy.

    Args:
        value: float. The value. Defaults to `0.0`.

    Example:
    ```python
    bias = layer.add_weight(shape=(512,), initializer=HostConstant(1.0))
    ```
    """

    def __init__(self, value=0.0):
        self.value = finite_float("value", value)

    def __call__(self, shape, dtype=None):
        return _finish(np.full(tuple(shape), self.value, dtype=np.float32), dtype)

    def get_config(self):
        return {"value": self.value}

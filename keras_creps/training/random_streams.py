"""The seeded random draws of the training step, as functions of `(seed, step)`.

Every draw of a training step (latents, noise, label order, style mixing,
augmentation) takes its seed from `RandomStreams.seed(stream, step)`: the
pair `[seed, step * STREAMS_PER_STEP + index of the stream]`. The random
state is therefore a function of the step counter, a Keras variable: there
is nothing to thread through JAX's stateless step, every replica draws the
same numbers, and a saved training state resumes with the same draws.
"""

import functools

import keras
from keras import ops

# One stream per kind of draw. New streams go at the end, so that existing
# draws keep their values (saved runs resume with the same numbers).
STREAMS = (
    "g_main", "g_reg", "g_reg_noise", "d_main", "mixing", "labels", "mixing_z", "mixing_p",
    "augment_g_main", "augment_d_fake", "augment_d_real", "augment_d_reg",
)
# Room for new streams without changing the seeds of the existing ones.
STREAMS_PER_STEP = 16

# Per-image draws on replica r use the run seed + r * _REPLICA_STRIDE.
_REPLICA_STRIDE = 1000003


@functools.cache
def _seed_dtype(backend):
    # Keras' random functions expect the seed pair in the backend's seed
    # dtype (int64, uint32 or int32), the dtype of a SeedGenerator's state;
    # Keras has no public function for it. The explicit name keeps Keras'
    # automatic layer names (`seed_generator_<n>`) as they were.
    del backend  # The cache key.
    return keras.random.SeedGenerator(0, name="seed_dtype_probe").state.dtype


def check_seed(seed):
    """Returns `seed` if it is an int in `[0, 2**31)`, else raises `ValueError`."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
        raise ValueError(f"`seed` must be an int in [0, 2**31). Received: seed={seed!r}")
    return seed


class FixedSeed(keras.random.SeedGenerator):
    """A seed tensor where Keras' random functions expect a `SeedGenerator`.

    `keras.random.*(seed=...)` takes an int or a `SeedGenerator`; this one
    has no state and always returns the tensor it holds, so that a seed can
    be computed inside a compiled step.

    Args:
        value: tensor `[2]` of the backend's seed dtype.
    """

    def __init__(self, value):  # No super().__init__(): no state variable.
        self.value = value

    def next(self, ordered=True):
        return self.value


class RandomStreams:
    """The seeds of a training step's random draws.

    Args:
        seed: int in `[0, 2**31)`. The run's seed (`CREPSGAN.compile(seed)`).

    Example:
    ```python
    streams = RandomStreams(seed=0)
    z = keras.random.normal((4, 512), seed=streams.seed("g_main", step=7))
    ```
    """

    def __init__(self, seed):
        self.run_seed = check_seed(seed)
        # Read here, outside any compiled function (it creates a variable).
        self.dtype = _seed_dtype(keras.config.backend())

    def seed(self, stream, step):
        """`FixedSeed([seed, step * STREAMS_PER_STEP + STREAMS.index(stream)])`.

        Args:
            stream: string, one of `STREAMS`.
            step: int32 scalar (tensor or variable), the training step.
        """
        index = ops.cast(step, "int32") * STREAMS_PER_STEP + STREAMS.index(stream)
        value = ops.stack([ops.convert_to_tensor(self.run_seed, "int32"), index])
        return FixedSeed(ops.cast(value, self.dtype))

    def replica_seed(self, seed, replica):
        """`seed` made distinct per replica, for draws per image of a local batch.

        Args:
            seed: a `FixedSeed` from `seed()`.
            replica: int32 scalar tensor, this replica's index.
        """
        offset = ops.stack([replica * _REPLICA_STRIDE, ops.zeros_like(replica)])
        return FixedSeed(seed.next() + ops.cast(offset, seed.next().dtype))

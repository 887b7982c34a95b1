import hashlib
import random

import keras
import numpy as np
import pytest

from keras_creps import CREPSDiscriminator
from keras_creps import CREPSGenerator
from keras_creps.layers.host_initializers import HostConstant
from keras_creps.layers.host_initializers import HostNormal
from keras_creps.utils.random_seed import set_random_seed

TINY_G = {"resolution": 8, "z_dim": 8, "w_dim": 8, "c_dim": 2, "channel_base": 64, "channel_max": 16,
          "biline_channels": 4, "mapping_layers": 1}
TINY_D = {"resolution": 8, "c_dim": 2, "channel_base": 64, "channel_max": 16, "mapping_layers": 1}
# SHA-256 (first 16 hex digits) of every weight's float32 bytes, in `weights`
# order, after `set_random_seed(11)` and building the two tiny networks.
# Computed once; every backend's lane must reproduce them bit for bit.
GENERATOR_DIGEST = "54a5611d470df556"
DISCRIMINATOR_DIGEST = "e758aeb70b2a820e"


def _digest(model):
    digest = hashlib.sha256()
    for variable in model.weights:
        values = keras.ops.convert_to_numpy(variable)
        digest.update(np.ascontiguousarray(values, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def test_a_seed_builds_the_same_networks_on_every_backend():
    set_random_seed(11)
    generator = CREPSGenerator(**TINY_G)
    discriminator = CREPSDiscriminator(**TINY_D)
    assert (_digest(generator), _digest(discriminator)) == (GENERATOR_DIGEST, DISCRIMINATOR_DIGEST)


def test_normal_values_are_numpys_stream_scaled_and_shifted():
    tensor = HostNormal(mean=2.0, stddev=0.5, seed=3)((300, 400), dtype="float32")
    assert keras.ops.is_tensor(tensor)  # made by the backend, not left to the variable
    values = keras.ops.convert_to_numpy(tensor)
    expected = np.random.default_rng(3).standard_normal((300, 400), dtype=np.float32)
    assert values.dtype == np.float32 and values.shape == (300, 400)
    np.testing.assert_array_equal(values, expected * np.float32(0.5) + np.float32(2.0))
    assert abs(values.mean() - 2.0) < 0.01 and abs(values.std() - 0.5) < 0.005


def test_a_fixed_seed_repeats_and_different_seeds_differ():
    first = keras.ops.convert_to_numpy(HostNormal(seed=5)((64,)))
    np.testing.assert_array_equal(first, keras.ops.convert_to_numpy(HostNormal(seed=5)((64,))))
    assert not np.array_equal(first, keras.ops.convert_to_numpy(HostNormal(seed=6)((64,))))


def test_without_a_seed_pythons_random_chooses_it():
    random.seed(21)
    first = HostNormal()
    random.seed(21)
    assert HostNormal().seed == first.seed
    assert HostNormal().seed != first.seed  # the next draw from the same stream


def test_constant_fills_the_shape():
    values = keras.ops.convert_to_numpy(HostConstant(1.5)((3, 4), dtype="float16"))
    assert values.dtype == np.float16
    np.testing.assert_array_equal(values, np.full((3, 4), 1.5, np.float16))


def test_dtypes_numpy_lacks_are_made_by_the_backend():
    values = HostNormal(seed=1)((8,), dtype="bfloat16")
    assert keras.backend.standardize_dtype(values.dtype) == "bfloat16"
    reference = np.random.default_rng(1).standard_normal(8, dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.cast(values, "float32")),
                               reference, rtol=1e-2)


@pytest.mark.parametrize("initializer", [HostNormal(mean=-1.0, stddev=3.0, seed=9), HostConstant(0.25)])
def test_serialization_round_trip(initializer):
    restored = keras.initializers.deserialize(keras.initializers.serialize(initializer))
    assert type(restored) is type(initializer) and restored.get_config() == initializer.get_config()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored((5, 2))),
                                  keras.ops.convert_to_numpy(initializer((5, 2))))


@pytest.mark.parametrize("make, message", [
    (lambda: HostNormal(stddev=0.0), "stddev=0.0"),
    (lambda: HostNormal(mean=float("nan")), "mean=nan"),
    (lambda: HostNormal(seed=-1), "seed=-1"),
    (lambda: HostNormal(seed=1.5), "seed=1.5"),
    (lambda: HostConstant(float("inf")), "value=inf"),
    (lambda: HostConstant("1"), "value='1'"),
])
def test_bad_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make()


@pytest.mark.skipif(keras.config.backend() != "jax", reason="counts JAX's compiled programs")
def test_building_compiles_nothing_on_jax(caplog):
    # Keras' initializers compiled ~3 programs per weight shape, and NumPy arrays
    # handed to the variables without a dtype one more (see host_initializers.py).
    import jax

    set_random_seed(12)
    jax.clear_caches()  # programs compiled by earlier tests would not be logged again
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level("WARNING"):
            CREPSGenerator(**TINY_G)
            CREPSDiscriminator(**TINY_D)
    finally:
        jax.config.update("jax_log_compiles", False)
    compiles = [r.getMessage() for r in caplog.records if "XLA compilation" in r.getMessage()]
    assert not compiles, compiles[:3]

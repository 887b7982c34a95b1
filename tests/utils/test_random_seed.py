"""keras_creps.utils.random_seed: Keras' seeding, the same streams, TensorFlow left unloaded off its backend.

Each case runs in a fresh interpreter: whether TensorFlow is loaded is a
property of the whole process.
"""

import pytest
from fresh_interpreter import run_snippet

from keras_creps.utils.random_seed import set_random_seed

pytestmark = pytest.mark.backend_independent  # each case picks its backend: run once by the runner

SAME_STREAMS = (
    "import random, sys\n"
    "import keras, numpy as np\n"
    "from keras_creps.utils.random_seed import set_random_seed\n"
    "def draws(seed_fn):\n"
    "    seed_fn(7)\n"
    "    layer = keras.layers.Dense(5, kernel_initializer='random_normal')\n"
    "    layer.build((None, 3))\n"
    "    return (random.random(), float(np.random.rand()),\n"
    "            keras.ops.convert_to_numpy(layer.kernel), keras.ops.convert_to_numpy(keras.random.normal((4,))))\n"
    "ours = draws(set_random_seed)\n"
    "assert ('tensorflow' in sys.modules) == {loads_tf}, sorted(m for m in sys.modules if 'tensorflow' in m)[:3]\n"
    "theirs = draws(keras.utils.set_random_seed)\n"
    "assert ours[:2] == theirs[:2], (ours, theirs)\n"
    "for a, b in zip(ours[2:], theirs[2:]):\n"
    "    np.testing.assert_array_equal(a, b)\n"
    "assert not np.array_equal(draws(lambda s: set_random_seed(s + 1))[2], ours[2])\n"
)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_the_streams_are_keras_own_and_tensorflow_stays_unloaded(backend):
    pytest.importorskip(backend)
    run_snippet(backend, SAME_STREAMS.format(loads_tf=False))


def test_the_tensorflow_backend_is_seeded_by_keras_itself():
    pytest.importorskip("tensorflow")
    run_snippet("tensorflow", SAME_STREAMS.format(loads_tf=True) + (
        "import tensorflow as tf\n"
        "set_random_seed(11); a = tf.random.uniform((3,)).numpy()\n"
        "set_random_seed(11); b = tf.random.uniform((3,)).numpy()\n"
        "np.testing.assert_array_equal(a, b)\n"
    ))


@pytest.mark.parametrize("seed", [1.5, "3", True, None])
def test_a_seed_that_is_not_an_int_is_named(seed):
    with pytest.raises(ValueError, match=f"seed={seed!r}"):
        set_random_seed(seed)

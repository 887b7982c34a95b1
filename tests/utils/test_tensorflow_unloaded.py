"""keras_creps.utils.tensorflow_unloaded: Keras' TensorFlow questions answered without importing it.

Each case runs in a fresh interpreter: whether TensorFlow is loaded is a
property of the whole process.
"""

import pytest
from fresh_interpreter import run_snippet

pytestmark = pytest.mark.backend_independent  # each case picks its backend: run once by the runner

# A generator's config (Keras serializes its dtype policy) and a GAN (which
# copies its generator through that config) without TensorFlow; then the
# same config with TensorFlow loaded, which must be identical, and the lazy
# modules must be Keras' own again.
CONFIG_AND_GAN = (
    "import sys\n"
    "import keras\n"
    "from keras.src.saving import serialization_lib\n"
    "from keras.src.utils import rng_utils\n"
    "lazy = (serialization_lib.tf, rng_utils.tf)\n"
    "import keras_creps\n"
    "from keras_creps.utils.tensorflow_unloaded import tensorflow_unloaded\n"
    "kwargs = dict(resolution=16, z_dim=32, w_dim=32, channel_base=512, channel_max=64,\n"
    "              biline_channels=8, mapping_layers=2)\n"
    "generator = keras_creps.CREPSGenerator(**kwargs)\n"
    "with tensorflow_unloaded():\n"
    "    config = generator.get_config()\n"
    "    assert serialization_lib.tf is not lazy[0]\n"
    "gan = keras_creps.CREPSGAN(generator, keras_creps.CREPSDiscriminator(resolution=16, channel_base=512,\n"
    "                                                                       channel_max=64))\n"
    "assert 'tensorflow' not in sys.modules, sorted(m for m in sys.modules if 'tensorflow' in m)[:3]\n"
    "assert (serialization_lib.tf, rng_utils.tf) == lazy\n"
    "import tensorflow\n"
    "assert generator.get_config() == config\n"
)

# Where TensorFlow is the backend or already loaded, the block changes nothing.
UNCHANGED = (
    "import tensorflow\n"
    "import keras\n"
    "from keras.src.saving import serialization_lib\n"
    "from keras_creps.utils.tensorflow_unloaded import tensorflow_unloaded\n"
    "lazy = serialization_lib.tf\n"
    "with tensorflow_unloaded():\n"
    "    assert serialization_lib.tf is lazy and lazy.available\n"
)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_configs_and_gans_leave_tensorflow_unloaded(backend):
    pytest.importorskip(backend)
    run_snippet(backend, CONFIG_AND_GAN)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_nothing_changes_once_tensorflow_is_loaded(backend):
    pytest.importorskip("tensorflow")
    pytest.importorskip(backend)
    run_snippet(backend, UNCHANGED)


def test_the_lazy_modules_come_back_after_an_error():
    pytest.importorskip("jax")
    run_snippet("jax", (
        "from keras.src.saving import serialization_lib\n"
        "from keras_creps.utils.tensorflow_unloaded import tensorflow_unloaded\n"
        "lazy = serialization_lib.tf\n"
        "try:\n"
        "    with tensorflow_unloaded():\n"
        "        raise KeyError('inside')\n"
        "except KeyError:\n"
        "    pass\n"
        "assert serialization_lib.tf is lazy\n"
    ))

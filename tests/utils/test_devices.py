"""keras_creps.utils.devices: accelerators found without starting TensorFlow, and the settings that skip them.

The cases run in fresh interpreters: the CPU-only settings must be made
before TensorFlow's runtime starts, and this process's has.
"""

import pytest
from fresh_interpreter import run_snippet

pytestmark = pytest.mark.backend_independent  # each case picks its backend: run once by the runner

# Makes TensorFlow list one TPU chip (as on a TPU VM) beside whatever it really has.
FAKE_TPU = (
    "import tensorflow as tf\n"
    "real_listing = tf.config.list_physical_devices\n"
    "def listing(device_type=None):\n"
    "    fake = [tf.config.PhysicalDevice('/physical_device:TPU:0', 'TPU')]\n"
    "    return fake if device_type == 'TPU' else real_listing(device_type)\n"
    "tf.config.list_physical_devices = listing\n"
)


def test_a_cpu_machine_has_none_and_the_runtime_is_not_started():
    run_snippet("tensorflow", (
        "from keras_creps.utils.devices import tensorflow_accelerators\n"
        "from keras_creps.utils.tf_threads import run_ops_in_turn\n"
        "assert tensorflow_accelerators() == [], tensorflow_accelerators()\n"
        "assert run_ops_in_turn()  # still possible: listing did not start the runtime\n"
    ), unset=("TF_NUM_INTEROP_THREADS",), CUDA_VISIBLE_DEVICES="")


def test_a_tpu_turns_the_cpu_settings_off():
    run_snippet("tensorflow", FAKE_TPU + (
        "from keras_creps.utils.cpu_features import bfloat16_is_emulated\n"
        "from keras_creps.utils.devices import tensorflow_accelerators\n"
        "from keras_creps.utils.tf_constant_folding import skip_constant_folding\n"
        "from keras_creps.utils.tf_threads import run_ops_in_turn\n"
        "assert [d.device_type for d in tensorflow_accelerators()] == ['TPU'], tensorflow_accelerators()\n"
        "assert not run_ops_in_turn()\n"
        "assert tf.config.threading.get_inter_op_parallelism_threads() == 0\n"
        "assert not skip_constant_folding()\n"
        "assert 'constant_folding' not in tf.config.optimizer.get_experimental_options()\n"
        "assert not bfloat16_is_emulated()\n"
    ), unset=("TF_NUM_INTEROP_THREADS",), CUDA_VISIBLE_DEVICES="")

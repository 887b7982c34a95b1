"""keras_creps.utils.devices: accelerators found without starting TensorFlow, and the settings that skip them.

The case runs in a fresh interpreter: the CPU-only settings must be made
before TensorFlow's runtime starts, and this process's has.
"""

import pytest
from fresh_interpreter import run_snippet

pytestmark = pytest.mark.backend_independent  # the case picks its backend: run once by the runner


def test_a_tpu_turns_the_cpu_settings_off_and_nothing_starts_the_runtime():
    run_snippet("tensorflow", (
        "import tensorflow as tf\n"
        "from keras_creps.utils.cpu_features import bfloat16_is_emulated\n"
        "from keras_creps.utils.devices import tensorflow_accelerators\n"
        "from keras_creps.utils.tf_constant_folding import skip_constant_folding\n"
        "from keras_creps.utils.tf_threads import run_ops_in_turn\n"
        "real_listing = tf.config.list_physical_devices\n"
        # First as on a TPU VM: one chip listed beside what the machine really has.
        "def listing(device_type=None):\n"
        "    fake = [tf.config.PhysicalDevice('/physical_device:TPU:0', 'TPU')]\n"
        "    return fake if device_type == 'TPU' else real_listing(device_type)\n"
        "tf.config.list_physical_devices = listing\n"
        "assert [d.device_type for d in tensorflow_accelerators()] == ['TPU'], tensorflow_accelerators()\n"
        "assert not run_ops_in_turn()\n"
        "assert tf.config.threading.get_inter_op_parallelism_threads() == 0\n"
        "assert not skip_constant_folding()\n"
        "assert 'constant_folding' not in tf.config.optimizer.get_experimental_options()\n"
        "assert not bfloat16_is_emulated()\n"
        # Then this CPU-only machine as it is.
        "tf.config.list_physical_devices = real_listing\n"
        "assert tensorflow_accelerators() == [], tensorflow_accelerators()\n"
        "assert run_ops_in_turn()  # still possible: none of the above started the runtime\n"
        "assert tf.config.threading.get_inter_op_parallelism_threads() == 1\n"
    ), unset=("TF_NUM_INTEROP_THREADS",), CUDA_VISIBLE_DEVICES="")

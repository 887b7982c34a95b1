"""keras_creps.utils.training_runtime: the CPU training settings, made together and reported.

Each case runs in a fresh interpreter with the backend it names: the
settings are process-wide and must precede the runtime's start.
"""

import pytest
from fresh_interpreter import run_snippet

pytestmark = pytest.mark.backend_independent  # each case picks its backend: run once by the runner

PRELUDE = "from keras_creps.utils.training_runtime import configure_training_runtime\n"


def test_tensorflow_on_a_cpu_gets_its_two_settings():
    run_snippet("tensorflow", PRELUDE + (
        "made = configure_training_runtime()\n"
        "assert made == {'keep_freed_memory': True, 'training_xla_flags': False,\n"
        "                'ops_in_turn': True, 'constant_folding_off': True}, made\n"
        "import tensorflow as tf\n"
        "assert tf.config.threading.get_inter_op_parallelism_threads() == 1\n"
        "assert tf.config.optimizer.get_experimental_options()['constant_folding'] is False\n"
    ), unset=("TF_NUM_INTEROP_THREADS",), CUDA_VISIBLE_DEVICES="")


def test_folding_and_malloc_can_be_kept_as_they_are():
    run_snippet("tensorflow", PRELUDE + (
        "made = configure_training_runtime(keep_freed=False, constant_folding=True)\n"
        "assert not made['keep_freed_memory'] and not made['constant_folding_off'], made\n"
        "import tensorflow as tf\n"
        "assert 'constant_folding' not in tf.config.optimizer.get_experimental_options()\n"
    ), CUDA_VISIBLE_DEVICES="")


def test_jax_gets_its_xla_flags_and_no_tensorflow_setting():
    pytest.importorskip("jax")
    run_snippet("jax", PRELUDE + (
        "import os\n"
        "from keras_creps.utils.xla_cpu import TRAINING_FLAGS\n"
        "made = configure_training_runtime()\n"
        "assert made['training_xla_flags'] and not made['ops_in_turn'], made\n"
        "assert not made['constant_folding_off'], made\n"
        "assert all(flag in os.environ['XLA_FLAGS'] for flag in TRAINING_FLAGS), os.environ['XLA_FLAGS']\n"
    ), unset=("XLA_FLAGS",))


def test_a_non_bool_names_the_argument():
    from keras_creps.utils.training_runtime import configure_training_runtime

    with pytest.raises(ValueError, match=r"`constant_folding` must be True or False. Received: constant_folding='no'"):
        configure_training_runtime(constant_folding="no")

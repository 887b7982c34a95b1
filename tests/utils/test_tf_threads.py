"""keras_creps.utils.tf_threads: one inter-op thread for CPU TensorFlow, only where it can and should apply.

Each case runs in a fresh interpreter with the backend it names: the setting
must be made before TensorFlow's runtime starts, and this process's has.
"""

import pytest
from fresh_interpreter import run_snippet

pytestmark = pytest.mark.backend_independent  # each case picks its backend: run once by the runner


def run(backend, body, **env):
    run_snippet(backend, (
        "import tensorflow as tf\n"
        "from keras_creps.utils.tf_threads import run_ops_in_turn\n"
        f"{body}"
    ), unset=("TF_NUM_INTEROP_THREADS",), CUDA_VISIBLE_DEVICES="", **env)


def test_one_inter_op_thread_before_the_runtime_starts():
    run("tensorflow", (
        "assert run_ops_in_turn()\n"
        "assert tf.config.threading.get_inter_op_parallelism_threads() == 1\n"
        "x = tf.reshape(tf.range(12.0), (3, 4))\n"
        "assert float(tf.reduce_sum(tf.matmul(x, x, transpose_b=True))) == 1134.0\n"
        "assert not run_ops_in_turn()  # set already\n"
    ))


def test_too_late_once_an_op_has_run():
    run("tensorflow", (
        "tf.constant(1.0) + 1.0\n"
        "assert not run_ops_in_turn()\n"
        "assert tf.config.threading.get_inter_op_parallelism_threads() == 0\n"
    ))


def test_the_users_choice_wins():
    run("tensorflow", (
        "tf.config.threading.set_inter_op_parallelism_threads(2)\n"
        "assert not run_ops_in_turn()\n"
        "assert tf.config.threading.get_inter_op_parallelism_threads() == 2\n"
    ))
    run("tensorflow", (
        "assert not run_ops_in_turn()\n"
        "assert tf.config.threading.get_inter_op_parallelism_threads() == 0\n"
    ), TF_NUM_INTEROP_THREADS="3")


def test_other_backends_are_left_alone():
    pytest.importorskip("jax")
    run("jax", (
        "assert not run_ops_in_turn()\n"
        "assert tf.config.threading.get_inter_op_parallelism_threads() == 0\n"
    ))

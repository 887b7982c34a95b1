"""keras_creps.utils.tf_constant_folding: no constant folding for CPU TensorFlow, unless the user chose.

Each case runs in a fresh interpreter with the backend it names: the setting
is process-wide, and this process's graphs must not change under the suite.
"""

import pytest
from fresh_interpreter import run_snippet

pytestmark = pytest.mark.backend_independent  # each case picks its backend: run once by the runner


def run(backend, body):
    run_snippet(backend, (
        "import tensorflow as tf\n"
        "from keras_creps.utils.tf_constant_folding import skip_constant_folding\n"
        f"{body}"
    ), CUDA_VISIBLE_DEVICES="")


def test_folding_is_off_and_graphs_compute_the_same():
    run("tensorflow", (
        "@tf.function\n"
        "def f(x):\n"
        "    return tf.reduce_sum(x * tf.ones((3, 4)) + tf.fill((3, 4), 2.0))\n"
        "x = tf.reshape(tf.range(12.0), (3, 4))\n"
        "before = float(f(x))\n"
        "assert skip_constant_folding()\n"
        "assert tf.config.optimizer.get_experimental_options()['constant_folding'] is False\n"
        "g = tf.function(f.python_function)\n"
        "assert float(g(x)) == before == 90.0, (float(g(x)), before)\n"
        "assert not skip_constant_folding()  # set already\n"
    ))


def test_the_users_choice_wins():
    run("tensorflow", (
        "tf.config.optimizer.set_experimental_options({'constant_folding': True})\n"
        "assert not skip_constant_folding()\n"
        "assert tf.config.optimizer.get_experimental_options()['constant_folding'] is True\n"
    ))


def test_other_backends_are_left_alone():
    pytest.importorskip("jax")
    run("jax", (
        "assert not skip_constant_folding()\n"
        "assert 'constant_folding' not in tf.config.optimizer.get_experimental_options()\n"
    ))

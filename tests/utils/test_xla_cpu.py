"""keras_creps.utils.xla_cpu: the training flags reach a JAX client that has not started, and only such.

Each case runs in a fresh interpreter with the backend it names: the flags
must be set before JAX starts, and this process's backend has started.
"""

import pytest
from fresh_interpreter import run_snippet

pytest.importorskip("jax")

pytestmark = pytest.mark.backend_independent  # each case picks its backend: run once by the runner


def run(backend, xla_flags, body):
    run_snippet(backend, (
        "import os\n"
        f"os.environ['XLA_FLAGS'] = {xla_flags!r}\n"
        "from keras_creps.utils.xla_cpu import use_training_xla_flags, TRAINING_FLAGS\n"
        f"{body}"
    ), unset=("XLA_FLAGS",))


def test_the_flags_are_added_before_jax_starts_and_refused_after():
    run("jax", "--xla_backend_optimization_level=0", (
        "assert use_training_xla_flags()\n"
        "expected = ' '.join(['--xla_backend_optimization_level=0', *TRAINING_FLAGS])\n"
        "assert os.environ['XLA_FLAGS'] == expected, os.environ['XLA_FLAGS']\n"
        "import jax\n"
        "import numpy as np\n"
        "x = np.arange(12.0, dtype='float32').reshape(3, 4)\n"
        "np.testing.assert_allclose(np.asarray(jax.jit(lambda a: jax.nn.relu(a @ a.T - 5))(x)),\n"
        "                           np.maximum(x @ x.T - 5, 0), rtol=1e-6)\n"
        "os.environ['XLA_FLAGS'] = ''\n"
        "assert not use_training_xla_flags() and os.environ['XLA_FLAGS'] == ''"
    ))


@pytest.mark.parametrize("users", [
    "--xla_cpu_experimental_ynn_fusion_type=eltwise",
    "--xla_cpu_use_fusion_emitters",
    "--xla_cpu_use_fusion_emitters=true",
])
def test_a_users_own_choice_is_kept(users):
    run("jax", users, (
        "assert use_training_xla_flags()\n"
        "flags = os.environ['XLA_FLAGS'].split()\n"
        f"assert flags[0] == {users!r} and len(flags) == len(TRAINING_FLAGS), flags\n"
        "assert set(flags[1:]) < set(TRAINING_FLAGS), flags\n"
        "assert all(flag.split('=')[0] != flags[0].split('=')[0] for flag in flags[1:]), flags"
    ))


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_other_backends_are_left_alone(backend):
    run(backend, "--xla_backend_optimization_level=0", (
        "assert not use_training_xla_flags()\n"
        "assert os.environ['XLA_FLAGS'] == '--xla_backend_optimization_level=0'"
    ))


def test_an_older_jaxlib_gets_no_flags():
    run("jax", "--xla_backend_optimization_level=0", (
        "import keras_creps.utils.xla_cpu as xla_cpu\n"
        "xla_cpu.MIN_JAXLIB = (99, 0, 0)  # as if the installed jaxlib predated the flags\n"
        "assert not use_training_xla_flags()\n"
        "assert os.environ['XLA_FLAGS'] == '--xla_backend_optimization_level=0'"
    ))


@pytest.mark.parametrize("version, knows", [
    ("0.10.2", True), ("0.11.0", True), ("1.0", True), ("0.10.3.dev20261201", True),
    ("0.10.1", False), ("0.9.9", False), ("0.10", False), ("unknown", False),
])
def test_the_jaxlib_floor(version, knows):
    from keras_creps.utils.xla_cpu import jaxlib_knows_the_flags

    assert jaxlib_knows_the_flags(version) is knows

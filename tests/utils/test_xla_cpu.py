"""keras_creps.utils.xla_cpu: the YNNPACK flag reaches a JAX client that has not started, and only such.

Each case runs in a fresh interpreter with the backend it names: the flag
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
        "from keras_creps.utils.xla_cpu import use_ynnpack_kernels, YNN_FLAG\n"
        f"{body}"
    ), unset=("XLA_FLAGS",))


def test_the_flag_is_added_before_jax_starts_and_refused_after():
    run("jax", "--xla_backend_optimization_level=0", (
        "assert use_ynnpack_kernels()\n"
        "assert os.environ['XLA_FLAGS'] == '--xla_backend_optimization_level=0 ' + YNN_FLAG\n"
        "import jax\n"
        "import numpy as np\n"
        "x = np.arange(12.0, dtype='float32').reshape(3, 4)\n"
        "np.testing.assert_allclose(np.asarray(jax.jit(lambda a: a @ a.T)(x)), x @ x.T, rtol=1e-6)\n"
        "os.environ['XLA_FLAGS'] = ''\n"
        "assert not use_ynnpack_kernels() and os.environ['XLA_FLAGS'] == ''"
    ))


def test_a_users_own_ynn_choice_is_kept():
    run("jax", "--xla_cpu_experimental_ynn_fusion_type=eltwise", (
        "assert use_ynnpack_kernels()\n"
        "assert os.environ['XLA_FLAGS'] == '--xla_cpu_experimental_ynn_fusion_type=eltwise'"
    ))


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_other_backends_are_left_alone(backend):
    run(backend, "--xla_backend_optimization_level=0", (
        "assert not use_ynnpack_kernels()\n"
        "assert os.environ['XLA_FLAGS'] == '--xla_backend_optimization_level=0'"
    ))

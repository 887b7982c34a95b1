"""keras_creps.utils.xla_cpu: the YNNPACK flag reaches a JAX client that has not started, and only such."""

import os
import subprocess
import sys

import pytest

from keras_creps.utils import xla_cpu

pytest.importorskip("jax")


@pytest.mark.backend_independent
def test_a_users_own_ynn_choice_is_kept(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=eltwise")
    assert xla_cpu.use_ynnpack_kernels()
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_experimental_ynn_fusion_type=eltwise"


@pytest.mark.backend_independent
def test_the_flag_is_added_before_jax_starts_and_refused_after():
    script = (
        "import os\n"
        "os.environ['XLA_FLAGS'] = '--xla_backend_optimization_level=0'\n"
        "from keras_creps.utils.xla_cpu import use_ynnpack_kernels, YNN_FLAG\n"
        "assert use_ynnpack_kernels()\n"
        "assert os.environ['XLA_FLAGS'] == '--xla_backend_optimization_level=0 ' + YNN_FLAG\n"
        "import jax\n"
        "import numpy as np\n"
        "x = np.arange(12.0, dtype='float32').reshape(3, 4)\n"
        "np.testing.assert_allclose(np.asarray(jax.jit(lambda a: a @ a.T)(x)), x @ x.T, rtol=1e-6)\n"
        "os.environ['XLA_FLAGS'] = ''\n"
        "assert not use_ynnpack_kernels() and os.environ['XLA_FLAGS'] == ''\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["KERAS_BACKEND"] = "jax"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-2000:]

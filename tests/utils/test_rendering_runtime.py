"""keras_creps.utils.rendering_runtime: the CPU rendering settings, made together and reported.

Each case runs in a fresh interpreter with the backend it names: the
settings are process-wide and must precede the runtime's start.
"""

import sys

import pytest
from fresh_interpreter import run_snippet

pytestmark = pytest.mark.backend_independent  # each case picks its backend: run once by the runner

PRELUDE = "import os\nfrom keras_creps.utils.rendering_runtime import configure_rendering_runtime\n"
ON_GLIBC = sys.platform.startswith("linux")

# Compiles one fused element-wise function with XLA, dumping what XLA made,
# and counts the fused loops that went through the MLIR fusion emitters
# (each leaves a "*_kernel_module*.mlir" file; the loop emitters leave none).
COUNT_FUSION_EMITTER_MODULES = """
import tempfile
dump = tempfile.mkdtemp()
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_dump_to=" + dump).strip()
import numpy as np, tensorflow as tf
x = tf.constant(np.linspace(-1, 1, 64, dtype="float32"))
y = tf.function(lambda a: tf.sin(a) * 2.0 + tf.exp(a), jit_compile=True)(x)
np.testing.assert_allclose(y.numpy(), np.sin(x.numpy()) * 2 + np.exp(x.numpy()), rtol=1e-5)
count = len([f for f in os.listdir(dump) if "kernel_module" in f and f.endswith(".mlir")])
"""


def test_tensorflow_renders_with_xla_loop_emitters():
    run_snippet("tensorflow", PRELUDE + (
        "made = configure_rendering_runtime()\n"
        f"assert made == {{'keep_freed_memory': {ON_GLIBC}, 'one_malloc_arena': False,\n"
        "                'rendering_xla_flags': True}, made\n"
        "assert os.environ['XLA_FLAGS'] == '--xla_cpu_use_fusion_emitters=false', os.environ['XLA_FLAGS']\n"
    ), unset=("XLA_FLAGS",), CUDA_VISIBLE_DEVICES="")


@pytest.mark.parametrize("xla_flags, emitted", [(True, False), (False, True)])
def test_the_flag_reaches_tensorflows_xla(xla_flags, emitted):
    # The same function compiled in two processes: the MLIR fusion emitters
    # leave one module per fused loop, the loop emitters none.
    script = PRELUDE + (
        f"made = configure_rendering_runtime(xla_flags={xla_flags})\n"
        f"assert made['rendering_xla_flags'] is {xla_flags}, made\n"
        + COUNT_FUSION_EMITTER_MODULES +
        f"assert (count > 0) is {emitted}, count\n"
    )
    run_snippet("tensorflow", script, unset=("XLA_FLAGS",), CUDA_VISIBLE_DEVICES="")


def test_a_users_own_emitter_choice_is_kept():
    run_snippet("tensorflow", PRELUDE + (
        "assert configure_rendering_runtime()['rendering_xla_flags']\n"
        "assert os.environ['XLA_FLAGS'] == '--xla_cpu_use_fusion_emitters=true', os.environ['XLA_FLAGS']\n"
    ), XLA_FLAGS="--xla_cpu_use_fusion_emitters=true", CUDA_VISIBLE_DEVICES="")


def test_an_older_tensorflow_gets_no_flag():
    run_snippet("tensorflow", PRELUDE + (
        "import keras_creps.utils.xla_cpu as xla_cpu\n"
        "xla_cpu.MIN_TENSORFLOW = (99, 0, 0)  # as if the installed TensorFlow predated the flag\n"
        "assert not configure_rendering_runtime()['rendering_xla_flags']\n"
        "assert 'XLA_FLAGS' not in os.environ or os.environ['XLA_FLAGS'] == ''\n"
    ), unset=("XLA_FLAGS",))


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_keep_xlas_defaults(backend):
    pytest.importorskip(backend)
    run_snippet(backend, PRELUDE + (
        "made = configure_rendering_runtime()\n"
        "assert not made['rendering_xla_flags'], made\n"
        f"assert made['one_malloc_arena'] is {backend == 'jax' and ON_GLIBC}, made\n"
        "assert os.environ.get('XLA_FLAGS', '') == '', os.environ.get('XLA_FLAGS')\n"
    ), unset=("XLA_FLAGS",))


@pytest.mark.parametrize("version, knows", [
    ("2.21.0", True), ("2.21.0rc1", True), ("2.22.1", True), ("3.0", True),
    ("2.20.1", False), ("2.9.0", False), ("nightly", False), ("", False),
])
def test_the_tensorflow_floor(version, knows):
    from keras_creps.utils.xla_cpu import tensorflow_knows_the_flags

    assert tensorflow_knows_the_flags(version) is knows


def test_a_non_bool_names_the_argument():
    from keras_creps.utils.rendering_runtime import configure_rendering_runtime

    with pytest.raises(ValueError, match=r"`xla_flags` must be True or False. Received: xla_flags=1"):
        configure_rendering_runtime(xla_flags=1)

import os
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from xla_test_flags import CHEAP_XLA_FLAGS  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# On JAX most of the suite's time is XLA compilation, and many tests compile
# the same tiny models. A persistent compilation cache for this session (also
# inherited by the recipe subprocesses through the environment) compiles each
# distinct program once: a repeated tiny-GAN train step drops from ~40 s to
# ~7 s. Set JAX_COMPILATION_CACHE_DIR yourself to keep a cache between runs.
if os.environ.get("KERAS_BACKEND") == "jax" and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _JAX_CACHE = tempfile.TemporaryDirectory(prefix="keras-creps-jax-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE.name
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# Much of the rest of JAX's compile time is XLA:CPU generating code for the
# tiny test programs. At LLVM's optimization level 0 (XLA's own passes
# unchanged) tests/training/test_gan_mixed_precision.py and test_losses.py
# took 179 s instead of 234 s, every tolerance holding. Emitting fusions
# with XLA's older loop emitters instead of its fusion emitters roughly
# halves what is left: the same five test files (tests/layers, test_gan,
# test_losses, test_phases, test_creps_generator) took 287 s instead of
# 428 s side by side, one core each (jaxlib 0.10.2, 2026-12-02); one
# primitive's compile in an eager step ~26 -> ~15 ms. TensorFlow's XLA
# (recipes/train.py compiles the tiny configuration's step with it) takes
# the same flags: an in-process one-step train.py run 58 -> 20 s. Only
# when the user has set no XLA_FLAGS; recipe subprocesses inherit it, and
# benchmark runs outside the suite compile with XLA's defaults. XLA stops
# at a flag it does not know (retired flags have so far lingered with a
# warning first): should a jaxlib or TensorFlow drop one, drop it from
# tests/xla_test_flags.py.
if "XLA_FLAGS" not in os.environ:
    os.environ["XLA_FLAGS"] = CHEAP_XLA_FLAGS
# On TensorFlow a compiled train step of the tiny test GAN spends a quarter
# of its first call in Grappler's graph rewrites (one variant: 16.8 / 18.2 s
# with them, 13.5 / 12.9 s without; the later calls 0.1-0.2 s either way):
# the suite's process runs its graphs unrewritten, as
# tests/training/distribute_worker.py already did. The recipe subprocesses
# (train.py, generate.py, export) are separate processes and keep
# TensorFlow's default rewrites, so that path stays exercised end to end.
if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


# Metric tests and train.py runs cache real-image statistics; keep them out of
# the user's ~/.cache and fresh for every run of the suite.
if "KERAS_CREPS_CACHE" not in os.environ:
    _METRICS_CACHE = tempfile.TemporaryDirectory(prefix="keras-creps-cache-")
    os.environ["KERAS_CREPS_CACHE"] = _METRICS_CACHE.name


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


# tests/run_all_backends.py names the one backend whose run also covers the
# tests that need not run three times, so the suite runs them once:
# - `backend_independent`: data sources, dataset tools, file helpers: nothing
#   in them reaches a Keras backend;
# - `recipe_behaviour`: a recipe's own behaviour (flags, messages, files,
#   run directories) driven through a backend whose part (rendering, training,
#   metrics) the library's tests and each recipe's per-backend tests cover.
# A plain `pytest` run, on any backend, runs them all.
INDEPENDENT_ON = "KERAS_CREPS_BACKEND_INDEPENDENT_ON"
ONCE_MARKERS = ("backend_independent", "recipe_behaviour")


def pytest_collection_modifyitems(config, items):
    once_on = os.environ.get(INDEPENDENT_ON)
    if once_on and once_on != os.environ.get("KERAS_BACKEND", "tensorflow"):
        for item in items:
            marker = next((name for name in ONCE_MARKERS if name in item.keywords), None)
            if marker:
                reason = f"{marker}: run once, on the {once_on} backend ({INDEPENDENT_ON})"
                item.add_marker(pytest.mark.skip(reason=reason))
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (covered by recipes/benchmark.py)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    from test_case import recorded_errors

    errors = recorded_errors()
    if errors:
        terminalreporter.write_sep("-", "largest parity errors (max|ours - ref| / max|ref|)")
        for key in sorted(errors):
            terminalreporter.write_line(f"{key}: {errors[key]:.3e}")

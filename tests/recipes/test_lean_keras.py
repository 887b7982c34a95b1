"""recipes/_lean_keras.py: Keras without JAX on the other backends; no recipe loads Keras on import."""

import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = os.path.join(ROOT, "recipes")

pytestmark = pytest.mark.recipe_behaviour


def _fresh(code, backend, extra_path=None, home=None):
    """Runs `code` in a fresh interpreter with recipes/ on the path; returns its stdout lines."""
    path = [extra_path] if extra_path else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*path, RECIPES, os.environ.get("PYTHONPATH", "")]))
    env.pop("KERAS_BACKEND", None)
    if backend:
        env["KERAS_BACKEND"] = backend
    if home:
        env["KERAS_HOME"] = home
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()


CHECK = """
import sys
from _lean_keras import keep_jax_out_of_keras
print(keep_jax_out_of_keras())
import tensorflow  # imports Keras too, as the recipes that use tf.data do first
import keras, keras_creps
print("jax" in sys.modules)
import jax
print(jax.numpy.add(1, 2))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_keras_and_tensorflow_load_without_jax_and_jax_still_imports_later(backend):
    assert _fresh(CHECK, backend) == ["True", "False", "3"]


def test_jax_backend_is_left_alone(tmp_path):
    assert _fresh(CHECK, "jax") == ["False", "True", "3"]
    # The backend chosen in keras.json, without KERAS_BACKEND, counts the same.
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    assert _fresh(CHECK, None, home=str(tmp_path)) == ["False", "True", "3"]


def test_only_the_two_guarded_importers_are_refused(tmp_path):
    # A stand-in `keras` whose own import needs JAX, unguarded: it is not refused.
    (tmp_path / "keras").mkdir()
    (tmp_path / "keras" / "__init__.py").write_text("import jax\nNEEDED = jax.__name__\n")
    code = """
import sys
from _lean_keras import keep_jax_out_of_keras
print(keep_jax_out_of_keras())
import keras
print(keras.NEEDED)
"""
    assert _fresh(code, "torch", extra_path=str(tmp_path)) == ["True", "jax"]


@pytest.mark.parametrize("name", sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(RECIPES, "*.py"))))
def test_no_recipe_imports_keras_or_a_backend_when_imported(name):
    # quiet_startup (which keeps JAX out) must run before Keras loads, so
    # a recipe module (and its helpers) may only import it inside functions.
    code = f"""
import importlib, sys
importlib.import_module({name!r})
print(sorted(m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules) or "none")
"""
    assert _fresh(code, "tensorflow") == ["none"]


@pytest.mark.parametrize("verbosity", [-1, 0])
def test_every_recipe_start_keeps_jax_out(verbosity):
    # The recipes call only quiet_startup, first: it keeps JAX out at any verbosity.
    code = f"""
import sys
from _startup import quiet_startup
quiet_startup(verbosity={verbosity})
import keras, keras_creps
print("jax" in sys.modules)
"""
    assert _fresh(code, "tensorflow") == ["False"]


def test_quiet_startup_reads_the_backend_as_keras_does(tmp_path):
    # keras.json (no KERAS_BACKEND) picks the backend for quiet_startup too:
    # on JAX it leaves TensorFlow unimported, on TensorFlow it imports it.
    code = """
import sys
from _startup import quiet_startup
quiet_startup(verbosity=-1)
print("tensorflow" in sys.modules)
"""
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    assert _fresh(code, None, home=str(tmp_path)) == ["False"]
    (tmp_path / "keras.json").write_text('{"backend": "tensorflow"}')
    assert _fresh(code, None, home=str(tmp_path)) == ["True"]

"""`keep_jax_out_of_keras`: Keras on TensorFlow or PyTorch without JAX in memory.

Keras 3.15 imports JAX on every backend when JAX is installed: its Orbax
checkpoint callback module, imported with `keras` (and with `tensorflow`,
which imports Keras), patches a JAX function, and TensorFlow 2.21's TFLite
helpers import `jax.jit` for converting JAX functions; both guard the import
with `except ImportError`. Nothing on the TensorFlow or PyTorch backend
needs JAX. Measured in fresh processes on 2026-12-03 (RSS after
`import keras; import keras_creps` and one op): TensorFlow 676 -> 568 MB,
PyTorch 454 -> 343 MB; the training benchmark's peak on TensorFlow 5662 ->
5553 MB (official 5206-5223 MB that day).

So the recipes refuse `import jax` to those two modules, and only to them:
an import hook raises `ImportError` when the import comes from one of them,
which takes it as "JAX not installed". Every other `import jax` works as
usual, and versions without those modules are unaffected.
This module lives in `recipes/` and imports only the standard library, since
`keras_creps` imports Keras.
"""

import importlib.abc
import json
import os
import sys

__all__ = ["configured_backend", "keep_jax_out_of_keras"]

# The modules whose start-up import of JAX is refused.
REFUSED_IMPORTERS = ("keras.src.callbacks.orbax_checkpoint", "tensorflow.lite.python.util")


def configured_backend():
    """The backend Keras will pick, read without importing Keras: `KERAS_BACKEND`, else keras.json."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


class _JaxRefusal(importlib.abc.MetaPathFinder):
    """Raises ImportError for `jax` imported directly by a module of `REFUSED_IMPORTERS`."""

    def find_spec(self, name, path=None, target=None):
        if name != "jax":
            return None
        frame = sys._getframe(1)
        # The importing module's frame sits above importlib's own frames.
        while frame is not None and frame.f_globals.get("__name__", "").startswith("importlib"):
            frame = frame.f_back
        importer = None if frame is None else frame.f_globals.get("__name__")
        if importer not in REFUSED_IMPORTERS:
            return None
        raise ImportError(f"JAX is kept out of {importer} by recipes/_lean_keras.py")


def keep_jax_out_of_keras():
    """Makes the coming `import keras` skip JAX, unless the backend is JAX or Keras is already imported.

    Call it before anything imports TensorFlow or Keras; the recipes' `quiet_startup` calls it first.

    Returns:
        bool. Whether the hook was installed.

    Example:
    ```python
    keep_jax_out_of_keras()  # or quiet_startup(), which calls it
    import keras_creps
    ```
    """
    if "keras" in sys.modules or "jax" in sys.modules or configured_backend() == "jax":
        return False
    if not any(isinstance(finder, _JaxRefusal) for finder in sys.meta_path):
        sys.meta_path.insert(0, _JaxRefusal())
    return True

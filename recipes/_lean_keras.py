"""`import_keras_without_jax`: Keras on TensorFlow or PyTorch without JAX in memory.

Keras 3.15 imports JAX on every backend when JAX is installed: its Orbax
checkpoint callback module, imported with `keras`, patches a JAX function
and guards that with `except ImportError`. Nothing else on the TensorFlow or
PyTorch backend needs JAX. Measured in fresh processes on 2026-12-03
(RSS after `import keras; import keras_creps`): TensorFlow 676 -> 563 MB,
PyTorch 454 -> 340 MB. The training benchmark's peak RSS on TensorFlow
carries those 115 MB as well.

So the recipes import Keras with `import jax` refused once (the guard takes
the refusal as "not installed") and then allow it again: a later
`import jax` works as usual. This module lives in `recipes/` and imports
only the standard library, since `keras_creps` imports Keras.
"""

import json
import os
import sys

__all__ = ["import_keras_without_jax"]


def _configured_backend():
    """The backend Keras will pick, read without importing Keras: `KERAS_BACKEND`, else keras.json."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def import_keras_without_jax():
    """Imports Keras with JAX kept out, unless the backend is JAX or either is already imported.

    Returns:
        bool. Whether Keras was imported without JAX.

    Example:
    ```python
    def main(argv):
        quiet_startup()
        import_keras_without_jax()  # before anything imports Keras
        import keras_creps
    ```
    """
    if "keras" in sys.modules or "jax" in sys.modules or _configured_backend() == "jax":
        return False
    sys.modules["jax"] = None  # `import jax` now raises ImportError
    try:
        import keras  # noqa: F401
    except ImportError:
        # A Keras that needs JAX after all: import it the ordinary way.
        for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
            del sys.modules[name]
        del sys.modules["jax"]
        import keras  # noqa: F401

        return False
    finally:
        if sys.modules.get("jax", 0) is None:
            del sys.modules["jax"]
    return True

"""`tensorflow_unloaded`: Keras code that asks about TensorFlow, run without importing it.

A few Keras functions look at TensorFlow whenever it is installed, on every
backend, through a lazy module that imports it on first use:
`keras.utils.set_random_seed` seeds it, and `serialize_keras_object` (every
`get_config` that serializes a dtype policy) asks whether a value is a
`tf.TensorShape`, `tf.DType` or `tf.TypeSpec`. On the PyTorch and JAX backends
that import alone raised the process's resident memory by ~490 MB on this
project's test machine, for an answer that cannot be "yes": no TensorFlow
object exists in a process that has not imported TensorFlow.

Inside `with tensorflow_unloaded():` those lazy modules report TensorFlow as
not installed, unless TensorFlow is the backend or already imported (a
`tf.data` pipeline), in which case nothing changes. Keras' functions then
behave exactly as they would without TensorFlow installed.
"""

import contextlib
import importlib
import sys

import keras

__all__ = ["tensorflow_unloaded"]

# Private modules of Keras whose module-level `tf` is the lazy TensorFlow
# module. A future Keras without one of them is simply left alone.
_LAZY_TENSORFLOW_USERS = ("keras.src.utils.rng_utils", "keras.src.saving.serialization_lib")


class _NotInstalled:
    """Stands in for Keras' lazy TensorFlow module: reports it as not installed."""

    available = False


@contextlib.contextmanager
def tensorflow_unloaded():
    """Runs the block with Keras' lazy TensorFlow reported as not installed, unless it is in use.

    Example:
    ```python
    from keras_creps.utils.tensorflow_unloaded import tensorflow_unloaded

    with tensorflow_unloaded():
        config = generator.get_config()  # no TensorFlow import on JAX or PyTorch
    ```
    """
    if keras.config.backend() == "tensorflow" or "tensorflow" in sys.modules:
        yield
        return
    swapped = []
    try:
        for name in _LAZY_TENSORFLOW_USERS:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            if hasattr(module, "tf"):
                swapped.append((module, module.tf))
                module.tf = _NotInstalled()
        yield
    finally:
        for module, lazy in swapped:
            module.tf = lazy

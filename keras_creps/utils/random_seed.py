"""`set_random_seed`: Keras' global seeding, without importing TensorFlow on other backends.

`keras.utils.set_random_seed` seeds Python, NumPy, Keras' global seed
generator, PyTorch on its backend, and TensorFlow whenever TensorFlow is
installed, importing it to do so. On the PyTorch and JAX backends that import
alone raised the process's resident memory by ~490 MB on this project's
test machine (`recipes/benchmark.py --backend torch --only creps_256_b1`:
605 MB between imports and a built generator, 117 MB of which are the
generator's weights), for a seed nothing there uses.
"""

import keras

from keras_creps.utils.tensorflow_unloaded import tensorflow_unloaded

__all__ = ["set_random_seed"]


def set_random_seed(seed):
    """Seeds as `keras.utils.set_random_seed(seed)` does, leaving TensorFlow alone unless it is loaded.

    On the TensorFlow backend, or once TensorFlow is imported (a `tf.data`
    pipeline), this is `keras.utils.set_random_seed` itself. Otherwise Keras'
    function runs with its TensorFlow step skipped (`tensorflow_unloaded`),
    so the same seed gives the same Python, NumPy, PyTorch and Keras random
    streams (initial weights, `keras.random` without a seed) without loading
    TensorFlow.

    Args:
        seed: int. The seed.

    Example:
    ```python
    from keras_creps.utils.random_seed import set_random_seed

    set_random_seed(0)
    generator = CREPSGenerator(resolution=64)  # the same weights on every call
    ```
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` must be an int. Received: seed={seed!r}")
    with tensorflow_unloaded():
        keras.utils.set_random_seed(seed)

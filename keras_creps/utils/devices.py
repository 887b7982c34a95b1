"""What the running backend computes on, where a choice of compilation depends on it."""

import keras

__all__ = ["tensorflow_without_gpu"]


def tensorflow_without_gpu():
    """True on the TensorFlow backend when TensorFlow sees no GPU (XLA then means XLA:CPU).

    Example:
    ```python
    jit_compile = not tensorflow_without_gpu()
    ```
    """
    if keras.config.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.config.list_logical_devices("GPU")

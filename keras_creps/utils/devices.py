"""What the running backend computes on, where a choice of compilation or a setting depends on it."""

import keras

__all__ = ["tensorflow_accelerators", "tensorflow_without_gpu"]


def tensorflow_accelerators():
    """The GPUs and TPUs TensorFlow can see, found without starting its runtime.

    The CPU-only settings (`run_ops_in_turn`, `skip_constant_folding`) must
    be made before TensorFlow's runtime starts and must not be made on an
    accelerator, so this lists *physical* devices, which does not start the
    runtime (listing logical ones would). A TPU VM's chips are listed here;
    a remote TPU reached later through `TPUClusterResolver` is not.

    Returns:
        A list of `tf.config.PhysicalDevice`, GPUs first; empty on a
        CPU-only machine.

    Example:
    ```python
    if not tensorflow_accelerators():
        ...  # a CPU-only setting
    ```
    """
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU") + tf.config.list_physical_devices("TPU")


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

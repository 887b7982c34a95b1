"""`skip_constant_folding`: TensorFlow training on a CPU without Grappler's constant folding.

Before a `tf.function` graph first runs, TensorFlow's graph optimizer
(Grappler) evaluates every part of it that depends only on constants and
stores the results in the graph as new constants. Each compiled graph keeps
its own folded constants for as long as it lives (which parts of the
training graph fold was not traced). `CREPSGAN` compiles one graph per
combination of phases (four with the default lazy regularization
intervals), so the copies add up.

Measured on this project's 2-core test machine, `small` GAN at 64^2, batch
16, float32 graph mode (2026-12-03). The four step graphs compiled and run
in turn in one process: the RSS above the imports after the fourth was
5149-5187 MB with folding and 4605 MB without it. With TensorFlow on the
system allocator (`TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1`) and glibc returning
every freed block of 1 MB or more, the live memory after the four graphs
was 2657 MB against 1945 MB. `recipes/benchmark.py --only
train_small_64_b16` peaked at 5282 and 5135 MB without folding (the second
run side by side with the official's 5279 MB) against 5553 and 5596 MB in
the two runs with folding since JAX left the import. Speed was unchanged
within the machine's noise: the step ran at 73 % of the matrix-product
rate timed in the same process in both runs, against 66-76 % with folding.

The setting is process-wide, so the library never makes it on its own:
`configure_training_runtime` (`training_runtime.py`, called by
`recipes/train.py` and the training benchmark at start-up) makes it with
the other CPU training settings, and a script or notebook that trains on
a CPU should call that too. It is left alone with a GPU or TPU (not
measured there) and when the user already chose a `constant_folding` setting
through `tf.config.optimizer`.
"""

import keras

from keras_creps.utils.devices import tensorflow_accelerators

__all__ = ["skip_constant_folding"]


def skip_constant_folding():
    """Turns Grappler's constant folding off for CPU-only TensorFlow, unless the user chose.

    Affects the graphs compiled after the call; the graphs are otherwise the
    same and compute the same values.

    Returns:
        `True` if the setting was made; `False` where it does not apply: the
        backend is not TensorFlow, a GPU or TPU is visible, or the user already set
        `constant_folding` with `tf.config.optimizer.set_experimental_options`.

    Example:
    ```python
    from keras_creps.utils.tf_constant_folding import skip_constant_folding

    skip_constant_folding()  # in a training script, before the step compiles
    ```
    """
    if keras.config.backend() != "tensorflow":
        return False
    import tensorflow as tf

    if "constant_folding" in tf.config.optimizer.get_experimental_options():
        return False
    if tensorflow_accelerators():
        return False
    tf.config.optimizer.set_experimental_options({"constant_folding": False})
    return True

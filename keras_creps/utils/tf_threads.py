"""`run_ops_in_turn`: TensorFlow training on a CPU, one graph op at a time.

TensorFlow runs a graph with two thread pools: intra-op threads split one
op's work (a convolution over every core) and inter-op threads start ops
that are ready at the same time. On a CPU both compete for the same cores,
and a GAN step's graph often has several ops ready at once (ops of two
phases that share no data, say): running them side by side keeps the
activations of both alive at once, and gains little speed when each op
already uses every core.

Measured on this project's 2-core test machine, `train_small_64_b16`
(float32, graph mode, 2026-12-02), two inter-op threads (the default)
against one, one run each, one after the other: 21 steps in one process,
14.08 s/step (steps 5-20) at a 7.84 GB peak against 14.47 s at 6.95 GB;
then `recipes/benchmark.py` (`--train_inter_op_threads=2` against the new
default), 14.03 s/step at 7.41 GB against 14.46 s at 6.93 GB. One op at a
time costs ~3 % of speed in both pairs and saves 0.5-0.9 GB; training on a
CPU is bounded by memory before time, so one op at a time is the default
there.

The setting is process-wide and must be made before TensorFlow's runtime
starts, so the library never makes it on its own:
`configure_training_runtime` (`training_runtime.py`, called by
`recipes/train.py` and the training benchmark at start-up) makes it with
the other CPU training settings. It is left alone with a GPU or TPU
(there, inter-op threads launch the replicas' work) and when the user chose a
number (`TF_NUM_INTEROP_THREADS` or
`tf.config.threading.set_inter_op_parallelism_threads`).
"""

import os

import keras

from keras_creps.utils.devices import tensorflow_accelerators

__all__ = ["run_ops_in_turn"]


def run_ops_in_turn():
    """Sets TensorFlow's inter-op threads to 1 for CPU-only TensorFlow training, where it still can.

    Returns:
        `True` if the setting was made; `False` where it does not apply: the
        backend is not TensorFlow, a GPU or TPU is visible, the user chose the
        number, or TensorFlow's runtime has already started.

    Example:
    ```python
    from keras_creps.utils.tf_threads import run_ops_in_turn

    run_ops_in_turn()  # first thing in a training script, before any op runs
    ```
    """
    if keras.config.backend() != "tensorflow" or os.environ.get("TF_NUM_INTEROP_THREADS"):
        return False
    import tensorflow as tf

    if tf.config.threading.get_inter_op_parallelism_threads() or tensorflow_accelerators():
        return False
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # "... cannot be modified after initialization"
        return False
    return True

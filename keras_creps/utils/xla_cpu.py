"""`use_ynnpack_kernels`: JAX training on a CPU with XLA's YNNPACK kernels.

XLA:CPU runs convolutions through its own Eigen kernels by default. On this
project's 2-core AVX-512 test machine a 3x3 convolution at 64^2, 256
channels, batch 16 ran forward and backward at ~100 GFLOP/s that way, and at
265-290 GFLOP/s with `--xla_cpu_experimental_ynn_fusion_type=dot`, which
hands XLA's products to the YNNPACK library (the small configuration's
discriminator forward at 64^2, batch 16: 2.16 -> 0.91 s). Training
`train_small_64_b16` on JAX (`recipes/benchmark.py`, one run each, the same
morning): 1709 -> 965 s/kimg, peak RSS 6.9 -> 7.6 GB.

It is not used for rendering, which is matrix products, not convolutions:
`recipes/benchmark.py --only creps_256_b1` (float32, two alternating pairs)
took 0.360 / 0.370 s per image without the flag and 0.381 / 0.383 s with it
(working memory 982-1002 vs 1037 MB), and a large bfloat16 product ran
slower with it (~400 -> ~250 GFLOP/s).

XLA reads its flags once, when JAX starts its CPU client, and the setting is
process-wide, so the library never makes it on its own: `recipes/train.py`
and the training benchmark call this at start-up.
"""

import os
import sys

import keras

__all__ = ["use_ynnpack_kernels"]

YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type=dot"


def use_ynnpack_kernels():
    """Adds the YNNPACK flag to `XLA_FLAGS` for the JAX backend, if it can still apply.

    Nothing changes when the Keras backend is not JAX (TensorFlow's XLA
    does not know the flag and would stop at an unknown one), when the
    user's `XLA_FLAGS` already chooses a YNNPACK fusion type, or when JAX
    has already started (XLA would not read the flag again).

    Returns:
        `True` if the flag is in `XLA_FLAGS` for the JAX client that will
        start, `False` if it does not apply (another backend) or cannot any
        more.

    Example:
    ```python
    from keras_creps.utils.xla_cpu import use_ynnpack_kernels

    use_ynnpack_kernels()  # before the first JAX computation
    ```
    """
    if keras.config.backend() != "jax":
        return False
    flags = os.environ.get("XLA_FLAGS", "")
    if "--xla_cpu_experimental_ynn_fusion_type" in flags:
        return True
    if "jax" in sys.modules:
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            return False
    os.environ["XLA_FLAGS"] = f"{flags} {YNN_FLAG}".strip()
    return True

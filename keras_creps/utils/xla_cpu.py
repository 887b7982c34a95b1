"""`use_training_xla_flags`: XLA:CPU settings for training on the JAX backend.

Three flags, each measured on `recipes/benchmark.py --backend jax --only
train_small_64_b16` (float32, 64^2, batch 16) on this project's 2-core
AVX-512 test machine; the official PyTorch code peaks at 5.2-5.3 GB there:

- `--xla_cpu_experimental_ynn_fusion_type=dot` hands XLA's products and
  convolutions to the YNNPACK library. XLA:CPU's own Eigen kernels ran a 3x3
  convolution at 64^2, 256 channels, batch 16 forward and backward at ~100
  GFLOP/s, YNNPACK at 265-290 (the small configuration's discriminator
  forward at 64^2, batch 16: 2.16 -> 0.91 s). Training, one run each the
  same morning: 1709 -> 965 s/kimg, peak RSS 6.9 -> 7.6 GB.
- `--xla_cpu_enable_concurrency_optimized_scheduler=false` orders each step
  to keep few buffers alive instead of to run independent work side by
  side. XLA's buffer assignment of a step (`--xla_dump_to`) held 4.18 GB of
  temporaries with the concurrency-optimized order and 2.55 GB without.
- `--xla_cpu_use_fusion_emitters=false` emits XLA's fused element-wise loops
  with its older loop emitters instead of its MLIR fusion emitters.

Training on 2026-12-03, one run each in turn on 2 cores (YNNPACK in all):

| other flags | peak RSS | s/kimg | median step | compile |
|---|---|---|---|---|
| none | 7674 MB | 1231 | 18.67 s | 170 s |
| loop emitters | 6873 MB | 1256 | 18.63 s | 230 s |
| memory-first order | 6112 MB | 1227 | 18.2 s | 183 s |
| both (what this sets) | 5234 MB | 1254 | 18.36 s | 234 s |

Side by side on one core each, twice with the cores swapped, the loop
emitters alone: 7764 / 7749 -> 6576 / 6627 MB, 2211 / 2258 -> 2260 / 2259
s/kimg.

None is used for rendering, which is matrix products, not convolutions:
`recipes/benchmark.py --only creps_256_b1` (float32) took 0.360 / 0.370 s
per image without the YNNPACK flag and 0.381 / 0.383 s with it (working
memory 982-1002 vs 1037 MB; a large bfloat16 product ran slower with it,
~400 -> ~250 GFLOP/s), and 1.327 s without the emitter flag against 1.394 s
with it (peak 1201 vs 1258 MB, one run each side by side).

XLA reads its flags once, when JAX starts its CPU client, and the setting is
process-wide, so the library never makes it on its own:
`configure_training_runtime` (`training_runtime.py`, called by
`recipes/train.py` and the training benchmark at start-up) makes it with
the other CPU training settings.
"""

import importlib.metadata
import itertools
import os
import sys

import keras

__all__ = ["use_training_xla_flags"]

YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type=dot"
MEMORY_ORDER_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
LOOP_EMITTERS_FLAG = "--xla_cpu_use_fusion_emitters=false"
TRAINING_FLAGS = (YNN_FLAG, MEMORY_ORDER_FLAG, LOOP_EMITTERS_FLAG)
# XLA stops the process at a flag it does not know, and these are young
# (the YNNPACK one especially): add them only to the jaxlib they were
# measured with or a newer one. An older jaxlib (a notebook image, say)
# trains without them.
MIN_JAXLIB = (0, 10, 2)


def _option(flag):
    """`--name` of a `--name=value` or `--name` flag."""
    return flag.split("=", 1)[0]


def use_training_xla_flags():
    """Adds XLA:CPU's training flags to `XLA_FLAGS` for the JAX backend, if they can still apply.

    Each flag of `TRAINING_FLAGS` is added unless the user's `XLA_FLAGS`
    already sets that option (the user's value is kept). Nothing changes
    when the Keras backend is not JAX (TensorFlow's XLA does not know the
    YNNPACK flag and would stop at an unknown one), when jaxlib is older
    than `MIN_JAXLIB` (it may not know them either), or when JAX has
    already started (XLA would not read the flags again).

    Returns:
        `True` if every option is set in `XLA_FLAGS` for the JAX client
        that will start, `False` if they do not apply (another backend, an
        older jaxlib) or cannot any more.

    Example:
    ```python
    from keras_creps.utils.xla_cpu import use_training_xla_flags

    use_training_xla_flags()  # before the first JAX computation
    ```
    """
    if keras.config.backend() != "jax" or not jaxlib_knows_the_flags():
        return False
    if "jax" in sys.modules:
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            return False
    flags = os.environ.get("XLA_FLAGS", "")
    chosen = {_option(token) for token in flags.split()}
    missing = [flag for flag in TRAINING_FLAGS if _option(flag) not in chosen]
    os.environ["XLA_FLAGS"] = " ".join([flags, *missing]).strip()
    return True


def jaxlib_knows_the_flags(version=None):
    """Whether jaxlib `version` (default: the installed one) is at least `MIN_JAXLIB`.

    Read from the package metadata, so JAX is not imported. A version that
    cannot be read (not installed, a development build's odd string) counts
    as too old: the flags are an optimisation, an unknown one is fatal.
    """
    if version is None:
        try:
            version = importlib.metadata.version("jaxlib")
        except importlib.metadata.PackageNotFoundError:
            return False
    numbers = []
    for part in version.split(".")[:3]:
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits:
            return False
        numbers.append(int(digits))
    return tuple(numbers) >= MIN_JAXLIB

"""`use_training_xla_flags` and `use_rendering_xla_flags`: XLA:CPU settings for training and rendering.

Training on the JAX backend (`use_training_xla_flags`).

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

Rendering on TensorFlow (`use_rendering_xla_flags`): the loop emitters
only. Rendering is matrix products, not convolutions, and the YNNPACK flag
slowed it on JAX (`recipes/benchmark.py --only creps_256_b1`, float32,
AVX-512 machine: 0.360 / 0.370 s per image without, 0.381 / 0.383 s with;
a large bfloat16 product ~400 -> ~250 GFLOP/s). The loop emitters cut what
compiling the render leaves behind: the MLIR fusion emitters compile every
fused loop as its own module, and on TensorFlow the line network's
optimisation alone peaked 130 MB above what it kept (a probe reading RSS
after each compile stage, 2026-12-05). Paper generator, working memory
(peak RSS minus RSS after imports) and s/image, fusion emitters -> loop
emitters, a probe rendering 4 times per run, alternating, same day, AMX CPU:

| TensorFlow | working memory MB | s/image |
|---|---|---|
| 256^2 float32 (3 pairs) | 375 / 379 / 412 -> 367 / 368 / 345 | 0.55 / 0.55 / 0.59 -> 0.53 / 0.56 / 0.57 |
| 256^2 bfloat16 (3 pairs) | 386 / 381 / 372 -> 336 / 336 / 336 | 0.21 / 0.21 / 0.23 -> 0.22 / 0.22 / 0.23 |
| 512^2 float32 (2 pairs) | 453 / 446 -> 423 / 403 | 1.36 / 1.39 -> 1.34 / 1.43 |
| 512^2 bfloat16 (3 pairs) | 478 / 461 / 476 -> 382 / 428 / 382 | 0.65 / 0.63 / 0.65 -> 0.66 / 0.66 / 0.68 |

On JAX the same probe was mixed (256^2: 209 / 201 -> 201 / 178 MB in
float32, 203 / 203 -> 169 / 171 in bfloat16; 512^2 float32 238 / 233 ->
264 / 197, at the same speed within 5 %), and an earlier run on the AVX-512
machine found the loop emitters slower at 512^2 (1.327 -> 1.394 s, peak
1201 -> 1258 MB), so JAX renders with XLA's defaults.
Not kept: TensorFlow's oneDNN allocator pools every tensor of 256 KB or
more (weights included) in regions that double in size and are never given
back; `TF_ONEDNN_USE_SYSTEM_ALLOCATOR=1` with glibc's default malloc took
the working memory to 280-307 MB in every configuration above, but every
render then maps and zeroes its large buffers afresh: 256^2 bfloat16
0.21-0.23 -> 0.23-0.27 s, 512^2 bfloat16 0.63-0.65 -> 0.67-0.77 s. Keeping
freed blocks under 16 MB on the heap (`mallopt(M_MMAP_THRESHOLD, 16 MB)`)
kept the saving (264-306 MB) and still cost 5-15 % (three pairs each:
256^2 float32 0.58-0.64 -> 0.67-0.69 s, 512^2 bfloat16 0.73-0.86 ->
0.82-0.90 s).

XLA reads its flags once (JAX: when it starts its CPU client; TensorFlow:
at its first XLA compile), and the setting is process-wide, so the library
never makes it on its own: `configure_training_runtime`
(`training_runtime.py`, called by `recipes/train.py` and the training
benchmark at start-up) makes the training flags with the other CPU training
settings, `configure_rendering_runtime` (`rendering_runtime.py`, called by
`recipes/generate.py` and the rendering benchmark) the rendering flag.
"""

import importlib.metadata
import itertools
import os
import sys

import keras

__all__ = ["use_rendering_xla_flags", "use_training_xla_flags"]

YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type=dot"
MEMORY_ORDER_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
LOOP_EMITTERS_FLAG = "--xla_cpu_use_fusion_emitters=false"
TRAINING_FLAGS = (YNN_FLAG, MEMORY_ORDER_FLAG, LOOP_EMITTERS_FLAG)
RENDERING_FLAGS = (LOOP_EMITTERS_FLAG,)
# XLA stops the process at a flag it does not know, and these are young
# (the YNNPACK one especially): add them only to the jaxlib they were
# measured with or a newer one. An older jaxlib (a notebook image, say)
# trains without them.
MIN_JAXLIB = (0, 10, 2)
# The TensorFlow whose XLA the rendering flag was measured with; an older one renders without it.
MIN_TENSORFLOW = (2, 21, 0)


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
    _add_to_xla_flags(TRAINING_FLAGS)
    return True


def use_rendering_xla_flags():
    """Adds XLA:CPU's rendering flag (`RENDERING_FLAGS`) to `XLA_FLAGS` on the TensorFlow backend.

    The user's own value of an option in `XLA_FLAGS` is kept. Nothing
    changes on another backend (see the module for JAX) or with a
    TensorFlow older than `MIN_TENSORFLOW` (its XLA may not know the flag
    and would stop at it). TensorFlow's XLA reads `XLA_FLAGS` at its first
    compile: call this before anything is compiled with `jit_compile=True`;
    later it changes nothing.

    Returns:
        `True` if the flag is in `XLA_FLAGS` for TensorFlow's XLA, `False`
        where it does not apply.

    Example:
    ```python
    from keras_creps.utils.xla_cpu import use_rendering_xla_flags

    use_rendering_xla_flags()  # before the first render compiles
    ```
    """
    if keras.config.backend() != "tensorflow" or not tensorflow_knows_the_flags():
        return False
    _add_to_xla_flags(RENDERING_FLAGS)
    return True


def _add_to_xla_flags(wanted):
    """Appends each flag of `wanted` to `XLA_FLAGS` unless `XLA_FLAGS` already sets its option."""
    flags = os.environ.get("XLA_FLAGS", "")
    chosen = {_option(token) for token in flags.split()}
    missing = [flag for flag in wanted if _option(flag) not in chosen]
    os.environ["XLA_FLAGS"] = " ".join([flags, *missing]).strip()


def jaxlib_knows_the_flags(version=None):
    """Whether jaxlib `version` (default: the installed one) is at least `MIN_JAXLIB`.

    Read from the package metadata, so JAX is not imported. A version that
    cannot be read (not installed, a development build's odd string) counts
    as too old: the flags are an optimisation, an unknown one is fatal.
    """
    return _at_least(version if version is not None else _installed("jaxlib"), MIN_JAXLIB)


def tensorflow_knows_the_flags(version=None):
    """Whether TensorFlow `version` (default: the installed one) is at least `MIN_TENSORFLOW`.

    Read from the package metadata (`tensorflow` or `tensorflow-cpu`), as
    `jaxlib_knows_the_flags`; an unreadable version counts as too old.
    """
    if version is None:
        version = _installed("tensorflow") or _installed("tensorflow-cpu")
    return _at_least(version, MIN_TENSORFLOW)


def _installed(package):
    """The installed version string of `package`, or None."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _at_least(version, minimum):
    """Whether `version` (e.g. "2.21.0rc1": its leading numbers) is at least `minimum`, compared as tuples."""
    if not version:
        return False
    numbers = []
    for part in version.split(".")[: len(minimum)]:
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits:
            return False
        numbers.append(int(digits))
    return tuple(numbers) >= minimum

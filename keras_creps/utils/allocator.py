"""glibc's malloc settings for the recipes: `keep_freed_memory`, `one_malloc_arena_on_jax`,
`heap_for_rendering` and `release_unused_memory` (each measured in its docstring or below).

`keep_freed_memory`: let glibc's malloc reuse freed blocks instead of returning them.

By default glibc serves every allocation above 32 MB or so with a fresh
`mmap` and returns it to the kernel when freed. A training step on the
PyTorch backend allocates and frees tensors of that size hundreds of times
(the `small` discriminator's activations at 64^2, batch 16, are 16-67 MB
each), and every new mapping is zeroed by the kernel page by page on first
touch: PyTorch's element-wise kernels then ran at ~5 GB/s, a fraction of
this CPU's memory bandwidth. Serving them from the heap and keeping freed
memory for reuse took a `train_small_64_b16` step from 13.9-16.4 s to
11.2-12.6 s (two side-by-side pairs, 2026-12-02) with the same peak RSS
(5.62 vs 5.76 GB). TensorFlow has its own allocator and was unaffected
(14.45 vs 14.56 s). This is what `MALLOC_MMAP_MAX_=0
MALLOC_TRIM_THRESHOLD_=<large>` in the environment does; PyTorch's own
performance guides reach the same end by preloading jemalloc or tcmalloc.

The setting is process-wide, so the library never makes it on its own: the
recipes call it at start-up (`train.py` and the training benchmark
through `configure_training_runtime` in `training_runtime.py`;
`generate.py`, `calc_metrics.py` and the rendering benchmark through
`heap_for_rendering` in `configure_rendering_runtime`), and
a notebook or script may too.

`release_unused_memory`: give back what building the networks left behind.
Until 2026-12-04 every initializer ran on JAX as its own compiled XLA
program, one per weight shape, kept in JAX's caches: building the paper
generator at 256^2 (114 MB of weights) left RSS 320-330 MB above the
imports, and clearing JAX's caches and then trimming the heap brought it to
150-155. The layers now draw their initial weights with NumPy
(`layers/host_initializers.py`) and building compiles nothing (123 MB
above the imports, 110 after this call), but a network loaded or changed
eagerly may still leave programs that never run again, and the heap keeps
the freed host copies of the weights until trimmed. The recipes call it
once their networks are built, before any step or render is compiled.
"""

import ctypes
import ctypes.util
import gc
import sys

__all__ = ["heap_for_rendering", "keep_freed_memory", "one_malloc_arena_on_jax", "release_unused_memory"]

# glibc's mallopt() parameter numbers (<malloc.h>).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
# Never give the top of the heap back to the kernel below this many bytes free.
_TRIM_THRESHOLD_BYTES = 2**31 - 1


def keep_freed_memory():
    """Serves large allocations from the heap and keeps freed memory for reuse (glibc only).

    Later allocations above glibc's mmap threshold come from the heap, and the
    heap is not trimmed, so a block freed by one training step is reused by
    the next instead of being unmapped and mapped (and zeroed) again. Memory
    already mapped is unaffected. Peak memory stays what the program needs at
    its peak; memory freed after the peak is kept by the process.

    Returns:
        `True` if the setting was made, `False` where it does not apply
        (not Linux, or a C library without glibc's `mallopt`).

    Example:
    ```python
    from keras_creps.utils.allocator import keep_freed_memory

    keep_freed_memory()  # first thing in a training script
    ```
    """
    mallopt = _glibc_function("mallopt", [ctypes.c_int, ctypes.c_int])
    if mallopt is None:
        return False
    # mallopt() returns 1 on success, 0 on error.
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))


def one_malloc_arena_on_jax():
    """On the JAX backend, has every thread allocate from one malloc heap (glibc only).

    glibc gives each thread that allocates its own heap ("arena") and keeps
    the blocks freed in it for that thread. XLA:CPU runs a compiled program
    on whichever of its threads is free, and the render's 24 MB tile buffer
    was then kept once per thread that had run a tile: over 8 renders of the
    paper generator at 256^2 (a probe script that rendered repeatedly and
    read RSS after each call, 2026-12-04) RSS climbed in 24 MB steps and
    the peak from +338-342 MB to +388-391 above the imports. With one
    arena the same renders stayed flat at +285-299 MB, at the same speed
    (0.91-1.02 s against 0.94-0.95 s).
    `recipes/benchmark.py --backend jax --only creps_256_b1`, three
    alternating pairs: working memory 319 / 365 / 291 MB with it against
    396 / 365 / 357 without (medians 319 and 365; the figure varies by
    ~70 MB between identical runs). On TensorFlow (+377 -> +454 MB) and
    PyTorch (+331 -> +371 MB) one arena was worse in the probe, one run
    each, so only JAX gets it. `recipes/generate.py` and the benchmark's
    rendering runs call it (through `heap_for_rendering`); training is
    unmeasured and left as it was.

    It must run before the backend starts its threads (before the first
    computation); threads that already have a heap keep it. Imports Keras
    to read the backend.

    Returns:
        `True` if the setting was made, `False` on another backend or where
        it does not apply (not glibc).

    Example:
    ```python
    one_malloc_arena_on_jax()  # then build and render
    ```
    """
    import keras  # reads the backend; no computation runs, so no thread starts

    if keras.config.backend() != "jax":
        return False
    mallopt = _glibc_function("mallopt", [ctypes.c_int, ctypes.c_int])
    return mallopt is not None and bool(mallopt(_M_ARENA_MAX, 1))


def heap_for_rendering(keep_freed=True, one_arena=True):
    """The malloc settings `recipes/generate.py` and the benchmark render with, per backend.

    Everywhere `keep_freed_memory`, which took PyTorch's 512^2 render from
    2.8-3.2 to 1.9 s; on JAX also one arena (`one_malloc_arena_on_jax`).

    JAX kept glibc's defaults until 2026-12-05: its freed temporaries kept on
    the heap had left the peak RSS wherever the heap placed them (paper
    generator at 256^2 float32, 2026-12-04: +290 / +298 MB above the imports
    with the defaults against +343 / +321, then +270 / +274 against +245 /
    +314), at the same speed. Since its bfloat16 products run on the AMX
    units the mapping costs more than it saves: `perf` on the 256^2 bfloat16
    line network put 12.6 % of its samples in the kernel (zeroing the pages
    of freshly mapped buffers). A probe rendering 6-8 times per run, two
    alternating pairs at 256^2 bfloat16 and one elsewhere (AMX CPU,
    2026-12-05), defaults -> kept, s/image (medians) and working memory:

    | JAX | s/image | working memory MB |
    |---|---|---|
    | 256^2 bfloat16 | 0.227 / 0.228 -> 0.199 / 0.201 | 212 / 230 -> 255 / 274 |
    | 512^2 bfloat16 | 0.631 -> 0.576 | 247 -> 321 |
    | 256^2 float32 | 0.593 -> 0.580 | 202 -> 254 |
    | 512^2 float32 | 1.488 -> 1.442 | 308 -> 307 |

    The official implementation's working memory on the same machine is
    514 MB at 256^2 and 934 at 512^2, so JAX stays at about half of it.

    Call it first, before the backend computes anything (it imports Keras to
    read the backend).

    Args:
        keep_freed: bool. Allow `keep_freed_memory` where it applies.
            Defaults to `True`.
        one_arena: bool. Allow `one_malloc_arena_on_jax`. Defaults to `True`.

    Returns:
        A dict `{"keep_freed_memory": bool, "one_malloc_arena": bool}` of the
        settings made.

    Example:
    ```python
    heap_for_rendering()  # first thing in a rendering script
    ```
    """
    return {
        "keep_freed_memory": bool(keep_freed and keep_freed_memory()),
        "one_malloc_arena": bool(one_arena and one_malloc_arena_on_jax()),
    }


def release_unused_memory():
    """Drops JAX's compiled programs and returns the heap's free pages to the kernel.

    Call it after building networks and before compiling the functions that
    use them: on the JAX backend it clears JAX's caches (`jax.clear_caches`:
    every function jitted so far compiles again on its next call), then, on
    glibc, `malloc_trim(0)` hands every free page back. On other backends
    only the second step runs. The recipes (`train.py`, `generate.py`,
    `calc_metrics.py`, `benchmark.py`) call it once their networks are built.

    Returns:
        `True` if `malloc_trim` ran, `False` where it does not apply.

    Example:
    ```python
    generator = keras_creps.CREPSGenerator(resolution=256)
    release_unused_memory()  # before the render compiles
    generate = generator.make_generate_function()
    ```
    """
    import keras  # here: the recipes call `keep_freed_memory` before anything imports Keras

    if keras.config.backend() == "jax":
        import jax

        jax.clear_caches()
    gc.collect()
    malloc_trim = _glibc_function("malloc_trim", [ctypes.c_size_t])
    if malloc_trim is None:
        return False
    malloc_trim(0)
    return True


def _glibc_function(name, argtypes):
    """glibc's function `name` (returning int) on Linux, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    return function

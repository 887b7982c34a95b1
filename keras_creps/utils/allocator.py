"""`keep_freed_memory`: let glibc's malloc reuse freed blocks instead of returning them.

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
recipes call it at start-up (`recipes/train.py`, `generate.py`,
`benchmark.py`, `calc_metrics.py`), and a notebook or script may too.
"""

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

# glibc's mallopt() parameter numbers (<malloc.h>).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
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
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt() returns 1 on success, 0 on error.
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))

"""`cpu_has_bfloat16`: whether this CPU multiplies bfloat16 in hardware.

bfloat16 pays on a CPU only where it has instructions for bfloat16 dot
products: AVX512-BF16 or AMX-BF16 on x86, the `bf16` extension on Arm.
Elsewhere every backend emulates it, and on TensorFlow the emulation is
both slower and less exact than float32. Measured on a 2-core AVX2 machine
(2026-12-03, TensorFlow 2.21): a `[4096, 1024] x [1024, 1024]` product ran
at 62-68 GFLOP/s in bfloat16 against 88-92 in float32, and a bfloat16
`[2, 64, 96] x [2, 96, 48]` product was off the float32 product of the same
rounded operands by 5.4e-3 of its largest value, more than the one
bfloat16 rounding of the result (2^-8 = 3.9e-3) that float32 accumulation
allows. On the AVX512-BF16 machine of the README's tables the same products
ran 1.9x faster than float32, within that bound.

The answer comes from the flags the kernel reports (`/proc/cpuinfo`), so
it is known on Linux only; elsewhere it is `None` and callers keep their
default.

Example:
```python
from keras_creps.utils.cpu_features import cpu_has_bfloat16

if cpu_has_bfloat16() is False:
    print("no bfloat16 units on this CPU: float32 is as fast")
```
"""

import functools

__all__ = ["cpu_has_bfloat16"]

# x86 (`flags`) and Arm (`Features`) names of bfloat16 dot-product instructions.
BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
CPUINFO = "/proc/cpuinfo"


def cpu_has_bfloat16(cpuinfo_path=CPUINFO):
    """Whether the CPU has bfloat16 dot-product instructions: `True`, `False`, or `None` if unknown.

    Args:
        cpuinfo_path: the file to read, Linux's `/proc/cpuinfo` format
            (a test may pass its own).

    Returns:
        `True` if the first processor's flags name one of `BFLOAT16_FLAGS`,
        `False` if they name none, `None` if the file cannot be read or
        lists no flags (not Linux, or an unusual kernel).
    """
    return _cached(cpuinfo_path)


@functools.lru_cache(maxsize=None)
def _cached(cpuinfo_path):
    try:
        with open(cpuinfo_path, errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return not BFLOAT16_FLAGS.isdisjoint(value.split())
    except OSError:
        return None
    return None

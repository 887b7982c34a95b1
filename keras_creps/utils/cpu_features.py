"""`cpu_has_bfloat16`, `bfloat16_is_emulated`: whether bfloat16 products run in hardware here; `cpu_vendor`.

bfloat16 pays on a CPU only where it has instructions for bfloat16 dot
products: AVX512-BF16 or AMX-BF16 on x86, the `bf16` extension on Arm.
Elsewhere every backend emulates it, each in its own way. Measured on a
2-core AVX2 machine (2026-12-03; TensorFlow 2.21, PyTorch 2.13, jaxlib
0.10.2), a `[4096, 1024] x [1024, 1024]` product in GFLOP/s, bfloat16
against float32:

- PyTorch: 0.8 against 75; the same rounded operands cast to float32 and
  multiplied: 84;
- TensorFlow: 62-68 against 88-92, and a bfloat16 `[2, 64, 96] x
  [2, 96, 48]` product was off the float32 product of the same rounded
  operands by 5.4e-3 of its largest value, more than the one bfloat16
  rounding of the result (2^-8 = 3.9e-3) that float32 accumulation allows;
- JAX (float32 result asked for): 62 against 76, off by 1.7e-7: XLA:CPU
  computes it in float32.

On the AVX512-BF16 machine of recipes/benchmark_history.md, bfloat16 products ran
about 1.9x faster than float32 on TensorFlow and JAX, within that bound; on
a 2-core AMX machine (2026-12-04) 2.8x (TensorFlow, oneDNN), 5.3x (JAX)
and 9.7x (PyTorch).

`cpu_has_bfloat16` reads the flags the kernel reports (`/proc/cpuinfo`), so
it knows on Linux only; elsewhere it is `None` and callers keep their
default. `bfloat16_is_emulated` adds the Keras backend's view: no GPU to
compute on either. `matmul_precision` multiplies rounded operands in
float32 then, and the recipes say that bfloat16 will not be faster.

Example:
```python
from keras_creps.utils.cpu_features import bfloat16_is_emulated

if bfloat16_is_emulated():
    print("no bfloat16 instructions on this CPU and no GPU: float32 is as fast")
```
"""

__all__ = ["bfloat16_is_emulated", "computes_on_cpu", "cpu_has_bfloat16", "cpu_vendor"]

# x86 (`flags`) and Arm (`Features`) names of bfloat16 dot-product instructions.
BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
CPUINFO = "/proc/cpuinfo"

# `/proc/cpuinfo` facts by file: (vendor, has bfloat16). A plain dict, not
# `functools.lru_cache`: `torch.compile` traces through an lru_cache into the
# file read, cannot compile `open` and splits the graph there. With the
# answer in this dict the traced code is a lookup. Measured on an AMX
# machine (2026-12-04): the split left the bfloat16 line network of the
# paper generator at 256^2 partly eager (one frame per layer until dynamo's
# recompile limit), 0.187 s per call.
_known = {}


def cpu_has_bfloat16(cpuinfo_path=CPUINFO):
    """Whether the CPU has bfloat16 dot-product instructions: `True`, `False`, or `None` if unknown.

    Args:
        cpuinfo_path: the file to read, Linux's `/proc/cpuinfo` format
            (a test may pass its own).

    Returns:
        `True` if the first processor's flags name one of `BFLOAT16_FLAGS`,
        `False` if they name none, `None` if the file cannot be read or
        lists no flags (not Linux, or an unusual kernel). Read once per
        file: the flags do not change while the process runs.
    """
    return _cpuinfo(cpuinfo_path)[1]


def cpu_vendor(cpuinfo_path=CPUINFO):
    """The first processor's `vendor_id` (e.g. `"GenuineIntel"`, `"AuthenticAMD"`), or `None` if not listed.

    Args:
        cpuinfo_path: the file to read, Linux's `/proc/cpuinfo` format.
            Read once per file, as `cpu_has_bfloat16`.
    """
    return _cpuinfo(cpuinfo_path)[0]


def _cpuinfo(cpuinfo_path):
    if cpuinfo_path not in _known:
        _known[cpuinfo_path] = _read_cpuinfo(cpuinfo_path)
    return _known[cpuinfo_path]


def _read_cpuinfo(cpuinfo_path):
    """`(vendor, has_bfloat16)` of the first processor listed; `None` for what the file does not say."""
    vendor = has_bfloat16 = None
    try:
        with open(cpuinfo_path, errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "vendor_id" and vendor is None:
                    vendor = value.strip()
                elif key in ("flags", "Features") and has_bfloat16 is None:
                    has_bfloat16 = not BFLOAT16_FLAGS.isdisjoint(value.split())
                elif not line.strip() and (vendor is not None or has_bfloat16 is not None):
                    break  # the end of the first processor's block
    except OSError:
        return None, None
    return vendor, has_bfloat16


def bfloat16_is_emulated():
    """Whether the Keras backend computes on a CPU known to lack bfloat16 instructions.

    On JAX (on a CPU without the instructions) this starts JAX's client, so
    set `XLA_FLAGS` (e.g. `configure_training_runtime`) before calling it.

    Returns:
        `True` if `cpu_has_bfloat16()` is `False` and the backend sees no
        GPU or TPU; `False` otherwise (hardware bfloat16, an accelerator,
        or not known).
    """
    return cpu_has_bfloat16() is False and computes_on_cpu()


def computes_on_cpu():
    """Whether the Keras backend sees no GPU or TPU, so it computes on the CPU.

    On JAX this starts JAX's client, so set `XLA_FLAGS` first.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        from keras_creps.utils.devices import tensorflow_accelerators

        return not tensorflow_accelerators()
    if backend == "jax":
        import jax

        return jax.default_backend() == "cpu"
    if backend == "torch":
        import torch

        return not torch.cuda.is_available()
    return True

"""keep_freed_memory: large allocations come from the heap afterwards (glibc on Linux)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner

MODULE = Path(__file__).resolve().parents[2] / "keras_creps" / "utils" / "allocator.py"

# Loads the module by path (no Keras import), optionally calls it, then
# reports whether a 64 MiB malloc lies inside the process's [heap] mapping.
PROBE = """
import ctypes, importlib.util, sys
spec = importlib.util.spec_from_file_location("allocator", sys.argv[1])
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
if sys.argv[2] == "call":
    print("set", allocator.keep_freed_memory())
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
address = libc.malloc(64 << 20)
heap = [line.split()[0].split("-") for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]")]
inside = any(int(lo, 16) <= address < int(hi, 16) for lo, hi in heap)
print("in heap", inside)
"""


def probe(mode):
    result = subprocess.run([sys.executable, "-c", PROBE, str(MODULE), mode], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps (Linux)")
def test_large_blocks_move_from_mmap_to_the_heap():
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        pytest.skip("not glibc")
    assert probe("plain")[:1] == ["in heap False"]  # glibc's default: a fresh mapping
    assert probe("call")[:2] == ["set True", "in heap True"]

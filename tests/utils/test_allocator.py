"""keras_creps.utils.allocator: large allocations from the heap (keep_freed_memory), free pages returned
(release_unused_memory), on glibc; JAX's compiled programs dropped."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fresh_interpreter import run_snippet

pytestmark = pytest.mark.backend_independent  # each probe picks its own backend: run once by the runner

MODULE = Path(__file__).resolve().parents[2] / "keras_creps" / "utils" / "allocator.py"

# Pieces of the probe scripts below, each run in a fresh interpreter.
LIBC_MALLOC = """
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
"""
# Whether a 64 MiB malloc lies inside the process's [heap] mapping.
PRINT_IN_HEAP = """
address = libc.malloc(64 << 20)
heap = [line.split()[0].split("-") for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]")]
print("in heap", any(int(lo, 16) <= address < int(hi, 16) for lo, hi in heap))
"""
# Four threads allocate at the same moment, then glibc lists its heaps
# ("Arena N:" lines of malloc_stats, on stderr).
LIST_ARENAS = """
barrier = threading.Barrier(4)
def allocate():
    barrier.wait()
    libc.malloc(1 << 16)
threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc.malloc_stats()
"""

# Loads the module by path (no Keras import), optionally calls it, then
# reports where a 64 MiB malloc lies.
PROBE = """
import ctypes, importlib.util, sys
spec = importlib.util.spec_from_file_location("allocator", sys.argv[1])
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
if sys.argv[2] == "call":
    print("set", allocator.keep_freed_memory())
""" + LIBC_MALLOC + PRINT_IN_HEAP


def skip_without_glibc(function):
    try:
        import ctypes

        getattr(ctypes.CDLL("libc.so.6"), function)
    except (OSError, AttributeError):
        pytest.skip("not glibc")


def probe(mode):
    result = subprocess.run([sys.executable, "-c", PROBE, str(MODULE), mode], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps (Linux)")
def test_large_blocks_move_from_mmap_to_the_heap():
    skip_without_glibc("mallopt")
    assert probe("plain")[:1] == ["in heap False"]  # glibc's default: a fresh mapping
    assert probe("call")[:2] == ["set True", "in heap True"]


# Frees 256 MiB of 64 KiB heap blocks under one block still in use (so
# glibc cannot shrink the heap from its top), then reports RSS before and
# after the call in MiB.
TRIM_PROBE = """
import ctypes, importlib.util, sys
import keras  # before the blocks: imported later it would fill the freed pages
spec = importlib.util.spec_from_file_location("allocator", sys.argv[1])
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return int([l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1]) // 1024
blocks = [libc.malloc(64 << 10) for _ in range(4096)]
for b in blocks:
    ctypes.memset(b, 1, 64 << 10)
pin = libc.malloc(64 << 10)
for b in blocks:
    libc.free(b)
before = rss()
released = allocator.release_unused_memory() if sys.argv[2] == "call" else None
print(released, before, rss())
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status (Linux)")
@pytest.mark.parametrize("mode", ["plain", "call"])
def test_release_returns_free_heap_pages(mode):
    skip_without_glibc("malloc_trim")
    env = dict(os.environ, KERAS_BACKEND="numpy")
    result = subprocess.run([sys.executable, "-c", TRIM_PROBE, str(MODULE), mode], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr
    released, before, after = result.stdout.split()
    if mode == "plain":  # glibc keeps the freed pages on its own
        assert int(before) - int(after) < 32, result.stdout
    else:
        assert released == "True" and int(before) - int(after) > 200, result.stdout


def test_release_drops_jax_compiled_programs():
    pytest.importorskip("jax")
    run_snippet("jax", (
        "import jax, jax.numpy as jnp\n"
        "from keras_creps.utils.allocator import release_unused_memory\n"
        "double = jax.jit(lambda x: 2 * x)\n"
        "double(jnp.ones(3))\n"
        "assert double._cache_size() == 1\n"
        "release_unused_memory()\n"
        "assert double._cache_size() == 0\n"
    ))


# Optionally calls one_malloc_arena_on_jax and prints what it returned, then lists the arenas.
ARENA_PROBE = """
import ctypes, sys, threading
import keras
if sys.argv[1] == "call":
    from keras_creps.utils.allocator import one_malloc_arena_on_jax
    print(one_malloc_arena_on_jax())
""" + LIBC_MALLOC + LIST_ARENAS


def run_under(backend, source, *args):
    """Runs `source` with `backend`: its stdout lines and the number of arenas malloc_stats listed."""
    result = subprocess.run([sys.executable, "-c", source, *args], capture_output=True, text=True,
                            env=dict(os.environ, KERAS_BACKEND=backend), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.splitlines(), sum(line.startswith("Arena ") for line in result.stderr.splitlines())


@pytest.mark.parametrize("backend, mode, returned, arenas", [
    ("jax", "plain", None, "several"),
    ("jax", "call", "True", 1),
    ("tensorflow", "call", "False", "several"),  # worse there: left alone
])
def test_one_arena_only_on_jax(backend, mode, returned, arenas):
    skip_without_glibc("malloc_stats")
    pytest.importorskip(backend)
    lines, counted = run_under(backend, ARENA_PROBE, mode)
    assert (lines[0] if lines else None) == returned
    assert counted == arenas if arenas == 1 else counted > 1, counted


# Calls heap_for_rendering under the backend the test picks, then reports
# where a 64 MiB malloc lies (in the heap: freed memory is kept) and lists the arenas.
RENDERING_PROBE = """
import ctypes, threading
from keras_creps.utils.allocator import heap_for_rendering
print(sorted(heap_for_rendering().items()))
""" + LIBC_MALLOC + PRINT_IN_HEAP + LIST_ARENAS


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps (Linux)")
@pytest.mark.parametrize("backend, kept, one_arena", [
    ("jax", True, True),  # freed temporaries reused, one arena
    ("tensorflow", True, False),
])
def test_heap_for_rendering_per_backend(backend, kept, one_arena):
    skip_without_glibc("malloc_stats")
    pytest.importorskip(backend)
    lines, counted = run_under(backend, RENDERING_PROBE)
    assert lines[0] == str([("keep_freed_memory", kept), ("one_malloc_arena", one_arena)])
    assert lines[1] == f"in heap {kept}"
    assert counted == 1 if one_arena else counted > 1, counted

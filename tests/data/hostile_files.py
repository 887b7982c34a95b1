"""Hostile dataset files made in a test's tmp_path, and a runner that bounds memory and time.

The files are small on disk but would cost gigabytes if a reader trusted them:
a ZIP member that inflates to a 1 GiB PNG, a PNG whose header says
12000x12000, a FIFO named `*.png` (opening it blocks forever).
"""

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib

GIB = 1 << 30
MEMORY_BUDGET = int(1.5 * GIB)
# The calls themselves must end within 60 s (the tests time them inside the child); the
# child as a whole, with its TensorFlow import on a busy test machine, gets longer.
TIME_LIMIT = 60
PROCESS_TIME_LIMIT = 300


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_chunks(width, height, color_type, level, block_rows):
    """A grayscale (0) or RGB (2) PNG of zeros, 8 bit, as an iterator of byte strings."""
    yield b"\x89PNG\r\n\x1a\n"
    yield _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
    row = bytes(1 + width * (3 if color_type == 2 else 1))  # filter byte 0, then zero pixels
    block = row * block_rows
    compressor = zlib.compressobj(level)
    for _ in range(height // block_rows):
        data = compressor.compress(block)
        if data:
            yield _chunk(b"IDAT", data)
    yield _chunk(b"IDAT", compressor.compress(row * (height % block_rows)) + compressor.flush())
    yield _chunk(b"IEND", b"")


def write_png_bomb(path, side=12000):
    """A valid `side` x `side` RGB PNG of zeros: ~0.4 MB on disk, 3 * side^2 bytes decoded."""
    with open(path, "wb") as f:
        for data in _png_chunks(side, side, 2, 9, 256):
            f.write(data)
    return str(path)


def write_zip_bomb(path, member="00000/img00000000.png", side=32768):
    """A ZIP whose one member is a `side`^2 grayscale PNG stored without compression (1 GiB
    for 32768) and deflated in the ZIP to about 1 MB. Streams; takes a few seconds."""
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo(member)
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = 1  # fastest deflate (an alias of `compress_level` from Python 3.13)
        with archive.open(info, "w", force_zip64=True) as out:
            for data in _png_chunks(side, side, 0, 0, 512):
                out.write(data)
    return str(path)


def make_fifo(path):
    os.mkfifo(path)
    return str(path)


PRELUDE = """
import json, os, resource, sys
import keras_creps.data, keras_creps.data.writer
def _vm():
    for line in open('/proc/self/status'):
        if line.startswith('VmSize:'):
            return int(line.split()[1]) * 1024
limit = _vm() + {budget}
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
"""


def run_limited(code, budget=MEMORY_BUDGET, timeout=PROCESS_TIME_LIMIT, argv=None):
    """Runs `code` (Python) in a subprocess whose address space may grow by `budget` bytes after
    importing keras_creps.data, killed after `timeout` seconds (a hang fails the test).

    The call is made under the limit so that a regression fails (MemoryError, or a kill)
    instead of swapping the machine. `code` may print a JSON line for the test to read.

    Returns:
        `subprocess.CompletedProcess` (text mode).
    """
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", MALLOC_ARENA_MAX="2")
    script = PRELUDE.format(budget=int(budget)) + code
    return subprocess.run([sys.executable, "-c", script, *(argv or [])], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def last_json(proc):
    """The JSON object printed last by a `run_limited` child."""
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result; exit {proc.returncode}; stderr: {proc.stderr[-2000:]}"
    return json.loads(lines[-1])

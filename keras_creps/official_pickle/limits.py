"""The reader's errors and budgets: what one `load_official_pickle` call may spend."""

import os

# Nesting of plain data and of modules; module visits of the state-dict walk.
_MAX_DEPTH = 256
_MAX_MODULE_VISITS = 100_000
# A tensor view may repeat storage elements (stride 0), but not absurdly.
_MAX_VIEW_ELEMENTS = 1 << 28
_MAX_DIMS = 64

# The largest official network pickle: the paper configuration at 1024x1024
# has a 30.46M-parameter generator and a 29.01M-parameter discriminator, so
# G + D + G_ema hold 89.9M float32 values = 360 MB of tensor data. The default
# `max_tensor_bytes` is `_FILE_SIZE_MULTIPLE` times the file size (a legitimate
# file decodes each byte of tensor data about twice: the storage, then the
# tensor's own copy; bfloat16 widens both) plus this, with ~40% headroom.
_LARGEST_OFFICIAL_BYTES = 512 << 20
_FILE_SIZE_MULTIPLE = 4
# Approximate bytes charged per state-dict entry and per copied container item.
_ENTRY_BYTES = 64

# Pickle stream limits, over the file and all the storage pickles inside it.
# The tiny test snapshot (G, G_ema, D: 214 tensors) has 36k opcodes and 5k
# hash steps in all, written by torch or by the test writer alike; the paper
# 1024x1024 snapshot (about 600 tensors) should have ~10^5 and ~1.5*10^4. Its
# unpickling stack stays below a hundred items and MARKs below ten deep.
_MAX_OPCODES = 2_000_000
_MAX_STACK = 100_000
_MAX_MARKS = 1_000
_MAX_HASH_WORK = 2_000_000

# Longest module or class name a GLOBAL may use.
_MAX_GLOBAL_NAME = 200

# How much of a value from the file an error message or a summary shows.
_MESSAGE_CHARS = 200


class OfficialPickleError(ValueError):
    """The file is not a readable official network pickle (not a pickle,
    truncated, holding malformed networks or tensors, or exceeding one of
    the reader's limits)."""


class UnsafePickleError(OfficialPickleError):
    """The pickle names a global (or persistent id) outside the allow-list.

    Raised before anything named in the file is imported or called.
    """


class _LimitError(OfficialPickleError):
    """A reader limit was hit; the message reads after the file name."""

    def __init__(self, limit, detail):
        super().__init__(f"exceeds the reader's {limit} limit: {detail}")


def _describe(source):
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return getattr(source, "name", None) or "<file object>"


def _exception_text(exc):
    """A one-line, bounded rendering of an exception raised while reading."""
    if isinstance(exc, KeyError):  # its str() is the repr of a key from the file
        return "missing key"
    text = " ".join(str(exc).split())
    return text if len(text) <= 2 * _MESSAGE_CHARS else text[: 2 * _MESSAGE_CHARS] + "..."


class _Budget:
    """What one `load_official_pickle` call may spend, shared by every stream."""

    def __init__(self, max_tensor_bytes, max_scan_bytes):
        self.max_tensor_bytes = max_tensor_bytes
        self.max_scan_bytes = max_scan_bytes
        self.tensor_bytes = 0
        self.scan_bytes = 0
        self.opcodes = 0
        self.hash_work = 0

    def charge(self, nbytes):
        self.tensor_bytes += nbytes
        if self.tensor_bytes > self.max_tensor_bytes:
            raise _LimitError(
                "tensor-bytes",
                f"its tensors, arrays and tables would take more than {self.max_tensor_bytes:,} bytes "
                f"once decoded (max_tensor_bytes={self.max_tensor_bytes})",
            )

    def hash(self, steps):
        self.hash_work += steps
        if self.hash_work > _MAX_HASH_WORK:
            raise _LimitError(
                "hashing", f"its dict keys and set items would take more than {_MAX_HASH_WORK:,} hash steps "
                "(tuples shared many times over?)"
            )

    def hash_value(self, value):
        """Charges hashing `value` once: one step, plus everything a tuple holds."""
        if type(value) is not tuple:
            self.hash(1)
            return
        room = _MAX_HASH_WORK - self.hash_work
        todo, steps = [value], 0
        while todo and steps <= room:
            item = todo.pop()
            steps += 1
            if type(item) is tuple:
                todo.extend(item)
        self.hash(steps)

    def hash_items(self, items):
        for item in items:
            self.hash_value(item)

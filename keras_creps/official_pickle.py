"""Read official CREPS network pickles without torch and without running them.

The official training loop saves `network-snapshot-*.pkl` with a plain
`pickle.dump` of a dict (`G`, `D`, `G_ema`, `augment_pipe`,
`training_set_kwargs`). Its networks are `torch_utils.persistence` objects:
each reduces to `_reconstruct_persistent_obj(meta)`, where `meta` holds the
Python source of the defining module (which the official loader executes),
the class name, the constructor kwargs and the module's `__dict__`. Tensors
reduce to `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
...)`, and every storage to `torch.storage._load_from_bytes(data)`, where
`data` is a legacy-format `torch.save` stream (torch 1.x and 2.x alike):
four small pickles (magic number, format version, system info, the storage
itself as a persistent id), the list of storage keys, then per storage an
int64 element count followed by the raw elements.

`load_official_pickle` reads such a file with a `pickle.Unpickler` whose
`find_class` resolves only an explicit allow-list of names, each to a stand-in
defined here. Nothing named in the file is imported, the embedded source is
kept as a hash and never executed, and tensors are decoded with NumPy. Any
other global raises `UnsafePickleError`.

A hostile file can also try to exhaust memory or time instead of running
code, so the reader works within budgets, and a file that exceeds one is
refused with an `OfficialPickleError` naming the limit:

- every pickle stream (the file itself and the small pickles inside each
  storage) is first scanned with `pickletools.genops`, which only parses:
  at most `_MAX_OPCODES` opcodes in all, memo indices no larger than the
  number of opcodes read so far (the C unpickler sizes its memo by the
  largest index), at most `_MAX_STACK` items on the stack and `_MAX_MARKS`
  nested MARKs, tuples nested at most `_MAX_DEPTH` deep, and at most
  `_MAX_HASH_WORK` steps of hashing dict keys and set items (a tuple hashes
  everything it holds, so a few bytes of shared tuples can make one key cost
  2**60 steps, and hashing a million nested tuples overflows the C stack);
- decoded tensor and array data (and the sets, state-dict entries and
  copies the reader builds) is limited to `max_tensor_bytes` in all (by
  default 4x the file size plus 512 MiB), so a stride-0 view or a storage
  referenced many times cannot multiply a small file into gigabytes; each
  storage stream and each module source is decoded or hashed once however
  often the pickle references it;
- the conversion to plain data converts each shared object once, refuses
  cycles and nesting beyond `_MAX_DEPTH`, and bounds module visits and
  state-dict entries; `describe_official_pickle` summarises the result in
  bounded time and length whatever its structure.

This module imports neither torch nor Keras.
"""

import hashlib
import io
import itertools
import math
import os
import pickle
import pickletools
import re
import struct

import numpy as np

__all__ = ["OfficialPickleError", "UnsafePickleError", "describe_official_pickle", "load_official_pickle"]

# `torch.serialization` constants of the legacy stream inside every storage.
_TORCH_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_TORCH_PROTOCOL_VERSION = 1001

# Legacy storage classes -> element dtype. bfloat16 has no NumPy dtype: its
# raw 16-bit patterns are widened to float32 (exact).
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("float32"),
    "DoubleStorage": np.dtype("float64"),
    "HalfStorage": np.dtype("float16"),
    "BFloat16Storage": np.dtype("uint16"),
    "LongStorage": np.dtype("int64"),
    "IntStorage": np.dtype("int32"),
    "ShortStorage": np.dtype("int16"),
    "CharStorage": np.dtype("int8"),
    "ByteStorage": np.dtype("uint8"),
    "BoolStorage": np.dtype("bool"),
}

# NumPy dtype codes a pickled scalar or array may use (no objects, no records).
_NUMPY_CODES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"}

# Python 2 names that protocol 0-2 pickles use for Python 3 modules.
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}

# Modules whose plain (non-persistent) `torch.nn.Module` subclasses official
# networks nest: the official `training.*` package and torch's containers.
_TORCH_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

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


def _clip(text, limit=_MESSAGE_CHARS):
    """`text` itself if short and printable, else a cut-down repr (one line)."""
    if isinstance(text, str) and len(text) <= limit and text.isprintable():
        return text
    return _short(text, limit)


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


# ----------------------------------------------------------------------------- pickle stream scan

_MARK = pickletools.markobject

# What each opcode does to the modelled stack, by opcode byte: (name, action,
# with_mark, below, pushes, hashed). action: "put" / "memoize" / "get" / "pop"
# / "tuple" / "dup" / "mark" / "op"; with_mark: it pops back to the last MARK;
# below: items it takes under the MARK (or from the stack, without a MARK);
# pushes: objects it pushes (0 or 1); hashed: which popped items the unpickler
# hashes ("key" for SETITEM, "keys" for key/value pairs, "all").
_ACTIONS = {"PUT": "put", "BINPUT": "put", "LONG_BINPUT": "put", "MEMOIZE": "memoize",
            "GET": "get", "BINGET": "get", "LONG_BINGET": "get", "POP": "pop", "DUP": "dup", "MARK": "mark",
            "EMPTY_TUPLE": "tuple", "TUPLE1": "tuple", "TUPLE2": "tuple", "TUPLE3": "tuple", "TUPLE": "tuple"}
_HASHED = {"SETITEM": "key", "SETITEMS": "keys", "DICT": "keys", "ADDITEMS": "all", "FROZENSET": "all"}


def _opcode_table():
    table = {}
    for opcode in pickletools.opcodes:
        before = opcode.stack_before
        with_mark = _MARK in before
        below = before.index(_MARK) if with_mark else len(before)
        pushes = sum(1 for item in opcode.stack_after if item is not _MARK)
        table[opcode.code] = (opcode.name, _ACTIONS.get(opcode.name, "op"), with_mark, below, pushes,
                              _HASHED.get(opcode.name))
    return table


_OPCODES = _opcode_table()
_DEPTH_SHIFT = 32  # weights are capped at _MAX_HASH_WORK + 1 < 2**32
_WEIGHT_MASK = (1 << _DEPTH_SHIFT) - 1


def _scan_pickle(stream, budget, what):
    """Checks the pickle starting at `stream`'s position against the limits.

    Parses opcodes with `pickletools.genops` (which builds nothing: it only
    reads each opcode and its argument) and models the unpickler's stack and
    memo with numbers: an item's "weight" is how many objects hashing it
    visits (1, or for a tuple 1 plus the weights of its items, counted again
    for every reference, as `hash` does), and its "depth" how deeply tuples
    nest in it (hashing a tuple recurses in C without a recursion check, so
    a million nested 1-tuples crash the interpreter). Each stack and memo
    entry packs both as `depth << _DEPTH_SHIFT | weight`. Leaves `stream`
    where it was.
    """
    start = stream.tell()
    stack = []  # depth << _DEPTH_SHIFT | weight, per item
    marks = []  # stack heights at each MARK
    memo = []  # the same per memo index, None where unset
    memo_len = 0
    count = 0
    cap = _MAX_HASH_WORK + 1
    room = _MAX_OPCODES - budget.opcodes
    try:
        for opcode, arg, pos in pickletools.genops(stream):
            count += 1
            if count > room:
                raise _LimitError("opcode", f"more than {_MAX_OPCODES:,} pickle opcodes")
            name, action, with_mark, below, pushes, hashed = _OPCODES[opcode.code]
            floor = marks[-1] if marks else 0
            if action == "put" or action == "memoize":
                index = memo_len if action == "memoize" else arg
                if index < 0:
                    raise OfficialPickleError(f"{what} is corrupt: negative memo index at byte {pos}")
                if index > count:
                    raise _LimitError("memo", f"memo index {index:,} at byte {pos} of {what}, "
                                              f"after only {count:,} opcodes")
                if len(stack) <= floor:
                    raise OfficialPickleError(f"{what} is corrupt: {name} with nothing on the stack at byte {pos}")
                if index >= len(memo):
                    memo.extend([None] * (index + 1 - len(memo)))
                if memo[index] is None:
                    memo_len += 1
                memo[index] = stack[-1]
                continue
            if action == "get":
                if not 0 <= arg < len(memo) or memo[arg] is None:
                    raise OfficialPickleError(f"{what} is corrupt: memo index {arg} read before it is written "
                                              f"at byte {pos}")
                stack.append(memo[arg])
            elif action == "mark":
                marks.append(len(stack))
                if len(marks) > _MAX_MARKS:
                    raise _LimitError("nesting", f"MARKs nested more than {_MAX_MARKS:,} deep at byte {pos} of {what}")
            elif action == "pop" and marks and len(stack) == floor:
                marks.pop()  # POP also drops a MARK with nothing above it
            else:
                if with_mark:
                    if not marks:
                        raise OfficialPickleError(f"{what} is corrupt: {name} without a MARK at byte {pos}")
                    height = marks.pop()
                    items = stack[height:]
                    del stack[height:]
                    floor = marks[-1] if marks else 0
                    if len(stack) - below < floor:
                        raise OfficialPickleError(f"{what} is corrupt: stack underflow in {name} at byte {pos}")
                    del stack[len(stack) - below:]
                else:
                    if len(stack) - below < floor:
                        raise OfficialPickleError(f"{what} is corrupt: stack underflow in {name} at byte {pos}")
                    items = stack[len(stack) - below:]
                    del stack[len(stack) - below:]
                if action == "tuple":
                    depth = 1 + (max(items) >> _DEPTH_SHIFT if items else 0)
                    if depth > _MAX_DEPTH:
                        raise _LimitError("nesting", f"tuples nested more than {_MAX_DEPTH} deep at byte {pos} "
                                                     f"of {what}")
                    weight = min(1 + sum(item & _WEIGHT_MASK for item in items), cap)
                    stack.append(depth << _DEPTH_SHIFT | weight)
                elif action == "dup":
                    stack += items * 2
                else:
                    if hashed == "key":
                        budget.hash(items[1] & _WEIGHT_MASK)
                    elif hashed == "keys":
                        budget.hash(sum(item & _WEIGHT_MASK for item in items[0::2]))
                    elif hashed == "all":
                        budget.hash(sum(item & _WEIGHT_MASK for item in items))
                    if pushes:
                        stack.append(1)
            if len(stack) > _MAX_STACK:
                raise _LimitError("stack", f"more than {_MAX_STACK:,} items on the unpickling stack "
                                           f"at byte {pos} of {what}")
    except OfficialPickleError:
        raise
    except (ValueError, OverflowError, EOFError, struct.error) as exc:
        raise OfficialPickleError(f"{what} is truncated or corrupt: {_exception_text(exc)}") from None
    finally:
        budget.opcodes += count
    budget.scan_bytes += stream.tell() - start
    if budget.scan_bytes > budget.max_scan_bytes:
        raise _LimitError("scan", f"its pickles add up to more than {budget.max_scan_bytes:,} bytes")
    stream.seek(start)


def _load_checked(unpickler, stream, budget, what):
    """`unpickler.load()` of the pickle at `stream`'s position, once it passes the scan."""
    _scan_pickle(stream, budget, what)
    return unpickler.load()


# ----------------------------------------------------------------------------- records


class _Sealed:
    """Refuses BUILD: a pickle may not assign attributes to reader internals."""

    def __setstate__(self, state):
        raise UnsafePickleError(f"refusing to set the state of a {type(self).__name__.lstrip('_')}")


class _Storage(_Sealed):
    """A decoded torch storage: a flat NumPy array of elements."""

    def __init__(self, storage_type, dtype, numel):
        self.storage_type = storage_type
        self.dtype = dtype
        self.numel = numel
        self.array = None


class _StorageType(_Sealed):
    """Stands in for `torch.FloatStorage` & co. in a storage's persistent id."""

    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]

    def __call__(self, *args, **kwargs):
        raise UnsafePickleError(f"refusing to construct torch.{self.name}: storages are only read from data")


class _PersistentObject(_Sealed):
    """What `torch_utils.persistence._reconstruct_persistent_obj(meta)` stands for.

    Keeps the class name, the version and the module's `__dict__`; the
    embedded module source is reduced to its SHA-256 and never executed.
    """

    def __init__(self, meta, source_hashes=None):
        if not isinstance(meta, dict):
            raise OfficialPickleError(f"persistent object meta must be a dict. Received: {type(meta).__name__}")
        if meta.get("type") != "class":
            raise OfficialPickleError(f"unsupported persistent object type {_short(meta.get('type'))} (only 'class')")
        class_name, source, state = meta.get("class_name"), meta.get("module_src"), meta.get("state")
        if not isinstance(class_name, str) or not isinstance(source, str):
            raise OfficialPickleError("persistent object meta needs string 'class_name' and 'module_src'")
        if state is not None and not isinstance(state, dict):
            raise OfficialPickleError(f"persistent object state must be a dict. Received: {type(state).__name__}")
        self.class_name = class_name
        self.version = meta.get("version")
        # Every network of a module shares one source string: hash it once.
        cached = None if source_hashes is None else source_hashes.get(id(source))
        if cached is None:
            cached = (source, hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest())
            if source_hashes is not None:
                source_hashes[id(source)] = cached
        self.module_src_sha256 = cached[1]
        self.state = state or {}


class _ModuleRecord:
    """Stands in for a plain `torch.nn.Module` subclass (pickled by reference).

    Subclassed per name by `_OfficialUnpickler._module_class`; instances only
    record the state the pickle assigns.
    """

    qualified_name = "?"

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise UnsafePickleError(f"refusing to call {_clip(self.qualified_name)} with arguments")
        self.state = None

    def __new__(cls, *args, **kwargs):
        if args or kwargs:
            raise UnsafePickleError(f"refusing to call {_clip(cls.qualified_name)} with arguments")
        record = object.__new__(cls)
        record.state = None
        return record

    def __setstate__(self, state):
        if self.state is not None or not isinstance(state, dict):
            raise OfficialPickleError(f"bad state for {_clip(self.qualified_name)}: expected one dict")
        self.state = state


class _OrderedDict(dict):
    """Stands in for `collections.OrderedDict` (a dict keeps insertion order)."""

    def __init__(self, *args, **kwargs):
        # Pickles fill an OrderedDict with SETITEMS (counted by the scan), never
        # through its constructor.
        if args or kwargs:
            raise OfficialPickleError("OrderedDict with constructor arguments is not supported")
        super().__init__()

    def __setstate__(self, state):
        if state:
            raise OfficialPickleError("OrderedDict with instance attributes is not supported")


class _EasyDict(dict):
    """Stands in for `dnnlib.util.EasyDict`; read back as a plain dict."""

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise OfficialPickleError("EasyDict with constructor arguments is not supported")
        super().__init__()

    def __setstate__(self, state):
        if state:
            raise OfficialPickleError("EasyDict with instance attributes is not supported")


class _NumpyDtype:
    """Stands in for `numpy.dtype(code, align, copy)` plus its pickled state."""

    def __init__(self, code, align=False, copy=False):
        if not isinstance(code, str) or code not in _NUMPY_CODES:
            raise UnsafePickleError(f"refusing NumPy dtype {_short(code)}: only plain numeric dtypes are supported")
        self.code = code
        self.byteorder = "="

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2 or any(v is not None for v in state[2:5]):
            raise OfficialPickleError(f"unsupported NumPy dtype state {_short(state)}")
        if not isinstance(state[1], str) or state[1] not in ("<", ">", "=", "|"):
            raise OfficialPickleError(f"unsupported NumPy byte order {_short(state[1])}")
        self.byteorder = state[1]

    def numpy(self):
        dtype = np.dtype(self.code)
        return dtype.newbyteorder(self.byteorder) if self.byteorder in "<>" else dtype


class _NumpyArrayType(_Sealed):
    """Stands in for `numpy.ndarray` as the first argument of `_reconstruct`."""

    def __call__(self, *args, **kwargs):
        raise UnsafePickleError("refusing to call numpy.ndarray")


class _NumpyArray:
    """What `numpy.core.multiarray._reconstruct(ndarray, ...)` plus BUILD stands for."""

    def __init__(self, budget):
        self.value = None
        self._budget = budget

    def __setstate__(self, state):
        if self.value is not None or not isinstance(state, tuple) or len(state) != 5:
            raise OfficialPickleError("unsupported NumPy array state")
        _, shape, dtype, fortran, data = state
        if not isinstance(dtype, _NumpyDtype) or not isinstance(data, (bytes, bytearray)):
            raise OfficialPickleError("only NumPy arrays of plain numeric dtypes are supported")
        shape = _int_tuple(shape, "NumPy array shape")
        dtype = dtype.numpy()
        count = math.prod(shape)
        if len(data) != count * dtype.itemsize:
            raise OfficialPickleError(f"NumPy array data has {len(data)} bytes, expected {count * dtype.itemsize}")
        self._budget.charge(len(data))
        flat = np.frombuffer(bytes(data), dtype=dtype).astype(dtype.newbyteorder("="))
        self.value = flat.reshape(shape, order="F" if fortran else "C").copy()


def _int_tuple(value, what):
    if (
        not isinstance(value, (tuple, list))
        or len(value) > _MAX_DIMS
        or not all(type(v) is int and 0 <= v < 1 << 63 for v in value)
    ):
        raise OfficialPickleError(
            f"{what} must be a tuple of at most {_MAX_DIMS} non-negative 64-bit integers. Received: {_short(value)}"
        )
    return tuple(value)


# ----------------------------------------------------------------------------- tensors


def _strided_copy(storage, offset, size, stride, budget):
    """Copies the view `(offset, size, stride)` (in elements) out of `storage`."""
    if type(offset) is not int or not 0 <= offset < 1 << 63:
        raise OfficialPickleError(f"bad tensor storage offset {_short(offset)}")
    size = _int_tuple(size, "tensor size")
    stride = _int_tuple(stride, "tensor stride")
    if len(size) != len(stride):
        raise OfficialPickleError(f"tensor size {size} and stride {stride} differ in length")
    flat = storage.array
    if 0 in size:
        return np.zeros(size, dtype=flat.dtype)
    count = math.prod(size)
    if count > max(flat.shape[0], _MAX_VIEW_ELEMENTS):
        raise OfficialPickleError(
            f"tensor view of size {size} would repeat a storage of {flat.shape[0]} elements into {count}"
        )
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.shape[0]:
        raise OfficialPickleError(
            f"tensor view (offset {offset}, size {size}, stride {stride}) reaches element {last} "
            f"of a storage with {flat.shape[0]} elements"
        )
    itemsize = flat.dtype.itemsize
    budget.charge(count * itemsize)
    view = np.lib.stride_tricks.as_strided(
        flat[offset:], shape=size, strides=tuple(s * itemsize for s in stride), writeable=False
    )
    return np.array(view, order="C")


def _check_hooks(hooks):
    if hooks is not None and (not isinstance(hooks, dict) or hooks):
        raise OfficialPickleError("tensors with backward hooks are not supported")


# ----------------------------------------------------------------------------- unpicklers


def _check_global_name(module, name, source):
    # STACK_GLOBAL can name a memoized megabyte-long string again and again:
    # refuse long names before splitting or matching them.
    if len(module) > _MAX_GLOBAL_NAME or len(name) > _MAX_GLOBAL_NAME:
        raise UnsafePickleError(
            f"refusing to load global '{_clip(module, 60)}.{_clip(name, 60)}' from {source}: "
            f"names longer than {_MAX_GLOBAL_NAME} characters are not official"
        )


class _NothingUnpickler(pickle.Unpickler):
    """For the small header pickles of a storage stream: no globals at all."""

    def __init__(self, file, source, budget):
        super().__init__(file)
        self._source = source
        self._budget = budget

    def find_class(self, module, name):
        module = _PY2_MODULES.get(module, module)
        _check_global_name(module, name, self._source)
        raise UnsafePickleError(
            f"refusing to load global '{_clip(module)}.{_clip(name)}' from {self._source}: "
            "only official network pickles are supported"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError(f"refusing persistent id {_short(pid)} in {self._source}")


class _StorageUnpickler(_NothingUnpickler):
    """The storage pickle inside a legacy `torch.save` stream."""

    def __init__(self, file, source, budget):
        super().__init__(file, source, budget)
        self.storages = {}

    def find_class(self, module, name):
        if module in ("torch", "torch.cuda") and name in _STORAGE_DTYPES:
            return _StorageType(name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] in ("storage", b"storage")):
            raise UnsafePickleError(f"refusing persistent id {_short(pid)} in a storage of {self._source}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, _StorageType) or type(numel) is not int or not 0 <= numel < 1 << 63:
            raise OfficialPickleError(f"bad storage id {_short(pid)} in {self._source}")
        self._budget.hash_value(key)
        root = self.storages.get(key)
        if root is None:
            root = self.storages[key] = _Storage(storage_type.name, storage_type.dtype, numel)
        if view is None:
            return root
        _view_key, view_offset, view_numel = view
        return _StorageView(root, view_offset, view_numel)


class _StorageView(_Sealed):
    def __init__(self, root, offset, numel):
        if type(offset) is not int or type(numel) is not int or offset < 0 or numel < 0:
            raise OfficialPickleError(f"bad storage view ({_short(offset)}, {_short(numel)})")
        self.root, self.offset, self.numel = root, offset, numel

    def resolve(self):
        if self.offset + self.numel > self.root.numel:
            raise OfficialPickleError("storage view reaches past its storage")
        storage = _Storage(self.root.storage_type, self.root.dtype, self.numel)
        storage.array = self.root.array[self.offset : self.offset + self.numel]
        return storage


def _decode_storage_stream(data, source, budget):
    """Decodes the legacy `torch.save` bytes of one storage -> `_Storage`.

    Each of the stream's pickles is scanned against the limits before it is
    unpickled, and the decoded elements are charged to `budget`.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise OfficialPickleError(f"storage data must be bytes. Received: {type(data).__name__}")
    if bytes(data[:4]) == b"PK\x03\x04":
        raise OfficialPickleError(
            f"a storage in {source} uses the zip torch.save format, which torch never writes "
            "inside a pickle; the file was not written by the official training code"
        )
    stream = io.BytesIO(data)
    what = f"a storage stream in {source}"

    def load(unpickler):
        return _load_checked(unpickler, stream, budget, what)

    try:
        magic = load(_NothingUnpickler(stream, source, budget))
        version = load(_NothingUnpickler(stream, source, budget))
        sys_info = load(_NothingUnpickler(stream, source, budget))
    except (pickle.UnpicklingError, EOFError) as exc:
        raise OfficialPickleError(
            f"a storage in {source} is not a legacy torch.save stream: {_exception_text(exc)}"
        ) from None
    if type(magic) is not int or magic != _TORCH_MAGIC_NUMBER or version != _TORCH_PROTOCOL_VERSION:
        raise OfficialPickleError(
            f"a storage in {source} has magic number {_short(magic)} / version {_short(version)}, not torch's"
        )
    little_endian = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
    unpickler = _StorageUnpickler(stream, source, budget)
    result = load(unpickler)
    keys = load(_NothingUnpickler(stream, source, budget))
    if isinstance(keys, list):
        budget.hash_items(keys)
    if not isinstance(keys, list) or len(set(keys)) != len(keys) or set(keys) != set(unpickler.storages):
        raise OfficialPickleError(
            f"a storage in {source} lists storages {_short(keys)}, "
            f"but its pickle uses {_short(list(unpickler.storages))}"
        )
    for key in keys:
        storage = unpickler.storages[key]
        header = stream.read(8)
        if len(header) != 8:
            raise OfficialPickleError(f"a storage in {source} is truncated")
        (count,) = struct.unpack("<q" if little_endian else ">q", header)
        if count != storage.numel:
            raise OfficialPickleError(f"a storage in {source} has {count} elements, its id says {storage.numel}")
        dtype = storage.dtype.newbyteorder("<" if little_endian else ">")
        raw = stream.read(count * dtype.itemsize)
        if len(raw) != count * dtype.itemsize:
            raise OfficialPickleError(f"a storage in {source} is truncated")
        widened = 2 if storage.storage_type == "BFloat16Storage" else 1
        budget.charge(len(raw) * widened)
        array = np.frombuffer(raw, dtype=dtype).astype(storage.dtype.newbyteorder("="))
        if widened == 2:
            array = (array.astype(np.uint32) << 16).view(np.float32)
            storage.dtype = array.dtype
        storage.array = array
    if isinstance(result, _StorageView):
        result = result.resolve()
    if not isinstance(result, _Storage):
        raise OfficialPickleError(f"a storage stream in {source} holds {type(result).__name__}, not a storage")
    return result


class _OfficialUnpickler(pickle.Unpickler):
    """Resolves only the names an official network pickle needs, to stand-ins."""

    def __init__(self, file, source, budget):
        super().__init__(file)
        self._source = source
        self._budget = budget
        self._module_classes = {}
        self._storages = {}  # id(data) -> (data, storage): one decode per bytes object
        self._source_hashes = {}  # id(module_src) -> (module_src, sha256)
        ndarray = _NumpyArrayType()
        self._allowed = {
            ("collections", "OrderedDict"): _OrderedDict,
            ("dnnlib.util", "EasyDict"): _EasyDict,
            ("torch_utils.persistence", "_reconstruct_persistent_obj"): self._persistent_object,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor_v2,
            ("torch._utils", "_rebuild_parameter"): self._rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self._rebuild_parameter_with_state,
            ("torch.storage", "_load_from_bytes"): self._load_from_bytes,
            ("numpy", "dtype"): _NumpyDtype,
            ("numpy", "ndarray"): ndarray,
            ("builtins", "set"): self._make_set,
            ("builtins", "frozenset"): self._make_frozenset,
            ("_codecs", "encode"): self._latin1_encode,
        }
        for numpy_core in ("numpy.core.multiarray", "numpy._core.multiarray"):
            self._allowed[(numpy_core, "scalar")] = _numpy_scalar
            self._allowed[(numpy_core, "_reconstruct")] = lambda cls, shape, code, _nd=ndarray: _numpy_reconstruct(
                _nd, cls, shape, code, budget)

    def find_class(self, module, name):
        module = _PY2_MODULES.get(module, module)
        _check_global_name(module, name, self._source)
        found = self._allowed.get((module, name))
        if found is not None:
            return found
        if self._is_module_class(module, name):
            return self._module_class(module, name)
        raise UnsafePickleError(
            f"refusing to load global '{_clip(module)}.{_clip(name)}' from {self._source}: "
            "only official network pickles are supported"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError(
            f"refusing persistent id {_short(pid)} in {self._source}: official network pickles have none"
        )

    @staticmethod
    def _is_module_class(module, name):
        if module == "torch.nn.modules.container":
            return name in _TORCH_CONTAINERS
        parts = module.split(".")
        return (
            parts[0] == "training"
            and len(parts) == 2
            and all(_IDENTIFIER.match(part) for part in parts)
            and _IDENTIFIER.match(name) is not None
            and name[0].isupper()
        )

    def _module_class(self, module, name):
        key = f"{module}.{name}"
        if key not in self._module_classes:
            self._module_classes[key] = type(name, (_ModuleRecord,), {"qualified_name": key})
        return self._module_classes[key]

    def _persistent_object(self, meta):
        return _PersistentObject(meta, self._source_hashes)

    def _load_from_bytes(self, data):
        # A memoized bytes object may be passed here many times: decode it once
        # (keeping `data` alive keeps its id unique).
        cached = self._storages.get(id(data))
        if cached is None:
            cached = self._storages[id(data)] = (data, _decode_storage_stream(data, self._source, self._budget))
        return cached[1]

    def _rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False,
                           backward_hooks=None, metadata=None):
        if not isinstance(storage, _Storage) or storage.array is None:
            raise OfficialPickleError(f"a tensor in {self._source} is not backed by a decoded storage")
        _check_hooks(backward_hooks)
        return _strided_copy(storage, storage_offset, size, stride, self._budget)

    def _rebuild_parameter(self, data, requires_grad=True, backward_hooks=None):
        if not isinstance(data, np.ndarray):
            raise OfficialPickleError(f"a parameter in {self._source} does not wrap a tensor")
        _check_hooks(backward_hooks)
        return data

    def _rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        return self._rebuild_parameter(data, requires_grad, backward_hooks)

    def _make_set(self, items=()):
        return set(self._checked_items(items))

    def _make_frozenset(self, items=()):
        return frozenset(self._checked_items(items))

    def _checked_items(self, items):
        # set(memoized list) can be rebuilt many times from a few bytes: charge
        # its table and the hashing of every item each time.
        if not isinstance(items, (list, tuple)):
            raise OfficialPickleError(f"set items must be a list. Received: {type(items).__name__}")
        self._budget.charge(_ENTRY_BYTES * len(items))
        self._budget.hash_items(items)
        return items

    def _latin1_encode(self, text, encoding="latin1"):
        if not isinstance(text, str) or not isinstance(encoding, str) or encoding not in ("latin1", "latin-1"):
            raise UnsafePickleError(f"refusing _codecs.encode({type(text).__name__}, {_short(encoding)})")
        self._budget.charge(len(text))  # array data, rebuilt from a memoized str each time
        return text.encode("latin1")


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, _NumpyDtype) or not isinstance(data, (bytes, bytearray)):
        raise OfficialPickleError("only NumPy scalars of plain numeric dtypes are supported")
    dtype = dtype.numpy()
    if len(data) != dtype.itemsize:
        raise OfficialPickleError(f"NumPy scalar has {len(data)} bytes, expected {dtype.itemsize}")
    return np.frombuffer(bytes(data), dtype=dtype)[0].astype(dtype.newbyteorder("="))


def _numpy_reconstruct(ndarray, cls, shape, code, budget):
    if cls is not ndarray:
        raise UnsafePickleError("refusing numpy _reconstruct of anything but numpy.ndarray")
    return _NumpyArray(budget)


# ----------------------------------------------------------------------------- plain output


class _PlainConverter:
    """Stand-ins -> plain Python (dicts, lists, tuples, sets, scalars, arrays).

    Shared objects are converted once (a pickle can reference one object from
    many places, so a naive walk could take exponential time), cycles and
    absurd nesting are refused, and the module walk has a visit budget.
    Copies and state-dict entries are charged to the tensor-bytes budget
    (a DAG of modules or kwargs could otherwise multiply them).
    """

    def __init__(self, budget):
        self._budget = budget
        self._done = {}
        self._in_progress = set()
        self._module_visits = 0

    def plain(self, value, depth=0):
        if depth > _MAX_DEPTH:
            raise _LimitError("nesting", f"its data nests more than {_MAX_DEPTH} deep, unlike official pickles")
        if isinstance(value, np.generic):  # before float: np.float64 is a float
            return value.item()
        if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.ndarray)):
            return value
        if isinstance(value, _NumpyArray):
            return value.value
        if isinstance(value, _NumpyDtype):
            return value.numpy()
        key = id(value)
        if key in self._done:
            return self._done[key][1]
        if key in self._in_progress:
            raise OfficialPickleError("the pickle contains a cycle, which official network pickles do not")
        self._in_progress.add(key)
        if isinstance(value, (_PersistentObject, _ModuleRecord)):
            result = self._network_record(value, depth + 1)
        elif isinstance(value, dict):
            result = {self.plain(k, depth + 1): self.plain(v, depth + 1) for k, v in value.items()}
        elif isinstance(value, (list, tuple, set, frozenset)):
            result = type(value)(self.plain(v, depth + 1) for v in value)
        else:
            raise OfficialPickleError(f"unexpected {type(value).__name__} object in the pickle")
        self._in_progress.discard(key)
        self._done[key] = (value, result)  # keeps `value` alive so its id stays unique
        return result

    def _network_record(self, record, depth):
        state = _module_state(record)
        if isinstance(record, _PersistentObject):
            out = {"class_name": record.class_name, "module_src_sha256": record.module_src_sha256}
        else:
            out = {"class_name": record.qualified_name, "module_src_sha256": None}
        init_args = self.plain(state.get("_init_args", ()), depth + 1) or ()
        init_kwargs = self.plain(state.get("_init_kwargs", {}), depth + 1) or {}
        if not isinstance(init_args, (list, tuple)) or not isinstance(init_kwargs, dict):
            raise OfficialPickleError(f"{_clip(out['class_name'])} has malformed _init_args or _init_kwargs")
        self._budget.charge(_ENTRY_BYTES * (len(init_args) + len(init_kwargs)))
        out["init_args"] = list(init_args)
        out["init_kwargs"] = dict(init_kwargs)
        out["state_dict"] = self._state_dict(record, "", {}, set())
        return out

    def _state_dict(self, record, prefix, out, active):
        """Parameters and persistent buffers under dotted names, like `Module.state_dict()`."""
        if id(record) in active:
            raise OfficialPickleError(f"module {_clip(prefix.rstrip('.'))} contains itself")
        self._module_visits += 1
        if len(active) > _MAX_DEPTH or self._module_visits > _MAX_MODULE_VISITS:
            raise _LimitError("module", f"its networks have more than {_MAX_MODULE_VISITS:,} modules or nest "
                                        f"them more than {_MAX_DEPTH} deep, unlike official ones")
        active.add(id(record))
        state = _module_state(record)
        skip = state.get("_non_persistent_buffers_set") or set()
        if not isinstance(skip, (set, frozenset)):
            raise OfficialPickleError(f"{_clip(prefix + '_non_persistent_buffers_set')} is not a set")
        for group in ("_parameters", "_buffers"):
            for name, value in _named(state, group, prefix):
                if value is None or (group == "_buffers" and name in skip):
                    continue
                if not isinstance(value, np.ndarray):
                    raise OfficialPickleError(f"{_clip(prefix + name)} is a {type(value).__name__}, not a tensor")
                self._budget.charge(_ENTRY_BYTES + len(prefix) + len(name))
                out[f"{prefix}{name}"] = value
        for name, child in _named(state, "_modules", prefix):
            if child is None:
                continue
            if not isinstance(child, (_PersistentObject, _ModuleRecord)):
                raise OfficialPickleError(
                    f"submodule {_clip(prefix + name)} is a {type(child).__name__}, not a module")
            self._budget.charge(len(prefix) + len(name) + 1)
            self._state_dict(child, f"{prefix}{name}.", out, active)
        active.discard(id(record))
        return out


def _named(state, group, prefix):
    """The (name, value) pairs of a module's `_parameters`, `_buffers` or `_modules`."""
    items = state.get(group) or {}
    if not isinstance(items, dict):
        raise OfficialPickleError(f"{_clip(prefix + group)} is a {type(items).__name__}, not a dict")
    for name in items:
        if not isinstance(name, str):
            raise OfficialPickleError(f"{_clip(prefix + group)} has a {type(name).__name__} key, not a name")
    return items.items()


def _module_state(record):
    state = record.state if isinstance(record, _PersistentObject) else (record.state or {})
    if not isinstance(state, dict):
        raise OfficialPickleError(f"a module's state is a {type(state).__name__}, not a dict")
    return state


# ----------------------------------------------------------------------------- bounded summaries

# Per line of `describe_official_pickle`: the limits of one summary.
_SUMMARY_NODES = 400
_SUMMARY_DEPTH = 4
_SUMMARY_ITEMS = 16
_SUMMARY_TENSORS = 100_000


class _SummaryFull(Exception):
    """The summary used up its characters or visits."""


class _Summary:
    """A repr-like rendering that stops at a character and visit budget.

    Walks at most `max_nodes` values, `max_depth` containers deep and
    `max_items` items per container, renders a container met again (shared,
    or a cycle) as a short reference instead of walking it twice, and never
    calls `repr` on anything whose repr could be large: strings and bytes
    are cut before `repr`, huge integers shown by size, arrays by shape.
    """

    _OPEN = {dict: ("{", "}"), list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"),
             frozenset: ("frozenset({", "})")}
    _EMPTY = {dict: "{}", list: "[]", tuple: "()", set: "set()", frozenset: "frozenset()"}

    def __init__(self, max_chars, max_nodes=_SUMMARY_NODES, max_depth=_SUMMARY_DEPTH, max_items=_SUMMARY_ITEMS):
        self.parts = []
        self.room = max(max_chars, 3)
        self.nodes = max_nodes
        self.max_depth = max_depth
        self.max_items = max_items
        self.seen = set()

    def text(self):
        return "".join(self.parts)

    def put(self, text):
        if len(text) > self.room:
            self.parts.append(text[: self.room - 3] + "..." if self.room >= 3 else "")
            self.room = 0
            raise _SummaryFull
        self.parts.append(text)
        self.room -= len(text)

    def render(self, value):
        """Adds `value`; returns `self.text()` (cut short if the budget ran out)."""
        try:
            self.value(value, 0)
        except _SummaryFull:
            pass
        except (RecursionError, MemoryError, ValueError, TypeError):
            self.parts.append(" <unprintable>")
        return self.text()

    def value(self, value, depth):
        self.nodes -= 1
        if self.nodes < 0:
            self.put("...")
            raise _SummaryFull
        if value is None or isinstance(value, (bool, float, complex, np.bool_, np.number)):
            self.put(repr(value))
        elif isinstance(value, int):
            bits = value.bit_length()
            self.put(int.__repr__(value) if bits <= 64 else f"<{bits}-bit int>")
        elif isinstance(value, (str, bytes, bytearray)):
            cut = value[: max(self.room, 1)]
            self.put(repr(cut) + ("..." if len(cut) < len(value) else ""))
        elif isinstance(value, np.ndarray):
            self.put(f"array(shape={value.shape}, dtype={value.dtype})")
        else:
            kind = next((k for k in self._OPEN if isinstance(value, k)), None)
            if kind is None:
                self.put(f"<{type(value).__name__}>")
            else:
                self.container(value, kind, depth)

    def container(self, value, kind, depth):
        if not value:
            self.put(self._EMPTY[kind])
            return
        if id(value) in self.seen:
            self.put(f"<{kind.__name__} shown before>")
            return
        self.seen.add(id(value))
        if depth >= self.max_depth:
            self.put(f"<{kind.__name__} of {len(value)}>")
            return
        opening, closing = self._OPEN[kind]
        self.put(opening)
        items = value.items() if kind is dict else value
        for index, item in enumerate(itertools.islice(items, self.max_items)):
            if index:
                self.put(", ")
            if kind is dict:
                self.value(item[0], depth + 1)
                self.put(": ")
                self.value(item[1], depth + 1)
            else:
                self.value(item, depth + 1)
        if len(value) > self.max_items:
            self.put(f", ... {len(value) - self.max_items:,} more")
        if kind is tuple and len(value) == 1:
            self.put(",")
        self.put(closing)


def _short(value, limit=_MESSAGE_CHARS):
    """A bounded, one-line repr of a value read from a file (for messages)."""
    return _Summary(limit, max_nodes=64, max_depth=3, max_items=8).render(value)


def _is_network(value):
    return isinstance(value, dict) and isinstance(value.get("state_dict"), dict)


def describe_official_pickle(data, max_entries=64, max_line_chars=500):
    """One line per top-level entry of a loaded official pickle, bounded.

    Networks read as `G: Generator, 92 tensors, 84,481 values, kwargs {...}`,
    other entries as a cut-down repr. Whatever `data` holds (shared
    sub-objects, cycles, deep nesting, huge strings or integers), the text
    has at most `max_entries + 1` lines of at most `max_line_chars`
    characters each, and building it visits a bounded number of values:
    no full `repr` is ever built.

    Args:
        data: dict returned by `load_official_pickle` (anything else is
            summarised on one line).
        max_entries: int. Top-level entries listed; the rest are counted.
        max_line_chars: int. Characters per line.

    Returns:
        str, lines separated by `"\\n"`.

    Example:
    ```python
    print(describe_official_pickle(load_official_pickle("network-snapshot-025000.pkl")))
    ```
    """
    if not isinstance(data, dict):
        return _Summary(max_line_chars).render(data)
    lines = []
    for index, (key, value) in enumerate(data.items()):
        if index == max_entries:
            lines.append(f"... {len(data) - max_entries:,} more entries")
            break
        head = f"{_clip(key, 80)}: "
        summary = _Summary(max_line_chars - len(head))
        if _is_network(value):
            state = value["state_dict"]
            counted = itertools.islice(state.values(), _SUMMARY_TENSORS)
            values = sum(int(v.size) for v in counted if isinstance(v, np.ndarray))
            more = "+" if len(state) > _SUMMARY_TENSORS else ""
            try:
                summary.put(f"{_clip(value.get('class_name'), 80)}, {len(state):,} tensors, "
                            f"{values:,}{more} values, kwargs ")
            except _SummaryFull:
                lines.append(head + summary.text())
                continue
            summary.render(value.get("init_kwargs"))
        else:
            summary.render(value)
        lines.append(head + summary.text())
    return "\n".join(lines)


# ----------------------------------------------------------------------------- public API


def _read_bytes(source):
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise ValueError(f"{path!r}: no such file")
        with open(path, "rb") as f:
            return f.read()
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ValueError(f"{_describe(source)} must be opened in binary mode")
        return bytes(data)
    raise ValueError(f"expected a path or a binary file object. Received: {type(source).__name__}")


def _check_header(data, source):
    if data[:4] == b"PK\x03\x04":
        raise OfficialPickleError(
            f"{source} is a zip archive (a .keras file or a torch.save checkpoint?), "
            "not an official network pickle"
        )
    if len(data) < 2 or data[0] != 0x80 or not 2 <= data[1] <= pickle.HIGHEST_PROTOCOL:
        raise OfficialPickleError(
            f"{source} is not an official network pickle: it does not start with a pickle "
            f"header of protocol 2-{pickle.HIGHEST_PROTOCOL} (first bytes {data[:8]!r})"
        )


def load_official_pickle(path_or_file, max_tensor_bytes=None):
    """Reads an official CREPS network pickle into plain Python data, safely.

    The file is unpickled with an allow-list: official persistent networks,
    torch tensors and parameters (decoded with NumPy: float32, float64,
    float16, bfloat16 widened to float32, int64, int32, int16, int8, uint8,
    bool; storage offsets and strides honoured), `OrderedDict`, `EasyDict`,
    plain NumPy scalars and arrays, and the plain module classes official
    networks nest (`training.*` classes, `torch.nn` containers), which only
    record their state. Nothing named in the file is imported, the module
    source embedded with each persistent network is never executed (only
    its SHA-256 is kept), and torch is not needed.

    The reader works within limits (see the module docstring): every pickle
    stream is scanned before it is unpickled (opcode count, memo indices,
    stack size, MARK nesting, hashing work) and decoded tensor data is
    capped by `max_tensor_bytes`, so a small hostile file cannot take
    gigabytes or hours.

    Args:
        path_or_file: str, `os.PathLike` or a binary file object. An official
            `network-snapshot-*.pkl` (or any pickle of the same kind).
        max_tensor_bytes: int or None. Most bytes of tensor and array data
            (plus tables the reader builds) decoding may take in all.
            Defaults to 4x the file size plus 512 MiB: an official file
            decodes to about twice its size, and the largest official
            networks (the paper configuration at 1024x1024, G + D + G_ema)
            hold 360 MB of tensors.

    Returns:
        A dict with the pickle's top-level keys. Every network (`G`,
        `G_ema`, `D`, `augment_pipe`, ...) becomes a dict with
        `class_name` (str), `module_src_sha256` (str, or None for a plain
        module), `init_args` (list), `init_kwargs` (plain dicts; `EasyDict`s
        become dicts) and `state_dict` (official dotted name -> NumPy array,
        parameters and persistent buffers, as `Module.state_dict()` lists
        them). Other entries (`training_set_kwargs`, ...) become plain data;
        an object the pickle shares between places stays shared.

    Raises:
        UnsafePickleError: (a `ValueError`) the pickle names a global or a
            persistent id outside the allow-list, e.g. `os.system`.
        OfficialPickleError: (a `ValueError`) the file is not a pickle, is
            truncated, its tensors or networks are malformed, or it exceeds
            one of the reader's limits (the one-line message names the file
            and the limit).
        ValueError: the file does not exist, or `max_tensor_bytes` is not a
            non-negative integer.

    Example:
    ```python
    data = load_official_pickle("network-snapshot-025000.pkl")
    g = data["G_ema"]
    g["class_name"], g["init_kwargs"]["img_resolution"]
    g["state_dict"]["mapping.fc0.weight"].shape
    print(describe_official_pickle(data))
    ```
    """
    if max_tensor_bytes is not None and (type(max_tensor_bytes) is not int or max_tensor_bytes < 0):
        raise ValueError(f"`max_tensor_bytes` must be a non-negative int or None. Received: {max_tensor_bytes!r}")
    source = _describe(path_or_file)
    try:
        data = _read_bytes(path_or_file)
    except MemoryError:
        raise OfficialPickleError(f"{source} exceeds the reader's memory limit: too large to read") from None
    _check_header(data, source)
    if max_tensor_bytes is None:
        max_tensor_bytes = _FILE_SIZE_MULTIPLE * len(data) + _LARGEST_OFFICIAL_BYTES
    budget = _Budget(max_tensor_bytes, max_scan_bytes=len(data) + max_tensor_bytes)
    try:
        loaded = _unpickle(data, source, budget)
        if not isinstance(loaded, dict):
            raise OfficialPickleError(
                f"{source} holds a {type(loaded).__name__}, not the dict of an official network pickle"
            )
        return _convert(loaded, source, budget)
    except MemoryError:
        raise OfficialPickleError(
            f"{source} exceeds the reader's memory limit: ran out of memory while decoding it "
            f"(max_tensor_bytes={max_tensor_bytes})"
        ) from None
    except RecursionError:
        raise OfficialPickleError(f"{source} exceeds the reader's nesting limit: nested too deeply to read") from None


def _unpickle(data, source, budget):
    stream = io.BytesIO(data)
    try:
        return _load_checked(_OfficialUnpickler(stream, source, budget), stream, budget, "the pickle")
    except UnsafePickleError:
        raise
    except _LimitError as exc:
        raise OfficialPickleError(f"{source} {exc}") from None
    except (pickle.UnpicklingError, EOFError) as exc:
        raise OfficialPickleError(f"{source} is truncated or corrupt: {_exception_text(exc)}") from None
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError, struct.error) as exc:
        raise OfficialPickleError(
            f"{source} is not a readable official network pickle: {_exception_text(exc)}"
        ) from None


def _convert(loaded, source, budget):
    try:
        return _PlainConverter(budget).plain(loaded)
    except _LimitError as exc:
        raise OfficialPickleError(f"{source} {exc}") from None
    except OfficialPickleError as exc:
        raise OfficialPickleError(f"{source}: {exc}") from None
    except RecursionError:
        raise OfficialPickleError(f"{source} exceeds the reader's nesting limit: too deep to convert") from None
    except (TypeError, AttributeError, ValueError, OverflowError) as exc:
        raise OfficialPickleError(
            f"{source} is not a readable official network pickle: {_exception_text(exc)}"
        ) from None

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

This module imports neither torch nor Keras.
"""

import hashlib
import io
import math
import os
import pickle
import re
import struct

import numpy as np

__all__ = ["OfficialPickleError", "UnsafePickleError", "load_official_pickle"]

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

_MAX_DEPTH = 256
_MAX_MODULE_VISITS = 100_000
# A tensor view may repeat storage elements (stride 0), but not absurdly.
_MAX_VIEW_ELEMENTS = 1 << 28


class OfficialPickleError(ValueError):
    """The file is not a readable official network pickle (not a pickle,
    truncated, or holding malformed networks or tensors)."""


class UnsafePickleError(OfficialPickleError):
    """The pickle names a global (or persistent id) outside the allow-list.

    Raised before anything named in the file is imported or called.
    """


def _describe(source):
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return getattr(source, "name", None) or "<file object>"


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

    def __init__(self, meta):
        if not isinstance(meta, dict):
            raise OfficialPickleError(f"persistent object meta must be a dict. Received: {type(meta).__name__}")
        if meta.get("type") != "class":
            raise OfficialPickleError(f"unsupported persistent object type {meta.get('type')!r} (only 'class')")
        class_name, source, state = meta.get("class_name"), meta.get("module_src"), meta.get("state")
        if not isinstance(class_name, str) or not isinstance(source, str):
            raise OfficialPickleError("persistent object meta needs string 'class_name' and 'module_src'")
        if state is not None and not isinstance(state, dict):
            raise OfficialPickleError(f"persistent object state must be a dict. Received: {type(state).__name__}")
        self.class_name = class_name
        self.version = meta.get("version")
        self.module_src_sha256 = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        self.state = state or {}


class _ModuleRecord:
    """Stands in for a plain `torch.nn.Module` subclass (pickled by reference).

    Subclassed per name by `_OfficialUnpickler._module_class`; instances only
    record the state the pickle assigns.
    """

    qualified_name = "?"

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise UnsafePickleError(f"refusing to call {self.qualified_name} with arguments")
        self.state = None

    def __new__(cls, *args, **kwargs):
        if args or kwargs:
            raise UnsafePickleError(f"refusing to call {cls.qualified_name} with arguments")
        record = object.__new__(cls)
        record.state = None
        return record

    def __setstate__(self, state):
        if self.state is not None or not isinstance(state, dict):
            raise OfficialPickleError(f"bad state for {self.qualified_name}: expected one dict")
        self.state = state


class _OrderedDict(dict):
    """Stands in for `collections.OrderedDict` (a dict keeps insertion order)."""

    def __setstate__(self, state):
        if state:
            raise OfficialPickleError("OrderedDict with instance attributes is not supported")


class _EasyDict(dict):
    """Stands in for `dnnlib.util.EasyDict`; read back as a plain dict."""

    def __setstate__(self, state):
        if state:
            raise OfficialPickleError("EasyDict with instance attributes is not supported")


class _NumpyDtype:
    """Stands in for `numpy.dtype(code, align, copy)` plus its pickled state."""

    def __init__(self, code, align=False, copy=False):
        if code not in _NUMPY_CODES:
            raise UnsafePickleError(f"refusing NumPy dtype {code!r}: only plain numeric dtypes are supported")
        self.code = code
        self.byteorder = "="

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2 or any(v is not None for v in state[2:5]):
            raise OfficialPickleError(f"unsupported NumPy dtype state {state!r}")
        if state[1] not in ("<", ">", "=", "|"):
            raise OfficialPickleError(f"unsupported NumPy byte order {state[1]!r}")
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

    def __init__(self):
        self.value = None

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
        flat = np.frombuffer(bytes(data), dtype=dtype).astype(dtype.newbyteorder("="))
        self.value = flat.reshape(shape, order="F" if fortran else "C").copy()


def _int_tuple(value, what):
    if not isinstance(value, (tuple, list)) or not all(type(v) is int and v >= 0 for v in value):
        raise OfficialPickleError(f"{what} must be a tuple of non-negative integers. Received: {value!r}")
    return tuple(value)


# ----------------------------------------------------------------------------- tensors


def _strided_copy(storage, offset, size, stride):
    """Copies the view `(offset, size, stride)` (in elements) out of `storage`."""
    if type(offset) is not int or offset < 0:
        raise OfficialPickleError(f"bad tensor storage offset {offset!r}")
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
    view = np.lib.stride_tricks.as_strided(
        flat[offset:], shape=size, strides=tuple(s * itemsize for s in stride), writeable=False
    )
    return np.array(view, order="C")


def _check_hooks(hooks):
    if hooks is not None and (not isinstance(hooks, dict) or hooks):
        raise OfficialPickleError("tensors with backward hooks are not supported")


# ----------------------------------------------------------------------------- unpicklers


class _NothingUnpickler(pickle.Unpickler):
    """For the small header pickles of a storage stream: no globals at all."""

    def __init__(self, file, source):
        super().__init__(file)
        self._source = source

    def find_class(self, module, name):
        module = _PY2_MODULES.get(module, module)
        raise UnsafePickleError(
            f"refusing to load global '{module}.{name}' from {self._source}: "
            "only official network pickles are supported"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError(f"refusing persistent id {pid!r} in {self._source}")


class _StorageUnpickler(_NothingUnpickler):
    """The storage pickle inside a legacy `torch.save` stream."""

    def __init__(self, file, source):
        super().__init__(file, source)
        self.storages = {}

    def find_class(self, module, name):
        if module in ("torch", "torch.cuda") and name in _STORAGE_DTYPES:
            return _StorageType(name)
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] in ("storage", b"storage")):
            raise UnsafePickleError(f"refusing persistent id {pid!r} in a storage of {self._source}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, _StorageType) or type(numel) is not int or numel < 0:
            raise OfficialPickleError(f"bad storage id {pid!r} in {self._source}")
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
            raise OfficialPickleError(f"bad storage view ({offset}, {numel})")
        self.root, self.offset, self.numel = root, offset, numel

    def resolve(self):
        if self.offset + self.numel > self.root.numel:
            raise OfficialPickleError("storage view reaches past its storage")
        storage = _Storage(self.root.storage_type, self.root.dtype, self.numel)
        storage.array = self.root.array[self.offset : self.offset + self.numel]
        return storage


def _decode_storage_stream(data, source):
    """Decodes the legacy `torch.save` bytes of one storage -> `_Storage`."""
    if not isinstance(data, (bytes, bytearray)):
        raise OfficialPickleError(f"storage data must be bytes. Received: {type(data).__name__}")
    if bytes(data[:4]) == b"PK\x03\x04":
        raise OfficialPickleError(
            f"a storage in {source} uses the zip torch.save format, which torch never writes "
            "inside a pickle; the file was not written by the official training code"
        )
    stream = io.BytesIO(data)
    try:
        magic = _NothingUnpickler(stream, source).load()
        version = _NothingUnpickler(stream, source).load()
        sys_info = _NothingUnpickler(stream, source).load()
    except (pickle.UnpicklingError, EOFError) as exc:
        raise OfficialPickleError(f"a storage in {source} is not a legacy torch.save stream: {exc}") from None
    if magic != _TORCH_MAGIC_NUMBER or version != _TORCH_PROTOCOL_VERSION:
        raise OfficialPickleError(f"a storage in {source} has magic number {magic!r} / version {version!r}, not torch's")
    little_endian = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
    unpickler = _StorageUnpickler(stream, source)
    result = unpickler.load()
    keys = _NothingUnpickler(stream, source).load()
    if not isinstance(keys, list) or set(keys) != set(unpickler.storages):
        raise OfficialPickleError(f"a storage in {source} lists storages {keys!r}, but its pickle uses {sorted(unpickler.storages)}")
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
        array = np.frombuffer(raw, dtype=dtype).astype(storage.dtype.newbyteorder("="))
        if storage.storage_type == "BFloat16Storage":
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

    def __init__(self, file, source):
        super().__init__(file)
        self._source = source
        self._module_classes = {}
        ndarray = _NumpyArrayType()
        self._allowed = {
            ("collections", "OrderedDict"): _OrderedDict,
            ("dnnlib.util", "EasyDict"): _EasyDict,
            ("torch_utils.persistence", "_reconstruct_persistent_obj"): _PersistentObject,
            ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor_v2,
            ("torch._utils", "_rebuild_parameter"): self._rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self._rebuild_parameter_with_state,
            ("torch.storage", "_load_from_bytes"): self._load_from_bytes,
            ("numpy", "dtype"): _NumpyDtype,
            ("numpy", "ndarray"): ndarray,
            ("builtins", "set"): _make_set,
            ("builtins", "frozenset"): _make_frozenset,
            ("_codecs", "encode"): _latin1_encode,
        }
        for numpy_core in ("numpy.core.multiarray", "numpy._core.multiarray"):
            self._allowed[(numpy_core, "scalar")] = _numpy_scalar
            self._allowed[(numpy_core, "_reconstruct")] = lambda cls, shape, code, _nd=ndarray: _numpy_reconstruct(
                _nd, cls, shape, code)

    def find_class(self, module, name):
        module = _PY2_MODULES.get(module, module)
        found = self._allowed.get((module, name))
        if found is not None:
            return found
        if self._is_module_class(module, name):
            return self._module_class(module, name)
        raise UnsafePickleError(
            f"refusing to load global '{module}.{name}' from {self._source}: "
            "only official network pickles are supported"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError(
            f"refusing persistent id {pid!r} in {self._source}: official network pickles have none"
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

    def _load_from_bytes(self, data):
        return _decode_storage_stream(data, self._source)

    def _rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False,
                           backward_hooks=None, metadata=None):
        if not isinstance(storage, _Storage) or storage.array is None:
            raise OfficialPickleError(f"a tensor in {self._source} is not backed by a decoded storage")
        _check_hooks(backward_hooks)
        return _strided_copy(storage, storage_offset, size, stride)

    def _rebuild_parameter(self, data, requires_grad=True, backward_hooks=None):
        if not isinstance(data, np.ndarray):
            raise OfficialPickleError(f"a parameter in {self._source} does not wrap a tensor")
        _check_hooks(backward_hooks)
        return data

    def _rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        return self._rebuild_parameter(data, requires_grad, backward_hooks)


def _make_set(items=()):
    return set(_checked_items(items))


def _make_frozenset(items=()):
    return frozenset(_checked_items(items))


def _checked_items(items):
    if not isinstance(items, (list, tuple)):
        raise OfficialPickleError(f"set items must be a list. Received: {type(items).__name__}")
    return items


def _latin1_encode(text, encoding="latin1"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin1")


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, _NumpyDtype) or not isinstance(data, (bytes, bytearray)):
        raise OfficialPickleError("only NumPy scalars of plain numeric dtypes are supported")
    dtype = dtype.numpy()
    if len(data) != dtype.itemsize:
        raise OfficialPickleError(f"NumPy scalar has {len(data)} bytes, expected {dtype.itemsize}")
    return np.frombuffer(bytes(data), dtype=dtype)[0].astype(dtype.newbyteorder("="))


def _numpy_reconstruct(ndarray, cls, shape, code):
    if cls is not ndarray:
        raise UnsafePickleError("refusing numpy _reconstruct of anything but numpy.ndarray")
    return _NumpyArray()


# ----------------------------------------------------------------------------- plain output


class _PlainConverter:
    """Stand-ins -> plain Python (dicts, lists, tuples, sets, scalars, arrays).

    Shared objects are converted once (a pickle can reference one object from
    many places, so a naive walk could take exponential time), cycles and
    absurd nesting are refused, and the module walk has a visit budget.
    """

    def __init__(self):
        self._done = {}
        self._in_progress = set()
        self._module_visits = 0

    def plain(self, value, depth=0):
        if depth > _MAX_DEPTH:
            raise OfficialPickleError("the pickle nests deeper than an official network pickle")
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
        out["init_args"] = list(self.plain(state.get("_init_args", ()), depth + 1) or ())
        out["init_kwargs"] = dict(self.plain(state.get("_init_kwargs", {}), depth + 1) or {})
        out["state_dict"] = self._state_dict(record, "", {}, set())
        return out

    def _state_dict(self, record, prefix, out, active):
        """Parameters and persistent buffers under dotted names, like `Module.state_dict()`."""
        if id(record) in active:
            raise OfficialPickleError(f"module {prefix.rstrip('.')!r} contains itself")
        self._module_visits += 1
        if len(active) > _MAX_DEPTH or self._module_visits > _MAX_MODULE_VISITS:
            raise OfficialPickleError("the networks have more (or more deeply nested) modules than official ones")
        active.add(id(record))
        state = _module_state(record)
        skip = state.get("_non_persistent_buffers_set") or set()
        for group in ("_parameters", "_buffers"):
            for name, value in (state.get(group) or {}).items():
                if value is None or (group == "_buffers" and name in skip):
                    continue
                if not isinstance(value, np.ndarray):
                    raise OfficialPickleError(f"{prefix}{name} is a {type(value).__name__}, not a tensor")
                out[f"{prefix}{name}"] = value
        for name, child in (state.get("_modules") or {}).items():
            if child is None:
                continue
            if not isinstance(child, (_PersistentObject, _ModuleRecord)):
                raise OfficialPickleError(f"submodule {prefix}{name} is a {type(child).__name__}, not a module")
            self._state_dict(child, f"{prefix}{name}.", out, active)
        active.discard(id(record))
        return out


def _module_state(record):
    state = record.state if isinstance(record, _PersistentObject) else (record.state or {})
    if not isinstance(state, dict):
        raise OfficialPickleError(f"a module's state is a {type(state).__name__}, not a dict")
    return state


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


def load_official_pickle(path_or_file):
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

    Args:
        path_or_file: str, `os.PathLike` or a binary file object. An official
            `network-snapshot-*.pkl` (or any pickle of the same kind).

    Returns:
        A dict with the pickle's top-level keys. Every network (`G`,
        `G_ema`, `D`, `augment_pipe`, ...) becomes a dict with
        `class_name` (str), `module_src_sha256` (str, or None for a plain
        module), `init_args` (list), `init_kwargs` (plain dicts; `EasyDict`s
        become dicts) and `state_dict` (official dotted name -> NumPy array,
        parameters and persistent buffers, as `Module.state_dict()` lists
        them). Other entries (`training_set_kwargs`, ...) become plain data.

    Raises:
        UnsafePickleError: (a `ValueError`) the pickle names a global or a
            persistent id outside the allow-list, e.g. `os.system`.
        OfficialPickleError: (a `ValueError`) the file is not a pickle, is
            truncated, or its tensors or networks are malformed.
        ValueError: the file does not exist.

    Example:
    ```python
    data = load_official_pickle("network-snapshot-025000.pkl")
    g = data["G_ema"]
    g["class_name"], g["init_kwargs"]["img_resolution"]
    g["state_dict"]["mapping.fc0.weight"].shape
    ```
    """
    source = _describe(path_or_file)
    data = _read_bytes(path_or_file)
    _check_header(data, source)
    unpickler = _OfficialUnpickler(io.BytesIO(data), source)
    try:
        loaded = unpickler.load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError) as exc:
        raise OfficialPickleError(f"{source} is truncated or corrupt: {exc}") from None
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, struct.error, RecursionError) as exc:
        raise OfficialPickleError(f"{source} is not a readable official network pickle: {exc}") from None
    if not isinstance(loaded, dict):
        raise OfficialPickleError(
            f"{source} holds a {type(loaded).__name__}, not the dict of an official network pickle"
        )
    try:
        return _PlainConverter().plain(loaded)
    except OfficialPickleError as exc:
        raise OfficialPickleError(f"{source}: {exc}") from None
    except RecursionError:
        raise OfficialPickleError(f"{source} nests deeper than an official network pickle") from None
    except (TypeError, AttributeError) as exc:
        raise OfficialPickleError(f"{source} is not a readable official network pickle: {exc}") from None

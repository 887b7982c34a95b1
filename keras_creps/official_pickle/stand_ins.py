"""The stand-ins the allow-listed globals of an official pickle resolve to.

Each records what the file says (storages, tensors, persistent networks,
plain modules, NumPy scalars and arrays) without importing or running
anything named in it.
"""

import hashlib
import math

import numpy as np

from keras_creps.official_pickle.limits import OfficialPickleError
from keras_creps.official_pickle.limits import UnsafePickleError
from keras_creps.official_pickle.limits import _MAX_DIMS
from keras_creps.official_pickle.limits import _MAX_GLOBAL_NAME
from keras_creps.official_pickle.limits import _MAX_VIEW_ELEMENTS
from keras_creps.official_pickle.summary import _clip
from keras_creps.official_pickle.summary import short_repr
from keras_creps.official_pickle.torch_format import _NUMPY_CODES
from keras_creps.official_pickle.torch_format import _STORAGE_DTYPES


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
            raise OfficialPickleError(f"unsupported persistent object type {short_repr(meta.get('type'))} (only 'class')")
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
            raise UnsafePickleError(f"refusing NumPy dtype {short_repr(code)}: only plain numeric dtypes are supported")
        self.code = code
        self.byteorder = "="

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2 or any(v is not None for v in state[2:5]):
            raise OfficialPickleError(f"unsupported NumPy dtype state {short_repr(state)}")
        if not isinstance(state[1], str) or state[1] not in ("<", ">", "=", "|"):
            raise OfficialPickleError(f"unsupported NumPy byte order {short_repr(state[1])}")
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
            f"{what} must be a tuple of at most {_MAX_DIMS} non-negative 64-bit integers. Received: {short_repr(value)}"
        )
    return tuple(value)


# ----------------------------------------------------------------------------- tensors


def _strided_copy(storage, offset, size, stride, budget):
    """Copies the view `(offset, size, stride)` (in elements) out of `storage`."""
    if type(offset) is not int or not 0 <= offset < 1 << 63:
        raise OfficialPickleError(f"bad tensor storage offset {short_repr(offset)}")
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

"""The restricted unpicklers: the outer official pickle and the legacy storage streams inside it."""

import io
import pickle
import struct

import numpy as np

from keras_creps.official_pickle.limits import OfficialPickleError
from keras_creps.official_pickle.limits import UnsafePickleError
from keras_creps.official_pickle.limits import _ENTRY_BYTES
from keras_creps.official_pickle.limits import _exception_text
from keras_creps.official_pickle.opcode_scan import _load_checked
from keras_creps.official_pickle.stand_ins import _EasyDict
from keras_creps.official_pickle.stand_ins import _ModuleRecord
from keras_creps.official_pickle.stand_ins import _NumpyArray
from keras_creps.official_pickle.stand_ins import _NumpyArrayType
from keras_creps.official_pickle.stand_ins import _NumpyDtype
from keras_creps.official_pickle.stand_ins import _OrderedDict
from keras_creps.official_pickle.stand_ins import _PersistentObject
from keras_creps.official_pickle.stand_ins import _Sealed
from keras_creps.official_pickle.stand_ins import _Storage
from keras_creps.official_pickle.stand_ins import _StorageType
from keras_creps.official_pickle.stand_ins import _check_global_name
from keras_creps.official_pickle.stand_ins import _check_hooks
from keras_creps.official_pickle.stand_ins import _strided_copy
from keras_creps.official_pickle.summary import _clip
from keras_creps.official_pickle.summary import short_repr
from keras_creps.official_pickle.torch_format import _IDENTIFIER
from keras_creps.official_pickle.torch_format import _PY2_MODULES
from keras_creps.official_pickle.torch_format import _STORAGE_DTYPES
from keras_creps.official_pickle.torch_format import _TORCH_CONTAINERS
from keras_creps.official_pickle.torch_format import _TORCH_MAGIC_NUMBER
from keras_creps.official_pickle.torch_format import _TORCH_PROTOCOL_VERSION


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
        raise UnsafePickleError(f"refusing persistent id {short_repr(pid)} in {self._source}")


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
            raise UnsafePickleError(f"refusing persistent id {short_repr(pid)} in a storage of {self._source}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, _StorageType) or type(numel) is not int or not 0 <= numel < 1 << 63:
            raise OfficialPickleError(f"bad storage id {short_repr(pid)} in {self._source}")
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
            raise OfficialPickleError(f"bad storage view ({short_repr(offset)}, {short_repr(numel)})")
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
            f"a storage in {source} has magic number {short_repr(magic)} / version {short_repr(version)}, not torch's"
        )
    little_endian = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
    unpickler = _StorageUnpickler(stream, source, budget)
    result = load(unpickler)
    keys = load(_NothingUnpickler(stream, source, budget))
    if isinstance(keys, list):
        budget.hash_items(keys)
    if not isinstance(keys, list) or len(set(keys)) != len(keys) or set(keys) != set(unpickler.storages):
        raise OfficialPickleError(
            f"a storage in {source} lists storages {short_repr(keys)}, "
            f"but its pickle uses {short_repr(list(unpickler.storages))}"
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
            f"refusing persistent id {short_repr(pid)} in {self._source}: official network pickles have none"
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
            raise UnsafePickleError(f"refusing _codecs.encode({type(text).__name__}, {short_repr(encoding)})")
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

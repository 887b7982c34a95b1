"""Writes pickles in the official CREPS snapshot format, without torch (tests only).

An official `network-snapshot-*.pkl` is a plain `pickle.dump` of a dict whose
networks are `torch_utils.persistence` objects: each reduces to
`_reconstruct_persistent_obj(meta)` with `meta = dict(type="class",
version=6, module_src=..., class_name=..., state=<module __dict__>)`.
Tensors reduce to `torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, requires_grad, OrderedDict())`, parameters to
`torch._utils._rebuild_parameter(tensor, requires_grad, OrderedDict())`,
and storages to `torch.storage._load_from_bytes(<legacy torch.save bytes>)`.
Plain modules (torch containers, non-persistent `training.*` classes) are
pickled by reference and rebuilt with NEWOBJ + BUILD.

`Global` names a global without importing it; `OfficialPickler` writes it as a
GLOBAL opcode. Nothing here imports torch or the official code.
"""

import collections
import io
import pickle
import struct
from typing import ClassVar

import numpy as np

TORCH_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
TORCH_PROTOCOL_VERSION = 1001
PERSISTENCE_VERSION = 6

STORAGE_NAMES = {
    "float32": "FloatStorage",
    "float64": "DoubleStorage",
    "float16": "HalfStorage",
    "int64": "LongStorage",
    "int32": "IntStorage",
    "int16": "ShortStorage",
    "int8": "CharStorage",
    "uint8": "ByteStorage",
    "bool": "BoolStorage",
}

# A stand-in for the embedded module source (never run by anybody).
FAKE_MODULE_SRC = "# module source embedded by torch_utils.persistence\nclass Generator:\n    pass\n"


class Global:
    """A reference to `module.name`, written as a GLOBAL opcode and never imported."""

    def __init__(self, module, name):
        self.module, self.name = module, name


class Reduce:
    """`func(*args)` in the pickle; `func` is usually a `Global`."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, tuple(args), state


class NewObj:
    """`cls.__new__(cls)` then BUILD `state` (how plain objects are pickled)."""

    def __init__(self, cls, state=None, items=None):
        self.cls, self.state, self.items = cls, state, items


class OfficialPickler(pickle._Pickler):
    """The pure-Python pickler, taught to write `Global`, `Reduce` and `NewObj`."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol, persistent_ids=None):
        super().__init__(file, protocol=protocol)
        self._persistent_ids = persistent_ids or {}

    def persistent_id(self, obj):
        return self._persistent_ids.get(id(obj))

    def save_global_ref(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    def save_reduce_obj(self, obj):
        self.save(obj.func)
        self.save(obj.args)
        self.write(pickle.REDUCE)
        self.memoize(obj)
        if obj.state is not None:
            self.save(obj.state)
            self.write(pickle.BUILD)

    def save_newobj(self, obj):
        self.save(obj.cls)
        self.save(())
        self.write(pickle.NEWOBJ)
        self.memoize(obj)
        if obj.items:
            self._batch_setitems(iter(obj.items.items()))
        if obj.state is not None:
            self.save(obj.state)
            self.write(pickle.BUILD)

    dispatch[Global] = save_global_ref
    dispatch[Reduce] = save_reduce_obj
    dispatch[NewObj] = save_newobj


def dumps(obj, protocol=4, persistent_ids=None):
    buffer = io.BytesIO()
    OfficialPickler(buffer, protocol, persistent_ids).dump(obj)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- storages and tensors


def legacy_storage_bytes(flat, storage_name=None, key="140000000000001", little_endian=True):
    """The legacy `torch.save` stream of one storage holding the 1-D array `flat`."""
    flat = np.ascontiguousarray(flat).reshape(-1)
    storage_name = storage_name or STORAGE_NAMES[flat.dtype.name]
    storage = object()
    pid = ("storage", Global("torch", storage_name), key, "cpu", flat.size, None)
    sys_info = {"protocol_version": TORCH_PROTOCOL_VERSION, "little_endian": little_endian,
                "type_sizes": {"short": 2, "int": 4, "long": 4}}
    order = "<" if little_endian else ">"
    parts = [
        pickle.dumps(TORCH_MAGIC_NUMBER, protocol=2),
        pickle.dumps(TORCH_PROTOCOL_VERSION, protocol=2),
        pickle.dumps(sys_info, protocol=2),
        dumps(storage, protocol=2, persistent_ids={id(storage): pid}),
        pickle.dumps([key], protocol=2),
        struct.pack(order + "q", flat.size),
        flat.astype(flat.dtype.newbyteorder(order)).tobytes(),
    ]
    return b"".join(parts)


def storage(flat, **kwargs):
    return Reduce(Global("torch.storage", "_load_from_bytes"), (legacy_storage_bytes(flat, **kwargs),))


def tensor(array, layout="contiguous", requires_grad=False):
    """A `_rebuild_tensor_v2` reduce for `array`.

    layout: "contiguous"; "fortran" (storage holds the transpose, strides
    reversed); "offset" (the data sits after 5 junk elements of a larger
    storage); "strided" (every other element of a storage twice as long).
    """
    array = np.asarray(array)
    shape = array.shape
    c_strides = [int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape))]
    offset = 0
    if layout == "contiguous" or array.ndim == 0:
        flat = array.reshape(-1)
        strides = c_strides
    elif layout == "fortran":
        flat = np.asfortranarray(array).reshape(-1, order="F")
        strides = [int(np.prod(shape[:i], dtype=np.int64)) for i in range(len(shape))]
    elif layout == "offset":
        offset = 5
        flat = np.concatenate([np.full(5, 7, array.dtype), array.reshape(-1), np.full(3, 9, array.dtype)])
        strides = c_strides
    elif layout == "strided":
        flat = np.zeros(array.size * 2, array.dtype)
        flat[::2] = array.reshape(-1)
        strides = [2 * s for s in c_strides]
    else:
        raise ValueError(layout)
    args = (storage(flat), offset, tuple(shape), tuple(strides), requires_grad, collections.OrderedDict())
    return Reduce(Global("torch._utils", "_rebuild_tensor_v2"), args)


def parameter(array, layout="contiguous"):
    return Reduce(Global("torch._utils", "_rebuild_parameter"),
                  (tensor(array, layout, requires_grad=True), True, collections.OrderedDict()))


# ----------------------------------------------------------------------------- modules


def easydict(values):
    return NewObj(Global("dnnlib.util", "EasyDict"), items={k: _easy(v) for k, v in values.items()})


def _easy(value):
    return easydict(value) if isinstance(value, dict) else value


def module_state(parameters=(), buffers=(), modules=(), extra=None):
    """A `torch.nn.Module.__dict__` like torch 2.x pickles it."""
    state = {"training": False}
    for name in ("_backward_pre_hooks", "_backward_hooks", "_forward_hooks", "_forward_hooks_with_kwargs",
                 "_forward_hooks_always_called", "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs",
                 "_state_dict_hooks", "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
                 "_load_state_dict_post_hooks"):
        state[name] = collections.OrderedDict()
    state["_parameters"] = collections.OrderedDict(parameters)
    state["_buffers"] = collections.OrderedDict(buffers)
    state["_non_persistent_buffers_set"] = set()
    state["_modules"] = collections.OrderedDict(modules)
    state["_is_full_backward_hook"] = None
    state.update(extra or {})
    return state


def persistent(class_name, state, init_kwargs=None, module_src=FAKE_MODULE_SRC):
    """A `torch_utils.persistence` object: `_reconstruct_persistent_obj(meta)`."""
    state = dict(state)
    state["_init_args"] = ()
    state["_init_kwargs"] = _easy(dict(init_kwargs or {}))
    meta = {"type": "class", "version": PERSISTENCE_VERSION, "module_src": module_src,
            "class_name": class_name, "state": state}
    return Reduce(Global("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))


def plain_module(module, name, state):
    return NewObj(Global(module, name), state=state)


def _class_for(path):
    """Official class of the module at dotted `path` (names only matter for realism)."""
    last = path.rsplit(".", 1)[-1]
    if last == "input":
        return "plain", "training.networks_creps", "SynthesisInput"
    if last.startswith("decoder_") and last != "decoder_img":
        return "plain", "torch.nn.modules.container", "Sequential"
    if last in ("mapping",):
        return "persistent", None, "MappingNetwork"
    if last in ("synthesis",):
        return "persistent", None, "SynthesisNetwork"
    if last.startswith("b") and last[1:].isdigit():
        return "persistent", None, "SynthesisBlock"
    if last.startswith("block"):
        return "persistent", None, "SynthesisBlock"
    if last in ("fc0", "fc1"):
        return "persistent", None, "SynthesisLayer"
    if last == "tores":
        return "persistent", None, "ToResLayer"
    return "persistent", None, "FullyConnectedLayer"


def network(class_name, state_dict, init_kwargs, buffer_names=("w_avg", "freqs", "coords", "resample_filter"),
            layouts=None):
    """A persistent network whose `state_dict()` is `state_dict` (name -> array)."""
    layouts = layouts or {}
    tree = {}
    for name, value in state_dict.items():
        *path, leaf = name.split(".")
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = np.asarray(value)

    def build(node, path):
        params, buffers, modules = [], [], []
        for key, value in node.items():
            full = f"{path}.{key}" if path else key
            if isinstance(value, dict):
                modules.append((key, build(value, full)))
            elif key in buffer_names:
                buffers.append((key, tensor(value, layouts.get(full, "contiguous"))))
            else:
                params.append((key, parameter(value, layouts.get(full, "contiguous"))))
        # Official layers keep numpy float64 gains as attributes.
        state = module_state(params, buffers, modules, extra={"weight_gain": np.float64(0.125)})
        if not path:
            return state
        kind, module, name = _class_for(path)
        if kind == "plain":
            return plain_module(module, name, state)
        return persistent(name, state)

    return persistent(class_name, build(tree, ""), init_kwargs)


def snapshot(networks, training_set_kwargs=None, augment_pipe=None):
    """The dict the official training loop pickles."""
    data = dict(networks)
    data["augment_pipe"] = augment_pipe
    data["training_set_kwargs"] = training_set_kwargs
    return data


def write(path, obj, protocol=4):
    with open(path, "wb") as f:
        f.write(dumps(obj, protocol=protocol))


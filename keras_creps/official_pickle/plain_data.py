"""Turns the unpickled stand-ins into plain Python data and per-network state dicts."""


import numpy as np

from keras_creps.official_pickle.limits import OfficialPickleError
from keras_creps.official_pickle.limits import _ENTRY_BYTES
from keras_creps.official_pickle.limits import _LimitError
from keras_creps.official_pickle.limits import _MAX_DEPTH
from keras_creps.official_pickle.limits import _MAX_MODULE_VISITS
from keras_creps.official_pickle.stand_ins import _ModuleRecord
from keras_creps.official_pickle.stand_ins import _NumpyArray
from keras_creps.official_pickle.stand_ins import _NumpyDtype
from keras_creps.official_pickle.stand_ins import _PersistentObject
from keras_creps.official_pickle.summary import _clip


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

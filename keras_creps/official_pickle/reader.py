"""`load_official_pickle`: read a file, check its header, unpickle within budgets, convert."""

import io
import os
import pickle
import struct

from keras_creps.official_pickle.limits import OfficialPickleError
from keras_creps.official_pickle.limits import UnsafePickleError
from keras_creps.official_pickle.limits import _Budget
from keras_creps.official_pickle.limits import _FILE_SIZE_MULTIPLE
from keras_creps.official_pickle.limits import _LARGEST_OFFICIAL_BYTES
from keras_creps.official_pickle.limits import _LimitError
from keras_creps.official_pickle.limits import _describe
from keras_creps.official_pickle.limits import _exception_text
from keras_creps.official_pickle.opcode_scan import _load_checked
from keras_creps.official_pickle.plain_data import _PlainConverter
from keras_creps.official_pickle.unpicklers import _OfficialUnpickler


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

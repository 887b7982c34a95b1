"""What the legacy `torch.save` streams and official pickles contain: constants of the format."""

import re

import numpy as np

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

"""Argument checks used across the package; each error names the received value."""

import math


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def non_negative_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={value!r}")
    return value


def positive_float(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")
    return float(value)


def number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    return float(value)


def finite_float(name, value):
    """A real number that is neither NaN nor infinite (`float('nan') > 0` is False,
    so range checks alone let NaN through and render black images)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number. Received: {name}={value!r}")
    return float(value)


def power_of_two(name, value, minimum=4):
    """An integer power of two, at least `minimum` (resolutions of the networks and datasets)."""
    if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
            or value & (value - 1)):
        raise ValueError(
            f"`{name}` must be a power of two >= {minimum}. Received: {name}={value!r}")
    return value


def boolean(name, value):
    """`True` or `False` only: a string such as `"no"` is truthy and would switch a setting on."""
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return value


JIT_COMPILE_FLAGS = {"auto": "auto", "true": True, "false": False}


def jit_compile_setting(flag):
    """A recipe's `--jit_compile auto|true|false` as `make_generate_function(jit_compile=...)` takes it."""
    if flag not in JIT_COMPILE_FLAGS:
        raise ValueError(f"`--jit_compile` must be one of {list(JIT_COMPILE_FLAGS)}. Received: jit_compile={flag!r}")
    return JIT_COMPILE_FLAGS[flag]

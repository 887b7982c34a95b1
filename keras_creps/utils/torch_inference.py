"""Inference functions of a Keras model on PyTorch, eager or through `torch.compile`.

`torch.compile` checks, before every call of a compiled function, that the
Python state its tracing read is unchanged ("guards"). A Keras layer's call
reads a lot of such state (its attributes, its sub-layers', Keras' global
settings and tree utilities), so the rendering parts of a 256^2 generator
carried ~11,000 guards per compiled function. Measured on this project's
2-core CPU (creps_256_b1, bfloat16, 2026-12-05, renders with and without
guard evaluation alternating in one process, median difference of 40
pairs): the guards cost 5.8 ms of a 0.136 s render (1 line-network call and
4 band calls, ~1.2 ms each). Keeping only the guards listed below left 321
of ~50,000 guard entries and -0.4 to 0.7 ms (two runs; noise).

The guards kept are those that can change between calls of one inference
function: every tensor's (arguments and weights: dtype, shape, device), the
function's own arguments (types, list lengths, values of plain Python
arguments), its closure's plain values (precision, truncation settings)
and PyTorch's global state (grad mode, default device, ...). Dropped: guards
on the attributes of the Keras layers the function closes over and on
module globals. That assumes what holds for an inference function made from
a built model: its layers' configuration and Keras' settings stay as they
were when it was traced; weights may change (Keras assigns in place, and
tensors are read at every call).

Dropping the layer guards would let a compiled graph be reused for another
model of the same weight shapes whose Python settings differ, since
`torch.compile` keeps compiled graphs per code object and closures share
their function's code. Each compiled function therefore gets a code object
of its own, and a function made again with the same code, the same layers
and equal plain values reuses the earlier compiled one (re-making a
generate function costs no second compile).
"""

import re

import keras
import numpy as np

from keras_creps.utils.torch_compile import compile_separately

# Attribute of the owner holding its compiled functions. Set through
# `__dict__`: Keras and PyTorch track what `setattr` stores on a layer, and a
# cache held elsewhere would keep the owner alive through the closures.
_CACHE_ATTRIBUTE = "_torch_inference_functions"


def _closure_values(fn):
    cells = fn.__closure__ or ()
    return dict(zip(fn.__code__.co_freevars, (cell.cell_contents for cell in cells)))


def _is_module(value):
    import torch

    return isinstance(value, (keras.layers.Layer, torch.nn.Module))


def guard_filter(layer_names):
    """A `guard_filter_fn` for `torch.compile` that drops guards on layers' attributes and on globals.

    Args:
        layer_names: names of the compiled function's closure variables
            that hold Keras layers or PyTorch modules.

    Returns:
        A function of the guard entries returning one keep flag per entry:
        tensor guards are kept, guards on module globals or on anything
        reached through one of `layer_names` are dropped, the rest (the
        arguments, plain closure values, PyTorch's global state) kept.
    """
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(layer_names))) + r")\b") if layer_names else None

    def keep(entry):
        if entry.guard_type == "TENSOR_MATCH":
            return True
        if entry.is_global or entry.name.startswith("G["):
            return False
        return pattern is None or not pattern.search(entry.name)

    return lambda entries: [keep(entry) for entry in entries]


def _compile_once(fn, owner):
    """`torch.compile(fn)` with its own code object and the guard filter, reused for equal closures.

    Returns:
        `(run, reused)`: the compiled function, and whether it was made
        (and so traced) for an earlier equal closure.
    """
    values = _closure_values(fn)
    layers = {name for name, value in values.items() if _is_module(value)}
    try:
        key = (fn.__code__,) + tuple((name, id(v) if name in layers else v) for name, v in values.items())
        hash(key)
    except TypeError:  # an unhashable closure value: no reuse
        key = None
    cache = owner.__dict__.setdefault(_CACHE_ATTRIBUTE, {}) if owner is not None else {}
    if key is not None and key in cache:
        return cache[key], True
    # Static shapes: tiles are padded to one shape, so each output size compiles once.
    run = compile_separately(fn, dynamic=False, options={"guard_filter_fn": guard_filter(layers)})
    if key is not None:
        cache[key] = run
    return run, False


def inference_function(fn, compiled, owner=None, settle_args=None):
    """`fn` run under `torch.inference_mode()`, eagerly or compiled.

    Args:
        fn: the function, usually a closure over a built model's layers.
        compiled: bool. Whether to run it through `torch.compile` (see the
            module for the guards it keeps).
        owner: the model `fn` belongs to, or None. Compiled functions are
            reused per owner for closures of the same code over the same
            layers and equal plain values.
        settle_args: None, or a function of the first call's arguments
            returning smaller ones of the same structure for the eager call
            that precedes compiling (see below); it must keep every
            shape-dependent choice in `fn` as the real arguments make it.
            None runs that call on the real arguments.

    Returns:
        A function of the same arguments; NumPy arrays among them become
        tensors before the call.

    Example:
    ```python
    layer = EqualizedDense(8)
    layer.build((None, 4))
    run = inference_function(lambda x: layer(x), compiled=False)
    y = run(np.ones((2, 4), "float32"))  # [2, 8]
    ```
    """
    import torch

    run, reused = _compile_once(fn, owner) if compiled else (fn, False)
    # Layers change Python state on their first call (Keras records each
    # layer's name-scope parent; `fused_bias_act` defines its autograd
    # Function, `matmul_precision` its thread-local). Traced on that first
    # call, the graph is guarded on the state before it, so the second call
    # compiled everything again, and the class definition split the graph
    # in pieces. One eager call first settles that state: creps_256_b1,
    # first call 68.6 + second 18.8 s -> 57.3 + 0.66 s, no graph break.
    # A reused compiled function was traced after such a call already.
    # That eager call materialises every intermediate, so at full size it set
    # the process's peak memory: creps_256_b1 bfloat16, 16384-pixel tiles,
    # first call 408 MB above the imports, later calls 387; 65536-pixel
    # tiles 610 against 432 (2026-12-05). Callers pass `settle_args` to run
    # it on a few pixels.
    settled = not compiled or reused

    def no_grad(*args):
        nonlocal settled
        with torch.inference_mode():
            # Tensors made here, not inside: a compiled graph's guards reject NumPy converted in it.
            args = keras.tree.map_structure(
                lambda a: keras.ops.convert_to_tensor(a) if isinstance(a, np.ndarray) else a, args)
            if not settled:
                fn(*(args if settle_args is None else settle_args(*args)))
                settled = True
            return run(*args)

    return no_grad

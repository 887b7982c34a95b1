"""`compile_separately`: `torch.compile` of a function whose compiled graphs are its own."""

import types


def compile_separately(fn, **options):
    """`torch.compile(fn, **options)` on a copy of `fn` with a code object of its own.

    `torch.compile` keeps compiled graphs, and counts recompilations against
    its limit (8 by default), per code object, and every closure made by one
    factory function shares its code. Two closures compiled as they are would
    find each other's graphs (valid only if the guards on the closure values
    tell them apart) and share one recompile limit, beyond which PyTorch
    silently runs the function uncompiled. A copy of the code object keeps
    each compiled function's graphs apart.

    Args:
        fn: a Python function (usually a closure).
        **options: `torch.compile`'s keyword arguments.

    Returns:
        The compiled function.

    Example:
    ```python
    def scaled(factor):
        return compile_separately(lambda x: x * factor, dynamic=True)

    double, triple = scaled(2.0), scaled(3.0)  # two graphs, two limits
    ```
    """
    import torch

    own = types.FunctionType(fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    return torch.compile(own, **options)

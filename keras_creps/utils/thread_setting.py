"""`ThreadSetting`: a value that a `with` block sets for its own thread and restores on exit.

The generator's precision and code-path scopes (`matmul_precision`,
`modulate_inputs`, `compiled_bias_act`) are all this: a setting read by a
layer's `call` while it runs its Python code (at trace time under
`tf.function`, `jax.jit` or `torch.compile`), so that a traced program fixes
it. Each thread has its own value: a data-loading or serving thread must not
see, say, a training step's bfloat16 products because the step happened to
be traced at the same time.
"""

import contextlib
import threading

__all__ = ["ThreadSetting"]


class ThreadSetting:
    """A per-thread setting with a default, changed only for the span of a `with` block.

    Args:
        default: the value every thread sees outside any block.
        check: callable `value -> value` run when a block is opened; it
            raises `ValueError` naming a bad value and may normalise a good
            one (e.g. `"float32"` to `None`).

    Example:
    ```python
    precision = ThreadSetting(None, check=lambda v: None if v == "float32" else v)
    with precision.scope("bfloat16"):
        assert precision.value() == "bfloat16"
    assert precision.value() is None
    ```
    """

    def __init__(self, default, check):
        self._default = default
        self._check = check
        self._local = threading.local()

    def value(self):
        """This thread's current value."""
        return getattr(self._local, "value", self._default)

    def scope(self, value):
        """A context manager holding `value` (checked now, before the block) in this thread."""
        return self._scope(self._check(value))

    @contextlib.contextmanager
    def _scope(self, value):
        previous = self.value()
        self._local.value = value
        try:
            yield
        finally:
            # Restored even when the block raises, and to the enclosing
            # block's value (not the default), so scopes nest.
            self._local.value = previous

"""`configure_rendering_runtime`: the process-wide settings for rendering on a CPU, in one call.

Three settings made rendering smaller or faster here; each has its own
module with the measurement that decided it:

- `keep_freed_memory` (`allocator.py`): glibc reuses the large blocks a
  render frees instead of unmapping and zeroing them again (PyTorch's
  512^2 render 2.8-3.2 -> 1.9 s; JAX's 256^2 bfloat16 one 0.23 -> 0.20 s);
- `one_malloc_arena_on_jax` (`allocator.py`): every JAX thread allocates
  from one heap, so a tile buffer is not kept once per thread;
- `use_rendering_xla_flags` (`xla_cpu.py`): XLA's loop emitters on
  TensorFlow, 30-95 MB less working memory at the same speed.

The first two are `heap_for_rendering` (`allocator.py`). All change the
whole process and must come before the backend starts its threads or
compiles a render, so the library never makes them on its own: a rendering
script or notebook calls this first; `recipes/generate.py`,
`recipes/calc_metrics.py` and the rendering benchmark do, which keeps the
benchmark timing what the recipes run. The returned record says which settings were made.

Example:
```python
from keras_creps.utils.rendering_runtime import configure_rendering_runtime

made = configure_rendering_runtime()  # first thing, before any op runs
# On TensorFlow: {"keep_freed_memory": True, "one_malloc_arena": False, "rendering_xla_flags": True}
```
"""

from keras_creps.utils.allocator import heap_for_rendering
from keras_creps.utils.arguments import boolean
from keras_creps.utils.xla_cpu import use_rendering_xla_flags

__all__ = ["configure_rendering_runtime"]


def configure_rendering_runtime(keep_freed=True, one_arena=True, xla_flags=True):
    """Makes the CPU rendering settings that apply to this process and says which were made.

    Args:
        keep_freed: bool. Allow `keep_freed_memory` (glibc).
            `False` leaves malloc as it is.
        one_arena: bool. Allow `one_malloc_arena_on_jax`.
        xla_flags: bool. Allow `use_rendering_xla_flags` (TensorFlow).

    Returns:
        A dict of bools, `True` where the setting was made:
        `keep_freed_memory`, `one_malloc_arena`, `rendering_xla_flags`.

    Raises:
        ValueError: if an argument is not a bool.

    Example:
    ```python
    made = configure_rendering_runtime(xla_flags=False)  # an A/B run with XLA's fusion emitters
    assert not made["rendering_xla_flags"]
    ```
    """
    boolean("keep_freed", keep_freed)
    boolean("one_arena", one_arena)
    boolean("xla_flags", xla_flags)
    made = heap_for_rendering(keep_freed=keep_freed, one_arena=one_arena)
    made["rendering_xla_flags"] = xla_flags and use_rendering_xla_flags()
    return made

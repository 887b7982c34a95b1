"""`configure_training_runtime`: the process-wide settings for training on a CPU, in one call.

Four settings made CPU training faster or smaller here; each has its own
module with the measurement that decided it:

- `keep_freed_memory` (`allocator.py`): glibc reuses the large blocks a
  step frees instead of unmapping and zeroing them again (every backend);
- `use_training_xla_flags` (`xla_cpu.py`): XLA:CPU's YNNPACK convolutions
  on JAX, faster and in less memory;
- `run_ops_in_turn` (`tf_threads.py`): one TensorFlow graph op at a time,
  so the discriminator's and generator's buffers are not live together;
- `skip_constant_folding` (`tf_constant_folding.py`): no Grappler constant
  folding on TensorFlow, ~300 MB less at the training peak.

All four change the whole process and must come before the runtime starts
(threads, XLA flags) or before the train step compiles, so the library
never makes them on its own. A training script or notebook calls this
first; `recipes/train.py` and the training benchmark both do, which keeps
the benchmark timing what the recipe runs. Each setting leaves alone what
the user already chose and where it does not apply (another backend, a
GPU), and the returned record says which were made.

Example:
```python
from keras_creps.utils.training_runtime import configure_training_runtime

made = configure_training_runtime()  # first thing, before any op runs
# On TensorFlow and a CPU: {"keep_freed_memory": True, "training_xla_flags": False,
#                           "ops_in_turn": True, "constant_folding_off": True}
```
"""

from keras_creps.utils.allocator import keep_freed_memory
from keras_creps.utils.arguments import boolean
from keras_creps.utils.tf_constant_folding import skip_constant_folding
from keras_creps.utils.tf_threads import run_ops_in_turn
from keras_creps.utils.xla_cpu import use_training_xla_flags

__all__ = ["configure_training_runtime"]


def configure_training_runtime(keep_freed=True, constant_folding=False):
    """Makes the CPU training settings that apply to this process and says which were made.

    Args:
        keep_freed: bool. Whether glibc keeps freed memory for reuse
            (`keep_freed_memory`). `False` leaves malloc as it is.
        constant_folding: bool. `True` keeps Grappler's constant folding
            (TensorFlow's default); `False` turns it off on a CPU.

    Returns:
        A dict of bools, `True` where the setting was made:
        `keep_freed_memory`, `training_xla_flags`, `ops_in_turn`,
        `constant_folding_off`.

    Raises:
        ValueError: if an argument is not a bool.

    Example:
    ```python
    made = configure_training_runtime(constant_folding=True)  # an A/B run with folding
    assert not made["constant_folding_off"]
    ```
    """
    boolean("keep_freed", keep_freed)
    boolean("constant_folding", constant_folding)
    return {
        "keep_freed_memory": keep_freed and keep_freed_memory(),
        "training_xla_flags": use_training_xla_flags(),
        "ops_in_turn": run_ops_in_turn(),
        "constant_folding_off": not constant_folding and skip_constant_folding(),
    }

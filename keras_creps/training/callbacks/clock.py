"""The step and image clock every training callback runs on, and the log checks they share.

Callbacks count training in steps and images (kimg), like the StyleGAN
family; `TrainingClock` follows the GAN's counters on the host, so nothing
is read from the device per step.
"""

import math

import keras
import numpy as np

__all__ = ["TrainingClock", "non_finite_terms", "read_counters", "to_float", "variable_value"]


def to_float(value):
    """`value` (a Python, NumPy or backend scalar) as a Python float; None if it is not a number."""
    try:
        return float(np.asarray(keras.ops.convert_to_numpy(value) if not isinstance(value, (int, float)) else value))
    except (TypeError, ValueError):
        return None


def non_finite_terms(logs):
    """Names of the logged values that are NaN or infinite, in log order."""
    bad = []
    for name, value in (logs or {}).items():
        number = to_float(value)
        if number is not None and not math.isfinite(number):
            bad.append(name)
    return bad


class TrainingClock(keras.callbacks.Callback):
    """Base class: follows the GAN's step and image counters on the host.

    Reads `model.step` and `model.seen_images` once at the start of `fit`
    and then counts batches, so that nothing is read from the device per
    step (on JAX, reading a variable mid-epoch would first copy the whole
    training state back into the model). The global batch size is taken
    from `batch_size`, else from the first batch's logged `kimg`.

    Schedules (`every_steps` or `every_kimg`) fire at the batch end where
    the step count reaches a multiple of `every_steps`, or the image count
    crosses a multiple of `every_kimg * 1000`.
    """

    def __init__(self, every_steps=None, every_kimg=None, batch_size=None, required=True):
        super().__init__()
        if every_steps is not None and every_kimg is not None:
            raise ValueError(
                "Pass either `every_steps` or `every_kimg`, not both. "
                f"Received: every_steps={every_steps!r}, every_kimg={every_kimg!r}"
            )
        if required and every_steps is None and every_kimg is None:
            raise ValueError("Pass `every_steps` or `every_kimg`. Received: neither")
        if every_steps is not None and (not isinstance(every_steps, int) or isinstance(every_steps, bool)
                                        or every_steps < 1):
            raise ValueError(f"`every_steps` must be an int >= 1. Received: every_steps={every_steps!r}")
        if every_kimg is not None and (not isinstance(every_kimg, (int, float)) or not every_kimg > 0):
            raise ValueError(f"`every_kimg` must be a number > 0. Received: every_kimg={every_kimg!r}")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"`batch_size` must be an int >= 1. Received: batch_size={batch_size!r}")
        self.every_steps = every_steps
        self.every_kimg = every_kimg
        self.batch_size = batch_size
        self.step = 0
        self.seen_images = 0
        self._start_images = 0
        self._batch = batch_size

    @property
    def kimg(self):
        return self.seen_images / 1000.0

    def _gan(self):
        # `self._model`, not `self.model`: on JAX the property syncs the whole
        # training state into the variables on every access.
        return self._model

    def _sync(self):
        """Makes the model's variables current (JAX keeps them apart mid-epoch)."""
        model = self._model
        if hasattr(model, "jax_state_sync"):
            model.jax_state_sync()
        return model

    def on_train_begin(self, logs=None):
        model = self._sync()
        self.step = int(variable_value(model.step))
        self.seen_images = int(variable_value(model.seen_images))
        self._start_images = self.seen_images
        self._batch = self.batch_size

    def _advance(self, logs):
        """Counts one finished step; returns whether the schedule fires."""
        if self._batch is None:
            kimg = to_float((logs or {}).get("kimg"))
            if kimg is None:
                raise ValueError(
                    f"{type(self).__name__} needs `batch_size` (the logs have no `kimg`). "
                    f"Received: batch_size={self.batch_size!r}"
                )
            self._batch = max(1, round(kimg * 1000) - self._start_images)
        before = self.seen_images
        self.step += 1
        self.seen_images += self._batch
        if self.every_steps is not None:
            return self.step % self.every_steps == 0
        if self.every_kimg is not None:
            interval = self.every_kimg * 1000.0
            return math.floor(self.seen_images / interval) > math.floor(before / interval)
        return False


def variable_value(variable):
    """The value of a Keras variable (or a tensor) as a NumPy array, read once on the host."""
    value = variable.value if hasattr(variable, "value") else variable
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        try:
            return value.numpy()
        except (TypeError, RuntimeError, AttributeError):
            pass
    return keras.ops.convert_to_numpy(value)



def read_counters(model):
    """`(step, seen_images)` of a `CREPSGAN` as Python ints (e.g. of a loaded training state).

    Example:
    ```python
    step, seen_images = read_counters(keras.saving.load_model("training-state-000040.keras"))
    ```
    """
    return int(np.asarray(variable_value(model.step))), int(np.asarray(variable_value(model.seen_images)))

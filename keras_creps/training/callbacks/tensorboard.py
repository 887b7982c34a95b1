"""TensorBoard from every backend: one `tf.summary` writer per directory, and `TensorBoardLogger`.

The values are host-side NumPy, so `tf.summary` writes them whatever the
Keras backend.
"""

import os
import time

from keras_creps.training.callbacks.clock import TrainingClock
from keras_creps.training.callbacks.clock import to_float

__all__ = ["TensorBoardLogger", "summary_writer"]

_WRITERS = {}


def summary_writer(log_dir):
    """One `tf.summary` writer per directory per process (writers are not cheap)."""
    import tensorflow as tf

    key = os.path.abspath(os.fspath(log_dir))
    writer = _WRITERS.get(key)
    if writer is None:
        # Summaries are host-side NumPy; keep them off any distribution strategy.
        with tf.device("/cpu:0"):
            writer = tf.summary.create_file_writer(key)
        _WRITERS[key] = writer
    return writer


class TensorBoardLogger(TrainingClock):
    """Writes the training logs as TensorBoard scalars every `every_steps` steps.

    Each logged value (losses, penalties, scores, `pl_mean`, ...) becomes a
    scalar under `Loss/`, `Scores/` or `Progress/`, at step = images seen
    (so runs with different batch sizes line up), plus `Progress/kimg` and
    `Timing/sec_per_kimg`. Works under every Keras backend: it writes NumPy
    floats with `tf.summary`. Image grids come from `SampleGridCallback`
    with `log_dir`.

    Args:
        log_dir: str. The TensorBoard directory (e.g. the run directory).
        every_steps: int. Defaults to 10.
        batch_size: int or None. Global batch size.

    Example:
    ```python
    gan.fit(dataset, ..., callbacks=[TensorBoardLogger("runs/00000-demo", every_steps=50)])
    # tensorboard --logdir runs
    ```
    """

    def __init__(self, log_dir, every_steps=10, batch_size=None):
        super().__init__(every_steps=every_steps, batch_size=batch_size)
        self.log_dir = os.fspath(log_dir)
        self._last_time = None
        self._last_images = 0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._last_time = time.time()
        self._last_images = self.seen_images

    def on_train_batch_end(self, batch, logs=None):
        if self._advance(logs):
            self.write(logs)

    def write(self, logs):
        import tensorflow as tf

        now = time.time()
        with summary_writer(self.log_dir).as_default():
            for name, value in (logs or {}).items():
                number = to_float(value)
                if number is None:
                    continue
                group = "Scores" if name.startswith(("scores", "signs")) else (
                    "Progress" if name in ("kimg", "pl_mean", "augment_p") else "Loss")
                tf.summary.scalar(f"{group}/{name}", number, step=self.seen_images)
            tf.summary.scalar("Progress/kimg", self.kimg, step=self.seen_images)
            images = self.seen_images - self._last_images
            if images > 0:
                tf.summary.scalar("Timing/sec_per_kimg", (now - self._last_time) / images * 1000,
                                  step=self.seen_images)
        summary_writer(self.log_dir).flush()
        self._last_time, self._last_images = now, self.seen_images

    def on_train_end(self, logs=None):
        summary_writer(self.log_dir).flush()

"""`NonFiniteGuard`: stops training at the first NaN or infinite logged value."""

import sys

from keras_creps.training.callbacks.clock import TrainingClock
from keras_creps.training.callbacks.clock import non_finite_terms

__all__ = ["NonFiniteGuard"]


class NonFiniteGuard(TrainingClock):
    """Stops training at the first step whose logged values are NaN or infinite.

    Sets `model.stop_training` and builds a message naming the terms, the
    step and kimg, and the last good snapshot, e.g. `"r1_penalty went
    non-finite at step 1234 (kimg 39.5); the last good snapshot is
    runs/.../training-state-000036.keras"`. The message is printed to
    `stream` (stderr) and kept in `message`; `triggered` tells whether it
    fired. Put it before `SnapshotCallback` in the callback list.

    Logged values are means over the epoch so far, so a NaN stays visible
    until the epoch ends; the guard fires at the step it first appears.

    Args:
        snapshots: `SnapshotCallback` or None. Where the last good snapshot
            is read from.
        batch_size: int or None. Global batch size (for the kimg shown).
        stream: file object. Defaults to `sys.stderr`.

    Example:
    ```python
    snapshots = SnapshotCallback(run_dir, every_kimg=50, batch_size=32)
    guard = NonFiniteGuard(snapshots=snapshots, batch_size=32)
    gan.fit(dataset, ..., callbacks=[guard, snapshots])
    if guard.triggered:
        raise SystemExit(guard.message)
    ```
    """

    def __init__(self, snapshots=None, batch_size=None, stream=None):
        super().__init__(batch_size=batch_size, required=False)
        self.snapshots = snapshots
        self.stream = stream
        self.message = None
        self.terms = None

    @property
    def triggered(self):
        return self.message is not None

    def on_train_batch_end(self, batch, logs=None):
        self._advance(logs)
        if self.message is not None:
            return
        bad = non_finite_terms(logs)
        if not bad:
            return
        self.terms = bad
        last = getattr(self.snapshots, "last_state_path", None)
        where = f"the last good snapshot is {last}" if last else "no snapshot was written before it"
        self.message = (
            f"{', '.join(bad)} went non-finite at step {self.step} (kimg {self.kimg:.3f}); {where}"
        )
        print(self.message, file=self.stream or sys.stderr, flush=True)
        self._model.stop_training = True

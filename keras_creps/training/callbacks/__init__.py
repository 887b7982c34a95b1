"""Callbacks for long `CREPSGAN` runs: snapshots, sample grids, TensorBoard, progress, NaN guard, metrics.

One file per callback, all on the step and image clock of `clock.py`:

- `snapshot.py`: `SnapshotCallback`, the EMA generator and the training state;
- `sample_grid.py`: `SampleGridCallback`, `fakes<kimg>.png` and `reals.png`;
- `tensorboard.py`: `TensorBoardLogger` and the shared `summary_writer`;
- `progress.py`: `KimgProgress`, progress lines and `stats.jsonl`;
- `guard.py`: `NonFiniteGuard`, stops at the first NaN or Inf;
- `metrics.py`: `MetricsCallback`, quality metrics at every snapshot.

They count training in steps and images (kimg), like the StyleGAN family,
and work on every Keras backend: they read NumPy values only and write files
with the Python standard library, Pillow and (for TensorBoard) `tf.summary`,
which needs nothing but NumPy arrays. The names of the files in a run
directory, and the helpers that list and check them, are in
`keras_creps.utils.run_dir`.

Order matters when they share a `fit` call: put `NonFiniteGuard` before
`SnapshotCallback`, so a step whose losses went NaN stops training before
anything is saved from it (the snapshot callback also checks the logs
itself and never saves after a non-finite value). Put `KimgProgress`
first: it then times a step before the others spend time saving after it,
and prints its tick line before the snapshot is written, as the official
training loop does. Put `MetricsCallback` after `SnapshotCallback`: its
results then name the snapshot they measured.

Files are written atomically (`keras_creps.utils.files.atomic_write`): into
a temporary name in the same directory, then renamed onto the final name,
so a crash mid-write never leaves a partial file under a final name;
`stats.jsonl` grows by one whole line per write.

Example:
```python
run_dir = "runs/00000-creps-faces-64-batch32-gamma10"
snapshots = SnapshotCallback(run_dir, every_kimg=200, batch_size=32, keep_states=3)
callbacks = [
    KimgProgress(total_kimg=25000, every_kimg=4, batch_size=32, stats_path=f"{run_dir}/stats.jsonl"),
    NonFiniteGuard(snapshots=snapshots),
    snapshots,
    SampleGridCallback(run_dir, every_kimg=200, batch_size=32, reals=real_images),
    TensorBoardLogger(run_dir, every_steps=100, batch_size=32),
]
gan.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_tick, callbacks=callbacks, verbose=0)
```
"""

from keras_creps.training.callbacks.clock import TrainingClock
from keras_creps.training.callbacks.clock import non_finite_terms
from keras_creps.training.callbacks.clock import read_counters
from keras_creps.training.callbacks.clock import to_float
from keras_creps.training.callbacks.clock import variable_value
from keras_creps.training.callbacks.guard import NonFiniteGuard
from keras_creps.training.callbacks.metrics import MetricsCallback
from keras_creps.training.callbacks.progress import STATS_NAMES
from keras_creps.training.callbacks.progress import KimgProgress
from keras_creps.training.callbacks.sample_grid import SampleGridCallback
from keras_creps.training.callbacks.snapshot import SnapshotCallback
from keras_creps.training.callbacks.tensorboard import TensorBoardLogger
from keras_creps.training.callbacks.tensorboard import summary_writer

# Names this module had before it became a package; new code imports them
# from `keras_creps.utils.run_dir` and `keras_creps.utils`.
from keras_creps.utils.run_dir import NETWORK_PREFIX
from keras_creps.utils.run_dir import STATE_PREFIX
from keras_creps.utils.run_dir import append_json_line
from keras_creps.utils.run_dir import kimg_tag
from keras_creps.utils.run_dir import latest_training_state
from keras_creps.utils.run_dir import list_training_states
from keras_creps.utils.run_dir import write_json
from keras_creps.utils.files import atomic_write
from keras_creps.utils.images import image_grid

# Private names of the single module, kept for the importers that still use them.
_TrainingClock = TrainingClock
_float = to_float
_summary_writer = summary_writer
_variable_value = variable_value
_write_json = write_json

__all__ = [
    "NETWORK_PREFIX",
    "STATE_PREFIX",
    "STATS_NAMES",
    "KimgProgress",
    "MetricsCallback",
    "NonFiniteGuard",
    "SampleGridCallback",
    "SnapshotCallback",
    "TensorBoardLogger",
    "TrainingClock",
    "append_json_line",
    "atomic_write",
    "image_grid",
    "kimg_tag",
    "latest_training_state",
    "list_training_states",
    "non_finite_terms",
    "read_counters",
    "summary_writer",
    "to_float",
    "variable_value",
    "write_json",
]

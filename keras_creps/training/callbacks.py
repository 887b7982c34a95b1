"""Callbacks for long `CREPSGAN` runs: snapshots, sample grids, TensorBoard, progress, NaN guard.

All of them count training in steps and images (kimg), like the StyleGAN
family, and work on every Keras backend: they read NumPy values only and
write files with the Python standard library, Pillow and (for TensorBoard)
`tf.summary`, which needs nothing but NumPy arrays.

Order matters when they share a `fit` call: put `NonFiniteGuard` before
`SnapshotCallback`, so a step whose losses went NaN stops training before
anything is saved from it (the snapshot callback also checks the logs
itself and never saves after a non-finite value). Put `KimgProgress`
first: it then times a step before the others spend time saving after it,
and prints its tick line before the snapshot is written, as the official
training loop does.

Files are written atomically: into a temporary name in the same directory,
then `os.replace`d onto the final name, so a crash mid-write never leaves a
partial file under a final name; `stats.jsonl` grows by one whole line per
write.

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

import contextlib
import datetime
import json
import math
import os
import re
import sys
import time

import keras
import numpy as np

from keras_creps.utils.durations import format_duration
from keras_creps.utils.files import atomic_write
from keras_creps.utils.images import image_grid
from keras_creps.utils.images import png_bytes
from keras_creps.utils.memory import GIB, current_rss_bytes, describe_memory, peak_rss_bytes

__all__ = [
    "KimgProgress",
    "NonFiniteGuard",
    "SampleGridCallback",
    "SnapshotCallback",
    "TensorBoardLogger",
    "append_json_line",
    "atomic_write",
    "image_grid",
    "latest_training_state",
    "list_training_states",
]

STATE_PREFIX = "training-state-"
NETWORK_PREFIX = "network-snapshot-"
_STATE_PATTERN = re.compile(r"^training-state-(\d{6}(?:\.\d{3})?)\.keras$")


# --------------------------------------------------------------------------- files


def _write_bytes(path, data):
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def _write_json(path, data):
    _write_bytes(path, (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8"))


def kimg_tag(seen_images):
    """The file name tag of a snapshot: `"000012"` at 12000 images, `"000000.032"` at 32.

    Whole kimg give the official six digits; other counts add three decimals,
    so tags sort in training order as strings.
    """
    seen_images = int(seen_images)
    if seen_images % 1000 == 0:
        return f"{seen_images // 1000:06d}"
    return f"{seen_images // 1000:06d}.{seen_images % 1000:03d}"


def list_training_states(run_dir):
    """`[(seen_images, path), ...]` of the training states in `run_dir`, oldest first."""
    run_dir = os.fspath(run_dir)
    found = []
    for name in os.listdir(run_dir):
        match = _STATE_PATTERN.match(name)
        if match:
            whole, _, frac = match.group(1).partition(".")
            found.append((int(whole) * 1000 + int(frac or 0), os.path.join(run_dir, name)))
    return sorted(found)


def latest_training_state(run_dir):
    """The path of the newest `training-state-<kimg>.keras` in `run_dir`.

    Raises:
        ValueError: `run_dir` holds no training state.

    Example:
    ```python
    gan = keras.saving.load_model(latest_training_state("runs/00003-creps-faces-64-batch32-gamma10"))
    ```
    """
    states = list_training_states(run_dir)
    if not states:
        raise ValueError(f"No {STATE_PREFIX}<kimg>.keras in {os.fspath(run_dir)!r}.")
    return states[-1][1]


def _float(value):
    try:
        return float(np.asarray(keras.ops.convert_to_numpy(value) if not isinstance(value, (int, float)) else value))
    except (TypeError, ValueError):
        return None


def non_finite_terms(logs):
    """Names of the logged values that are NaN or infinite, in log order."""
    bad = []
    for name, value in (logs or {}).items():
        number = _float(value)
        if number is not None and not math.isfinite(number):
            bad.append(name)
    return bad


# --------------------------------------------------------------------------- counting


class _TrainingClock(keras.callbacks.Callback):
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
        self.step = int(_variable_value(model.step))
        self.seen_images = int(_variable_value(model.seen_images))
        self._start_images = self.seen_images
        self._batch = self.batch_size

    def _advance(self, logs):
        """Counts one finished step; returns whether the schedule fires."""
        if self._batch is None:
            kimg = _float((logs or {}).get("kimg"))
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


def _variable_value(variable):
    value = variable.value if hasattr(variable, "value") else variable
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        try:
            return value.numpy()
        except (TypeError, RuntimeError, AttributeError):
            pass
    return keras.ops.convert_to_numpy(value)


# --------------------------------------------------------------------------- snapshots


class SnapshotCallback(_TrainingClock):
    """Saves the EMA generator and the full training state on a schedule.

    At each snapshot it writes, atomically, into `run_dir`:

    - `network-snapshot-<kimg>.keras`: the EMA generator alone
      (`gan.generator_ema.save`), loadable with `keras.saving.load_model` or
      `recipes/generate.py --network`; with `generator_format="preset"` a
      preset directory `network-snapshot-<kimg>/` instead
      (`keras_creps.models.presets.save_to_preset`);
    - `training-state-<kimg>.keras`: the whole `CREPSGAN` (`gan.save`): G, D,
      EMA generator, both optimizers, `pl_mean`, `w_avg`, the step and image
      counters and the compile settings. The random draws of a step are a
      function of `(seed, step)`, so `keras.saving.load_model` of this file
      continues training exactly;
    - `training-state-<kimg>.json`: step, kimg, wall time, the file names and
      `info` (e.g. the dataset facts).

    `<kimg>` is `kimg_tag(seen_images)`: six digits of kimg, plus three
    decimals when the count is not a whole kimg. Only the newest
    `keep_states` training states are kept (generators are all kept). No
    snapshot is written once a logged value has been NaN or infinite, so the
    last snapshot is always a good one. One more snapshot is written when
    training ends off-schedule (`at_end=True`).

    Args:
        run_dir: str. The run directory (created if missing).
        every_kimg: float or None. Snapshot whenever the image count crosses
            a multiple of this many thousand images.
        every_steps: int or None. Snapshot every this many steps (instead).
        batch_size: int or None. Global batch size; defaults to the first
            batch's logged `kimg`.
        keep_states: int or None. Keep only this many newest training states
            (None keeps all). Defaults to None.
        save_generator: bool. Write the EMA generator. Defaults to True.
        save_state: bool. Write the training state. Defaults to True.
        generator_format: `"keras"` or `"preset"`. Defaults to `"keras"`.
        at_end: bool. Also snapshot at the end of training. Defaults to True.
        info: dict or None. JSON-serializable facts added to each `.json`.

    Attributes:
        last_state_path: path of the newest training state written (or the
            one resumed from, when set by the caller), else None.
        last_generator_path: path of the newest generator written.
        snapshots: list of the JSON records written.

    Example:
    ```python
    snapshots = SnapshotCallback("runs/00000-demo", every_kimg=50, batch_size=32, keep_states=2)
    gan.fit(dataset, epochs=10, steps_per_epoch=125, callbacks=[snapshots])
    gan = keras.saving.load_model(snapshots.last_state_path)   # continue later
    ```
    """

    def __init__(
        self,
        run_dir,
        every_kimg=None,
        every_steps=None,
        batch_size=None,
        keep_states=None,
        save_generator=True,
        save_state=True,
        generator_format="keras",
        at_end=True,
        info=None,
    ):
        super().__init__(every_steps=every_steps, every_kimg=every_kimg, batch_size=batch_size)
        if keep_states is not None and (not isinstance(keep_states, int) or keep_states < 1):
            raise ValueError(f"`keep_states` must be None or an int >= 1. Received: keep_states={keep_states!r}")
        if generator_format not in ("keras", "preset"):
            raise ValueError(
                f"`generator_format` must be 'keras' or 'preset'. Received: generator_format={generator_format!r}"
            )
        self.run_dir = os.fspath(run_dir)
        self.keep_states = keep_states
        self.save_generator = bool(save_generator)
        self.save_state = bool(save_state)
        self.generator_format = generator_format
        self.at_end = bool(at_end)
        self.info = dict(info or {})
        self.last_state_path = None
        self.last_generator_path = None
        self.snapshots = []
        self._poisoned = None
        self._last_saved_step = None
        self._start_time = time.time()

    @property
    def poisoned(self):
        """The names of the non-finite log values that stopped snapshots, or None."""
        return self._poisoned

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        os.makedirs(self.run_dir, exist_ok=True)
        self._last_saved_step = self.step  # the state we start from is already on disk (or fresh)
        self._start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        due = self._advance(logs)
        bad = non_finite_terms(logs)
        if bad and self._poisoned is None:
            self._poisoned = bad
        if due and self._poisoned is None:
            self.save()

    def on_train_end(self, logs=None):
        if self.at_end and self._poisoned is None and self._last_saved_step != self.step:
            self.save()

    def save(self):
        """Writes a snapshot of the current state now; returns its JSON record."""
        gan = self._sync()
        tag = kimg_tag(self.seen_images)
        record = {
            "step": self.step,
            "seen_images": self.seen_images,
            "kimg": self.kimg,
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seconds_in_this_session": round(time.time() - self._start_time, 3),
            "info": self.info,
        }
        if self.save_generator:
            record["generator"] = self._save_generator(gan, tag)
            self.last_generator_path = os.path.join(self.run_dir, record["generator"])
        if self.save_state:
            name = f"{STATE_PREFIX}{tag}.keras"
            with atomic_write(os.path.join(self.run_dir, name)) as tmp:
                gan.save(tmp)
            record["training_state"] = name
            _write_json(os.path.join(self.run_dir, f"{STATE_PREFIX}{tag}.json"), record)
            self.last_state_path = os.path.join(self.run_dir, name)
            self._prune()
        self._last_saved_step = self.step
        self.snapshots.append(record)
        return record

    def _save_generator(self, gan, tag):
        if self.generator_format == "preset":
            from keras_creps.models.presets import save_to_preset

            name = f"{NETWORK_PREFIX}{tag}"
            metadata = {"kimg": self.kimg, "step": self.step, "description": "EMA generator snapshot"}
            metadata.update({k: v for k, v in self.info.items() if k not in metadata})
            save_to_preset(gan.generator_ema, os.path.join(self.run_dir, name), metadata=metadata)
            return name
        name = f"{NETWORK_PREFIX}{tag}.keras"
        with atomic_write(os.path.join(self.run_dir, name)) as tmp:
            gan.generator_ema.save(tmp)
        return name

    def _prune(self):
        if self.keep_states is None:
            return
        states = list_training_states(self.run_dir)
        for _, path in states[: max(0, len(states) - self.keep_states)]:
            for victim in (path, path[: -len(".keras")] + ".json"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(victim)


# --------------------------------------------------------------------------- samples


def _class_rows(c_dim, columns):
    """One row per class: `columns` one-hot labels of class 0, then class 1, ..."""
    classes = np.repeat(np.arange(c_dim), columns)
    return np.eye(c_dim, dtype=np.float32)[classes]


class SampleGridCallback(_TrainingClock):
    """Writes a grid of EMA-generator samples per snapshot, plus the reals once.

    The latents are drawn once from `seed`, so successive `fakes<kimg>.png`
    show the same samples as training goes on. A conditional generator gets
    one row per class (`columns` samples each, sharing the latents across
    rows); an unconditional one `rows x columns` samples. `reals.png` is a
    grid of `reals` (e.g. the first training images), written at the start
    of training if it does not exist yet. With `log_dir`, the grids also go
    to TensorBoard as images (`fakes`, `reals`), at step = images seen.

    Args:
        run_dir: str. Where the PNG files go.
        every_kimg, every_steps, batch_size: the schedule (see
            `SnapshotCallback`).
        columns: int. Samples per row. Defaults to 8.
        rows: int. Rows of an unconditional grid. Defaults to 4.
        seed: int. Seed of the latents. Defaults to 0.
        truncation_psi: float. Defaults to 1.
        reals: array or None. Real images `[N, H, W, C]`, uint8 or in
            `[-1, 1]`, for `reals.png`.
        at_begin: bool. Also write `fakes<kimg>.png` when training starts
            (the official `fakes_init.png`). Defaults to True.
        at_end: bool. Also write one when training ends off-schedule.
        log_dir: str or None. TensorBoard directory for image summaries.
        render_batch: int. Samples per generator call. Defaults to 16.

    Example:
    ```python
    grids = SampleGridCallback("runs/00000-demo", every_kimg=50, batch_size=32, reals=first_batch)
    ```
    """

    def __init__(
        self,
        run_dir,
        every_kimg=None,
        every_steps=None,
        batch_size=None,
        columns=8,
        rows=4,
        seed=0,
        truncation_psi=1.0,
        reals=None,
        at_begin=True,
        at_end=True,
        log_dir=None,
        render_batch=16,
    ):
        super().__init__(every_steps=every_steps, every_kimg=every_kimg, batch_size=batch_size)
        for name, value in (("columns", columns), ("rows", rows), ("render_batch", render_batch)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an int >= 1. Received: {name}={value!r}")
        self.run_dir = os.fspath(run_dir)
        self.columns = columns
        self.rows = rows
        self.seed = int(seed)
        self.truncation_psi = float(truncation_psi)
        self.reals = reals
        self.at_begin = bool(at_begin)
        self.at_end = bool(at_end)
        self.log_dir = log_dir
        self.render_batch = render_batch
        self.written = []
        self._poisoned = False
        self._last_step = None
        self._z = None
        self._c = None

    def _latents(self, generator):
        c_dim = generator.c_dim
        count = self.columns * (c_dim if c_dim else self.rows)
        if self._z is None or len(self._z) != count:
            z = np.random.RandomState(self.seed).standard_normal((self.columns, generator.z_dim)).astype(np.float32)
            if c_dim:
                self._z = np.tile(z, (c_dim, 1))
                self._c = _class_rows(c_dim, self.columns)
            else:
                extra = np.random.RandomState(self.seed + 1).standard_normal(
                    (count - self.columns, generator.z_dim)).astype(np.float32)
                self._z = np.concatenate([z, extra])
                self._c = None
        return self._z, self._c

    def render(self, generator):
        """The sample grid of `generator` as a uint8 `[H, W, C]` array."""
        z, c = self._latents(generator)
        chunks = []
        for start in range(0, len(z), self.render_batch):
            zs = z[start:start + self.render_batch]
            cs = None if c is None else c[start:start + self.render_batch]
            out = generator(zs, cs, truncation_psi=self.truncation_psi)
            chunks.append(keras.ops.convert_to_numpy(keras.ops.cast(out, "float32")))
        return image_grid(np.concatenate(chunks), self.columns)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        reals_path = os.path.join(self.run_dir, "reals.png")
        if self.reals is not None and not os.path.exists(reals_path):
            grid = image_grid(self.reals, self.columns)
            _write_bytes(reals_path, png_bytes(grid))
            self._summary("reals", grid)
        if self.at_begin:
            self.write()

    def on_train_batch_end(self, batch, logs=None):
        due = self._advance(logs)
        if non_finite_terms(logs):
            self._poisoned = True
        if due and not self._poisoned:
            self.write()

    def on_train_end(self, logs=None):
        if self.at_end and not self._poisoned and self._last_step != self.step:
            self.write()

    def write(self):
        """Renders and writes `fakes<kimg>.png` now; returns its path."""
        gan = self._sync()
        grid = self.render(gan.generator_ema)
        path = os.path.join(self.run_dir, f"fakes{kimg_tag(self.seen_images)}.png")
        _write_bytes(path, png_bytes(grid))
        self._summary("fakes", grid)
        self._last_step = self.step
        self.written.append(path)
        return path

    def _summary(self, name, grid):
        if self.log_dir is None:
            return
        import tensorflow as tf

        with _summary_writer(self.log_dir).as_default():
            tf.summary.image(name, grid[None], step=self.seen_images)


# --------------------------------------------------------------------------- TensorBoard

_WRITERS = {}


def _summary_writer(log_dir):
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


class TensorBoardLogger(_TrainingClock):
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
        with _summary_writer(self.log_dir).as_default():
            for name, value in (logs or {}).items():
                number = _float(value)
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
        _summary_writer(self.log_dir).flush()
        self._last_time, self._last_images = now, self.seen_images

    def on_train_end(self, logs=None):
        _summary_writer(self.log_dir).flush()


# --------------------------------------------------------------------------- progress

# Official StyleGAN names (stats.jsonl) of the logged values; others go under `Logs/`.
STATS_NAMES = {
    "g_loss": "Loss/G/loss",
    "d_loss": "Loss/D/loss",
    "g_reg": "Loss/G/reg",
    "d_reg": "Loss/D/reg",
    "pl_penalty": "Loss/pl_penalty",
    "r1_penalty": "Loss/r1_penalty",
    "scores_real": "Loss/scores/real",
    "scores_fake": "Loss/scores/fake",
    "signs_real": "Loss/signs/real",
    "signs_fake": "Loss/signs/fake",
    "augment_p": "Progress/augment",
    "pl_mean": "Progress/pl_mean",
    "g_loss_scale": "Progress/G/loss_scale",
    "d_loss_scale": "Progress/D/loss_scale",
}
# Logged states rather than running means: one value each.
_STATE_LOGS = ("augment_p", "pl_mean", "g_loss_scale", "d_loss_scale")


def append_json_line(path, record):
    """Appends `record` as one JSON line to `path` with a single unbuffered write.

    The line reaches the operating system at once, so it survives a crash
    of the process; non-finite numbers become `null` (strict JSON).

    Example:
    ```python
    append_json_line("runs/00000-demo/stats.jsonl", {"Progress/kimg": {"num": 1, "mean": 4.0}})
    ```
    """

    def finite(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        return value

    data = (json.dumps(finite(record), allow_nan=False) + "\n").encode("utf-8")
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _number(value):
    """Three significant digits, without exponents for large values: `0.0123`, `1.27`, `39.7`, `1234`."""
    return f"{value:.3g}" if not math.isfinite(value) or abs(value) < 1000 else f"{value:.0f}"


def _stat(value, num=1):
    # The official entries are {num, mean, std}; the Keras logs carry means only.
    return {"num": int(num), "mean": float(value)}


class KimgProgress(_TrainingClock):
    """Progress a person can follow: a line per tick, timed lines within a tick, `stats.jsonl`.

    Prints, to `stream`:

    ```
    step 1: building the training step (tracing and compiling it can take minutes on a CPU)...
    step 1 took 83.4 s (building and compiling the training step); memory 1.62 GiB, peak 1.70 GiB
    steady speed: 1.27 s/step, 39.7 s/kimg, 25.2 images/s (mean of 16 steps after compilation); eta 11d 11h 42m; ...
    ... kimg 1.3/25000    step 41    time 1m 45s    images/s 25.0    g_loss 1.234    d_loss 1.05 ...
    tick 1    kimg 4.0/25000    step 125    time 4m 24s    sec/kimg 66.01    eta 19d 02h 25m    g_loss 1.234 ...
    ```

    - before the first step, which builds (traces and compiles) the training
      step, a line saying so; after it, its time and the memory in use;
    - once `max(3, one lazy-regularization cycle)` further steps have run
      (16 with the default intervals; steps whose regularization variant
      compiles are left out), the steady seconds per step and per kimg;
    - every `interval` seconds within a tick, a `...` line: kimg, step,
      images/s since the previous line and the logged `keys`;
    - at every tick (`every_kimg` or `every_steps`), the tick line; with
      `stats_path`, also one JSON line appended to that file, named as the
      official StyleGAN `stats.jsonl`: `Progress/tick`, `Progress/kimg`,
      `Progress/step`, `Timing/total_sec`, `Timing/sec_per_tick`,
      `Timing/sec_per_kimg`, `Timing/maintenance_sec` (tick time outside
      the training steps: snapshots, samples, metrics),
      `Timing/total_hours`, `Timing/total_days`, `Resources/cpu_mem_gb`
      (current RSS), `Resources/peak_rss_gb`, the logged values
      (`Loss/G/loss`, `Loss/D/loss`, `Loss/r1_penalty`, `Progress/augment`,
      ... see `STATS_NAMES`) and `timestamp`. Each value is
      `{"num": n, "mean": v}`: the official shape without `std`, since the
      Keras logs carry means only (`num` is the count of steps averaged).

    Tick lines time the wall clock, snapshots included. Put this callback
    first in the list: its step timing then ends before other callbacks
    save anything. Memory is in GiB (2**30 bytes, as the official `gb`).

    Args:
        total_kimg: float. Planned length of training, for the ETA.
        every_kimg, every_steps: the tick (see `SnapshotCallback`).
        batch_size: int or None. Global batch size.
        keys: sequence of log names to show. Defaults to G and D losses,
            the penalties, the real/fake scores and `augment_p` (with ADA).
        stream: file object. Defaults to `sys.stdout`.
        interval: float. Seconds between lines within a tick; 0 turns them
            off. Defaults to 30.
        stats_path: str or None. Where to append one JSON line per tick.
        clock: callable returning seconds (`time.monotonic` by default),
            e.g. a fake clock in tests.

    Example:
    ```python
    progress = KimgProgress(25000, every_kimg=4, batch_size=32, stats_path="runs/00000-demo/stats.jsonl")
    gan.fit(dataset, ..., verbose=0, callbacks=[progress, *others])
    ```
    """

    DEFAULT_KEYS = ("g_loss", "d_loss", "pl_penalty", "r1_penalty", "scores_real", "scores_fake", "augment_p")
    MIN_STEADY_STEPS = 3

    def __init__(self, total_kimg, every_kimg=None, every_steps=None, batch_size=None, keys=None, stream=None,
                 interval=30.0, stats_path=None, clock=None):
        super().__init__(every_steps=every_steps, every_kimg=every_kimg, batch_size=batch_size)
        if not isinstance(total_kimg, (int, float)) or not total_kimg > 0:
            raise ValueError(f"`total_kimg` must be a number > 0. Received: total_kimg={total_kimg!r}")
        if not isinstance(interval, (int, float)) or not (math.isfinite(interval) and interval >= 0):
            raise ValueError(f"`interval` must be a finite number >= 0. Received: interval={interval!r}")
        self.total_kimg = float(total_kimg)
        self.keys = tuple(keys) if keys is not None else self.DEFAULT_KEYS
        self.stream = stream
        self.interval = float(interval)
        self.stats_path = None if stats_path is None else os.fspath(stats_path)
        self.clock = clock or time.monotonic
        self.tick = 0
        self.lines = []

    def _print(self, line):
        self.lines.append(line)
        print(line, file=self.stream or sys.stdout, flush=True)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        now = self.clock()
        self._begin_time = self._tick_time = self._line_time = self._last_end = now
        self._tick_images = self._line_images = self.seen_images
        self._step_begin = None
        self._compiles = self._step_is_compiled()
        self._busy = 0.0  # seconds inside training steps this tick
        self._epoch_steps = 0
        self._first_step = None  # seconds of the first step, once known
        self._plans = set()
        self._compiled_since_line = False
        self._steady = None  # [steps, seconds] measured so far; None once reported
        self._steady_target = max(self.MIN_STEADY_STEPS, self._regularization_cycle())

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_steps = 0  # Keras restarts its running means at every epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self._first_step is None:
            note = ("building the training step (tracing and compiling it can take minutes on a CPU)"
                    if self._compiles else "starting (the training step runs uncompiled)")
            self._print(f"step {self.step + 1}: {note}...")
        self._step_begin = self.clock()

    def _step_is_compiled(self):
        model = self._gan()
        if getattr(model, "run_eagerly", False):
            return False
        return keras.config.backend() != "torch" or bool(getattr(model, "jit_compile", False))

    def _regularization_cycle(self):
        """Steps after which the lazy-regularization pattern repeats (1 without it)."""
        model = self._gan()
        intervals = []
        if getattr(model, "pl_weight", 0) and getattr(model, "g_reg_interval", None):
            intervals.append(int(model.g_reg_interval))
        if getattr(model, "r1_gamma", 0) and getattr(model, "d_reg_interval", None):
            intervals.append(int(model.d_reg_interval))
        return math.lcm(*intervals) if intervals else 1

    def _step_variant(self, index):
        phases = getattr(self._gan(), "phases_for_step", None)
        return phases(index) if callable(phases) else None

    def on_train_batch_end(self, batch, logs=None):
        tick_due = self._advance(logs)
        self._epoch_steps += 1
        measuring = self._first_step is None or self._steady is not None
        if measuring:
            # Wait for the step itself: backends may return before computing it.
            _float((logs or {}).get("kimg"))
        now = self.clock()
        # Driven without batch-begin events, a step starts where the last one ended.
        seconds = now - (self._step_begin if self._step_begin is not None else self._last_end)
        self._step_begin, self._last_end = None, now
        self._busy += seconds
        if measuring:
            self._time_step(seconds, now)
        if tick_due:
            self.report(logs)
        elif self.interval and now - self._line_time >= self.interval:
            self._report_within_tick(logs, now)

    def _time_step(self, seconds, now):
        variant = self._step_variant(self.step - 1)
        compiled = variant not in self._plans
        self._plans.add(variant)
        self._compiled_since_line |= compiled and self._compiles
        if self._first_step is None:
            self._first_step = seconds
            self._steady = [0, 0.0]
            what = " (building and compiling the training step)" if self._compiles else ""
            self._print(f"step {self.step} took {seconds:.1f} s{what}; {describe_memory()}")
            self._mark_line(now)
            return
        if compiled:  # another regularization variant compiled in this step
            return
        self._steady[0] += 1
        self._steady[1] += seconds
        if self._steady[0] >= self._steady_target:
            steps, total = self._steady
            self._steady = None
            per_step = total / steps
            per_kimg = per_step / self._batch * 1000
            remaining = max(0.0, self.total_kimg - self.kimg)
            self._print(f"steady speed: {_number(per_step)} s/step, {_number(per_kimg)} s/kimg, "
                        f"{_number(self._batch / per_step)} images/s (mean of {steps} steps after compilation); "
                        f"eta {format_duration(remaining * per_kimg)}; {describe_memory()}")

    def _values(self, logs):
        parts = []
        for key in self.keys:
            value = _float((logs or {}).get(key))
            if value is not None:
                parts.append(f"{key} {value:.4g}")
        return parts

    def _kimg_text(self):
        return f"kimg {self.kimg:.{1 if self.total_kimg >= 10 else 3}f}/{self.total_kimg:g}"

    def _report_within_tick(self, logs, now):
        images = self.seen_images - self._line_images
        rate = images / (now - self._line_time) if now > self._line_time else float("nan")
        # A compiling step makes the rate look low; say so rather than alarm anyone.
        rate_text = _number(rate) + (" (compiling)" if self._compiled_since_line else "")
        parts = ["... " + self._kimg_text(), f"step {self.step}", f"time {format_duration(now - self._begin_time)}",
                 f"images/s {rate_text}", *self._values(logs)]
        self._print("    ".join(parts))
        self._mark_line(now)

    def _mark_line(self, now):
        self._line_time, self._line_images = now, self.seen_images
        self._compiled_since_line = False

    def report(self, logs):
        """Prints the tick line (and appends the `stats_path` record) now."""
        now = self.clock()
        images = self.seen_images - self._tick_images
        tick_seconds = now - self._tick_time
        sec_per_kimg = tick_seconds / images * 1000 if images else float("nan")
        remaining = max(0.0, self.total_kimg - self.kimg)
        self.tick += 1
        parts = [
            f"tick {self.tick:<4d}",
            self._kimg_text(),
            f"step {self.step}",
            f"time {format_duration(now - self._begin_time)}",
            f"sec/kimg {sec_per_kimg:.2f}",
            f"eta {format_duration(remaining * sec_per_kimg) if math.isfinite(sec_per_kimg) else '?'}",
            *self._values(logs),
        ]
        self._print("    ".join(parts))
        if self.stats_path is not None:
            append_json_line(self.stats_path, self.stats_record(logs, now, tick_seconds, sec_per_kimg))
        self._tick_time, self._tick_images = now, self.seen_images
        self._mark_line(now)
        self._busy = 0.0

    def stats_record(self, logs, now, tick_seconds, sec_per_kimg):
        """The `stats.jsonl` record of the tick just finished (see the class docstring)."""
        total = now - self._begin_time
        record = {
            "Progress/tick": _stat(self.tick),
            "Progress/kimg": _stat(self.kimg),
            "Progress/step": _stat(self.step),
            "Timing/total_sec": _stat(total),
            "Timing/sec_per_tick": _stat(tick_seconds),
            "Timing/sec_per_kimg": _stat(sec_per_kimg),
            "Timing/maintenance_sec": _stat(max(0.0, tick_seconds - self._busy)),
            "Timing/total_hours": _stat(total / 3600),
            "Timing/total_days": _stat(total / 86400),
        }
        current, peak = current_rss_bytes(), peak_rss_bytes()
        if current is not None:
            record["Resources/cpu_mem_gb"] = _stat(current / GIB)
        if peak is not None:
            record["Resources/peak_rss_gb"] = _stat(peak / GIB)
        for name, value in (logs or {}).items():
            number = _float(value)
            if name != "kimg" and number is not None:
                num = 1 if name in _STATE_LOGS else max(1, self._epoch_steps)
                record[STATS_NAMES.get(name, f"Logs/{name}")] = _stat(number, num=num)
        record["timestamp"] = time.time()
        return record


# --------------------------------------------------------------------------- NaN guard


class NonFiniteGuard(_TrainingClock):
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

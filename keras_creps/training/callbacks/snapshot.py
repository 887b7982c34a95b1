"""`SnapshotCallback`: the EMA generator and the whole training state, saved on a schedule."""

import contextlib
import datetime
import os
import time

from keras_creps.training.callbacks.clock import TrainingClock
from keras_creps.training.callbacks.clock import non_finite_terms
from keras_creps.utils.run_dir import NETWORK_PREFIX
from keras_creps.utils.run_dir import STATE_PREFIX
from keras_creps.utils.run_dir import kimg_tag
from keras_creps.utils.run_dir import list_training_states
from keras_creps.utils.run_dir import write_json
from keras_creps.utils.files import atomic_write

__all__ = ["SnapshotCallback"]


class SnapshotCallback(TrainingClock):
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
            write_json(os.path.join(self.run_dir, f"{STATE_PREFIX}{tag}.json"), record)
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

"""`KimgProgress`: progress lines a person can follow, and the official `stats.jsonl`."""

import math
import os
import sys
import time

import keras

from keras_creps.training.callbacks.clock import TrainingClock
from keras_creps.training.callbacks.clock import to_float
from keras_creps.utils.run_dir import append_json_line
from keras_creps.utils.durations import format_duration
from keras_creps.utils.memory import GIB
from keras_creps.utils.memory import current_rss_bytes
from keras_creps.utils.memory import describe_memory
from keras_creps.utils.memory import peak_rss_bytes

__all__ = ["STATS_NAMES", "KimgProgress"]

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

def _number(value):
    """Three significant digits, without exponents for large values: `0.0123`, `1.27`, `39.7`, `1234`."""
    return f"{value:.3g}" if not math.isfinite(value) or abs(value) < 1000 else f"{value:.0f}"


def _stat(value, num=1):
    # The official entries are {num, mean, std}; the Keras logs carry means only.
    return {"num": int(num), "mean": float(value)}


class KimgProgress(TrainingClock):
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
            to_float((logs or {}).get("kimg"))
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
            value = to_float((logs or {}).get(key))
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
            number = to_float(value)
            if name != "kimg" and number is not None:
                num = 1 if name in _STATE_LOGS else max(1, self._epoch_steps)
                record[STATS_NAMES.get(name, f"Logs/{name}")] = _stat(number, num=num)
        record["timestamp"] = time.time()
        return record

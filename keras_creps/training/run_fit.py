"""Training a run into its directory: the callbacks in their order, the log, and `fit`."""

import os
import sys
import time

import keras

from keras_creps.metrics import protocols
from keras_creps.training.callbacks import KimgProgress
from keras_creps.training.callbacks import MetricsCallback
from keras_creps.training.callbacks import NonFiniteGuard
from keras_creps.training.callbacks import SampleGridCallback
from keras_creps.training.callbacks import SnapshotCallback
from keras_creps.training.callbacks import TensorBoardLogger
from keras_creps.training.run_data import dataset_facts
from keras_creps.training.run_data import real_images
from keras_creps.training.run_errors import OptionError
from keras_creps.training.run_errors import one_line
from keras_creps.utils.run_dir import hold_run_dir

__all__ = ["RunLog", "fit_run", "metric_names", "run_callbacks"]


def metric_names(metrics):
    """The metric names of the `--metrics` list, without repeats; `[]` for none.

    Args:
        metrics: list of str, e.g. `["swd_full"]` or `["none"]`.

    Raises:
        OptionError: an unknown name (the message lists the valid ones).

    Example:
    ```python
    metric_names(["swd_full", "swd_full"])   # ["swd_full"]
    ```
    """
    names = [name.strip() for name in metrics if name.strip()]
    if names in ([], ["none"]):
        return []
    unknown = [name for name in names if not protocols.is_valid_metric(name)]
    if unknown:
        raise OptionError(f"bad --metrics={','.join(metrics)!r}: unknown {', '.join(unknown)}; choose from "
                          f"{', '.join(protocols.list_metrics())}, or none")
    return list(dict.fromkeys(names))


def _metrics_callbacks(opts, run_dir, source, every_steps):
    """`[MetricsCallback]` for `opts.metrics` (on the snapshot schedule), or `[]`."""
    names = metric_names(opts.metrics)
    if not names:
        return []
    try:
        return [MetricsCallback(
            names, run_dir, every_steps=every_steps, batch_size=opts.batch, data=source,
            num_gen=opts.metrics_num_gen, data_dir=opts.data_dir, generator_format=opts.snapshot_format)]
    except (ValueError, FileNotFoundError, ImportError) as error:
        raise OptionError(f"bad --metrics={','.join(opts.metrics)!r}: {one_line(error)}") from None


def run_callbacks(opts, run_dir, source, info, plan, state_path, log):
    """The run's callbacks, in the order they must run: progress, guard, snapshots, grids, TensorBoard, metrics.

    Args:
        opts: namespace of the run options (`snap`, `batch`, `keep`,
            `snapshot_format`, `kimg`, `progress_interval`, `grid_columns`,
            `seed`, `log_every`, `metrics`, ...).
        run_dir: str. The run directory.
        source: the data source.
        info: its `DatasetInfo`.
        plan: `RunSchedule`.
        state_path: str or None. The resumed state (the last snapshot so far).
        log: a text stream for the progress lines (e.g. `RunLog`).

    Returns:
        A list of callbacks for `fit`.
    """
    snap_steps = opts.snap * plan.steps_per_tick
    metrics = _metrics_callbacks(opts, run_dir, source, snap_steps)  # after snapshots: results name them
    for callback in metrics:
        callback.stream = log
    facts = {"dataset": dataset_facts(info), "backend": keras.config.backend()}
    snapshots = SnapshotCallback(
        run_dir, every_steps=snap_steps, batch_size=opts.batch, keep_states=opts.keep or None,
        generator_format=opts.snapshot_format, info=facts,
    )
    snapshots.last_state_path = state_path
    return [
        # Progress first: it times each step before the others save anything after it.
        KimgProgress(opts.kimg, every_steps=plan.steps_per_tick, batch_size=opts.batch, stream=log,
                               interval=opts.progress_interval, stats_path=os.path.join(run_dir, "stats.jsonl")),
        NonFiniteGuard(snapshots=snapshots, batch_size=opts.batch, stream=log),
        snapshots,
        SampleGridCallback(
            run_dir, every_steps=snap_steps, batch_size=opts.batch, columns=opts.grid_columns, seed=opts.seed,
            reals=real_images(opts, source, info), log_dir=run_dir,
        ),
        TensorBoardLogger(run_dir, every_steps=opts.log_every, batch_size=opts.batch),
        *metrics,
    ]


class RunLog:
    """A text stream writing to stdout and, line-buffered, to a run's log file.

    Args:
        path: str. The log file (appended to).

    Example:
    ```python
    log = RunLog("runs/00004-x/log.txt")
    log.write("starting\\n")
    log.close()
    ```
    """

    def __init__(self, path):
        # Line-buffered: each finished line is in the file at once (`tail -f`, crashes).
        self.file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed by close()

    def write(self, text):
        sys.stdout.write(text)
        self.file.write(text)

    def flush(self):
        sys.stdout.flush()
        self.file.flush()

    def close(self):
        self.file.close()


def fit_run(opts, gan, dataset, run_dir, source, info, plan, state_path):
    """Trains `gan` into `run_dir` with the run's callbacks and log; returns `run_dir`.

    Args:
        opts: namespace of the run options (see `run_callbacks`).
        gan: the compiled `CREPSGAN`.
        dataset: the training stream (`training_data`).
        run_dir: str. The new run directory.
        source: the data source.
        info: its `DatasetInfo`.
        plan: `RunSchedule`.
        state_path: str or None. The resumed state.

    Raises:
        FloatingPointError: a logged term went non-finite (training stopped,
            no snapshot written from the bad state).

    Example:
    ```python
    fit_run(opts, gan, training_data(opts, None, source, info, 0), new_run_dir(opts, info), source, info, plan, None)
    ```
    """
    log = RunLog(os.path.join(run_dir, "log.txt"))
    try:
        callbacks = run_callbacks(opts, run_dir, source, info, plan, state_path, log)
        guard = next(c for c in callbacks if isinstance(c, NonFiniteGuard))
        snapshots = next(c for c in callbacks if isinstance(c, SnapshotCallback))
        start = f"resuming {state_path} at step {plan.step0}" if state_path else "starting"
        log.write(f"run {run_dir}\n{start} ({keras.config.backend()}); {plan.total_steps} steps of {opts.batch} "
                  f"images, {plan.steps_per_tick} per tick\n")
        began = time.time()
        # Held while training: a run resuming from this directory then leaves our temporaries alone.
        with hold_run_dir(run_dir):
            if plan.initial_epoch < plan.epochs:
                # shuffle=False: the stream is shuffled already (fit would only warn that it ignores True).
                gan.fit(dataset, epochs=plan.epochs, initial_epoch=plan.initial_epoch,
                        steps_per_epoch=plan.steps_per_tick, callbacks=callbacks, verbose=0, shuffle=False)
        log.write(f"{'stopped' if guard.triggered else 'done'} after {time.time() - began:.1f} s; "
                  f"last snapshot {snapshots.last_state_path}\n")
    finally:
        log.close()
    if guard.triggered:
        raise FloatingPointError(guard.message)
    return run_dir

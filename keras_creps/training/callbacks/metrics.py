"""`MetricsCallback`: quality metrics of the EMA generator at every snapshot of a run.

It follows the snapshot schedule (`every_kimg` or `every_steps`, plus the
end of training), computes the named metrics of
`keras_creps.metrics.protocols` on `generator_ema`, appends one JSON line
per metric to `<run_dir>/metric-<name>.jsonl` (with the snapshot's file name
and kimg, as StyleGAN3 does) and writes every result as a TensorBoard scalar
`Metrics/<result name>` at step = images seen.
"""

import math
import os
import sys

from keras_creps.metrics import protocols
from keras_creps.training.callbacks.clock import TrainingClock
from keras_creps.training.callbacks.clock import non_finite_terms
from keras_creps.training.callbacks.tensorboard import summary_writer
from keras_creps.utils.run_dir import NETWORK_PREFIX
from keras_creps.utils.run_dir import kimg_tag

__all__ = ["MetricsCallback"]


class MetricsCallback(TrainingClock):
    """Computes quality metrics of the EMA generator on the snapshot schedule.

    Use the same `every_kimg`/`every_steps` as the `SnapshotCallback` and put
    this callback after it: each result then names the network snapshot
    written at that kimg (`snapshot` in the JSON line, None when no such
    file exists). Metrics stop, like snapshots, once a logged value has been
    NaN or infinite.

    Args:
        metrics: list of str. Metric names (`protocols.list_metrics()`).
        run_dir: str. Where the `metric-<name>.jsonl` files go.
        every_kimg, every_steps, batch_size: the schedule (see `SnapshotCallback`).
        data: str or None. The real dataset (needed by FID/KID/PR/SWD).
        num_gen: int or None. Samples per metric; None uses each metric's default.
        num_real: int or None. Real subset size; None uses the full dataset.
        truncation_psi: float. Defaults to `1.0`.
        feature_net: `FeatureNetwork` or None. Used by the metrics whose name
            matches its `metric_suffix`; the others build their own network
            here, at construction (so missing weights fail before training).
        cache_dir: str or None. Real-statistics cache.
        render_batch: int. Samples per render. Defaults to `32`.
        seed: int. Seed of the samples (the same samples at every snapshot).
            Defaults to `0`.
        data_dir: str or None. TFDS data directory.
        generator_format: `"keras"` or `"preset"`: how snapshots are named.
        at_end: bool. Also measure when training ends off-schedule. Defaults to True.
        log_dir: str or None. TensorBoard directory. Defaults to `run_dir`.
        stream: file object or None. One summary line per measurement.
        progress: bool. Progress lines on stderr. Defaults to False.

    Attributes:
        records: list of the JSON records written.

    Example:
    ```python
    snapshots = SnapshotCallback(run_dir, every_kimg=40, batch_size=32)
    metrics = MetricsCallback(["swd_full"], run_dir, every_kimg=40, batch_size=32, data="faces64.zip",
                              num_gen=2000)
    gan.fit(dataset, ..., callbacks=[snapshots, metrics])
    ```
    """

    def __init__(self, metrics, run_dir, every_kimg=None, every_steps=None, batch_size=None, data=None,
                 num_gen=None, num_real=None, truncation_psi=1.0, feature_net=None, cache_dir=None,
                 render_batch=32, seed=0, data_dir=None, generator_format="keras", at_end=True, log_dir=None,
                 stream=None, progress=False):
        super().__init__(every_steps=every_steps, every_kimg=every_kimg, batch_size=batch_size)
        if isinstance(metrics, str) or not metrics:
            raise ValueError(f"`metrics` must be a non-empty list of names. Received: metrics={metrics!r}")
        self.metrics = [protocols.get_metric(name).name for name in metrics]
        needs_data = [name for name in self.metrics if protocols.get_metric(name).needs_reals]
        if needs_data and data is None:
            raise ValueError(f"{', '.join(needs_data)} compare(s) with real images: pass `data`. Received: data=None")
        self.run_dir = os.fspath(run_dir)
        self.data, self.data_dir, self.cache_dir = data, data_dir, cache_dir
        self.num_gen, self.num_real = num_gen, num_real
        self.truncation_psi, self.render_batch, self.seed = float(truncation_psi), render_batch, int(seed)
        self.generator_format = generator_format
        self.at_end = bool(at_end)
        self.log_dir = os.fspath(log_dir) if log_dir is not None else self.run_dir
        self.stream = stream
        self.progress = progress
        self.networks = self._networks(feature_net)
        self.records = []
        self._poisoned = False
        self._last_step = None

    def _networks(self, feature_net):
        """One feature network per metric that needs one, built once."""
        from keras_creps.metrics.feature_network import feature_network

        networks, built = {}, {}
        for name in self.metrics:
            suffix = protocols.get_metric(name).feature_suffix
            if suffix is None:
                continue
            if feature_net is not None and feature_net.metric_suffix == suffix:
                networks[name] = feature_net
            else:
                if suffix not in built:
                    built[suffix] = feature_network(protocols.FEATURE_NETWORKS[suffix])
                networks[name] = built[suffix]
        return networks

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._last_step = self.step  # the starting state was measured by the run that wrote it

    def on_train_batch_end(self, batch, logs=None):
        due = self._advance(logs)
        if non_finite_terms(logs):
            self._poisoned = True
        if due and not self._poisoned:
            self.measure()

    def on_train_end(self, logs=None):
        if self.at_end and not self._poisoned and self._last_step != self.step:
            self.measure()

    def snapshot_name(self):
        """The network snapshot file name of the current kimg, or None when it was not written."""
        name = f"{NETWORK_PREFIX}{kimg_tag(self.seen_images)}" + (".keras" if self.generator_format == "keras" else "")
        return name if os.path.exists(os.path.join(self.run_dir, name)) else None

    def measure(self):
        """Computes and writes every metric now; returns the new records."""
        gan = self._sync()
        snapshot = self.snapshot_name()
        new = []
        for name in self.metrics:
            record = protocols.calc_metric(
                name, gan.generator_ema, data=self.data, num_gen=self.num_gen, num_real=self.num_real,
                truncation_psi=self.truncation_psi, feature_net=self.networks.get(name), cache_dir=self.cache_dir,
                batch_size=self.render_batch, seed=self.seed, progress=self.progress, snapshot=snapshot,
                data_dir=self.data_dir)
            record.update(kimg=self.kimg, step=self.step)
            protocols.report_metric(record, os.path.join(self.run_dir, f"metric-{name}.jsonl"))
            self._summaries(record["results"])
            self._print(record)
            new.append(record)
        self.records.extend(new)
        self._last_step = self.step
        return new

    def _summaries(self, results):
        import tensorflow as tf

        writer = summary_writer(self.log_dir)
        with writer.as_default():
            for key, value in results.items():
                if math.isfinite(value):  # an exact EQ-T (inf) has no point on a plot
                    tf.summary.scalar(f"Metrics/{key}", value, step=self.seen_images)
        writer.flush()

    def _print(self, record):
        values = "  ".join(f"{key} {value:.4g}" for key, value in record["results"].items())
        line = f"metrics kimg {self.kimg:.3f}  {values}  ({record['total_time_str']}, {record['num_gen']} samples)"
        stream = self.stream or sys.stdout
        stream.write(line + "\n")
        stream.flush()

"""Named quality metrics of a generator, computed and reported like StyleGAN3's.

Every metric is a registered function `fn(opts) -> {result name: value}`;
`calc_metric(name, generator, ...)` runs one and returns a record in the
manner of StyleGAN3's `metric-<name>.jsonl` lines. Metrics:

- `fid50k_full`, `kid50k_full`, `pr50k3_full` (results `_precision`,
  `_recall`): FID, KID and improved precision/recall (k=3) of 50k samples
  against every real image, with NVIDIA's TorchScript Inception (the
  network behind the papers' numbers);
- `fid50k_full_keras`, `kid50k_full_keras`, `pr50k3_full_keras`: the same
  with `keras.applications.InceptionV3` (not comparable with papers);
- `swd_full`: multi-scale sliced Wasserstein distance x 1e3 (the mean, and
  per level `swd_full_<res>`); no pretrained network, works offline;
- `scale_consistency` (results `_centers`, `_corners`): PSNR in dB of a
  render at `R` against one at `2R` brought back to `R`;
- `eqt`, `eqt_int`: translation equivariance PSNR in dB, fractional and
  whole-pixel shifts (see `equivariance`).

A metric's name says which feature network produced it: the FID family's
names end with the network's `metric_suffix` (`""` for NVIDIA's Inception,
`"_keras"` for the Keras one), and `calc_metric` refuses a network whose
suffix does not match the name. Real-image statistics are cached on disk
(see `real_statistics.RealSet`); generated samples are seeded (see
`generated_images`).
"""

import dataclasses
import json
import os
import time

import numpy as np

from keras_creps.metrics.generated_images import generated_batches, generate_function, sample_latents
from keras_creps.metrics.generated_images import sample_labels
from keras_creps.metrics.progress import make_progress
from keras_creps.utils.durations import format_duration

__all__ = ["calc_metric", "get_metric", "is_valid_metric", "list_metrics", "metric_name_for_network", "register_metric",
           "report_metric"]

FEATURE_NETWORKS = {"": "inception_torchscript", "_keras": "inception_keras"}
MAX_DEFAULT_NUM_GEN = 10000  # samples of a metric that matches the real set's size by default


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """A registered metric: its function and defaults.

    Args:
        name: str. The metric's name (and the prefix of its result names).
        fn: callable `(MetricOptions) -> dict`.
        num_gen: int or None. Default number of generated samples; None:
            as many as real images, at most `MAX_DEFAULT_NUM_GEN`.
        needs_reals: bool. Whether it compares with a real dataset.
        feature_suffix: str or None. The `metric_suffix` of the feature
            network it needs; None when it needs none.
    """

    name: str
    fn: object
    num_gen: int
    needs_reals: bool = False
    feature_suffix: object = None


_METRICS = {}


def register_metric(name, fn, num_gen, needs_reals=False, feature_suffix=None):
    """Adds metric `name` computed by `fn(opts)` to the registry; returns `fn`."""
    _METRICS[name] = MetricSpec(name, fn, None if num_gen is None else int(num_gen), bool(needs_reals),
                                feature_suffix)
    return fn


def list_metrics():
    """The names of every registered metric, in registration order."""
    return list(_METRICS)


def is_valid_metric(name):
    return name in _METRICS


def metric_name_for_network(name, feature_net):
    """`name` rebased onto the feature network's suffix (`fid50k_full` -> `fid50k_full_keras`).

    Metrics without a feature network are returned unchanged. Used when the
    network is picked automatically, so the name follows the network.
    """
    spec = get_metric(name)
    if spec.feature_suffix is None:
        return name
    base = name[: len(name) - len(spec.feature_suffix)] if spec.feature_suffix else name
    return get_metric(base + feature_net.metric_suffix).name


def get_metric(name):
    """The `MetricSpec` registered as `name`; `ValueError` listing the valid names otherwise."""
    if name not in _METRICS:
        raise ValueError(f"Unknown metric {name!r}; valid metrics: {', '.join(_METRICS)}. Received: name={name!r}")
    return _METRICS[name]


@dataclasses.dataclass
class MetricOptions:
    """What a metric function receives (built by `calc_metric`)."""

    name: str
    generator: object
    num_gen: int
    reals: object = None
    feature_net: object = None
    batch_size: int = 32
    seed: int = 0
    truncation_psi: float = 1.0
    progress: object = False
    jit_compile: object = "auto"

    def progress_for(self, label):
        return make_progress(self.progress, f"{self.name}: {label}")

    def labels(self):
        """The dataset's labels for a conditional generator (None: uniform classes, or unconditional)."""
        c_dim = self.generator.c_dim
        return self.reals.labels(c_dim) if (c_dim and self.reals is not None) else None

    def images(self):
        """Yields the seeded generated samples as uint8 batches."""
        return generated_batches(self.generator, self.num_gen, batch_size=self.batch_size, seed=self.seed,
                                 truncation_psi=self.truncation_psi, labels=self.labels(),
                                 progress=self.progress_for("generated images"), jit_compile=self.jit_compile)

    def generated_features(self):
        """Feature-network features of the generated samples, float64 `[num_gen, D]`."""
        return np.concatenate([self.feature_net(batch) for batch in self.images()])


# --------------------------------------------------------------------------- metric functions


def _fid(opts):
    from keras_creps.metrics.frechet_distance import feature_statistics, frechet_distance_from_statistics

    mu_real, sigma_real = opts.reals.fid_statistics(opts.feature_net)
    mu_gen, sigma_gen = feature_statistics(opts.generated_features())
    return {opts.name: frechet_distance_from_statistics(mu_real, sigma_real, mu_gen, sigma_gen)}


def _kid(opts):
    from keras_creps.metrics.kernel_distance import kernel_distance

    real = opts.reals.features(opts.feature_net)
    value = kernel_distance(real, opts.generated_features(), num_subsets=100, max_subset_size=1000, seed=opts.seed)
    return {opts.name: value}


def _pr(opts):
    from keras_creps.metrics.precision_recall import precision_recall

    real = opts.reals.features(opts.feature_net)
    precision, recall = precision_recall(real, opts.generated_features(), k=3)
    return {f"{opts.name}_precision": precision, f"{opts.name}_recall": recall}


SWD_OPTIONS = dict(min_resolution=16, descriptor_size=7)
SWD_MAX_PER_IMAGE = 128  # Progressive GAN's descriptors per image and level
SWD_MAX_DESCRIPTORS = 1 << 18  # per level and set: ~150 MB of float32 descriptors at 7x7x3


def swd_descriptors(images, seed=0):
    """Laplacian-pyramid descriptors of a set, at most `SWD_MAX_DESCRIPTORS` per level.

    Sets larger than `SWD_MAX_DESCRIPTORS / 128` images get fewer patches per
    image (at least one), which bounds memory for any dataset size.
    """
    from keras_creps.metrics.sliced_wasserstein import laplacian_pyramid_descriptors

    per_image = int(max(1, min(SWD_MAX_PER_IMAGE, SWD_MAX_DESCRIPTORS // max(1, len(images)))))
    descriptors = laplacian_pyramid_descriptors(images, num_descriptors_per_image=per_image, seed=seed, **SWD_OPTIONS)
    return {str(level): value for level, value in descriptors.items()}


def _swd(opts):
    from keras_creps.metrics.sliced_wasserstein import sliced_wasserstein_from_descriptors

    options = dict(SWD_OPTIONS, max_per_image=SWD_MAX_PER_IMAGE, max_descriptors=SWD_MAX_DESCRIPTORS, seed=opts.seed)
    real = opts.reals.swd_descriptors(lambda images: swd_descriptors(images, opts.seed), **options)
    fake = swd_descriptors(np.concatenate(list(opts.images())), opts.seed)
    # Equal-sized sets: the 1-D Wasserstein distances are then differences
    # of sorted projections, ~8x faster than merging two distributions of
    # different sizes (150 s vs 1190 s for 238k descriptors per level here).
    rng = np.random.default_rng([opts.seed, 3])
    real_levels, fake_levels = {}, {}
    for level in sorted((int(key) for key in real), reverse=True):
        count = min(len(real[str(level)]), len(fake[str(level)]))
        real_levels[level] = _subsample(real[str(level)], count, rng)
        fake_levels[level] = _subsample(fake[str(level)], count, rng)
    distance = sliced_wasserstein_from_descriptors(real_levels, fake_levels, seed=opts.seed)
    results = {opts.name: distance["mean"] * 1e3}
    results.update({f"{opts.name}_{level}": value * 1e3 for level, value in distance["levels"].items()})
    return results


def _subsample(rows, count, rng):
    """`count` of the rows, a seeded random subset in their order (all of them when `count == len(rows)`)."""
    if len(rows) == count:
        return rows
    return rows[np.sort(rng.choice(len(rows), size=count, replace=False))]


def _scale_consistency(opts):
    from keras_creps.rendering.consistency import scale_consistency

    generator = opts.generator
    generate = generate_function(generator, opts.truncation_psi, opts.batch_size, opts.jit_compile)
    z = sample_latents(opts.num_gen, generator.z_dim, opts.seed)
    c = sample_labels(opts.num_gen, generator.c_dim, opts.labels(), opts.seed)
    progress = opts.progress_for("renders")
    # scale_consistency gives a PSNR per batch: pool the squared errors
    # (PSNR -> MSE -> weighted mean -> PSNR) so the batch size does not matter.
    squared = {"centers": 0.0, "corners": 0.0}
    for start in range(0, opts.num_gen, opts.batch_size):
        stop = min(start + opts.batch_size, opts.num_gen)
        zb, cb = z[start:stop], None if c is None else c[start:stop]
        psnrs = scale_consistency(lambda rows, cols: generate(zb, cb, rows, cols), generator.resolution)
        for key, value in psnrs.items():
            squared[key] += (stop - start) * 4.0 / 10.0 ** (value / 10.0)
        if progress is not None:
            progress(stop, opts.num_gen)
    return {f"{opts.name}_{key}": _psnr_of_mse(total / opts.num_gen) for key, total in squared.items()}


def _psnr_of_mse(mse):
    return float("inf") if mse == 0 else float(10.0 * np.log10(4.0 / mse))


def _eqt(opts, integer=False):
    from keras_creps.metrics.equivariance import translation_equivariance

    value = translation_equivariance(
        opts.generator, opts.num_gen, batch_size=opts.batch_size, seed=opts.seed,
        truncation_psi=opts.truncation_psi, labels=opts.labels(), integer=integer,
        progress=opts.progress_for("renders"), jit_compile=opts.jit_compile)
    return {opts.name: value}


def _eqt_int(opts):
    return _eqt(opts, integer=True)


for _suffix in FEATURE_NETWORKS:
    register_metric(f"fid50k_full{_suffix}", _fid, 50000, needs_reals=True, feature_suffix=_suffix)
    register_metric(f"kid50k_full{_suffix}", _kid, 50000, needs_reals=True, feature_suffix=_suffix)
    register_metric(f"pr50k3_full{_suffix}", _pr, 50000, needs_reals=True, feature_suffix=_suffix)
register_metric("swd_full", _swd, None, needs_reals=True)
register_metric("scale_consistency", _scale_consistency, 200)
register_metric("eqt", _eqt, 1000)
register_metric("eqt_int", _eqt_int, 1000)


# --------------------------------------------------------------------------- running and reporting


def _check_count(name, value, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be {'None or ' if allow_none else ''}an int >= 1. Received: {name}={value!r}")
    return int(value)


def _feature_network(spec, feature_net):
    """The feature network of `spec`: built by name, or checked to match the metric's name."""
    if spec.feature_suffix is None:
        return None
    if feature_net is None or isinstance(feature_net, str):
        from keras_creps.metrics.feature_network import feature_network

        feature_net = feature_network(feature_net or FEATURE_NETWORKS[spec.feature_suffix])
    suffix = getattr(feature_net, "metric_suffix", None)
    if suffix != spec.feature_suffix:
        base = spec.name[: len(spec.name) - len(spec.feature_suffix)] if spec.feature_suffix else spec.name
        raise ValueError(
            f"`{spec.name}` is measured with {FEATURE_NETWORKS[spec.feature_suffix]!r}; the features of "
            f"{getattr(feature_net, 'name', feature_net)!r} are reported as `{base}{suffix}`. "
            f"Received: feature_net={feature_net!r}")
    return feature_net


def calc_metric(name, generator, data=None, num_gen=None, num_real=None, truncation_psi=1.0, feature_net=None,
                cache_dir=None, batch_size=32, seed=0, progress=True, snapshot=None, data_dir=None,
                jit_compile="auto"):
    """Computes metric `name` of `generator`; returns a StyleGAN3-style record.

    Args:
        name: str. A registered metric (`list_metrics()`).
        generator: `CREPSGenerator`. Use the EMA generator of a run.
        data: str or None. The real dataset (anything
            `keras_creps.data.load_images` reads). Required by the
            FID/KID/PR/SWD metrics; for a conditional generator it also
            gives the label distribution of the samples (else classes are
            uniform).
        num_gen: int or None. Generated samples. Defaults to the metric's:
            50000 for the `50k` metrics, as many as real images (at most
            10000) for `swd_full`, 200 for `scale_consistency`, 1000 for
            `eqt`/`eqt_int`. On a CPU pass e.g. 2000; the record says how
            many were used.
        num_real: int or None. A seeded random subset of the reals; None
            (the `_full` protocol) uses every image. Defaults to None.
        truncation_psi: float. Defaults to `1.0`.
        feature_net: `FeatureNetwork`, its name, or None (the network the
            metric's name implies). Ignored by metrics without one.
        cache_dir: str or None. Real-statistics cache (see
            `real_statistics.resolve_cache_dir`). Defaults to None.
        batch_size: int. Samples per render. Defaults to `32`.
        seed: int. Seed of latents, labels, shifts and random projections.
            Defaults to `0`.
        progress: bool or callable `(done, total)`. True prints progress
            lines on stderr; False is silent. Defaults to True.
        snapshot: str or None. The network's file name, copied to the record.
        data_dir: str or None. TFDS data directory.
        jit_compile: `"auto"`, True or False, for the renders (see
            `CREPSGenerator.make_generate_function`; True on PyTorch is
            `torch.compile`: the demo configuration at 64^2, batch 32,
            compiled in ~36 s and then rendered 3.4x faster). Defaults to
            `"auto"`.

    Returns:
        dict: `results` (`{result name: float}`), `metric`, `total_time`
        (s), `total_time_str`, `num_gen`, `num_real`, `feature_network`
        (name, or None), `feature_network_key`, `truncation_psi`, `seed`,
        `data`, `snapshot`.

    Example:
    ```python
    record = calc_metric("swd_full", generator, data="faces64.zip", num_gen=2000)
    record["results"]   # {"swd_full": 41.3, "swd_full_64": ..., "swd_full_32": ..., "swd_full_16": ...}
    record = calc_metric("fid50k_full", generator, data="faces64.zip", feature_net=network)
    ```
    """
    from keras_creps.metrics.real_statistics import RealSet

    spec = get_metric(name)
    num_gen = _check_count("num_gen", num_gen)
    batch_size = _check_count("batch_size", batch_size, allow_none=False)
    if not np.isfinite(float(truncation_psi)):
        raise ValueError(f"`truncation_psi` must be finite. Received: truncation_psi={truncation_psi!r}")
    if spec.needs_reals and data is None:
        raise ValueError(f"`{name}` compares with real images: pass `data`. Received: data=None")
    start = time.time()
    network = _feature_network(spec, feature_net)
    reals = None
    if data is not None:
        reals = RealSet(data, generator.resolution, generator.img_channels, num_real=_check_count("num_real", num_real),
                        cache_dir=cache_dir, data_dir=data_dir, seed=seed,
                        progress=lambda label: make_progress(progress, f"{name}: {label}"))
    if num_gen is None:
        num_gen = spec.num_gen or min(reals.count(), MAX_DEFAULT_NUM_GEN)
    opts = MetricOptions(name=name, generator=generator, num_gen=num_gen, reals=reals, feature_net=network,
                         batch_size=batch_size, seed=int(seed), truncation_psi=float(truncation_psi),
                         progress=progress, jit_compile=jit_compile)
    results = {key: float(value) for key, value in spec.fn(opts).items()}
    total_time = time.time() - start
    return {
        "results": results, "metric": name, "total_time": total_time, "total_time_str": format_duration(total_time),
        "num_gen": num_gen, "num_real": num_real, "feature_network": None if network is None else network.name,
        "feature_network_key": None if network is None else network.cache_key(),
        "truncation_psi": float(truncation_psi), "seed": int(seed),
        "data": None if data is None else os.fspath(data), "snapshot": snapshot,
    }


def report_metric(record, path, **extra):
    """Appends `record` (plus `extra` and a `timestamp`) as one JSON line to `path`; returns the line.

    The line is written with a single `write` in append mode, so lines of
    concurrent writers do not interleave. Non-finite values are written as
    `Infinity`/`NaN` (Python's `json` reads them back).

    Example:
    ```python
    report_metric(calc_metric("swd_full", g, data=src), "runs/00001/metric-swd_full.jsonl", kimg=40.0)
    ```
    """
    line = json.dumps(dict(record, **extra, timestamp=time.time()), sort_keys=False, default=str)
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(directory, exist_ok=True)
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return line

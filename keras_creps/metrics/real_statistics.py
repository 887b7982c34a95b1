"""The real half of a metric: dataset images, labels, features and descriptors, cached on disk.

Statistics of a real dataset (Inception features, FID mean and covariance,
SWD descriptors, labels) are computed once and kept in a cache directory,
one `.npz` file per entry, named after the dataset and a hash of everything
the values depend on:

- the dataset: its absolute path, total size in bytes, number of files and
  newest modification time (so an edited, replaced or re-touched dataset is
  measured again);
- the options: resolution, channels, `num_real` (and the subset seed when it
  picks a subset), x-flips (always off here), the feature network's
  `cache_key()`, the kind of entry and its own options.

Cache directory: the `cache_dir` argument, else `$KERAS_CREPS_CACHE/metrics`,
else `~/.cache/keras_creps/metrics`. Entries are written to a temporary file
in the same directory and `os.replace`d, so a crash never leaves a partial
entry, and concurrent writers of the same entry simply write it twice.
"""

import glob
import hashlib
import json
import logging
import os
import re

import numpy as np

from keras_creps.utils.files import atomic_write

__all__ = ["CACHE_ENV", "RealSet", "dataset_fingerprint", "resolve_cache_dir"]

logger = logging.getLogger(__name__)

CACHE_ENV = "KERAS_CREPS_CACHE"
CACHE_VERSION = 1  # bump when the meaning of a cached entry changes


def resolve_cache_dir(path=None):
    """The metrics cache directory: `path`, else `$KERAS_CREPS_CACHE/metrics`, else `~/.cache/keras_creps/metrics`."""
    if path:
        return os.path.abspath(os.path.expanduser(os.fspath(path)))
    root = os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "keras_creps")
    return os.path.abspath(os.path.join(os.path.expanduser(root), "metrics"))


def _files_under(path):
    for root, _, names in os.walk(path):
        for name in names:
            yield os.path.join(root, name)


def dataset_fingerprint(source, data_dir=None):
    """What identifies the contents of a dataset source without reading it.

    Args:
        source: str or path. A file (`.zip`, `.tfrecord`), a folder (walked
            recursively), a glob of files, or `"tfds:<name>"` (its folder in
            `data_dir`).
        data_dir: str or None. TFDS data directory.

    Returns:
        dict with `source` (absolute), `files`, `bytes` and `mtime_ns` (the
        newest modification time).
    """
    source = os.fspath(source)
    if source.startswith("tfds:"):
        path = os.path.abspath(os.path.join(os.path.expanduser(data_dir or "."), source[len("tfds:"):]))
        key = source + "@" + path
    else:
        path = os.path.abspath(os.path.expanduser(source))
        key = path
    if os.path.isdir(path):
        files = list(_files_under(path))
    elif os.path.isfile(path):
        files = [path]
    else:
        files = sorted(glob.glob(path))
    if not files:
        raise FileNotFoundError(f"No dataset files at {source!r}. Received: data={source!r}")
    stats = [os.stat(f) for f in files]
    return {"source": key, "files": len(stats), "bytes": sum(s.st_size for s in stats),
            "mtime_ns": max(s.st_mtime_ns for s in stats)}


def _stem(source):
    name = os.path.basename(os.path.normpath(os.fspath(source).replace("tfds:", "")))
    return re.sub(r"[^A-Za-z0-9._+-]", "_", os.path.splitext(name)[0]) or "data"


class RealSet:
    """The real images of a metric, with their derived arrays cached on disk.

    Images are read (and decoded) only when an entry is missing from the
    cache, then kept in memory for the other entries of the same object.

    Args:
        source: str or path. A dataset accepted by `keras_creps.data.load_images`.
        resolution: int. Image size (the generator's native resolution).
        channels: int. 1 or 3 (the generator's `img_channels`).
        num_real: int or None. Use a seeded random subset of this many images
            (folders and ZIPs; the first ones for record sources). None uses
            the full dataset. Defaults to None.
        cache_dir: str or None. See `resolve_cache_dir()`. Defaults to None.
        data_dir: str or None. TFDS data directory.
        seed: int. Seed of the `num_real` subset. Defaults to `0`.
        use_cache: bool. Read and write the cache. Defaults to True.
        progress: callable `(label) -> progress callable or None`, for long
            feature extraction. Defaults to None.

    Example:
    ```python
    reals = RealSet("faces.zip", resolution=64, channels=3)
    mu, sigma = reals.fid_statistics(network)      # computed once, then read from disk
    ```
    """

    def __init__(self, source, resolution, channels, num_real=None, cache_dir=None, data_dir=None, seed=0,
                 use_cache=True, progress=None):
        if num_real is not None and (not isinstance(num_real, int) or num_real < 1):
            raise ValueError(f"`num_real` must be None or an int >= 1. Received: num_real={num_real!r}")
        self.source = os.fspath(source)
        self.resolution = int(resolution)
        self.channels = int(channels)
        self.num_real = num_real
        self.cache_dir = resolve_cache_dir(cache_dir)
        self.data_dir = data_dir
        self.seed = int(seed)
        self.use_cache = bool(use_cache)
        self.progress = progress
        self.fingerprint = dataset_fingerprint(self.source, data_dir)
        self._images = None
        self._labels = None
        self._features = {}

    # ------------------------------------------------------------------ cache

    def cache_key(self, kind, **options):
        """The hex digest naming entry `kind` with `options` for this dataset and settings."""
        description = {
            "version": CACHE_VERSION, "kind": kind, "dataset": self.fingerprint, "resolution": self.resolution,
            "channels": self.channels, "num_real": self.num_real, "xflip": False,
            "subset_seed": self.seed if self.num_real is not None else None, "options": options,
        }
        text = json.dumps(description, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def cache_path(self, kind, **options):
        return os.path.join(self.cache_dir, f"{_stem(self.source)}-{kind}-{self.cache_key(kind, **options)[:20]}.npz")

    def cached(self, kind, compute, **options):
        """Entry `kind`: read from the cache, or `compute()` (a dict of arrays) and stored."""
        path = self.cache_path(kind, **options)
        if self.use_cache and os.path.isfile(path):
            try:
                with np.load(path, allow_pickle=False) as entry:
                    return {name: entry[name] for name in entry.files}
            except (OSError, ValueError, EOFError) as error:  # a damaged entry is recomputed
                logger.warning("Ignoring unreadable metrics cache entry %s: %s", path, error)
        arrays = {name: np.asarray(value) for name, value in compute().items()}
        if self.use_cache:
            _save_npz(path, arrays)
        return arrays

    # ------------------------------------------------------------------ images

    def _load(self):
        if self._images is None:
            from keras_creps.data import load_images

            self._images, self._labels = load_images(
                self.source, resolution=self.resolution, channels=self.channels, use_labels=False,
                max_images=self.num_real, seed=self.seed, data_dir=self.data_dir)
            if len(self._images) == 0:
                raise ValueError(
                    f"{self.source!r} has no usable {self.resolution}x{self.resolution} images with "
                    f"{self.channels} channel(s) (the generator's size). Received: data={self.source!r}")
        return self._images

    def images(self):
        """The real images, uint8 `[N, R, R, C]` (read once per object)."""
        return self._load()

    def count(self):
        """The number of real images (cached)."""
        return int(self.cached("count", lambda: {"count": np.int64(len(self._load()))})["count"])

    def labels(self, c_dim):
        """The dataset's labels, float32 `[N, c_dim]` (cached), for drawing generator labels."""
        def compute():
            from keras_creps.data import load_images

            _, labels = load_images(self.source, resolution=self.resolution, channels=self.channels,
                                    use_labels=True, max_images=self.num_real, seed=self.seed,
                                    data_dir=self.data_dir)
            return {"labels": labels.astype(np.float32)}

        labels = self.cached("labels", compute)["labels"]
        if labels.ndim != 2 or labels.shape[1] != c_dim:
            raise ValueError(f"The dataset's labels are {labels.shape[1:]} wide, the generator's c_dim is {c_dim}. "
                             f"Received: data={self.source!r}")
        return labels

    # ------------------------------------------------------------------ derived arrays

    def _extract(self, network):
        key = network.cache_key()
        if key not in self._features:
            images = self._load()
            progress = self.progress(f"real features ({network.name})") if self.progress else None
            self._features[key] = np.asarray(network(images, progress=progress), np.float64)
        return self._features[key]

    def features(self, network):
        """Features of every real image, float32 `[N, D]` (cached; float32 halves the file)."""
        def compute():
            return {"features": self._extract(network).astype(np.float32)}

        return self.cached("features", compute, network=network.cache_key())["features"]

    def fid_statistics(self, network):
        """`(mu [D], sigma [D, D])` float64 of the real features (cached without the features)."""
        from keras_creps.metrics.frechet_distance import feature_statistics

        def compute():
            mu, sigma = feature_statistics(self._extract(network))
            return {"mu": mu, "sigma": sigma}

        entry = self.cached("fid_stats", compute, network=network.cache_key())
        return entry["mu"], entry["sigma"]

    def swd_descriptors(self, compute_descriptors, **options):
        """SWD patch descriptors of the real images (cached).

        Args:
            compute_descriptors: callable `images -> dict of arrays`.
            **options: JSON-able settings the descriptors depend on (part of the key).
        """
        return self.cached("swd", lambda: compute_descriptors(self._load()), **options)


def _save_npz(path, arrays):
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)

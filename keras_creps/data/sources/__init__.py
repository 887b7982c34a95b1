"""Dataset sources behind one interface (`Source`): image folders, StyleGAN ZIPs, TFRecord shards, TFDS.

`open_source` picks the source for a path or name and validates it; the
pipeline then asks it for elements (`Source.elements`).
"""

import os

import numpy as np

from keras_creps.data import tfrecord_format
from keras_creps.data.sources.base import Source, StreamOptions
from keras_creps.data.sources.file_source import FileSource
from keras_creps.data.sources.tfds import TFDSSource
from keras_creps.data.sources.tfrecord import GLOB_CHARS, TFRecordSource
from keras_creps.utils.arguments import non_negative_int, positive_int, power_of_two

__all__ = ["FileSource", "Source", "StreamOptions", "TFDSSource", "TFRecordSource", "open_source"]


def _plain(value):
    """NumPy integers as Python ints, so that the shared checks accept them."""
    return int(value) if isinstance(value, np.integer) else value


def _check_arguments(source, resolution, channels, max_images, seed):
    resolution, max_images, seed = _plain(resolution), _plain(max_images), _plain(seed)
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source:
        raise ValueError(f"`source` must be a folder, a .zip, a TFRecord directory or glob, or 'tfds:<name>'. "
                         f"Received: source={source!r}")
    if resolution is not None:
        resolution = power_of_two("resolution", resolution)
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"`channels` must be 1, 3 or None. Received: channels={channels!r}")
    if max_images is not None:
        max_images = positive_int("max_images", max_images)
    non_negative_int("seed", seed)
    return source, resolution, max_images


def open_source(source, *, resolution=None, channels=None, use_labels=False, max_images=None, seed=0,
                data_dir=None, split="train", limits=None):
    """The validated `Source` for `source` (see `make_dataset` for the arguments).

    Returns:
        A `FileSource` (folder or `.zip`), `TFRecordSource` (a directory with
        `metadata.json`, a `.tfrecord` shard or a glob of shards) or
        `TFDSSource` (`"tfds:<name>"`).

    Example:
    ```python
    source = open_source("faces.zip", resolution=64)
    print(source.num_images, source.report.summary())
    ```
    """
    source, resolution, max_images = _check_arguments(source, resolution, channels, max_images, seed)
    common = {"resolution": resolution, "channels": channels, "use_labels": use_labels, "max_images": max_images}
    if source.startswith("tfds:"):
        return TFDSSource(source, data_dir=data_dir, split=split, **common)
    if any(c in source for c in GLOB_CHARS) and not os.path.exists(source):
        return TFRecordSource(source, **common)
    if os.path.isdir(source):
        if os.path.isfile(os.path.join(source, tfrecord_format.METADATA_FILE)):
            return TFRecordSource(source, **common)
        return FileSource(source, seed=seed, limits=limits, **common)
    if not os.path.exists(source):
        raise ValueError(f"dataset source {source!r} does not exist")
    if source.lower().endswith(".zip"):
        return FileSource(source, seed=seed, limits=limits, **common)
    if source.lower().endswith(".tfrecord"):
        return TFRecordSource(source, **common)
    raise ValueError(
        f"unknown dataset source {source!r}: expected a folder, a .zip, a TFRecord directory, "
        f"a .tfrecord file or glob, or 'tfds:<name>'"
    )

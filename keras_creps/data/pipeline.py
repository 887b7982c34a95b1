"""tf.data pipelines for GAN training: `make_dataset`, `load_images` and `DatasetInfo`.

The sources (image folders, StyleGAN ZIPs, TFRecord shards, TFDS) live in
`keras_creps.data.sources`; this module batches, normalises and describes
what they stream.
"""

import dataclasses
import logging
import os

import numpy as np
import tensorflow as tf

from keras_creps.data.report import BadFileReport
from keras_creps.data.sources import StreamOptions, open_source
from keras_creps.utils.arguments import non_negative_int
from keras_creps.utils.arguments import positive_int

__all__ = ["DatasetInfo", "load_images", "make_dataset"]

logger = logging.getLogger(__name__)

DEFAULT_SHUFFLE_BUFFER = 10_000


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Facts about a dataset built by `make_dataset`.

    Args:
        name: str. A short name for run directories (`"ffhq64"` for
            `ffhq64.zip`, `"mnist-3.0.1"` for `tfds:mnist/3.0.1`).
        source: str. The source as given.
        kind: str. `"folder"`, `"zip"`, `"tfrecord"` or `"tfds"`.
        num_images: int. Usable images (after `max_images`, before x-flips).
        resolution: int. Image height and width.
        channels: int. 1 or 3.
        c_dim: int. Width of the yielded label vectors; 0 without labels or
            with `use_labels=False`.
        has_labels: bool. Whether the source has labels at all.
        label_kind: str or None. `"class"` (one-hot from class indices),
            `"vector"` (float vectors) or None.
        class_names: tuple of str or None. Names of the classes when known.
        xflip: bool. Whether each epoch holds every image twice, once
            mirrored.
        batch_size: int. Images per yielded batch (per replica).
        report: `BadFileReport`. Excluded and converted files.

    Pass an info back as `make_dataset(..., validated=info)` to build another
    pipeline of the same source without scanning it again.

    Example:
    ```python
    dataset, info = make_dataset("faces.zip", batch_size=32)
    print(info.name, info.num_images, info.resolution, info.report.summary())
    ```
    """

    name: str
    source: str
    kind: str
    num_images: int
    resolution: int
    channels: int
    c_dim: int
    has_labels: bool
    label_kind: object
    class_names: object
    xflip: bool
    batch_size: int
    report: BadFileReport
    # The validated source behind this info and the arguments that built it,
    # reused by `make_dataset(validated=...)`.
    _source: object = dataclasses.field(default=None, repr=False, compare=False)
    _scan: object = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def epoch_size(self):
        """Images per pass over the data: `num_images`, doubled with x-flips."""
        return self.num_images * (2 if self.xflip else 1)


def _normalize(images, labels):
    return tf.cast(images, tf.float32) / 127.5 - 1.0, labels


def _warn_about(report):
    if report.bad_files:
        logger.warning("excluded %d bad image files from the dataset\n%s", report.num_bad, report.summary())
    elif report.converted or report.ignored:
        logger.info("%s", report.summary())


def _validated_source(validated, scan):
    """The source behind `validated`; a `ValueError` when it was built for other arguments."""
    source = getattr(validated, "_source", None)
    if not isinstance(validated, DatasetInfo) or source is None:
        raise ValueError(f"`validated` must be the info returned by make_dataset. Received: validated={validated!r}")
    differ = [f"{key}={validated._scan[key]!r} there, {value!r} here" for key, value in scan.items()
              if validated._scan[key] != value]
    if differ:
        raise ValueError(f"`validated` comes from a make_dataset call with other arguments: {'; '.join(differ)}")
    return source


def _batched(elements, per_replica, drop_remainder, prefetch, input_context):
    dataset = elements.ignore_errors(log_warning=True)
    dataset = dataset.batch(per_replica, drop_remainder=drop_remainder)
    dataset = dataset.map(_normalize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if prefetch:
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
    if input_context is not None:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        dataset = dataset.with_options(options)
    return dataset


def make_dataset(
    source,
    *,
    batch_size,
    resolution=None,
    channels=None,
    use_labels=False,
    xflip=False,
    shuffle=True,
    shuffle_buffer=None,
    repeat=True,
    seed=0,
    prefetch=True,
    input_context=None,
    drop_remainder=True,
    max_images=None,
    data_dir=None,
    split="train",
    validated=None,
    limits=None,
    skip_batches=0,
):
    """A `tf.data.Dataset` of `(images, labels)` batches for GAN training.

    Sources:
    - an image folder, searched recursively for `.png`, `.jpg`, `.jpeg`,
      `.webp` (labels from an optional `dataset.json` at its root);
    - a StyleGAN dataset `.zip` (as written by the official `dataset_tool.py`
      or ours), labels from its `dataset.json`; member names are normalised
      (`\\` -> `/`, no leading `./`) so they match the labels;
    - a directory of TFRecord shards written by `recipes/dataset_tool.py`
      (with its `metadata.json`), a `.tfrecord` shard of one, or a glob of
      shards;
    - `"tfds:<name>"` (e.g. `"tfds:mnist/3.0.1"`): a TFDS dataset already
      prepared in `data_dir`. Nothing is ever downloaded and TFDS's GCS
      lookups are switched off.

    Folder and ZIP files are judged when the dataset is built, cheapest
    first: their declared size and type (only regular files are opened;
    `keras_creps.data.limits` gives the size limits), then their image
    header, and only then, in parallel threads under a memory budget, their
    pixels (decoded once with Pillow). Unusable files - not regular, too
    large, unreadable, not an image, truncated or corrupt, animated, with
    transparent pixels, not square, not the dataset resolution, without a
    label when labels are used, colour in a grayscale dataset - are excluded,
    named with their reason in `info.report` and summed up in a logged
    warning. Grayscale images in an RGB dataset are converted (gray copied to
    R, G and B), and so are RGBA images whose alpha is fully opaque (alpha
    dropped); both are listed in `info.report.converted`. Nothing is cached
    to disk.

    Shuffling is seeded: the same `seed` gives the same order. Folder and ZIP
    sources shuffle their whole index list each epoch (stateless, keyed by
    `(seed, epoch)`); record sources shuffle shard order and a buffer of
    `shuffle_buffer` records with `seed`.

    With `xflip=True`, as the official `--mirror=1`, every epoch holds every
    image twice, once as stored and once mirrored left-right, so an epoch is
    `2 * num_images` images (shuffled together).

    Args:
        source: str or path. See above.
        batch_size: int. The global batch size; with `input_context`, each
            replica gets `input_context.get_per_replica_batch_size(batch_size)`.
        resolution: int or None. Expected image size (a power of two >= 4).
            None: the most common square size of the images (folder/ZIP),
            or the stored size.
        channels: 1, 3 or None. None: 1 when every image is grayscale, else 3.
        use_labels: bool. Yield the labels (class indices as one-hot, or
            float vectors); False yields labels of shape `[B, 0]`. Raises if
            the source has no labels. Defaults to False.
        xflip: bool. Double each epoch with mirrored copies. Defaults to False.
        shuffle: bool. Defaults to True.
        shuffle_buffer: int or None. Records kept for shuffling TFRecord and
            TFDS sources. Defaults to 10000.
        repeat: bool. Repeat forever. Defaults to True.
        seed: int. Shuffling seed; also picks the `max_images` subset of a
            folder or ZIP. Defaults to 0.
        prefetch: bool. Prefetch batches. Defaults to True.
        input_context: `tf.distribute.InputContext` or None. Shard by input
            pipeline and batch per replica.
        drop_remainder: bool. Drop a last, smaller batch. Defaults to True.
        max_images: int or None. Use at most this many images: a seeded random
            subset for folders and ZIPs (like the official `max_size`), the
            first ones for TFRecord and TFDS sources.
        data_dir: str or None. TFDS data directory (required for `tfds:`).
        split: str. TFDS split. Defaults to `"train"`.
        validated: `DatasetInfo` or None. The info of an earlier call on the
            same source with the same `resolution`, `channels`, `use_labels`,
            `max_images`, `data_dir`, `split` and `limits`: its scan is
            reused, so no file is opened or reported again (e.g. one pipeline
            per replica after one validating call). `seed` then only orders
            the stream.
        limits: `keras_creps.data.limits.ImageLimits` or None. File and
            header limits for folders and ZIPs. Defaults to
            `ImageLimits.for_resolution(resolution)`.
        skip_batches: int. Batches left out at the start of each
            pipeline's stream, e.g. the steps already trained times the
            replicas a pipeline feeds, to continue a resumed run exactly.
            Their images are skipped before they are read: folders and ZIPs
            skip positions (nothing is read, and whole epochs cost nothing);
            TFRecord and TFDS sources read the skipped records but do not
            decode them. The stream equals the one after `.skip(skip_batches)`
            as long as no image fails to decode (validated sources).
            Defaults to 0.

    Returns:
        `(dataset, info)`: `dataset` yields `(images, labels)` with images
        float32 `[B, R, R, C]` in `[-1, 1]` (`x / 127.5 - 1`) and labels
        float32 `[B, c_dim]`; `info` is a `DatasetInfo`.

    Example:
    ```python
    dataset, info = make_dataset("faces.zip", batch_size=32, xflip=True)
    images, labels = next(iter(dataset))   # [32, 64, 64, 3], [32, 0]
    ```
    """
    batch_size = positive_int("batch_size", batch_size)
    skip_batches = non_negative_int("skip_batches", skip_batches)
    shuffle_buffer = positive_int("shuffle_buffer", DEFAULT_SHUFFLE_BUFFER if shuffle_buffer is None else shuffle_buffer)
    scan = {"source": os.fspath(source) if isinstance(source, os.PathLike) else source, "resolution": resolution,
            "channels": channels, "use_labels": bool(use_labels), "max_images": max_images, "data_dir": data_dir,
            "split": split, "limits": limits}
    if validated is not None:
        stream_source = _validated_source(validated, scan)
    else:
        stream_source = open_source(source, resolution=resolution, channels=channels, use_labels=use_labels,
                                    max_images=max_images, seed=seed, data_dir=data_dir, split=split, limits=limits)
        _warn_about(stream_source.report)

    per_replica, pipelines = batch_size, 1
    if input_context is not None:
        per_replica = input_context.get_per_replica_batch_size(batch_size)
        pipelines = input_context.num_input_pipelines
    epoch_size = stream_source.num_images * (2 if xflip else 1)
    if drop_remainder and not repeat and epoch_size // pipelines < per_replica:
        raise ValueError(
            f"{source!r} has {epoch_size} images per epoch ({pipelines} input pipelines), fewer than one batch "
            f"of {per_replica} with drop_remainder=True. Received: batch_size={batch_size}"
        )
    options = StreamOptions(shuffle=shuffle, repeat=repeat, seed=seed, xflip=xflip, input_context=input_context,
                            use_labels=use_labels, shuffle_buffer=shuffle_buffer, skip=skip_batches * per_replica)
    dataset = _batched(stream_source.elements(options), per_replica, drop_remainder, prefetch, input_context)
    info = DatasetInfo(
        name=stream_source.name,
        source=str(source),
        kind=stream_source.kind,
        num_images=stream_source.num_images,
        resolution=stream_source.resolution,
        channels=stream_source.channels,
        c_dim=stream_source.c_dim if use_labels else 0,
        has_labels=stream_source.label_kind is not None,
        label_kind=stream_source.label_kind,
        class_names=stream_source.class_names,
        xflip=bool(xflip),
        batch_size=per_replica,
        report=stream_source.report,
        _source=stream_source,
        _scan=scan,
    )
    return dataset, info


def load_images(
    source,
    *,
    resolution=None,
    channels=None,
    use_labels=False,
    max_images=None,
    seed=0,
    data_dir=None,
    split="train",
    limits=None,
):
    """All usable images of a source as NumPy arrays, in the source's order.

    Takes the same sources and does the same validation as `make_dataset`
    (bad files are excluded and reported in a logged warning), without
    shuffling, x-flips or normalisation.

    Args:
        source: str or path. A folder, `.zip`, TFRecord directory or glob, or
            `"tfds:<name>"`.
        resolution, channels, use_labels, max_images, seed, data_dir, split,
            limits: as for `make_dataset`.

    Returns:
        `(images, labels)`: uint8 `[N, R, R, C]` and float32 `[N, c_dim]`
        (`c_dim` is 0 with `use_labels=False`). Folder and ZIP images come in
        sorted name order.

    Example:
    ```python
    images, labels = load_images("faces.zip", max_images=1000)
    ```
    """
    stream_source = open_source(source, resolution=resolution, channels=channels, use_labels=use_labels,
                                max_images=max_images, seed=seed, data_dir=data_dir, split=split, limits=limits)
    _warn_about(stream_source.report)
    options = StreamOptions(seed=seed, use_labels=use_labels)
    dataset = stream_source.elements(options).ignore_errors(log_warning=True).batch(256)
    c_dim = stream_source.c_dim if use_labels else 0
    size = stream_source.resolution
    images = [np.zeros([0, size, size, stream_source.channels], np.uint8)]
    labels = [np.zeros([0, c_dim], np.float32)]
    for batch_images, batch_labels in dataset.as_numpy_iterator():
        images.append(batch_images)
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)

"""tf.data pipelines for GAN training: image folders, StyleGAN ZIPs, TFRecord shards, TFDS."""

import dataclasses
import glob
import logging
import os

import numpy as np
import tensorflow as tf

from keras_creps.data import image_files, tfrecord_format
from keras_creps.data.report import BadFileReport

__all__ = ["DatasetInfo", "load_images", "make_dataset"]

logger = logging.getLogger(__name__)

DEFAULT_SHUFFLE_BUFFER = 10_000
_GLOB_CHARS = "*?["


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
    # The validated source behind this info, reused by `make_dataset(validated=...)`.
    _plan: object = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def epoch_size(self):
        """Images per pass over the data: `num_images`, doubled with x-flips."""
        return self.num_images * (2 if self.xflip else 1)


# --------------------------------------------------------------------------- checks


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_resolution(resolution, what="resolution"):
    """Raises ValueError unless `resolution` is a power of two >= 4."""
    if not _is_int(resolution) or resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"`{what}` must be a power of two >= 4. Received: {what}={resolution!r}")
    return int(resolution)


def _check_positive(value, what, allow_none=False):
    if value is None and allow_none:
        return None
    if not _is_int(value) or value < 1:
        raise ValueError(f"`{what}` must be a positive integer. Received: {what}={value!r}")
    return int(value)


def _check_channels(channels):
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"`channels` must be 1, 3 or None. Received: channels={channels!r}")
    return channels


# --------------------------------------------------------------------------- decoding


def decode_image(data, channels):
    """uint8 [H, W, channels] from PNG/JPEG/WebP bytes (a TF function).

    JPEGs use the accurate integer IDCT so the pixels match Pillow's.
    """

    def jpeg():
        return tf.io.decode_jpeg(data, channels=channels, dct_method="INTEGER_ACCURATE")

    def other():
        return tf.io.decode_image(data, channels=channels, expand_animations=False, dtype=tf.uint8)

    return tf.cond(tf.io.is_jpeg(data), jpeg, other)


def _maybe_flip(image, flip):
    return tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image)


def _normalize(images, labels):
    return tf.cast(images, tf.float32) / 127.5 - 1.0, labels


# --------------------------------------------------------------------------- sources


class _Plan:
    """A validated source: its facts, and how to stream `(uint8 image, label)` elements."""

    kind = ""

    def __init__(self, source, name, num_images, resolution, channels, label_kind, c_dim, class_names, report):
        self.source = source
        self.name = name
        self.num_images = num_images
        self.resolution = resolution
        self.channels = channels
        self.label_kind = label_kind
        self.c_dim = c_dim
        self.class_names = tuple(class_names) if class_names else None
        self.report = report

    def finish_image(self, image):
        image = tf.ensure_shape(image, [self.resolution, self.resolution, None])
        if self.channels == 3 and image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        return tf.ensure_shape(image, [self.resolution, self.resolution, self.channels])


class _FilePlan(_Plan):
    """Image files of a folder or a StyleGAN ZIP, validated with Pillow at build time."""

    def __init__(self, source, *, resolution, channels, use_labels, max_images, seed):
        files = image_files.ImageFiles(source)
        self.kind = files.kind
        self.files = files
        report = BadFileReport(source)
        report.ignored = list(files.ignored)
        labels = image_files.parse_labels(files.read_labels_file(), f"dataset.json in {source!r}")
        if use_labels and labels is None:
            raise ValueError(
                f"use_labels=True but {source!r} has no labels (no dataset.json with a 'labels' list)"
            )
        if not files.names:
            raise ValueError(f"no image files ({', '.join(image_files.IMAGE_EXTENSIONS)}) in {source!r}")

        # Inspect files in chunks (all of them without max_images; in a seeded
        # random order until enough are usable with it, like the official
        # `max_size`, which takes a seeded random subset).
        count = len(files.names)
        order = np.arange(count)
        if max_images is not None and max_images < count:
            order = np.random.RandomState(seed).permutation(count)
        wanted = count if max_images is None else min(max_images, count)
        facts = []
        good = []
        start = 0
        while start < count and len(good) < wanted:
            step = count if max_images is None else max(16, int((wanted - len(good)) * 1.25))
            chunk = [files.names[i] for i in order[start:start + step]]
            start += len(chunk)
            new = image_files.inspect_images(files, chunk)
            facts.extend(new)
            if resolution is None:
                resolution = _common_square_size(facts, source)
            good = [f for f in facts if self._reason(f, resolution, channels, labels, use_labels) is None]
        good = sorted(good[:wanted], key=lambda f: f.name)
        report.num_checked = len(facts)
        for f in sorted(facts, key=lambda f: f.name):
            reason = self._reason(f, resolution, channels, labels, use_labels)
            if reason is not None:
                report.add_bad(f.name, reason)
        if not good:
            raise ValueError(
                f"no usable images in {source!r}: all {len(facts)} image files are bad.\n{report.summary()}"
            )
        if channels is None:
            channels = 1 if all(f.gray for f in good) else 3
        for f in good:
            if channels == 3 and f.gray:
                report.converted.append((f.name, "grayscale -> RGB"))
            elif f.mode in image_files.ALPHA_MODES:
                report.converted.append((f.name, f"{f.mode}, opaque alpha dropped"))
        self.names = [f.name for f in good]

        label_kind, c_dim, class_names = None, 0, None
        self.labels = None
        if labels is not None:
            label_kind, table, c_dim, class_names = labels
            if use_labels:
                rows = [table[name] for name in self.names]
                if label_kind == "class":
                    self.labels = np.eye(c_dim, dtype=np.float32)[np.asarray(rows, dtype=np.int64)]
                else:
                    self.labels = np.stack(rows).astype(np.float32)
        stem = os.path.basename(os.path.normpath(source))
        name = os.path.splitext(stem)[0] if self.kind == "zip" else stem
        super().__init__(source, name, len(good), resolution, channels, label_kind, c_dim, class_names, report)

    @staticmethod
    def _reason(facts, resolution, channels, labels, use_labels):
        if facts.reason is not None:
            return facts.reason
        if facts.width != facts.height:
            return f"not square ({facts.width}x{facts.height})"
        if facts.width != resolution:
            return f"wrong size {facts.width}x{facts.height}, the dataset is {resolution}x{resolution}"
        if channels == 1 and not facts.gray:
            return f"colour image (mode {facts.mode}) in a grayscale dataset"
        if use_labels and facts.name not in labels[1]:
            return "no label in dataset.json"
        return None

    def elements(self, *, shuffle, repeat, seed, xflip, input_context, use_labels):
        count = self.num_images
        total = 2 * count if xflip else count
        seed = int(seed)

        def epoch(index):
            positions = tf.range(total, dtype=tf.int64)
            if shuffle:
                key = tf.stack([tf.constant(seed, tf.int64), index])
                positions = tf.random.experimental.stateless_shuffle(positions, seed=key)
            return tf.data.Dataset.from_tensor_slices(positions)

        epochs = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(1)
        positions = epochs.flat_map(epoch)
        if input_context is not None and input_context.num_input_pipelines > 1:
            positions = positions.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)

        labels = tf.constant(self.labels) if (use_labels and self.labels is not None) else None
        if self.kind == "folder":
            paths = tf.constant([self.files.full_path(n) for n in self.names])

            def read(index):
                return tf.io.read_file(tf.gather(paths, index))
        else:
            names = list(self.names)
            files = self.files

            def read_member(index):
                return files.read(names[int(index)])

            def read(index):
                data = tf.numpy_function(read_member, [index], tf.string, stateful=False)
                data.set_shape([])
                return data

        def load(position):
            index = position % count
            image = self.finish_image(decode_image(read(index), self.channels))
            image = _maybe_flip(image, position >= count)
            label = tf.gather(labels, index) if labels is not None else tf.zeros([0], tf.float32)
            return image, label

        return positions.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _common_square_size(facts, source):
    """The most common square size among usable images (ties: the larger)."""
    sizes = {}
    for f in facts:
        if f.reason is None and f.width == f.height:
            sizes[f.width] = sizes.get(f.width, 0) + 1
    if not sizes:
        return None
    size = max(sizes, key=lambda s: (sizes[s], s))
    if size < 4 or size & (size - 1):
        raise ValueError(
            f"images in {source!r} are {size}x{size}; the resolution must be a power of two >= 4 "
            f"(crop and resize them with recipes/dataset_tool.py --resolution)"
        )
    return size


class _RecordPlan(_Plan):
    """Shared streaming for sources of encoded records (TFRecord shards, TFDS)."""

    def records(self, *, shuffle, repeat, seed, input_context):
        """`(encoded image, label)` pairs; `self.sharded` says whether input_context was applied."""
        raise NotImplementedError

    def decode(self, encoded):
        return decode_image(encoded, self.channels)

    def elements(self, *, shuffle, repeat, seed, xflip, input_context, use_labels, shuffle_buffer):
        pairs = self.records(shuffle=shuffle, repeat=repeat, seed=seed, input_context=input_context)
        if input_context is not None and input_context.num_input_pipelines > 1 and not self.sharded:
            pairs = pairs.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        if not use_labels:
            pairs = pairs.map(lambda encoded, label: (encoded, tf.zeros([0], tf.float32)))
        if xflip:
            pairs = pairs.map(
                lambda encoded, label: (tf.stack([encoded, encoded]), tf.stack([label, label]), tf.constant([False, True]))
            ).unbatch()
        else:
            pairs = pairs.map(lambda encoded, label: (encoded, label, tf.constant(False)))
        if shuffle:
            pairs = pairs.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)

        def load(encoded, label, flip):
            image = self.finish_image(self.decode(encoded))
            return _maybe_flip(image, flip), label

        return pairs.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


class _TFRecordPlan(_RecordPlan):
    kind = "tfrecord"

    def __init__(self, source, *, resolution, channels, use_labels, max_images):
        if any(c in source for c in _GLOB_CHARS):
            files = sorted(glob.glob(source))
            if not files:
                raise ValueError(f"no files match the TFRecord pattern {source!r}")
            directory = os.path.dirname(files[0])
        elif os.path.isdir(source):
            directory, files = source, None
        else:
            directory, files = os.path.dirname(source), [source]
        meta = tfrecord_format.read_metadata(directory)
        counts = {shard["file"]: int(shard["num_images"]) for shard in meta["shards"]}
        if files is None:
            files = [os.path.join(directory, name) for name in sorted(counts)]
        for path in files:
            if os.path.dirname(path) != directory or os.path.basename(path) not in counts:
                raise ValueError(f"{path!r} is not a shard listed in {directory!r}/{tfrecord_format.METADATA_FILE}")
            if not os.path.isfile(path):
                raise ValueError(f"TFRecord shard {path!r} is missing")
        self.files = files
        num_images = sum(counts[os.path.basename(p)] for p in files)
        if max_images is not None:
            num_images = min(num_images, max_images)
        self.max_images = max_images
        if num_images == 0:
            raise ValueError(f"TFRecord dataset {source!r} holds no images")
        stored = check_resolution(meta["resolution"], "metadata resolution")
        if resolution is not None and resolution != stored:
            raise ValueError(f"{source!r} holds {stored}x{stored} images. Received: resolution={resolution}")
        stored_channels = int(meta["channels"])
        if channels == 1 and stored_channels == 3:
            raise ValueError(f"{source!r} holds RGB images. Received: channels=1")
        label_kind = meta.get("label_kind")
        if use_labels and label_kind is None:
            raise ValueError(f"use_labels=True but TFRecord dataset {source!r} has no labels")
        report = BadFileReport(source, num_checked=num_images)
        name = meta.get("name") or os.path.basename(os.path.normpath(directory))
        super().__init__(
            source, name, num_images, stored, channels or stored_channels, label_kind,
            int(meta["c_dim"]), meta.get("class_names"), report,
        )

    def records(self, *, shuffle, repeat, seed, input_context):
        files = tf.data.Dataset.from_tensor_slices(self.files)
        pipelines = input_context.num_input_pipelines if input_context is not None else 1
        self.sharded = False
        if self.max_images is not None:
            # A fixed subset: the first `max_images` records in shard order.
            records = tf.data.TFRecordDataset(files).take(self.max_images)
            if repeat:
                records = records.repeat()
        else:
            if pipelines > 1 and len(self.files) >= pipelines:
                files = files.shard(pipelines, input_context.input_pipeline_id)
                self.sharded = True
            if shuffle:
                files = files.shuffle(len(self.files), seed=seed, reshuffle_each_iteration=True)
            if repeat:
                files = files.repeat()
            records = files.interleave(
                tf.data.TFRecordDataset,
                cycle_length=min(4, len(self.files)) if shuffle else 1,
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
        kind, c_dim = self.label_kind, self.c_dim
        return records.map(lambda r: tfrecord_format.parse_example(r, kind, c_dim))


class _TFDSPlan(_RecordPlan):
    kind = "tfds"

    def __init__(self, source, *, data_dir, split, resolution, channels, use_labels, max_images):
        name = source[len("tfds:"):]
        if not name:
            raise ValueError(f"empty TFDS name. Received: source={source!r}")
        if data_dir is None:
            raise ValueError(
                f"{source!r} needs data_dir= (the folder the dataset was prepared in); datasets are never downloaded"
            )
        data_dir = os.fspath(data_dir)
        if not os.path.isdir(data_dir):
            raise ValueError(f"TFDS data_dir {data_dir!r} does not exist")
        tfds = _import_tfds_offline()
        try:
            builder = tfds.builder(name, data_dir=data_dir, try_gcs=False)
        except Exception as e:  # noqa: BLE001 - DatasetNotFoundError and TFDS's other lookup errors
            raise ValueError(f"TFDS dataset {name!r} not found in data_dir={data_dir!r}: {e}") from None
        if not builder.is_prepared():
            raise ValueError(
                f"TFDS dataset {name!r} is not prepared in data_dir={data_dir!r}; prepare it there first "
                f"(this library never downloads)"
            )
        info = builder.info
        if split not in info.splits:
            raise ValueError(f"TFDS dataset {name!r} has no split {split!r}; it has {sorted(info.splits)}")
        features = info.features
        image_keys = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
        image_key = "image" if "image" in image_keys else (image_keys[0] if len(image_keys) == 1 else None)
        if image_key is None:
            raise ValueError(f"TFDS dataset {name!r} has no single image feature: {list(features)}")
        height, width, stored_channels = features[image_key].shape
        if height is None or width is None:
            raise ValueError(
                f"TFDS dataset {name!r} has images of varying size; convert it to fixed-size images first"
            )
        if height != width:
            raise ValueError(f"TFDS dataset {name!r} has non-square {height}x{width} images")
        stored = check_resolution(height, f"{name} image size")
        if resolution is not None and resolution != stored:
            raise ValueError(f"{source!r} holds {stored}x{stored} images. Received: resolution={resolution}")
        if stored_channels not in (1, 3):
            raise ValueError(f"TFDS dataset {name!r} has {stored_channels}-channel images; 1 or 3 are supported")
        if channels == 1 and stored_channels == 3:
            raise ValueError(f"{source!r} holds RGB images. Received: channels=1")
        label = features["label"] if "label" in features else None  # noqa: SIM401 - FeaturesDict has no .get
        label_kind, c_dim, class_names = None, 0, None
        if isinstance(label, tfds.features.ClassLabel):
            label_kind, c_dim, class_names = "class", int(label.num_classes), label.names
        if use_labels and label_kind is None:
            raise ValueError(f"use_labels=True but TFDS dataset {name!r} has no ClassLabel 'label' feature")
        num_images = int(info.splits[split].num_examples)
        self.split = split
        if max_images is not None and max_images < num_images:
            self.split, num_images = f"{split}[:{max_images}]", max_images
        if num_images == 0:
            raise ValueError(f"TFDS dataset {name!r} split {split!r} is empty")
        self.builder, self.image_key, self.image_feature = builder, image_key, features[image_key]
        report = BadFileReport(source, num_checked=num_images)
        super().__init__(
            source, name.replace("/", "-").replace(":", "-"), num_images, stored,
            channels or stored_channels, label_kind, c_dim, class_names, report,
        )

    def records(self, *, shuffle, repeat, seed, input_context):
        tfds = _import_tfds_offline()
        self.sharded = False
        read_config = tfds.ReadConfig(shuffle_seed=seed, try_autocache=False)
        dataset = self.builder.as_dataset(
            split=self.split,
            shuffle_files=shuffle,
            read_config=read_config,
            decoders={self.image_key: tfds.decode.SkipDecoding()},
        )
        key, kind, c_dim = self.image_key, self.label_kind, self.c_dim

        def pair(example):
            if kind == "class":
                return example[key], tf.one_hot(example["label"], c_dim, dtype=tf.float32)
            return example[key], tf.zeros([0], tf.float32)

        dataset = dataset.map(pair)
        return dataset.repeat() if repeat else dataset

    def decode(self, encoded):
        return self.image_feature.decode_example(encoded)


def _import_tfds_offline():
    """Imports tensorflow_datasets with its GCS lookups switched off."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.utils import gcs_utils

    gcs_utils._is_gcs_disabled = True
    return tfds


def _plan(source, *, resolution, channels, use_labels, max_images, seed, data_dir, split):
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source:
        raise ValueError(f"`source` must be a folder, a .zip, a TFRecord directory or glob, or 'tfds:<name>'. "
                         f"Received: source={source!r}")
    if resolution is not None:
        resolution = check_resolution(resolution)
    channels = _check_channels(channels)
    max_images = _check_positive(max_images, "max_images", allow_none=True)
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")
    common = {"resolution": resolution, "channels": channels, "use_labels": use_labels, "max_images": max_images}
    if source.startswith("tfds:"):
        return _TFDSPlan(source, data_dir=data_dir, split=split, **common)
    if any(c in source for c in _GLOB_CHARS) and not os.path.exists(source):
        return _TFRecordPlan(source, **common)
    if os.path.isdir(source):
        if os.path.isfile(os.path.join(source, tfrecord_format.METADATA_FILE)):
            return _TFRecordPlan(source, **common)
        return _FilePlan(source, seed=seed, **common)
    if not os.path.exists(source):
        raise ValueError(f"dataset source {source!r} does not exist")
    if source.lower().endswith(".zip"):
        return _FilePlan(source, seed=seed, **common)
    if source.lower().endswith(".tfrecord"):
        return _TFRecordPlan(source, **common)
    raise ValueError(
        f"unknown dataset source {source!r}: expected a folder, a .zip, a TFRecord directory, "
        f"a .tfrecord file or glob, or 'tfds:<name>'"
    )


def _warn_about(report):
    if report.bad_files:
        logger.warning("excluded %d bad image files from the dataset\n%s", report.num_bad, report.summary())
    elif report.converted or report.ignored:
        logger.info("%s", report.summary())


# --------------------------------------------------------------------------- public API


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
):
    """A `tf.data.Dataset` of `(images, labels)` batches for GAN training.

    Sources:
    - an image folder, searched recursively for `.png`, `.jpg`, `.jpeg`,
      `.webp` (labels from an optional `dataset.json` at its root);
    - a StyleGAN dataset `.zip` (as written by the official `dataset_tool.py`
      or ours), labels from its `dataset.json`;
    - a directory of TFRecord shards written by `recipes/dataset_tool.py`
      (with its `metadata.json`), a `.tfrecord` shard of one, or a glob of
      shards;
    - `"tfds:<name>"` (e.g. `"tfds:mnist/3.0.1"`): a TFDS dataset already
      prepared in `data_dir`. Nothing is ever downloaded and TFDS's GCS
      lookups are switched off.

    Folder and ZIP images are all decoded once with Pillow when the dataset is
    built (in parallel threads). Unusable files - unreadable, not an image,
    truncated or corrupt, animated, with transparent pixels, not square, not
    the dataset resolution, without a label when labels are used, colour in
    a grayscale dataset - are excluded, named with their reason in
    `info.report` and summed up in a logged warning. Grayscale images in an
    RGB dataset are converted (gray copied to R, G and B), and so are RGBA
    images whose alpha is fully opaque (alpha dropped); both are listed in
    `info.report.converted`. Nothing is cached to disk.

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
            `max_images`, `data_dir` and `split`: its scan is reused, so no
            file is opened or reported again (e.g. one pipeline per replica
            after one validating call). `seed` then only orders the stream.

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
    batch_size = _check_positive(batch_size, "batch_size")
    if shuffle_buffer is None:
        shuffle_buffer = DEFAULT_SHUFFLE_BUFFER
    shuffle_buffer = _check_positive(shuffle_buffer, "shuffle_buffer")
    scan = {"source": os.fspath(source) if isinstance(source, os.PathLike) else source, "resolution": resolution,
            "channels": channels, "use_labels": bool(use_labels), "max_images": max_images, "data_dir": data_dir,
            "split": split}
    if validated is not None:
        plan = _validated_plan(validated, scan)
    else:
        plan = _plan(source, resolution=resolution, channels=channels, use_labels=use_labels,
                     max_images=max_images, seed=seed, data_dir=data_dir, split=split)
        plan.scan = scan
        _warn_about(plan.report)

    per_replica = batch_size
    pipelines = 1
    if input_context is not None:
        per_replica = input_context.get_per_replica_batch_size(batch_size)
        pipelines = input_context.num_input_pipelines
    epoch_size = plan.num_images * (2 if xflip else 1)
    if drop_remainder and not repeat and epoch_size // pipelines < per_replica:
        raise ValueError(
            f"{source!r} has {epoch_size} images per epoch ({pipelines} input pipelines), fewer than one batch "
            f"of {per_replica} with drop_remainder=True. Received: batch_size={batch_size}"
        )

    kwargs = {"shuffle": shuffle, "repeat": repeat, "seed": seed, "xflip": xflip,
              "input_context": input_context, "use_labels": use_labels}
    if isinstance(plan, _RecordPlan):
        kwargs["shuffle_buffer"] = shuffle_buffer
    dataset = plan.elements(**kwargs)
    dataset = dataset.ignore_errors(log_warning=True)
    dataset = dataset.batch(per_replica, drop_remainder=drop_remainder)
    dataset = dataset.map(_normalize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if prefetch:
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
    if input_context is not None:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        dataset = dataset.with_options(options)

    info = DatasetInfo(
        name=plan.name,
        source=str(source),
        kind=plan.kind,
        num_images=plan.num_images,
        resolution=plan.resolution,
        channels=plan.channels,
        c_dim=plan.c_dim if use_labels else 0,
        has_labels=plan.label_kind is not None,
        label_kind=plan.label_kind,
        class_names=plan.class_names,
        xflip=bool(xflip),
        batch_size=per_replica,
        report=plan.report,
        _plan=plan,
    )
    return dataset, info


def _validated_plan(validated, scan):
    """The plan behind `validated`; a `ValueError` when it was built for other arguments."""
    plan = getattr(validated, "_plan", None)
    if not isinstance(validated, DatasetInfo) or plan is None:
        raise ValueError(f"`validated` must be the info returned by make_dataset. Received: validated={validated!r}")
    differ = [f"{key}={plan.scan[key]!r} there, {value!r} here" for key, value in scan.items()
              if plan.scan[key] != value]
    if differ:
        raise ValueError(f"`validated` comes from a make_dataset call with other arguments: {'; '.join(differ)}")
    return plan


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
):
    """All usable images of a source as NumPy arrays, in the source's order.

    Takes the same sources and does the same validation as `make_dataset`
    (bad files are excluded and reported in a logged warning), without
    shuffling, x-flips or normalisation.

    Args:
        source: str or path. A folder, `.zip`, TFRecord directory or glob, or
            `"tfds:<name>"`.
        resolution, channels, use_labels, max_images, seed, data_dir, split:
            as for `make_dataset`.

    Returns:
        `(images, labels)`: uint8 `[N, R, R, C]` and float32 `[N, c_dim]`
        (`c_dim` is 0 with `use_labels=False`). Folder and ZIP images come in
        sorted name order.

    Example:
    ```python
    images, labels = load_images("faces.zip", max_images=1000)
    ```
    """
    plan = _plan(source, resolution=resolution, channels=channels, use_labels=use_labels,
                 max_images=max_images, seed=seed, data_dir=data_dir, split=split)
    _warn_about(plan.report)
    kwargs = {"shuffle": False, "repeat": False, "seed": seed, "xflip": False, "input_context": None,
              "use_labels": use_labels}
    if isinstance(plan, _RecordPlan):
        kwargs["shuffle_buffer"] = 1
    dataset = plan.elements(**kwargs).ignore_errors(log_warning=True).batch(256)
    c_dim = plan.c_dim if use_labels else 0
    images = [np.zeros([0, plan.resolution, plan.resolution, plan.channels], np.uint8)]
    labels = [np.zeros([0, c_dim], np.float32)]
    for batch_images, batch_labels in dataset.as_numpy_iterator():
        images.append(batch_images)
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)

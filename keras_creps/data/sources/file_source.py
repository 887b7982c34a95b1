"""Image files of a folder or a StyleGAN ZIP, validated with Pillow when the source is built."""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from keras_creps.data.inspection import ALPHA_MODES, check_all_pixels, most_common_square_size, read_all_headers
from keras_creps.data.labels import parse_labels
from keras_creps.data.limits import ImageLimits
from keras_creps.data.report import BadFileReport
from keras_creps.data.sources.base import Source, decode_image, maybe_flip
from keras_creps.data.sources.file_store import IMAGE_EXTENSIONS
from keras_creps.data.sources.files import FolderFiles
from keras_creps.data.sources.stylegan_zip import ZipFiles
from keras_creps.utils.arguments import power_of_two

__all__ = ["FileSource", "open_image_files"]


def open_image_files(path, limits=None):
    """A `FolderFiles` for a directory, a `ZipFiles` for a `.zip` file, listing at most `limits.max_files`."""
    path = os.fspath(path)
    max_files = (limits or ImageLimits()).max_files
    if os.path.isdir(path):
        return FolderFiles(path, max_files)
    if os.path.isfile(path) and path.lower().endswith(".zip"):
        return ZipFiles(path, max_files)
    if not os.path.exists(path):
        raise ValueError(f"dataset source {path!r} does not exist")
    raise ValueError(f"dataset source {path!r} is neither a directory nor a .zip file")


def common_square_size(facts, source):
    """The most common square size among usable `facts`, checked to be a power of two, or None."""
    size = most_common_square_size(facts)
    if size is None:
        return None
    try:
        return power_of_two("resolution", size)
    except ValueError:
        raise ValueError(
            f"images in {source!r} are {size}x{size}; the resolution must be a power of two >= 4 "
            f"(crop and resize them with recipes/dataset_tool.py --resolution)"
        ) from None


def _unusable(facts, resolution, channels, table):
    """Why a file (header or decoded facts) cannot be in the dataset, or None."""
    if facts.reason is not None:
        return facts.reason
    if facts.width != facts.height:
        return f"not square ({facts.width}x{facts.height})"
    if facts.width != resolution:
        return f"wrong size {facts.width}x{facts.height}, the dataset is {resolution}x{resolution}"
    if channels == 1 and not facts.gray:
        return f"colour image (mode {facts.mode}) in a grayscale dataset"
    if table is not None and facts.name not in table:
        return "no label in dataset.json"
    return None


class FileSource(Source):
    """The usable images of a folder or StyleGAN ZIP.

    Every file is judged from its declared size and image header first
    (`keras_creps.data.limits`), and decoded only when those fit the dataset;
    excluded files are named with their reason in `report`.

    Args:
        source: str. A directory or a `.zip`.
        resolution: int or None. Required image size; None: the most common
            square size.
        channels: 1, 3 or None.
        use_labels: bool. Require a label for every image.
        max_images: int or None. A seeded random subset of this size.
        seed: int. Picks the subset.
        limits: `ImageLimits` or None (from `resolution`).
    """

    def __init__(self, source, *, resolution, channels, use_labels, max_images, seed, limits=None):
        limits = limits or ImageLimits.for_resolution(resolution)
        files = open_image_files(source, limits)
        self.kind = files.kind
        self.files = files
        labels = parse_labels(files.read_labels_file(), f"dataset.json in {source!r}")
        if use_labels and labels is None:
            raise ValueError(
                f"use_labels=True but {source!r} has no labels (no dataset.json with a 'labels' list)"
            )
        if not files.names:
            raise ValueError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in {source!r}")
        table = labels[1] if use_labels else None
        kept, facts, resolution = self._inspect(resolution, channels, table, max_images, seed, limits)
        good = sorted(kept, key=lambda f: f.name)
        report = self._report(source, facts)
        if not good:
            raise ValueError(
                f"no usable images in {source!r}: all {len(facts)} image files are bad.\n{report.summary()}"
            )
        if channels is None:
            channels = 1 if all(f.gray for f in good) else 3
        for f in good:
            if channels == 3 and f.gray:
                report.converted.append((f.name, "grayscale -> RGB"))
            elif f.mode in ALPHA_MODES:
                report.converted.append((f.name, f"{f.mode}, opaque alpha dropped"))
        self.names = [f.name for f in good]
        self.labels = None
        label_kind, c_dim, class_names = None, 0, None
        if labels is not None:
            label_kind, table, c_dim, class_names = labels
            if use_labels:
                self.labels = self._label_rows(label_kind, table, c_dim, self.names)
        stem = os.path.basename(os.path.normpath(source))
        name = os.path.splitext(stem)[0] if self.kind == "zip" else stem
        super().__init__(source, name, len(good), resolution, channels, label_kind, c_dim, class_names, report)

    def _inspect(self, resolution, channels, table, max_images, seed, limits):
        """`(kept, facts, resolution)`: the usable files kept, and the facts of all files judged.

        Without `max_images` every file is judged. With it, files are judged
        in a seeded random order, in chunks, until enough are usable (like
        the official `max_size`, which takes a seeded random subset); the
        first `max_images` usable ones are kept.
        """
        files, source = self.files, self.files.path
        count = len(files.names)
        order = np.arange(count)
        if max_images is not None and max_images < count:
            order = np.random.RandomState(seed).permutation(count)
        wanted = count if max_images is None else min(max_images, count)
        headers, facts, usable = [], [], 0
        start = 0
        while start < count and usable < wanted:
            step = count if max_images is None else max(16, int((wanted - usable) * 1.25))
            chunk = [files.names[i] for i in order[start:start + step]]
            start += len(chunk)
            new = read_all_headers(files, chunk, limits)
            headers.extend(new)
            if resolution is None:
                resolution = common_square_size(headers, source)
            # Only files whose header fits the dataset are decoded.
            judged = [dataclasses.replace(f, reason=_unusable(f, resolution, channels, table)) for f in new]
            decoded = iter(check_all_pixels(files, [f for f in judged if f.reason is None]))
            facts.extend(next(decoded) if f.reason is None else f for f in judged)
            usable = sum(f.reason is None for f in facts)
        kept = [f for f in facts if f.reason is None][:wanted]
        return kept, facts, resolution

    def _report(self, source, facts):
        report = BadFileReport(source)
        report.ignored = list(self.files.ignored)
        report.num_checked = len(facts) + len(self.files.rejected)
        bad = [(f.name, f.reason) for f in facts if f.reason is not None] + self.files.rejected
        for name, reason in sorted(bad):
            report.add_bad(name, reason)
        return report

    @staticmethod
    def _label_rows(kind, table, c_dim, names):
        rows = [table[name] for name in names]
        if kind == "class":
            return np.eye(c_dim, dtype=np.float32)[np.asarray(rows, dtype=np.int64)]
        return np.stack(rows).astype(np.float32)

    def elements(self, options):
        count = self.num_images
        total = 2 * count if options.xflip else count
        seed = int(options.seed)

        def epoch(index):
            positions = tf.range(total, dtype=tf.int64)
            if options.shuffle:
                key = tf.stack([tf.constant(seed, tf.int64), index])
                positions = tf.random.experimental.stateless_shuffle(positions, seed=key)
            return tf.data.Dataset.from_tensor_slices(positions)

        # Skipping n elements of one of k shards is skipping n * k of the whole
        # stream; whole epochs are skipped by starting the epoch counter later.
        skip = int(options.skip) * options.pipelines
        if options.repeat:
            epochs = tf.data.Dataset.counter(start=skip // total)
            skip %= total
        else:
            epochs = tf.data.Dataset.range(1)
        positions = epochs.flat_map(epoch)
        if skip:
            positions = positions.skip(skip)
        if options.pipelines > 1:
            positions = positions.shard(options.pipelines, options.input_context.input_pipeline_id)
        labels = tf.constant(self.labels) if (options.use_labels and self.labels is not None) else None
        read = self._reader()

        def load(position):
            index = position % count
            image = self.finish_image(decode_image(read(index), self.channels))
            image = maybe_flip(image, position >= count)
            label = tf.gather(labels, index) if labels is not None else tf.zeros([0], tf.float32)
            return image, label

        return positions.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def _reader(self):
        """A TF function: image index -> the file's bytes."""
        if self.kind == "folder":
            paths = tf.constant([self.files.full_path(n) for n in self.names])
            return lambda index: tf.io.read_file(tf.gather(paths, index))
        names, files = list(self.names), self.files
        max_bytes = ImageLimits.for_resolution(self.resolution).max_file_bytes

        def read_member(index):
            return files.read(names[int(index)], max_bytes)

        def read(index):
            data = tf.numpy_function(read_member, [index], tf.string, stateful=False)
            data.set_shape([])
            return data

        return read

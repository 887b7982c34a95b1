"""TFRecord shards written by `recipes/dataset_tool.py` (format: `keras_creps.data.tfrecord_format`)."""

import glob
import os

import tensorflow as tf

from keras_creps.data import tfrecord_format
from keras_creps.data.report import BadFileReport
from keras_creps.data.sources.base import RecordSource
from keras_creps.utils.arguments import power_of_two

__all__ = ["GLOB_CHARS", "TFRecordSource"]

GLOB_CHARS = "*?["


def _shard_files(source):
    """`(directory, shard paths or None for all)` of a directory, a shard, or a glob of shards."""
    if any(c in source for c in GLOB_CHARS):
        files = sorted(glob.glob(source))
        if not files:
            raise ValueError(f"no files match the TFRecord pattern {source!r}")
        return os.path.dirname(files[0]), files
    if os.path.isdir(source):
        return source, None
    return os.path.dirname(source), [source]


class TFRecordSource(RecordSource):
    """A directory of shards with its `metadata.json`, one shard of it, or a glob of its shards.

    Args:
        source: str. The directory, a `.tfrecord` shard, or a glob.
        resolution, channels, use_labels, max_images: as for `make_dataset`;
            `max_images` takes the first records in shard order.
    """

    kind = "tfrecord"

    def __init__(self, source, *, resolution, channels, use_labels, max_images):
        directory, files = _shard_files(source)
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
        stored = power_of_two("metadata resolution", meta["resolution"])
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

    def records(self, options):
        files = tf.data.Dataset.from_tensor_slices(self.files)
        sharded = False
        if self.max_images is not None:
            # A fixed subset: the first `max_images` records in shard order.
            records = tf.data.TFRecordDataset(files).take(self.max_images)
            if options.repeat:
                records = records.repeat()
        else:
            if options.pipelines > 1 and len(self.files) >= options.pipelines:
                files = files.shard(options.pipelines, options.input_context.input_pipeline_id)
                sharded = True
            if options.shuffle:
                files = files.shuffle(len(self.files), seed=options.seed, reshuffle_each_iteration=True)
            if options.repeat:
                files = files.repeat()
            records = files.interleave(
                tf.data.TFRecordDataset,
                cycle_length=min(4, len(self.files)) if options.shuffle else 1,
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
        kind, c_dim = self.label_kind, self.c_dim
        return records.map(lambda r: tfrecord_format.parse_example(r, kind, c_dim)), sharded

    def decode(self, encoded):
        # A record's PNG is decoded only when its header says R x R: a forged
        # record cannot make the decoder allocate more.
        check = tf.debugging.assert_equal(
            tfrecord_format.png_size(encoded), tf.constant([self.resolution] * 2, tf.int64),
            message="a record's image/png is not a PNG of the dataset's size",
        )
        with tf.control_dependencies([check]):
            encoded = tf.identity(encoded)
        return super().decode(encoded)

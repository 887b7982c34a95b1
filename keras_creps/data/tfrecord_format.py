"""Our TFRecord dataset format: PNG-encoded `tf.train.Example`s in shards plus `metadata.json`.

A dataset is a directory holding shards `shard-00000-of-00004.tfrecord`, ...
and `metadata.json`:

```
{"format": "keras_creps.tfrecord", "version": 1, "name": "faces",
 "num_images": 1000, "resolution": 64, "channels": 3,
 "label_kind": null | "class" | "vector", "c_dim": 0, "class_names": null | [...],
 "shards": [{"file": "shard-00000-of-00004.tfrecord", "num_images": 256}, ...],
 "skipped": [[name, reason], ...]}
```

Each record has `image/png` (bytes, R x R x C, 8 bit), `image/name` (the
source file's relative name) and, when labelled, `label/class` (int64) or
`label/vector` (`c_dim` floats). `recipes/dataset_tool.py` writes it.
"""

import json
import os

import tensorflow as tf

__all__ = [
    "FORMAT_NAME",
    "METADATA_FILE",
    "encode_example",
    "parse_example",
    "png_size",
    "read_metadata",
    "shard_name",
]

FORMAT_NAME = "keras_creps.tfrecord"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"


def shard_name(index, count):
    return f"shard-{index:05d}-of-{count:05d}.tfrecord"


def encode_example(png_bytes, name, label=None, label_kind=None):
    """A serialized `tf.train.Example` for one image (PNG bytes) and its label."""
    feature = {
        "image/png": tf.train.Feature(bytes_list=tf.train.BytesList(value=[png_bytes])),
        "image/name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[name.encode("utf-8")])),
    }
    if label_kind == "class":
        feature["label/class"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)]))
    elif label_kind == "vector":
        feature["label/vector"] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in label]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def parse_example(serialized, label_kind, c_dim):
    """`(png_bytes, label float32 [c_dim])` from a serialized record; a TF function."""
    spec = {"image/png": tf.io.FixedLenFeature([], tf.string)}
    if label_kind == "class":
        spec["label/class"] = tf.io.FixedLenFeature([], tf.int64)
    elif label_kind == "vector":
        spec["label/vector"] = tf.io.FixedLenFeature([c_dim], tf.float32)
    parsed = tf.io.parse_single_example(serialized, spec)
    if label_kind == "class":
        label = tf.one_hot(parsed["label/class"], c_dim, dtype=tf.float32)
    elif label_kind == "vector":
        label = parsed["label/vector"]
    else:
        label = tf.zeros([0], tf.float32)
    return parsed["image/png"], label


def png_size(data):
    """int64 `[height, width]` from a PNG's IHDR chunk, `[-1, -1]` for other bytes (a TF function).

    Reads 24 bytes, so a record can be checked before it is decoded.
    """
    data = tf.convert_to_tensor(data, tf.string)
    long_enough = tf.strings.length(data) >= 24

    def size():
        if_png = tf.logical_and(tf.equal(tf.strings.substr(data, 0, 8), PNG_SIGNATURE),
                                tf.equal(tf.strings.substr(data, 12, 4), b"IHDR"))
        raw = tf.cast(tf.io.decode_raw(tf.strings.substr(data, 16, 8), tf.uint8), tf.int64)
        width_height = tf.reduce_sum(tf.reshape(raw, [2, 4]) * tf.constant([1 << 24, 1 << 16, 1 << 8, 1], tf.int64), 1)
        return tf.where(if_png, tf.reverse(width_height, [0]), tf.constant([-1, -1], tf.int64))

    return tf.cond(long_enough, size, lambda: tf.constant([-1, -1], tf.int64))


def read_metadata(directory):
    """The checked `metadata.json` of a TFRecord dataset directory."""
    path = os.path.join(directory, METADATA_FILE)
    if not os.path.isfile(path):
        raise ValueError(f"TFRecord dataset {directory!r} has no {METADATA_FILE} (write it with recipes/dataset_tool.py)")
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path!r} is not readable JSON: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{path!r} is not a {FORMAT_NAME} metadata file")
    if meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path!r} has format version {meta.get('version')!r}; this reader knows {FORMAT_VERSION}")
    for key in ("num_images", "resolution", "channels", "c_dim", "shards"):
        if key not in meta:
            raise ValueError(f"{path!r} lacks {key!r}")
    return meta

"""Where `write_dataset` puts images: a StyleGAN ZIP or a directory of TFRecord shards.

Both are written under a temporary name beside the destination and renamed
when complete, so a destination holds a whole dataset or nothing; both end
with the permissions of a normally created file or directory.
"""

import contextlib
import json
import os
import secrets
import shutil
import time
import zipfile

from keras_creps.data import tfrecord_format
from keras_creps.data.labels import LABELS_FILE
from keras_creps.data.sources.stylegan_zip import archive_name
from keras_creps.utils.files import atomic_write
from keras_creps.utils.images import png_bytes
from keras_creps.utils.output_paths import OutputPathError, check_output_dir

__all__ = ["check_destination", "tfrecord_sink", "zip_sink"]


def check_destination(dest):
    """Raises a one-line `ValueError` unless `dest` can become the dataset; nothing is created.

    A `.zip` must not be a directory and its folder must be writable; a
    TFRecord directory must be new or empty, and writable.
    """
    if dest.lower().endswith(".zip"):
        if os.path.isdir(dest):
            raise OutputPathError(f"`dest` {dest!r} is a directory")
        if os.path.lexists(dest) and not os.path.isfile(dest):
            raise OutputPathError(f"`dest` {dest!r} exists and is not a regular file")
        check_output_dir(os.path.dirname(os.path.abspath(dest)), name="`dest` folder")
        return
    if os.path.isdir(dest) and os.listdir(dest):
        raise OutputPathError(f"`dest` {dest!r} exists and is not an empty directory")
    check_output_dir(dest, name="`dest`")


class _ZipWriter:
    def __init__(self, archive, compress_level):
        self.archive = archive
        self.compress_level = compress_level
        self.entries = []
        self.date_time = time.localtime()[:6]

    def _entry(self, name):
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.create_system = 3  # Unix: the mode below means the same everywhere
        info.external_attr = 0o644 << 16
        return info

    def add(self, index, image, label, label_kind):
        name = archive_name(index)
        self.archive.writestr(self._entry(name), png_bytes(image, self.compress_level))
        if label_kind == "vector":
            label = [float(v) for v in label]
        self.entries.append([name, label] if label_kind else None)

    def finish(self, meta):
        contents = {"labels": self.entries if meta["label_kind"] else None}
        if meta["class_names"]:
            contents["class_names"] = meta["class_names"]
        self.archive.writestr(self._entry(LABELS_FILE), json.dumps(contents))


@contextlib.contextmanager
def zip_sink(dest, compress_level):
    """Yields a writer with `add(index, image, label, label_kind)` and `finish(meta)`.

    The ZIP appears under `dest` when the block ends without an exception.
    """
    with atomic_write(dest) as temp, zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as archive:
        yield _ZipWriter(archive, compress_level)


class _TFRecordWriter:
    def __init__(self, directory, compress_level, shard_size):
        import tensorflow as tf

        self.tf = tf
        self.directory = directory
        self.compress_level = compress_level
        self.shard_size = shard_size
        self.counts = []
        self.writer = None

    def add(self, index, image, label, label_kind):
        if self.writer is None or self.counts[-1] == self.shard_size:
            self.close()
            self.writer = self.tf.io.TFRecordWriter(os.path.join(self.directory, f"part-{len(self.counts):05d}"))
            self.counts.append(0)
        data = png_bytes(image, self.compress_level)
        self.writer.write(tfrecord_format.encode_example(data, archive_name(index), label, label_kind))
        self.counts[-1] += 1

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def finish(self, meta):
        self.close()
        shards = []
        for i, count in enumerate(self.counts):
            file = tfrecord_format.shard_name(i, len(self.counts))
            os.replace(os.path.join(self.directory, f"part-{i:05d}"), os.path.join(self.directory, file))
            shards.append({"file": file, "num_images": count})
        contents = {
            "format": tfrecord_format.FORMAT_NAME,
            "version": tfrecord_format.FORMAT_VERSION,
            **meta,
            "shards": shards,
        }
        with open(os.path.join(self.directory, tfrecord_format.METADATA_FILE), "w") as f:
            json.dump(contents, f, indent=1)


@contextlib.contextmanager
def tfrecord_sink(dest, compress_level, shard_size):
    """Yields a writer with `add(index, image, label, label_kind)` and `finish(meta)`.

    The directory appears under `dest` (new or empty) when the block ends
    without an exception.
    """
    dest = os.path.abspath(dest)
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    # os.mkdir gives the usual mode (0777 less the umask); mkdtemp would give 0700.
    temp = os.path.join(parent, f".{os.path.basename(dest)}.{secrets.token_hex(4)}.tmp")
    os.mkdir(temp)
    writer = _TFRecordWriter(temp, compress_level, shard_size)
    try:
        yield writer
        writer.close()
        if os.path.isdir(dest):
            os.rmdir(dest)  # empty, checked by check_destination
        os.replace(temp, dest)
    except BaseException:
        writer.close()
        shutil.rmtree(temp, ignore_errors=True)
        raise

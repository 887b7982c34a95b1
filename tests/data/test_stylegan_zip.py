"""ZipFiles: one open archive per reading thread, also for TensorFlow's own threads."""

import zipfile

import pytest
import tensorflow as tf

from keras_creps.data.default import default_dataset_path
from keras_creps.data.sources import stylegan_zip
from keras_creps.data.sources.stylegan_zip import ZipFiles


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def test_tf_data_reads_reuse_one_archive_per_thread(monkeypatch):
    opened = []

    class CountingZipFile(zipfile.ZipFile):
        def __init__(self, *args, **kwargs):
            opened.append(args[0])
            super().__init__(*args, **kwargs)

    files = ZipFiles(default_dataset_path())
    monkeypatch.setattr(stylegan_zip.zipfile, "ZipFile", CountingZipFile)
    names = files.names

    def read_member(index):
        return files.read(names[int(index)], 1 << 24)

    reads = tf.data.Dataset.range(300).map(
        lambda i: tf.numpy_function(read_member, [i], tf.string, stateful=False), num_parallel_calls=4)
    data = [bytes(x.numpy()) for x in reads]
    assert data[0][:8] == b"\x89PNG\r\n\x1a\n" and len(set(data)) == 300
    # A threading.local is reset on every call from a TensorFlow thread: 300 opens before the fix.
    assert 1 <= len(opened) <= 16, len(opened)

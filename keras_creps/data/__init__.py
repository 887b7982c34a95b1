"""tf.data input pipelines: image folders, StyleGAN ZIPs, TFRecord shards and TFDS.

Public API:
    make_dataset    `(dataset, info)` of normalised `(images, labels)` batches for training
    load_images     all usable images of a source as uint8 NumPy arrays (metrics, tests)
    DatasetInfo     facts about a built dataset (name, size, resolution, labels, report)
    BadFileReport   excluded and converted files, with reasons
    ImageLimits     size limits checked before a file is read or decoded

Layout: `sources/` holds one module per source behind one interface
(`sources/base.py`: image folders `files.py`, StyleGAN ZIPs `stylegan_zip.py`,
both validated by `file_source.py`; `tfrecord.py`; `tfds.py`); `limits.py`,
`inspection.py` (headers, then pixels) and `report.py` judge and report files;
`pipeline.py` batches; `writer.py`, `conversion.py` and `sinks.py` make
datasets for `recipes/dataset_tool.py`.

This package imports TensorFlow (tf.data runs on TensorFlow under every Keras
backend) and, from keras_creps, only `keras_creps.utils`. TFDS is imported
only for `tfds:` sources.
"""

from keras_creps.data.limits import ImageLimits
from keras_creps.data.pipeline import DatasetInfo, load_images, make_dataset
from keras_creps.data.report import BadFileReport

__all__ = ["BadFileReport", "DatasetInfo", "ImageLimits", "load_images", "make_dataset"]

"""tf.data input pipelines: image folders, StyleGAN ZIPs, TFRecord shards and TFDS.

Public API:
    make_dataset    `(dataset, info)` of normalised `(images, labels)` batches for training
    load_images     all usable images of a source as uint8 NumPy arrays (metrics, tests)
    DatasetInfo     facts about a built dataset (name, size, resolution, labels, report)
    BadFileReport   excluded and converted files, with reasons

This package imports TensorFlow (tf.data runs on TensorFlow under every Keras
backend) and nothing else from keras_creps. TFDS is imported only for `tfds:`
sources.
"""

from keras_creps.data.pipeline import DatasetInfo, load_images, make_dataset
from keras_creps.data.report import BadFileReport

__all__ = ["BadFileReport", "DatasetInfo", "load_images", "make_dataset"]

"""`tfds:<name>` sources: TFDS datasets already prepared in a local `data_dir`, never downloaded."""

import os

import tensorflow as tf

from keras_creps.data.report import BadFileReport
from keras_creps.data.sources.base import RecordSource
from keras_creps.utils.arguments import power_of_two

__all__ = ["TFDSSource", "import_tfds_offline"]


def import_tfds_offline():
    """Imports tensorflow_datasets with its GCS lookups switched off."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.utils import gcs_utils

    gcs_utils._is_gcs_disabled = True
    return tfds


def _prepared_builder(name, data_dir):
    """The TFDS builder of dataset `name`, prepared in `data_dir`."""
    if data_dir is None:
        raise ValueError(
            f"'tfds:{name}' needs data_dir= (the folder the dataset was prepared in); datasets are never downloaded"
        )
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise ValueError(f"TFDS data_dir {data_dir!r} does not exist")
    tfds = import_tfds_offline()
    try:
        builder = tfds.builder(name, data_dir=data_dir, try_gcs=False)
    except Exception as e:  # noqa: BLE001 - DatasetNotFoundError and TFDS's other lookup errors
        raise ValueError(f"TFDS dataset {name!r} not found in data_dir={data_dir!r}: {e}") from None
    if not builder.is_prepared():
        raise ValueError(
            f"TFDS dataset {name!r} is not prepared in data_dir={data_dir!r}; prepare it there first "
            f"(this library never downloads)"
        )
    return builder


def _image_feature(name, features, tfds):
    """`(key, feature, size, channels)` of the dataset's one fixed-size square image feature."""
    image_keys = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
    image_key = "image" if "image" in image_keys else (image_keys[0] if len(image_keys) == 1 else None)
    if image_key is None:
        raise ValueError(f"TFDS dataset {name!r} has no single image feature: {list(features)}")
    height, width, channels = features[image_key].shape
    if height is None or width is None:
        raise ValueError(f"TFDS dataset {name!r} has images of varying size; convert it to fixed-size images first")
    if height != width:
        raise ValueError(f"TFDS dataset {name!r} has non-square {height}x{width} images")
    if channels not in (1, 3):
        raise ValueError(f"TFDS dataset {name!r} has {channels}-channel images; 1 or 3 are supported")
    return image_key, features[image_key], power_of_two(f"{name} image size", height), channels


class TFDSSource(RecordSource):
    """A prepared TFDS dataset with one fixed-size image feature and an optional ClassLabel `label`.

    Args:
        source: str. `"tfds:<name>"`.
        data_dir: str. Where the dataset is prepared.
        split: str. The split to read.
        resolution, channels, use_labels, max_images: as for `make_dataset`;
            `max_images` takes the first examples of the split.
    """

    kind = "tfds"

    def __init__(self, source, *, data_dir, split, resolution, channels, use_labels, max_images):
        name = source[len("tfds:"):]
        if not name:
            raise ValueError(f"empty TFDS name. Received: source={source!r}")
        builder = _prepared_builder(name, data_dir)
        tfds = import_tfds_offline()
        info = builder.info
        if split not in info.splits:
            raise ValueError(f"TFDS dataset {name!r} has no split {split!r}; it has {sorted(info.splits)}")
        features = info.features
        self.image_key, self.image_feature, stored, stored_channels = _image_feature(name, features, tfds)
        if resolution is not None and resolution != stored:
            raise ValueError(f"{source!r} holds {stored}x{stored} images. Received: resolution={resolution}")
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
        self.builder = builder
        report = BadFileReport(source, num_checked=num_images)
        super().__init__(
            source, name.replace("/", "-").replace(":", "-"), num_images, stored,
            channels or stored_channels, label_kind, c_dim, class_names, report,
        )

    def records(self, options):
        tfds = import_tfds_offline()
        read_config = tfds.ReadConfig(shuffle_seed=options.seed, try_autocache=False)
        dataset = self.builder.as_dataset(
            split=self.split,
            shuffle_files=options.shuffle,
            read_config=read_config,
            decoders={self.image_key: tfds.decode.SkipDecoding()},
        )
        key, kind, c_dim = self.image_key, self.label_kind, self.c_dim

        def pair(example):
            if kind == "class":
                return example[key], tf.one_hot(example["label"], c_dim, dtype=tf.float32)
            return example[key], tf.zeros([0], tf.float32)

        dataset = dataset.map(pair)
        return (dataset.repeat() if options.repeat else dataset), False

    def decode(self, encoded):
        return self.image_feature.decode_example(encoded)

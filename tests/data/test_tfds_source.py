"""`tfds:<name>` sources: a tiny builder prepared in a temporary data_dir, with GCS access forbidden."""

import numpy as np
import pytest
from conftest import random_images

from keras_creps.data import load_images, make_dataset

tfds = pytest.importorskip("tensorflow_datasets")

IMAGES = random_images(5, size=8, seed=11)
LABELS = [2, 0, 1, 2, 1]


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


class KerasCrepsTinyShapes(tfds.core.GeneratorBasedBuilder):
    """Five 8x8 RGB images with three classes, made in memory."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 3)),
                    "label": tfds.features.ClassLabel(names=["a", "b", "c"]),
                }
            ),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for i, (image, label) in enumerate(zip(IMAGES, LABELS)):
            yield i, {"image": image, "label": label}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tfds"))
    builder = KerasCrepsTinyShapes(data_dir=path)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return path


@pytest.fixture
def no_gcs(monkeypatch):
    """Makes every TFDS GCS helper fail the test if it is called."""
    from tensorflow_datasets.core.utils import gcs_utils

    def forbidden(*args, **kwargs):
        raise AssertionError("TFDS tried to reach GCS")

    for name in ("exists", "gcs_path", "gcs_listdir", "gcs_dataset_info_files", "is_dataset_on_gcs",
                 "download_gcs_folder", "download_gcs_dataset"):
        if hasattr(gcs_utils, name):
            monkeypatch.setattr(gcs_utils, name, forbidden)
    monkeypatch.setattr(gcs_utils, "_is_gcs_disabled", False)  # make_dataset must switch it back off


def test_tfds_images_and_labels(data_dir, no_gcs):
    from tensorflow_datasets.core.utils import gcs_utils

    images, labels = load_images("tfds:keras_creps_tiny_shapes", data_dir=data_dir, use_labels=True)
    assert gcs_utils._is_gcs_disabled
    order = np.argsort([x.tobytes() for x in images])
    expected = np.argsort([x.tobytes() for x in IMAGES])
    np.testing.assert_array_equal(images[order], IMAGES[expected])
    np.testing.assert_array_equal(labels[order], np.eye(3, dtype=np.float32)[np.asarray(LABELS)[expected]])

    dataset, info = make_dataset("tfds:keras_creps_tiny_shapes", data_dir=data_dir, batch_size=4, use_labels=True,
                                 xflip=True, seed=1)
    batch, batch_labels = next(iter(dataset))
    assert batch.shape == (4, 8, 8, 3) and batch_labels.shape == (4, 3)
    assert (info.name, info.kind, info.num_images, info.resolution, info.c_dim) == (
        "keras_creps_tiny_shapes", "tfds", 5, 8, 3)
    assert info.class_names == ("a", "b", "c") and info.epoch_size == 10


def test_tfds_errors(data_dir, tmp_path, no_gcs):
    with pytest.raises(ValueError, match="needs data_dir"):
        make_dataset("tfds:keras_creps_tiny_shapes", batch_size=1)
    with pytest.raises(ValueError, match="not prepared|not found"):
        make_dataset("tfds:keras_creps_tiny_shapes", data_dir=str(tmp_path), batch_size=1)
    with pytest.raises(ValueError, match="no split 'test'"):
        make_dataset("tfds:keras_creps_tiny_shapes", data_dir=data_dir, split="test", batch_size=1)
    with pytest.raises(ValueError, match="resolution=16"):
        make_dataset("tfds:keras_creps_tiny_shapes", data_dir=data_dir, resolution=16, batch_size=1)

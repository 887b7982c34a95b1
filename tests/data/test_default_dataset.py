"""The shipped default dataset (keras_creps/data/default/noto-emoji-64.zip), read with zipfile + Pillow."""

import io
import json
import os
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

from keras_creps.data import default
from keras_creps.data.default import DEFAULT_CLASS_NAMES, default_dataset_path

MAX_BYTES = 15_000_000
IMAGE_NAME = re.compile(r"^(\d{5})/img(\d{8})\.png$")


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


@pytest.fixture(scope="module")
def dataset():
    """`(archive_names, metadata, images)` with every image decoded to a uint8 array."""
    with zipfile.ZipFile(default_dataset_path()) as archive:
        names = archive.namelist()
        metadata = json.loads(archive.read("dataset.json"))
        images = {}
        for name in names:
            if name.endswith(".png"):
                with Image.open(io.BytesIO(archive.read(name))) as image:
                    assert (image.mode, image.size) == ("RGB", (64, 64)), f"{name}: {image.mode} {image.size}"
                    images[name] = np.asarray(image)
    return names, metadata, images


def test_path_and_size():
    path = default_dataset_path()
    assert os.path.isabs(path) and path.endswith("noto-emoji-64.zip")
    assert os.path.getsize(path) < MAX_BYTES
    folder = os.path.dirname(path)
    for companion in ("LICENSE-OFL.txt", "README.md"):
        assert os.path.isfile(os.path.join(folder, companion)), companion


def test_names_follow_the_stylegan_layout(dataset):
    names, metadata, images = dataset
    assert len(images) > 1000
    assert sorted(names) == sorted([*images, "dataset.json"])
    for index, name in enumerate(label_name for label_name, _ in metadata["labels"]):
        match = IMAGE_NAME.match(name)
        assert match and int(match.group(2)) == index and match.group(1) == match.group(2)[:5], name
    assert [name for name, _ in metadata["labels"]] == sorted(images)


def test_labels_and_class_names(dataset):
    _, metadata, images = dataset
    assert metadata["class_names"] == list(DEFAULT_CLASS_NAMES)
    assert len(DEFAULT_CLASS_NAMES) == 9 and "Component" not in DEFAULT_CLASS_NAMES
    labels = np.array([label for _, label in metadata["labels"]])
    assert len(labels) == len(images)
    assert all(isinstance(label, int) for _, label in metadata["labels"])
    assert labels.min() >= 0 and labels.max() < len(DEFAULT_CLASS_NAMES)
    counts = np.bincount(labels, minlength=len(DEFAULT_CLASS_NAMES))
    assert counts.min() >= 50, counts  # every class well represented
    assert list(labels) == sorted(labels)  # emoji-test.txt order is grouped by class


def test_images_are_real_and_on_white(dataset):
    _, _, images = dataset
    stack = np.stack([images[name] for name in sorted(images)])
    stds = np.array([image.std() for image in stack])
    assert stds.min() > 5.0, f"nearly blank image(s): {np.sort(stds)[:5]}"
    # White background: the corner pixels are white in (almost) every image,
    # and no image is mostly white (each emoji covers a good part of its square).
    corners = stack[:, [0, 0, -1, -1], [0, -1, 0, -1], :]
    assert (corners >= 250).mean() > 0.95
    ink = stack.min(axis=-1) < 247
    assert ink.mean(axis=(1, 2)).min() > 0.05
    # Nothing is clipped: the outermost rows and columns stay white.
    border = np.concatenate([ink[:, 0], ink[:, -1], ink[:, :, 0], ink[:, :, -1]], axis=1)
    assert not border.any()
    # All distinct images.
    assert len({image.tobytes() for image in images.values()}) == len(images)


def test_missing_file_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(default, "DEFAULT_DATASET_FILENAME", "no-such-file.zip")
    with pytest.raises(FileNotFoundError, match="no-such-file.zip"):
        default_dataset_path()

"""Tiny generated image datasets for the data pipeline tests."""

import io
import json
import os
import zipfile

import numpy as np
import pytest
from PIL import Image


def png_bytes(array, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="png")
    return buffer.getvalue()


def random_images(count, size=8, channels=3, seed=0):
    shape = (count, size, size, channels) if channels > 1 else (count, size, size)
    return np.random.RandomState(seed).randint(0, 256, shape, dtype=np.uint8)


def write_folder(root, names, images, labels=None):
    """Writes `images[i]` as PNG at `root/names[i]` plus `dataset.json` when `labels` is given."""
    for name, image in zip(names, images):
        path = os.path.join(root, *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png_bytes(image))
    if labels is not None:
        with open(os.path.join(root, "dataset.json"), "w") as f:
            json.dump({"labels": [[n, lab] for n, lab in zip(names, labels)]}, f)
    return str(root)


def write_zip(path, names, images, labels=None):
    """A StyleGAN dataset ZIP with the official layout."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, image in zip(names, images):
            archive.writestr(name, png_bytes(image))
        if labels is not None:
            archive.writestr("dataset.json", json.dumps({"labels": [[n, lab] for n, lab in zip(names, labels)]}))
    return str(path)


@pytest.fixture
def tiny(tmp_path):
    """Six 8x8 RGB images with class labels 0..3 in a folder (two sub-folders) and the same as a ZIP.

    Names sort in the order of `images`, so sources yield them in that order.
    """
    images = random_images(6, size=8, seed=1)
    names = [f"{i // 3:05d}/img{i:08d}.png" for i in range(6)]
    labels = [0, 3, 1, 2, 0, 1]
    folder = write_folder(tmp_path / "folder", names, images, labels)
    archive = write_zip(tmp_path / "tiny.zip", names, images, labels)
    return {"images": images, "labels": labels, "names": names, "folder": folder, "zip": archive, "tmp": tmp_path}

"""make_dataset / load_images over folders, StyleGAN ZIPs and TFRecord shards."""

import io
import json
import logging
import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import png_bytes, random_images, write_folder, write_zip
from PIL import Image

from keras_creps.data import load_images, make_dataset
from keras_creps.data.writer import write_dataset


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def one_epoch(source, **kwargs):
    kwargs.setdefault("batch_size", 1)
    dataset, info = make_dataset(source, repeat=False, drop_remainder=False, **kwargs)
    images, labels = zip(*dataset.as_numpy_iterator())
    return np.concatenate(images), np.concatenate(labels), info


def to_uint8(images):
    return np.round((images + 1.0) * 127.5).astype(np.uint8)


def test_folder_zip_and_tfrecord_give_the_same_pixels_and_labels(tiny):
    records = str(tiny["tmp"] / "records")
    write_dataset(tiny["zip"], records, shard_size=4)
    onehot = np.eye(4, dtype=np.float32)[tiny["labels"]]
    for source in (tiny["folder"], tiny["zip"], records, os.path.join(records, "shard-*.tfrecord")):
        images, labels = load_images(source, use_labels=True)
        np.testing.assert_array_equal(images, tiny["images"], err_msg=source)
        np.testing.assert_array_equal(labels, onehot, err_msg=source)
        batches, batch_labels, info = one_epoch(source, batch_size=4, shuffle=False, use_labels=True)
        assert batches.dtype == np.float32 and batches.shape == (6, 8, 8, 3)
        assert batches.min() >= -1.0 and batches.max() <= 1.0
        np.testing.assert_allclose(batches, tiny["images"] / 127.5 - 1.0, atol=1e-6)
        np.testing.assert_array_equal(batch_labels, onehot)
        assert (info.num_images, info.resolution, info.channels, info.c_dim) == (6, 8, 3, 4)
        assert info.has_labels and info.label_kind == "class"


def test_info_and_unlabelled_shapes(tiny):
    dataset, info = make_dataset(tiny["zip"], batch_size=4)
    images, labels = next(iter(dataset))
    assert images.shape == (4, 8, 8, 3) and labels.shape == (4, 0)
    assert info.name == "tiny" and info.kind == "zip" and info.c_dim == 0 and info.has_labels
    assert info.batch_size == 4 and info.epoch_size == 6 and not info.report.bad_files
    _, info = make_dataset(tiny["folder"], batch_size=2)
    assert info.name == "folder" and info.kind == "folder"


def test_float_vector_labels(tmp_path):
    images = random_images(3, seed=2)
    names = ["a.png", "b.png", "c.png"]
    vectors = [[0.5, -1.0], [2.0, 0.0], [0.0, 0.25]]
    source = write_zip(tmp_path / "vec.zip", names, images, vectors)
    _, labels = load_images(source, use_labels=True)
    np.testing.assert_array_equal(labels, np.asarray(vectors, np.float32))
    _, info = make_dataset(source, batch_size=1, use_labels=True)
    assert info.c_dim == 2 and info.label_kind == "vector"


def test_labels_requested_but_absent(tmp_path):
    source = write_folder(tmp_path / "plain", ["a.png"], random_images(1))
    with pytest.raises(ValueError, match="use_labels=True but .*plain"):
        make_dataset(source, batch_size=1, use_labels=True)


def test_shuffle_is_seeded_and_each_epoch_is_a_permutation(tiny):
    def order(seed):
        dataset, _ = make_dataset(tiny["zip"], batch_size=3, seed=seed, use_labels=True)
        labels = [lab for _, lab in dataset.take(6).as_numpy_iterator()]  # three epochs
        return np.concatenate(labels).argmax(-1)

    first, again, other = order(1), order(1), order(2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    expected = sorted(tiny["labels"])
    for epoch in range(3):
        assert sorted(first[epoch * 6:(epoch + 1) * 6]) == expected
    assert not np.array_equal(first[:6], first[6:12])  # reshuffled each epoch


def test_xflip_doubles_the_epoch_with_mirrored_copies(tiny):
    images, _, info = one_epoch(tiny["folder"], xflip=True, shuffle=False)
    assert info.xflip and info.epoch_size == 12 and images.shape[0] == 12
    np.testing.assert_array_equal(to_uint8(images[:6]), tiny["images"])
    np.testing.assert_array_equal(to_uint8(images[6:]), tiny["images"][:, :, ::-1])
    shuffled, _, _ = one_epoch(tiny["zip"], xflip=True, shuffle=True, seed=3)
    expected = np.concatenate([tiny["images"], tiny["images"][:, :, ::-1]])
    key = lambda batch: sorted(x.tobytes() for x in batch)
    assert key(to_uint8(shuffled)) == key(expected)


@pytest.mark.parametrize("kind", ["zip", "records"])
def test_input_context_shards_and_batches_per_replica(tiny, kind):
    source = tiny["zip"]
    if kind == "records":
        source = str(tiny["tmp"] / "records")
        write_dataset(tiny["zip"], source, shard_size=3)  # two shards: sharded by file
    seen = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline, num_replicas_in_sync=2)
        dataset, info = make_dataset(source, batch_size=4, input_context=context, repeat=False, use_labels=True,
                                     drop_remainder=False, seed=5)
        assert info.batch_size == 2
        batches = list(dataset.as_numpy_iterator())
        assert all(images.shape[0] <= 2 for images, _ in batches)
        seen.extend(x.tobytes() for images, _ in batches for x in to_uint8(images))
    assert sorted(seen) == sorted(x.tobytes() for x in tiny["images"])


def test_max_images_is_a_seeded_subset(tiny):
    a, _ = load_images(tiny["zip"], max_images=4, seed=0)
    b, _ = load_images(tiny["zip"], max_images=4, seed=0)
    np.testing.assert_array_equal(a, b)
    assert a.shape[0] == 4
    assert all(any((x == y).all() for y in tiny["images"]) for x in a)
    _, info = make_dataset(tiny["zip"], batch_size=2, max_images=4)
    assert info.num_images == 4


def test_bad_files_are_named_excluded_and_logged(tmp_path, caplog):
    good = random_images(3, seed=4)
    root = tmp_path / "mixed"
    write_folder(root, ["good0.png", "good1.jpg", "sub/good2.png"], good)
    with open(root / "good1.jpg", "wb") as f:  # a real JPEG under .jpg
        Image.fromarray(good[1]).save(f, format="jpeg", quality=95)
    (root / "notes.txt").write_text("not an image extension: ignored")
    (root / "text.png").write_text("hello")
    (root / "empty.png").write_bytes(b"")
    (root / "truncated.png").write_bytes(png_bytes(random_images(1)[0])[:60])
    (root / "big.png").write_bytes(png_bytes(random_images(1, size=16)[0]))
    (root / "wide.png").write_bytes(png_bytes(np.zeros((8, 12, 3), np.uint8)))
    rgba = np.concatenate([random_images(1)[0], np.full((8, 8, 1), 100, np.uint8)], -1)
    (root / "transparent.png").write_bytes(png_bytes(rgba))
    gray = random_images(1, channels=1, seed=5)[0]
    (root / "gray.png").write_bytes(png_bytes(gray))
    opaque = np.concatenate([good[0], np.full((8, 8, 1), 255, np.uint8)], -1)
    (root / "opaque.png").write_bytes(png_bytes(opaque))
    buffer = io.BytesIO()
    Image.fromarray(good[0]).save(buffer, format="gif")
    (root / "gif.webp").write_bytes(buffer.getvalue())

    with caplog.at_level(logging.WARNING):
        dataset, info = make_dataset(str(root), batch_size=1, shuffle=False, repeat=False)
    reasons = dict(info.report.bad_files)
    assert sorted(reasons) == ["big.png", "empty.png", "gif.webp", "text.png", "transparent.png",
                               "truncated.png", "wide.png"]
    assert reasons["text.png"] == "not an image"
    assert reasons["empty.png"] == "empty file"
    assert reasons["truncated.png"].startswith("truncated or corrupt")
    assert reasons["big.png"] == "wrong size 16x16, the dataset is 8x8"
    assert reasons["wide.png"] == "not square (12x8)"
    assert reasons["transparent.png"].startswith("transparent pixels")
    assert reasons["gif.webp"].startswith("GIF content")
    assert dict(info.report.converted) == {"gray.png": "grayscale -> RGB", "opaque.png": "RGBA, opaque alpha dropped"}
    assert info.report.ignored == ["notes.txt"]
    assert info.report.num_checked == 12 and info.num_images == 5
    summary = info.report.summary(max_names=10)
    assert "7 bad" in summary and "wide.png (not square (12x8))" in summary
    assert "excluded 7 bad image files" in caplog.text and "big.png" in caplog.text

    images = to_uint8(np.concatenate([x for x, _ in dataset.as_numpy_iterator()]))
    assert images.shape == (5, 8, 8, 3)
    # sorted order: good0, good1.jpg, gray, opaque, sub/good2
    np.testing.assert_array_equal(images[0], good[0])
    assert np.abs(images[1].astype(int) - np.asarray(Image.open(root / "good1.jpg")).astype(int)).max() <= 1
    np.testing.assert_array_equal(images[2], np.repeat(gray[..., None], 3, -1))
    np.testing.assert_array_equal(images[3], good[0])
    np.testing.assert_array_equal(images[4], good[2])


def test_missing_labels_make_a_file_bad(tmp_path):
    root = write_folder(tmp_path / "part", ["a.png", "b.png"], random_images(2))
    with open(os.path.join(root, "dataset.json"), "w") as f:
        json.dump({"labels": [["a.png", 1]]}, f)
    _, info = make_dataset(root, batch_size=1, use_labels=True)
    assert info.report.bad_files == [("b.png", "no label in dataset.json")] and info.c_dim == 2


def test_grayscale_dataset_and_webp(tmp_path):
    gray = random_images(2, channels=1, seed=6)
    root = write_folder(tmp_path / "gray", ["a.png", "b.png"], gray)
    images, _ = load_images(root)
    assert images.shape == (2, 8, 8, 1)
    np.testing.assert_array_equal(images[..., 0], gray)
    rgb = random_images(1, seed=7)[0]
    Image.fromarray(rgb).save(tmp_path / "gray" / "c.webp", lossless=True)
    _, info = make_dataset(root, batch_size=1, channels=1)
    assert info.report.bad_files == [("c.webp", "colour image (mode RGB) in a grayscale dataset")]
    images, _ = load_images(root)  # auto: one colour image makes the dataset RGB
    assert images.shape == (3, 8, 8, 3)
    np.testing.assert_array_equal(images[2], rgb)
    np.testing.assert_array_equal(images[0], np.repeat(gray[0][..., None], 3, -1))


def test_clear_errors(tmp_path, tiny):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no image files .* in .*empty"):
        make_dataset(str(empty), batch_size=1)
    bad = tmp_path / "allbad"
    bad.mkdir()
    (bad / "x.png").write_text("no")
    with pytest.raises(ValueError, match="no usable images in .*allbad"):
        make_dataset(str(bad), batch_size=1)
    with pytest.raises(ValueError, match="does not exist"):
        make_dataset(str(tmp_path / "nowhere"), batch_size=1)
    (tmp_path / "data.csv").write_text("a,b")
    with pytest.raises(ValueError, match="unknown dataset source .*data.csv"):
        make_dataset(str(tmp_path / "data.csv"), batch_size=1)
    with pytest.raises(ValueError, match="resolution=12"):
        make_dataset(tiny["zip"], batch_size=1, resolution=12)
    with pytest.raises(ValueError, match="no usable images"):
        make_dataset(tiny["zip"], batch_size=1, resolution=16)  # every image is the wrong size
    with pytest.raises(ValueError, match="batch_size=0"):
        make_dataset(tiny["zip"], batch_size=0)
    with pytest.raises(ValueError, match="fewer than one batch"):
        make_dataset(tiny["zip"], batch_size=8, repeat=False)
    odd = write_folder(tmp_path / "odd", ["a.png"], random_images(1, size=6))
    with pytest.raises(ValueError, match="6x6"):
        make_dataset(odd, batch_size=1)
    with pytest.raises(ValueError, match="no files match"):
        make_dataset(str(tmp_path / "none-*.tfrecord"), batch_size=1)


@pytest.mark.parametrize("kind", ["folder", "zip", "records"])
def test_skip_continues_the_stream_exactly(tiny, kind):
    source = tiny[kind] if kind != "records" else str(tiny["tmp"] / "records")
    if kind == "records":
        write_dataset(tiny["zip"], source, shard_size=3)
    common = dict(batch_size=2, xflip=True, use_labels=True, seed=3, prefetch=False)
    full, _ = make_dataset(source, **common)
    expected = [batch for _, batch in zip(range(17), full.as_numpy_iterator())][11:]
    # 11 batches of 2 = 22 images: one whole epoch of 12 (6 images, mirrored) and 10 more.
    resumed, _ = make_dataset(source, skip_batches=11, **common)
    got = [batch for _, batch in zip(range(6), resumed.as_numpy_iterator())]
    for (images, labels), (want_images, want_labels) in zip(got, expected):
        np.testing.assert_array_equal(images, want_images)
        np.testing.assert_array_equal(labels, want_labels)


def test_skip_per_pipeline_equals_skipping_its_batches(tiny):
    for pipeline in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline, num_replicas_in_sync=2)
        common = dict(batch_size=4, input_context=context, seed=7, prefetch=False)
        full, _ = make_dataset(tiny["zip"], **common)
        expected = [images for _, (images, _) in zip(range(9), full.as_numpy_iterator())][5:]
        resumed, _ = make_dataset(tiny["zip"], skip_batches=5, **common)
        got = [images for _, (images, _) in zip(range(4), resumed.as_numpy_iterator())]
        np.testing.assert_array_equal(np.stack(got), np.stack(expected))


def test_skip_must_be_a_count(tiny):
    with pytest.raises(ValueError, match="skip_batches.*-1"):
        make_dataset(tiny["zip"], batch_size=2, skip_batches=-1)

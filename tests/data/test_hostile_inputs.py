"""Hostile dataset files: refused from their declared size, header or file type, named in the report.

The risky calls run in a subprocess under an address-space limit and a time
limit (`hostile_files.run_limited`), so a regression fails instead of swapping
or hanging.
"""

import json
import os
import stat
import struct
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from conftest import png_bytes, random_images, write_folder, write_zip
from hostile_files import GIB, TIME_LIMIT, last_json, make_fifo, run_limited, write_png_bomb, write_zip_bomb

from keras_creps.data import ImageLimits, load_images, make_dataset, tfrecord_format
from keras_creps.data.sources import open_source
from keras_creps.data.sources.stylegan_zip import declared_member_count
from keras_creps.data.writer import write_dataset

# Runs make_dataset (as training does) and write_dataset (as dataset_tool.py does) on `source`;
# prints what each reported and the peak resident memory.
BOTH_READERS = """
import time
from keras_creps.data import make_dataset
from keras_creps.utils.memory import peak_rss_bytes
from keras_creps.data.writer import write_dataset
source, dest, resolution = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
start = time.time()
dataset, info = make_dataset(source, batch_size=1, repeat=False, shuffle=False, resolution=resolution)
count = sum(1 for _ in dataset)
written = write_dataset(source, dest, resolution=resolution)
print(json.dumps({"pipeline": dict(info.report.bad_files), "count": count,
                  "tool": dict(written["report"].bad_files), "written": written["num_images"],
                  "peak": peak_rss_bytes(),  # this child's own peak (ru_maxrss would include the pytest parent's)
                  "seconds": time.time() - start}))
"""


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def run_both(source, dest, resolution=None):
    proc = run_limited(BOTH_READERS, argv=[str(source), str(dest), json.dumps(resolution)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = last_json(proc)
    assert result["peak"] < 1.5 * GIB and result["seconds"] < TIME_LIMIT, result
    assert os.path.isfile(dest)
    return result


def test_limits_follow_the_resolution():
    default = ImageLimits.for_resolution(None)
    assert (default.max_side, default.max_pixels) == (16384, 1 << 26)
    assert default.max_file_bytes == 8 * (1 << 26) + (16 << 20)
    assert ImageLimits.for_resolution(64) == default  # small targets keep the defaults
    large = ImageLimits.for_resolution(4096)
    assert (large.max_side, large.max_pixels) == (16384, 16 * 4096 ** 2)
    assert default.size_problem(12000, 12000).startswith("too large: 12000x12000 pixels")
    assert default.size_problem(16384, 1024) is None
    assert default.size_problem(8, 8, file_size=100 << 20) == "too large: a file of 104857600 bytes for 8x8 pixels"
    assert default.file_problem(0) == "empty file"
    assert default.file_problem(1 << 30).startswith("too large: a file of 1073741824 bytes")
    assert default.file_problem(4 << 20, stored_size=1000).startswith("suspicious compression")
    assert default.file_problem(4 << 20, stored_size=4 << 10) is None  # 1024:1, as DEFLATE can do
    with pytest.raises(ValueError, match="resolution=12"):
        ImageLimits.for_resolution(12)


def test_zip_member_inflating_to_1gib_is_refused_unread(tmp_path):
    source = write_zip_bomb(tmp_path / "bomb.zip", member="00000/img00000002.png")
    with zipfile.ZipFile(source, "a") as archive:
        for i, image in enumerate(random_images(2, seed=3)):
            archive.writestr(f"00000/img0000000{i}.png", png_bytes(image))
    assert os.path.getsize(source) < 8 << 20
    result = run_both(source, tmp_path / "out.zip")
    reason = "too large: a file of 1073857668 bytes, the limit is 553648128"
    assert result["pipeline"] == result["tool"] == {"00000/img00000002.png": reason}
    assert result["count"] == result["written"] == 2


def test_12000_square_header_is_refused_before_decoding(tmp_path):
    root = write_folder(tmp_path / "raw", ["a.png", "b.png"], random_images(2, seed=4))
    write_png_bomb(os.path.join(root, "huge.png"), side=12000)
    for resolution in (None, 8):
        result = run_both(root, tmp_path / f"out{resolution}.zip", resolution)
        reason = "too large: 12000x12000 pixels, the limit is a side of 16384 and 67108864 pixels"
        assert result["pipeline"] == result["tool"] == {"huge.png": reason}
        assert result["count"] == result["written"] == 2


def test_fifo_named_png_is_skipped_unopened(tmp_path):
    root = write_folder(tmp_path / "raw", ["a.png", "b.png"], random_images(2, seed=5))
    make_fifo(os.path.join(root, "pipe.png"))
    make_fifo(os.path.join(root, "notes.txt"))  # not an image name: ignored, never opened
    result = run_both(root, tmp_path / "out.zip")
    assert result["pipeline"] == result["tool"] == {"pipe.png": "not a regular file (a FIFO)"}
    assert result["count"] == result["written"] == 2


def test_fifo_as_labels_file_is_a_one_line_error(tmp_path):
    root = write_folder(tmp_path / "raw", ["a.png"], random_images(1))
    make_fifo(os.path.join(root, "dataset.json"))
    proc = run_limited(f"""
try:
    keras_creps.data.load_images({root!r})
except ValueError as e:
    print(json.dumps({{"error": str(e)}}))
""")
    assert "dataset.json in" in last_json(proc)["error"] and "not a regular file (a FIFO)" in last_json(proc)["error"]


def _zip_with_names(path, names, images, labels, label_names=None):
    with zipfile.ZipFile(path, "w") as archive:
        for name, image in zip(names, images):
            archive.writestr(zipfile.ZipInfo(name), png_bytes(image))
        entries = [[n, lab] for n, lab in zip(label_names or names, labels)]
        archive.writestr("dataset.json", json.dumps({"labels": entries}))
    return str(path)


def test_member_names_are_normalised_to_match_labels(tmp_path):
    images = random_images(3, seed=6)
    members = ["00000\\img00000000.png", "./00000/img00000001.png", "00000/img00000002.png"]
    labelled = ["00000/img00000000.png", "00000/img00000001.png", "00000\\img00000002.png"]
    source = _zip_with_names(tmp_path / "windows.zip", members, images, [2, 0, 1], labelled)
    got, labels = load_images(source, use_labels=True)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(labels, np.eye(3, dtype=np.float32)[[2, 0, 1]])
    result = write_dataset(source, str(tmp_path / "out.zip"), labels="json")
    assert result["num_images"] == 3 and not result["report"].bad_files
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert [label for _, label in json.loads(archive.read("dataset.json"))["labels"]] == [2, 0, 1]

    clash = _zip_with_names(tmp_path / "clash.zip", ["a/b.png", "a\\b.png"], images[:2], [0, 1])
    _, info = make_dataset(clash, batch_size=1)
    assert info.num_images == 1
    assert info.report.bad_files == [("a\\b.png", "duplicate member name (as 'a/b.png')")]


def test_compression_beyond_deflate_is_refused(tmp_path):
    source = str(tmp_path / "lzma.zip")
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("a.png", png_bytes(random_images(1, seed=7)[0]))
        archive.writestr(zipfile.ZipInfo("b.png"), bytes(4 << 20), compress_type=zipfile.ZIP_LZMA)
    _, info = make_dataset(source, batch_size=1)
    reason = dict(info.report.bad_files)["b.png"]
    assert reason.startswith("suspicious compression: 4194304 bytes stored in") and reason.endswith("1100:1")


def test_explicit_limits_are_applied(tmp_path):
    source = write_zip(tmp_path / "small.zip", ["a.png", "b.png"], random_images(2, size=16, seed=8))
    limits = ImageLimits(max_side=8)
    with pytest.raises(ValueError, match="(?s)no usable images.*a.png .too large: 16x16 pixels, the limit is a side of 8"):
        make_dataset(source, batch_size=1, limits=limits)
    with pytest.raises(ValueError, match="(?s)no usable images.*a.png .too large: 16x16 pixels, the limit is a side of 8"):
        write_dataset(source, str(tmp_path / "out.zip"), resolution=4, limits=limits)
    assert write_dataset(source, str(tmp_path / "out.zip"), resolution=4)["num_images"] == 2


def test_outputs_have_normal_permissions(tiny):
    umask = os.umask(0o022)
    os.umask(umask)
    archive, records = str(tiny["tmp"] / "out" / "a.zip"), str(tiny["tmp"] / "records")
    write_dataset(tiny["folder"], archive)
    write_dataset(tiny["folder"], records, shard_size=4)
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(os.stat(records).st_mode) == 0o777 & ~umask
    for file in os.listdir(records):
        assert stat.S_IMODE(os.stat(os.path.join(records, file)).st_mode) == 0o666 & ~umask, file
    with zipfile.ZipFile(archive) as z:
        assert {info.external_attr >> 16 for info in z.infolist()} == {0o644}
    assert sorted(os.listdir(tiny["tmp"] / "out")) == ["a.zip"]


def test_unusable_destinations_are_one_line_errors(tiny):
    blocker = tiny["tmp"] / "file.txt"
    blocker.write_text("x")
    for dest, message in [
        (blocker, "`dest` .*file.txt.* is an existing file, not a directory"),
        (blocker / "out.zip", "`dest` folder .*file.txt.* is an existing file, not a directory"),
        (tiny["tmp"], "is not an empty directory"),
        (tiny["tmp"] / "folder.zip", None),
    ]:
        if message is None:
            os.mkdir(dest)
            message = "is a directory"
        with pytest.raises(ValueError, match=message) as caught:
            write_dataset(tiny["zip"], str(dest))
        assert "\n" not in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only directories")
def test_unwritable_destination_is_refused(tiny):
    locked = tiny["tmp"] / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="not writable"):
            write_dataset(tiny["zip"], str(locked / "out.zip"))
    finally:
        locked.chmod(0o700)


def test_forged_tfrecord_image_is_dropped_before_decoding(tiny):
    records = str(tiny["tmp"] / "records")
    write_dataset(tiny["zip"], records, shard_size=6)
    shard = os.path.join(records, "shard-00000-of-00001.tfrecord")
    with tf.io.TFRecordWriter(shard) as writer:  # same count, one record 16x16 in an 8x8 dataset
        for i, (image, label) in enumerate(zip(tiny["images"], tiny["labels"])):
            if i == 2:
                image = random_images(1, size=16)[0]
            writer.write(tfrecord_format.encode_example(png_bytes(image), f"{i}.png", label, "class"))
    images, _ = load_images(records)
    np.testing.assert_array_equal(images, np.delete(tiny["images"], 2, axis=0))
    source = open_source(records)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a PNG of the dataset's size"):
        source.decode(tf.constant(png_bytes(random_images(1, size=16)[0])))
    size = tfrecord_format.png_size(png_bytes(random_images(1, size=16)[0]))
    np.testing.assert_array_equal(size, [16, 16])
    np.testing.assert_array_equal(tfrecord_format.png_size(b"not a png"), [-1, -1])


def _forged_zip64_end(count):
    """A file that is only a ZIP's end records, its zip64 record declaring `count` members."""
    end64 = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, 0, 0)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, 0, 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return end64 + locator + end


def test_member_count_is_checked_before_the_zip_directory_is_read(tmp_path):
    forged = tmp_path / "many.zip"
    forged.write_bytes(_forged_zip64_end(3_000_000))
    assert declared_member_count(forged) == 3_000_000
    for build in (lambda: make_dataset(str(forged), batch_size=1),
                  lambda: write_dataset(str(forged), str(tmp_path / "out.zip"))):
        with pytest.raises(ValueError, match=r"declares 3000000 members \(the limit is 2097152 files"):
            build()
    real = write_zip(tmp_path / "five.zip", [f"{i}.png" for i in range(5)], random_images(5, seed=9))
    assert declared_member_count(real) == 5
    few = ImageLimits.for_resolution(None, max_files=4)
    with pytest.raises(ValueError, match=r"declares 5 members \(the limit is 4 files"):
        make_dataset(real, batch_size=1, limits=few)
    folder = write_folder(tmp_path / "raw", [f"{i}.png" for i in range(5)], random_images(5, seed=9))
    with pytest.raises(ValueError, match="holds more than 4 files"):
        write_dataset(folder, str(tmp_path / "out.zip"), limits=few)
    assert not os.path.exists(tmp_path / "out.zip")


def test_limits_can_be_set_beside_the_resolution():
    limits = ImageLimits.for_resolution(64, max_side=40000, max_files=10)
    assert (limits.max_side, limits.max_pixels, limits.max_files) == (40000, 1 << 26, 10)
    assert ImageLimits.for_resolution(None, max_pixels=100).max_file_bytes == 800 + (16 << 20)
    with pytest.raises(ValueError, match="max_files=0"):
        ImageLimits.for_resolution(None, max_files=0)

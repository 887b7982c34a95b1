"""recipes/dataset_tool.py end to end: folder -> ZIP -> TFRecord shards -> make_dataset."""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image
import recipe_cases

from keras_creps.data import load_images, make_dataset
from keras_creps.data.writer import write_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "recipes", "dataset_tool.py")
sys.path.insert(0, os.path.join(ROOT, "tests", "data"))
from hostile_files import make_fifo, run_limited, write_png_bomb  # noqa: E402


# The tool never touches a Keras backend (Pillow, TFRecord writers), nor does the data library.
pytestmark = pytest.mark.backend_independent


# TensorFlow, whatever the suite's backend (as tests/data/hostile_files.run_limited): the tool
# reads and writes through tf.data either way, and a PyTorch backend only adds its import
# (7.8 s against 4.6 s a run, measured).
TOOL_ENV = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}


def run(*args):
    """The tool as a user starts it: its own process (`app.run`, start-up filtering)."""
    env = dict(os.environ, **TOOL_ENV)
    return subprocess.run([sys.executable, SCRIPT, *args], check=False, capture_output=True, text=True, env=env, timeout=300)


def run_together(*cases):
    """Like `run` for each argument list in `cases`, all in one process: refused input needs no start-up each."""
    return recipe_cases.run_together("dataset_tool.py", cases, env=TOOL_ENV)


def make_source(root):
    """Two class folders of 12x16 RGB images, one RGBA, one corrupt file, one image outside any class."""
    rng = np.random.RandomState(3)
    images = {}
    for i in range(5):
        name = f"{['cats', 'dogs'][i % 2]}/{i}.png"
        images[name] = rng.randint(0, 256, (12, 16, 3), dtype=np.uint8)
    rgba = rng.randint(0, 256, (12, 16, 4), dtype=np.uint8)
    rgba[..., 3] = 0  # fully transparent: becomes the white background
    images["dogs/clear.png"] = rgba
    for name, image in images.items():
        os.makedirs(root / os.path.dirname(name), exist_ok=True)
        Image.fromarray(image).save(root / name)
    (root / "cats" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    Image.fromarray(images["cats/0.png"]).save(root / "loose.png")
    return images


def expected_pixels(image, size=8):
    pil = Image.fromarray(image)
    if pil.mode == "RGBA":
        pil = Image.alpha_composite(Image.new("RGBA", pil.size, "white"), pil)
    pil = pil.convert("RGB").crop((2, 0, 14, 12)).resize((size, size), Image.LANCZOS)
    return np.asarray(pil)


def test_round_trip_folder_zip_tfrecords(tmp_path):
    source = tmp_path / "raw"
    images = make_source(source)
    archive = str(tmp_path / "out" / "pets.zip")
    proc = run("--source", str(source), "--dest", archive, "--resolution", "8", "--labels", "folders")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "0: cats" in proc.stdout and "1: dogs" in proc.stdout
    assert "wrote 6 images (8x8x3, class labels, c_dim=2)" in proc.stdout
    assert "cats/broken.jpg (truncated or corrupt" in proc.stdout and "loose.png (no class sub-folder)" in proc.stdout
    assert os.listdir(tmp_path / "out") == ["pets.zip"]  # no temporary file left behind

    with zipfile.ZipFile(archive) as z:
        names = sorted(z.namelist())
        meta = json.loads(z.read("dataset.json"))
    assert names[0] == "00000/img00000000.png" and names[-1] == "dataset.json" and len(names) == 7
    assert meta["class_names"] == ["cats", "dogs"]
    assert meta["labels"][:2] == [["00000/img00000000.png", 0], ["00000/img00000001.png", 0]]

    records = str(tmp_path / "records")
    proc = run("--source", archive, "--dest", records, "--shard_size", "4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(os.listdir(records)) == ["metadata.json", "shard-00000-of-00002.tfrecord",
                                           "shard-00001-of-00002.tfrecord"]

    # Source order: cats/0, cats/2, cats/4, dogs/1, dogs/3, dogs/clear.
    order = ["cats/0.png", "cats/2.png", "cats/4.png", "dogs/1.png", "dogs/3.png", "dogs/clear.png"]
    expected = np.stack([expected_pixels(images[n]) for n in order])
    onehot = np.eye(2, dtype=np.float32)[[0, 0, 0, 1, 1, 1]]
    for path in (archive, records):
        got, labels = load_images(path, use_labels=True)
        np.testing.assert_array_equal(got, expected, err_msg=path)
        np.testing.assert_array_equal(labels, onehot)
    np.testing.assert_array_equal(expected[-1], 255)  # the transparent image is white
    zip_data, zip_info = make_dataset(archive, batch_size=3, use_labels=True, shuffle=False, repeat=False)
    rec_data, rec_info = make_dataset(records, batch_size=3, use_labels=True, shuffle=False, repeat=False)
    for (a, la), (b, lb) in zip(zip_data.as_numpy_iterator(), rec_data.as_numpy_iterator()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    assert rec_info.class_names == zip_info.class_names == ("cats", "dogs")
    assert rec_info.name == "records" and zip_info.name == "pets"


def test_errors_are_one_line(tmp_path):
    source = tmp_path / "raw"
    make_source(source)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    # Unusable data or paths end with code 1, bad flag values with 2; both with one line.
    expected = [
        (busy, 1, "is not an empty directory"),
        (blocker, 1, "is an existing file, not a directory"),
        (blocker / "out.zip", 1, "is an existing file, not a directory"),
        (tmp_path / "a.zip", 2, "--resolution=12"),
    ]
    cases = [["--source", str(source), "--dest", str(dest), "--resolution", "8",
              *(["--resolution", "12"] if code == 2 else [])] for dest, code, _ in expected]
    cases.append(["--source", str(tmp_path / "missing"), "--dest", str(tmp_path / "a.zip")])
    expected.append((None, 1, "does not exist"))
    for proc, (_, code, message) in zip(run_together(*cases), expected):
        assert proc.returncode == code, proc.stderr[-1000:]
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("dataset_tool.py: ") and message in last, proc.stderr[-1000:]
        assert "Traceback" not in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["busy", "file.txt", "raw"]  # nothing written


def test_fifo_and_huge_header_are_skipped_and_named(tmp_path):
    source = tmp_path / "raw"
    make_source(source)
    make_fifo(source / "cats" / "pipe.png")
    write_png_bomb(source / "dogs" / "huge.png", side=12000)
    dest = tmp_path / "out" / "pets.zip"
    code = f"""
import os, runpy
sys.path.insert(0, os.path.dirname({SCRIPT!r}))  # as when the script runs itself
sys.argv = [{SCRIPT!r}, "--source", {str(source)!r}, "--dest", {str(dest)!r}, "--resolution", "8",
            "--labels", "folders"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
    proc = run_limited(code)  # bounded memory; a FIFO that blocked would hit the time limit
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "wrote 6 images" in proc.stdout
    assert "cats/pipe.png (not a regular file (a FIFO))" in proc.stdout
    assert "dogs/huge.png (too large: 12000x12000 pixels" in proc.stdout
    assert os.listdir(tmp_path / "out") == ["pets.zip"]


def test_bad_arguments(tmp_path):
    source = tmp_path / "raw"
    make_source(source)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    square = tmp_path / "square"
    square.mkdir()
    Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(square / "a.png")
    for src, dest, kwargs, message in [
        (source, busy, {}, "is not an empty directory"),
        (tmp_path / "missing", "a.zip", {}, "does not exist"),
        (source, "a.zip", {"resolution": 12}, "resolution=12"),
        (source, "a.zip", {}, "no square images"),
        (square, "a.zip", {}, "12x12, not a power of two"),
        (source, "a.zip", {"labels": "json"}, "labels='json' but"),
        (source, "a.zip", {"background": "nocolour"}, "background='nocolour'"),
        (source, "recs", {"shard_size": 0}, "shard_size=0"),
    ]:
        with pytest.raises(ValueError, match=message):
            write_dataset(str(src), str(tmp_path / dest), **kwargs)
    assert sorted(os.listdir(tmp_path)) == ["busy", "raw", "square"]  # nothing half-written


def test_limit_flags(tmp_path):
    source = tmp_path / "raw"
    make_source(source)  # 8 files, images of 12x16
    dest = ["--source", str(source), "--dest", str(tmp_path / "a.zip")]
    side, files, pixels = run_together([*dest, "--resolution", "8", "--max_side", "15"],
                                       [*dest, "--resolution", "8", "--max_files", "7"],
                                       [*dest, "--max_pixels", "0"])
    assert side.returncode == 1, side.stderr[-1000:]
    assert "too large: 16x12 pixels, the limit is a side of 15" in side.stderr
    assert files.returncode == 1 and "holds more than 7 files" in files.stderr.strip().splitlines()[-1]
    assert pixels.returncode == 2 and pixels.stderr.strip().splitlines()[-1].endswith("--max_pixels=0")
    assert sorted(os.listdir(tmp_path)) == ["raw"]


def test_only_bad_files_are_named_not_a_missing_size(tmp_path):
    # Without --resolution and no usable image, the error names why each file was refused
    # (not "no square images"), and Pillow's own bomb warning does not add lines before it.
    source = tmp_path / "raw"
    source.mkdir()
    make_fifo(source / "pipe.png")
    write_png_bomb(source / "huge.png", side=12000)
    proc = run("--source", str(source), "--dest", str(tmp_path / "a.zip"))
    assert proc.returncode == 1, proc.stderr[-1000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dataset_tool.py: no usable images in "), lines
    assert "huge.png (too large: 12000x12000 pixels" in lines[0] and "pipe.png (not a regular file (a FIFO))" in lines[0]

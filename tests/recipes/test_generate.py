"""recipes/generate.py end to end, in a subprocess on the current backend."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image
import recipe_cases
from recipe_cases import run_cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "recipes", "generate.py")


def run(*args, cwd=None):
    env = dict(os.environ, KERAS_BACKEND=keras.config.backend(), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def run_together(*cases):
    """Like `run` for each argument list in `cases`, all in one process (`recipe_cases.run_together`)."""
    return recipe_cases.run_together("generate.py", cases)


@pytest.fixture(scope="module")
def tiny_network(tmp_path_factory):
    from keras_creps import CREPSGenerator

    keras.utils.set_random_seed(1)
    g = CREPSGenerator(resolution=16, z_dim=8, w_dim=8, c_dim=3, channel_base=256, channel_max=32,
                       biline_channels=8, mapping_layers=1)
    path = str(tmp_path_factory.mktemp("net") / "tiny.keras")
    g.save(path)
    return path


def test_sizes_seeds_and_grid(tiny_network, tmp_path):
    out = tmp_path / "out"
    proc = run("--network", tiny_network, "--seeds", "0,3-4", "--class_index", "2", "--scales", "1,1.5", "--outdir", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for seed in (0, 3, 4):
        for n in (16, 24):
            assert Image.open(out / f"tiny-seed{seed:04d}-{n}x{n}.png").size == (n, n)
    assert Image.open(out / "tiny-grid-24x24.png").size == (48, 48)


def test_height_width_and_reproducibility(tiny_network, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        proc = run("--network", tiny_network, "--seeds", "7", "--class_index", "0", "--height", "10", "--width", "30",
                   "--trunc", "0.5", "--nogrid", "--outdir", str(out))
        assert proc.returncode == 0, proc.stderr[-2000:]
    img = Image.open(a / "tiny-seed0007-10x30.png")
    assert img.size == (30, 10)
    np.testing.assert_array_equal(np.asarray(img), np.asarray(Image.open(b / "tiny-seed0007-10x30.png")))


@pytest.mark.recipe_behaviour
def test_missing_class_through_a_real_process(tiny_network, tmp_path):
    # The other refusals run in one process (test_hostile_input_one_line_no_output); this one goes
    # through absl's app.run and the start-up filtering: exit 2, the message on the last line.
    proc = run("--network", tiny_network, "--outdir", str(tmp_path))
    assert proc.returncode == 2
    assert "pass --class" in proc.stderr.strip().splitlines()[-1], proc.stderr[-1000:]


@pytest.mark.recipe_behaviour
def test_unusable_network_exits_1(tmp_path):
    # A model path that cannot be used is bad input data, not a bad flag value: exit 1, one line.
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"not a zip file")
    broken, missing = run_together(["--network", str(bad), "--outdir", str(tmp_path)],
                                   ["--network", "/nonexistent.keras", "--outdir", str(tmp_path)])
    assert broken.returncode == 1 and "could not be loaded" in broken.stderr.strip().splitlines()[-1]
    assert missing.returncode == 1 and "'/nonexistent.keras': no such file" in missing.stderr.strip().splitlines()[-1]
    assert os.listdir(tmp_path) == ["broken.keras"]


def _png(path):
    return np.asarray(Image.open(path)).astype(int)


@pytest.mark.recipe_behaviour
def test_rotate_translate_video_and_tiles(tiny_network, tmp_path):
    common = ["--network", tiny_network, "--seeds", "5", "--scales", "1", "--nogrid"]
    one = ["--class_index", "1"]
    names = ("plain", "rot", "moved", "centered", "video", "tiled", "wide", "tall")
    plain, rot, moved, centered, video, tiled, wide, tall = (tmp_path / d for d in names)
    views = ((one, plain), (one + ["--rotate", "90"], rot),
             (["--class", "1", "--translate", "3,0"], moved),  # the old spellings, for one more release
             (["--class_idx", "1", "--center", "0.5,0.7"], centered),
             (one + ["--video", "rotate", "--frames", "5", "--video_size", "24"], video),
             (one + ["--max_untiled_pixels", "100", "--tile", "7", "--size", "16", "--scales", "9"], tiled),
             (one + ["--height", "16", "--width", "48", "--panorama"], wide),
             (one + ["--height", "48", "--width", "16", "--panorama"], tall))
    # One process for the eight runs (each its own process: 47 s of 6 s start-ups, torch, 2026-12-03).
    procs = dict(zip(names, run_together(*([*common, *args, "--outdir", str(out)] for args, out in views))))
    for name, proc in procs.items():
        assert proc.returncode == 0, (name, proc.stderr[-2000:])
    assert "deprecated" not in procs["plain"].stderr
    warnings = [line for line in procs["moved"].stderr.splitlines() if "deprecated" in line]
    assert len(warnings) == 2, warnings
    assert any("--translate x,y" in line and "use --center row,col" in line for line in warnings), warnings
    assert any("--class_idx and --class are deprecated" in line and "use --class_index" in line for line in warnings)
    base = _png(plain / "tiny-seed0005-16x16.png")
    # The content turns counter-clockwise by a quarter: np.rot90 of the plain image.
    assert np.abs(_png(rot / "tiny-seed0005-16x16.png") - np.rot90(base)).max() <= 1
    # Moving the view 3 native pixels right shows the plain image shifted 3 pixels left.
    assert np.abs(_png(moved / "tiny-seed0005-16x16.png")[:, :-3] - base[:, 3:]).max() <= 1
    # --center row,col in image units: 3 native pixels of 16 (pitch 1/15) right of 0.5 is the same view.
    np.testing.assert_array_equal(_png(centered / "tiny-seed0005-16x16.png"), _png(moved / "tiny-seed0005-16x16.png"))
    animation = Image.open(video / "tiny-seed0005-rotate.webp")
    assert animation.n_frames == 5 and animation.size == (24, 24)
    assert os.path.getsize(video / "tiny-seed0005-rotate.webp") < 1 << 20  # README-sized
    assert np.abs(_png(tiled / "tiny-seed0005-16x16.png") - base).max() <= 1
    assert not [name for name in os.listdir(tiled) if name.startswith(".")]  # no temporaries left
    # A panorama keeps the pixel pitch: the trained view is its middle, the rest extends beyond [0, 1].
    assert np.abs(_png(wide / "tiny-seed0005-16x48.png")[:, 16:32] - base).max() <= 1
    assert np.abs(_png(tall / "tiny-seed0005-48x16.png")[16:32] - base).max() <= 1


@pytest.mark.recipe_behaviour
def test_bad_view_flags(tiny_network, tmp_path):
    common = ["--network", tiny_network, "--class_index", "0", "--outdir", str(tmp_path)]
    translate, zoom = run_together([*common, "--translate", "inf,0"], [*common, "--zoom", "-2"])
    assert translate.returncode == 2 and translate.stderr.strip().splitlines() == [
        "generate.py: bad --translate 'inf,0': expected two finite numbers a,b"]  # no deprecation line first
    assert zoom.returncode == 2 and "bad --zoom -2.0" in zoom.stderr.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """A saved_models/ directory with a preset `demo` and an older `old.keras`."""
    from keras_creps import CREPSGenerator

    directory = tmp_path_factory.mktemp("saved_models")
    keras.utils.set_random_seed(2)
    g = CREPSGenerator(resolution=8, z_dim=8, w_dim=8, channel_base=64, channel_max=16, biline_channels=4,
                       mapping_layers=1)
    g.save(directory / "old.keras")
    os.utime(directory / "old.keras", (1e9, 1e9))
    g.save_to_preset(directory / "demo", metadata={"description": "generate.py test preset"})
    return directory


@pytest.mark.recipe_behaviour
def test_presets_by_default_and_by_name(saved_models, tmp_path):
    common = ["--saved_models", str(saved_models), "--seeds", "1", "--scales", "1", "--nogrid"]
    proc, named = run_together([*common, "--outdir", str(tmp_path / "default")],
                               [*common, "--network", "demo", "--outdir", str(tmp_path / "named")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "demo" in proc.stdout and "RANDOM" not in proc.stdout
    assert named.returncode == 0, named.stderr[-2000:]
    by_name = _png(tmp_path / "named" / "demo-seed0001-8x8.png")
    np.testing.assert_array_equal(_png(tmp_path / "default" / "demo-seed0001-8x8.png"), by_name)


@pytest.mark.recipe_behaviour
def test_random_init_only_without_any_saved_model(tmp_path):
    proc = run("--saved_models", str(tmp_path / "empty"), "--seeds", "0", "--scales", "1", "--nogrid",
               "--random_init_resolution", "8", "--outdir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "RANDOMLY INITIALISED" in proc.stdout
    assert Image.open(tmp_path / "random-init-seed0000-8x8.png").size == (8, 8)


@pytest.fixture(scope="module")
def named_classes(tiny_network, tmp_path_factory):
    """The tiny conditional generator as a preset whose metadata names its classes."""
    path = tmp_path_factory.mktemp("preset") / "emoji"
    keras.saving.load_model(tiny_network).save_to_preset(path, metadata={"class_names": ["cats", "dogs", "birds"]})
    return path


@pytest.mark.recipe_behaviour
def test_class_grid_rows_share_the_seeds(named_classes, tmp_path):
    grid_dir, one_dir = tmp_path / "grid", tmp_path / "one"
    proc, one = run_together(
        ["--network", str(named_classes), "--classes", "0,2", "--seeds", "1,4", "--scales", "1,4",
         "--outdir", str(grid_dir)],
        ["--network", str(named_classes), "--class_index", "2", "--seeds", "4", "--scales", "4", "--nogrid",
         "--outdir", str(one_dir)],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "row 0: class 0 (cats)" in proc.stdout and "row 1: class 2 (birds)" in proc.stdout
    assert one.returncode == 0, one.stderr[-2000:]
    assert "class 2 (birds)" in one.stdout
    for n in (16, 64):
        grid = _png(grid_dir / f"emoji-classes-{n}x{n}.png")
        assert grid.shape[:2] == (2 * n, 2 * n)  # rows: classes 0 and 2; columns: seeds 1 and 4
        for r, klass in enumerate((0, 2)):
            for q, seed in enumerate((1, 4)):
                cell = grid[r * n : (r + 1) * n, q * n : (q + 1) * n]
                np.testing.assert_array_equal(cell, _png(grid_dir / f"emoji-class{klass}-seed{seed:04d}-{n}x{n}.png"))
    # A row of the grid is the same image as the class rendered alone.
    assert np.abs(_png(grid_dir / "emoji-class2-seed0004-64x64.png") - _png(one_dir / "emoji-seed0004-64x64.png")).max() <= 1


@pytest.mark.recipe_behaviour
def test_run_directory_uses_its_newest_snapshot(tiny_network, tmp_path):
    from keras_creps import CREPSGenerator

    run_dir = tmp_path / "00007-creps-tiny"
    run_dir.mkdir()
    (run_dir / "training_options.json").write_text(
        '{"resolved": {"dataset": {"class_names": ["cats", "dogs", "birds"]}}}')
    keras.utils.set_random_seed(9)
    CREPSGenerator(resolution=16, z_dim=8, w_dim=8, c_dim=3, channel_base=256, channel_max=32, biline_channels=8,
                   mapping_layers=1).save(run_dir / "network-snapshot-000000.500.keras")
    os.link(tiny_network, run_dir / "network-snapshot-000001.keras")
    common = ["--seeds", "3", "--class_index", "1", "--scales", "1", "--nogrid"]
    (tmp_path / "empty_run").mkdir()
    (tmp_path / "empty_run" / "training_options.json").write_text("{}")
    proc, file, empty = run_together(["--network", str(run_dir), *common, "--outdir", str(tmp_path / "run")],
                                     ["--network", tiny_network, *common, "--outdir", str(tmp_path / "file")],
                                     ["--network", str(tmp_path / "empty_run"), *common,
                                      "--outdir", str(tmp_path / "none")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "network-snapshot-000001.keras (the newest EMA snapshot of run" in proc.stdout
    assert "class 1 (dogs)" in proc.stdout
    assert file.returncode == 0, file.stderr[-2000:]
    np.testing.assert_array_equal(_png(tmp_path / "run" / "network-snapshot-000001-seed0003-16x16.png"),
                                  _png(tmp_path / "file" / "tiny-seed0003-16x16.png"))
    assert empty.returncode == 1 and "has no network-snapshot-<kimg> yet" in empty.stderr.strip().splitlines()[-1]


@pytest.mark.recipe_behaviour
def test_seeds_render_in_budgeted_batches(tiny_network, tmp_path):
    common = ["--network", tiny_network, "--seeds", "0-23", "--class_index", "0", "--size", "64"]
    proc, whole = run_together([*common, "--image_memory_mb", "1", "--outdir", str(tmp_path / "small")],
                               [*common, "--outdir", str(tmp_path / "whole")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    # A quarter of 1 MiB holds 21 images of 64x64x3: two batches; the grid would need more than 1 MiB.
    assert "rendered 24 images of 64x64" in proc.stdout and "(2 batches)" in proc.stdout, proc.stdout
    assert "grid would need" in proc.stdout and not (tmp_path / "small" / "tiny-grid-64x64.png").exists()
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert "(1 batch)" in whole.stdout
    grid = _png(tmp_path / "whole" / "tiny-grid-64x64.png")
    for seed in range(24):
        name = f"tiny-seed{seed:04d}-64x64.png"
        image = _png(tmp_path / "small" / name)
        assert np.abs(image - _png(tmp_path / "whole" / name)).max() <= 1
        r, q = divmod(seed, 5)
        assert np.abs(grid[r * 64 : (r + 1) * 64, q * 64 : (q + 1) * 64] - image).max() <= 1


# Refused command lines, `(args, exit code, message)`. `--class_index 0` is added unless a case names a
# class flag. All run in one process (recipe_cases): its address space is limited, so a regression that
# expands a huge seed range or allocates for an absurd size fails with MemoryError instead of swapping.
HOSTILE = [
    (["--seeds", "3-1"], 2, "bad --seeds '3-1'"),
    (["--seeds", "a"], 2, "bad --seeds 'a'"),
    (["--height", "0"], 2, "bad output size 0x0"),
    (["--scales=-1"], 2, "bad --scales value '-1'"),
    (["--scale=-2"], 2, "bad --scales value '-2.0'"),
    (["--size", "8", "--height", "9"], 2, "either --size or --height/--width"),
    (["--tile", "0"], 2, "bad --tile 0"),
    (["--class_index", "5"], 2, "bad --class_index 5"),
    (["--classes", "0,7"], 2, "bad --classes '0,7': label 7 is not in [0, 3)"),
    (["--classes", "some"], 2, "bad --classes 'some'"),
    (["--class_index", "1", "--classes", "all"], 2, "either --class_index (one class) or --classes"),
    (["--video_size", "0"], 2, "bad --video_size 0"),
    (["--trunc", "nan"], 2, "bad --trunc nan: must be a finite number"),
    (["--trunc", "1e38"], 2, "bad --trunc 1e+38: must be in [-100, 100]"),
    (["--zoom", "inf"], 2, "bad --zoom inf: must be a finite number"),
    (["--zoom", "0"], 2, "bad --zoom 0.0: must be in"),
    (["--zoom=-1"], 2, "bad --zoom -1.0: must be in"),
    (["--zoom", "abc"], 2, "--zoom"),
    (["--rotate", "nan"], 2, "bad --rotate nan: must be a finite number"),
    (["--translate", "inf,0"], 2, "bad --translate 'inf,0': expected two finite numbers"),
    (["--center", "nan,0.5"], 2, "bad --center 'nan,0.5': expected two finite numbers"),
    (["--center", "0.5"], 2, "bad --center '0.5': expected two finite numbers"),
    (["--center", "1e300,0.5"], 2, "bad --center '1e300,0.5': each number must be in"),
    (["--center", "0.5,0.5", "--translate", "1,0"], 2, "either --center (row,col in image units) or its old form --translate"),
    (["--class", "1", "--class_index", "1"], 2, "give --class_index or its old spelling"),
    (["--seeds", "0-4294967295"], 2, "bad --seeds '0-4294967295': 4294967296 seeds, at most 100000 a run"),
    (["--seeds", "4294967296"], 2, "seeds must be integers in [0, 2**32)"),
    (["--seeds", "-5"], 2, "bad --seeds '-5'"),
    (["--size", "0"], 2, "bad output size 0x0"),
    (["--size=-3"], 2, "bad output size -3x-3"),
    (["--width=-1"], 2, "bad output size -1x-1"),
    (["--height", "1", "--width", "100000000"], 2, "output size 1x100000000 is absurd"),
    (["--scales", "nan"], 2, "bad --scales value 'nan'"),
    (["--scale", "inf"], 2, "bad --scales value 'inf'"),
    (["--image_memory_mb", "0"], 2, "bad --image_memory_mb 0"),
    (["--max_untiled_pixels", "0"], 2, "bad --max_untiled_pixels 0"),
    (["--random_init_resolution", "6"], 2, "bad --random_init_resolution 6"),
    (["--classes", "all", "--seeds", "0-49999"], 2, "50000 seeds x 3 classes = 150000 images, over the 100000"),
    (["--rotate", "10", "--max_untiled_pixels", "10"], 2, "--rotate is not supported for tiled sizes"),
    (["--video", "zoom", "--video_size", "4096", "--image_memory_mb", "64"], 2, "--video needs 3072 MiB"),
]


@pytest.mark.recipe_behaviour
def test_hostile_input_one_line_no_output(tiny_network, tmp_path):
    cases = []
    for i, (args, _, _) in enumerate(HOSTILE):
        class_args = [] if any(a.startswith("--class") for a in args) else ["--class_index", "0"]
        cases.append(["--network", tiny_network, *class_args, *args, "--outdir", str(tmp_path / f"out{i}")])
    results = run_cases("generate.py", cases, limit_memory=True)
    for i, ((args, code, message), (got_code, stderr)) in enumerate(zip(HOSTILE, results)):
        lines = [line for line in stderr.strip().splitlines() if "deprecated" not in line]
        assert got_code == code and len(lines) == 1 and message in lines[0], (args, got_code, stderr)
        assert not (tmp_path / f"out{i}").exists(), args  # nothing written, not even the directory


@pytest.mark.recipe_behaviour
def test_unusable_outdir_is_one_line_exit_1(tiny_network, tmp_path):
    (tmp_path / "a_file").write_text("not a directory")
    expected = ((tmp_path / "a_file", "is an existing file, not a directory"),
                (tmp_path / "a_file" / "sub", "which is an existing file, not a directory"))
    procs = run_together(*[["--network", tiny_network, "--class_index", "0", "--outdir", str(outdir)]
                           for outdir, _ in expected])
    for proc, (outdir, message) in zip(procs, expected):
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1, proc.stderr[-2000:]
        assert f"--outdir {str(outdir)!r} " in lines[0] and message in lines[0], lines
    assert (tmp_path / "a_file").read_text() == "not a directory"


@pytest.mark.recipe_behaviour
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_outdir_is_one_line_exit_1(tiny_network, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    proc = run("--network", tiny_network, "--class_index", "0", "--outdir", str(locked / "out"))
    assert proc.returncode == 1 and "is not writable" in proc.stderr.strip().splitlines()[-1]


def test_bfloat16_precision_everywhere_a_view_is_rendered(tiny_network, tmp_path):
    from keras_creps.utils.cpu_features import bfloat16_is_emulated

    common = ["--network", tiny_network, "--seeds", "5-6", "--class_index", "1", "--nogrid"]
    # 16x16 in one batch, 64x64 tile by tile; the rotated view goes through the points function.
    views = {"grid": ["--scales", "1,4", "--max_untiled_pixels", "300", "--tile", "7"],
             "rot": ["--scales", "1", "--rotate", "30"]}
    runs = [(name, precision) for name in views for precision in ("float32", "bfloat16")]
    *procs, refused = run_together(  # one process, not five
        *([*common, *views[name], "--precision", precision, "--outdir", str(tmp_path / precision / name)]
          for name, precision in runs),
        [*common, "--precision", "float16", "--outdir", str(tmp_path / "x")],
    )
    for (name, precision), proc in zip(runs, procs):
        assert proc.returncode == 0, (name, precision, proc.stderr[-2000:])
        # This machine's answer: a CPU without bfloat16 instructions (and no GPU) is told so.
        told = "this CPU has no bfloat16 instructions" in proc.stderr
        assert told is (precision == "bfloat16" and bfloat16_is_emulated()), proc.stderr[-2000:]
    assert refused.returncode == 2
    errors = []
    for name, size in (("grid", 16), ("grid", 64), ("rot", 16)):
        for seed in (5, 6):
            file = f"tiny-seed{seed:04d}-{size}x{size}.png"
            exact, rounded = _png(tmp_path / "float32" / name / file), _png(tmp_path / "bfloat16" / name / file)
            errors.append(np.mean((exact - rounded) ** 2))
    psnr = 10 * np.log10(255.0**2 / max(max(errors), 1e-12))
    assert psnr >= 35.0 and sum(errors) > 0, (psnr, errors)


def test_jit_compile_choices_render_the_same_images(tiny_network, tmp_path):
    common = ["--network", tiny_network, "--seeds", "3-4", "--class_index", "0", "--nogrid"]
    tiled = ["--scales", "1,4", "--max_untiled_pixels", "300", "--tile", "7"]  # 64x64 goes tile by tile
    auto, plain, compiled, refused = run_together(
        [*common, *tiled, "--outdir", str(tmp_path / "auto")],
        [*common, *tiled, "--jit_compile", "false", "--outdir", str(tmp_path / "false")],
        # torch.compile on PyTorch (one size: each size compiles once); XLA / jit elsewhere, as auto.
        [*common, "--scales", "1", "--jit_compile", "true", "--outdir", str(tmp_path / "true")],
        [*common, "--jit_compile", "maybe", "--outdir", str(tmp_path / "x")],
    )
    for proc in (auto, plain, compiled):
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert refused.returncode == 2 and "maybe" in refused.stderr
    for choice, sizes in (("false", (16, 64)), ("true", (16,))):
        for size in sizes:
            for seed in (3, 4):
                file = f"tiny-seed{seed:04d}-{size}x{size}.png"
                reference, other = _png(tmp_path / "auto" / file), _png(tmp_path / choice / file)
                assert np.abs(reference - other).max() <= 1, (choice, file)

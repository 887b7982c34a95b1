"""recipes/train.py in-process on the current backend: dry run, a real run, exact resume, NaN stop, flag errors.

Runs call `train.run(argv)` in this process (no import or start-up cost per
run). Networks are tiny and regularization is off (one compiled step
variant); the GAN's own tests cover regularization and resume of the step.
"""

import glob
import json
import os
import re
import shutil
import sys

import keras
import numpy as np
import pytest
from PIL import Image
from test_case import to_numpy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "recipes"))

import train

BACKEND = keras.config.backend()
MAKE_DATASET_CALLS = []  # the `validated=` argument of each make_dataset call of the uninterrupted run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """16 random-ish 16x16 PNGs in two labelled classes."""
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.RandomState(0)
    labels = []
    for i in range(16):
        base = rng.randint(0, 256, 3)
        image = np.clip(base + rng.randint(-40, 40, (16, 16, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(root / f"img{i:02d}.png")
        labels.append([f"img{i:02d}.png", i % 2])
    (root / "dataset.json").write_text(json.dumps({"labels": labels}))
    return str(root)


def args(data, outdir, *extra):
    return [
        "train.py", "--data", data, "--outdir", str(outdir), "--cfg", "tiny", "--cbase", "128", "--cmax", "16",
        "--batch", "4", "--gamma", "0", "--pl_weight", "0", "--tick", "0.008", "--snap", "1", "--log_every", "1",
        "--grid_columns", "4", "--jit_compile", "false" if BACKEND == "tensorflow" else "auto", *extra,
    ]


def state_arrays(path):
    gan = keras.saving.load_model(path)
    named = {}
    for prefix, variables in (("G", gan.generator.variables), ("D", gan.discriminator.variables),
                              ("E", gan.generator_ema.variables), ("O", gan.optimizer.variables)):
        for i, v in enumerate(variables):
            named[f"{prefix}{i}:{v.name}"] = np.asarray(to_numpy(v.value))
    named["step"] = np.asarray(to_numpy(gan.step.value))
    return named


@pytest.fixture(scope="module")
def runs(data, tmp_path_factory):
    """An uninterrupted 6-step run, and a run resuming a directory that holds only its state at step 4.

    The second directory is what a run killed after 4 steps leaves behind
    (its newest training state); the resumed run must end where the
    uninterrupted one did.
    """
    from keras_creps.training import run_data  # the run's data set-up: where train.py's make_dataset calls are

    outdir = tmp_path_factory.mktemp("runs")
    calls = []
    original = run_data.make_dataset

    def recording_make_dataset(*a, **kw):
        calls.append(kw.get("validated"))
        return original(*a, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_data, "make_dataset", recording_make_dataset)
        full = train.run(args(data, outdir, "--kimg", "0.024", "--keep", "2", "--progress_interval", "0.001"))
    MAKE_DATASET_CALLS.extend(calls)
    killed = tmp_path_factory.mktemp("killed") / "00000-killed"
    killed.mkdir()
    for ext in ("keras", "json"):
        shutil.copy(os.path.join(full, f"training-state-000000.016.{ext}"), killed)
    resumed = train.run(args(data, outdir, "--kimg", "0.024", "--resume", str(killed)))
    return full, str(killed), resumed


def test_dry_run(data, tmp_path, capsys):
    outdir = tmp_path / "never"
    assert train.run(args(data, outdir, "--dry_run", "--cond", "--kimg", "1")) is None
    out = capsys.readouterr().out
    assert "dry run: 16 images" in out and "16x16, c_dim=2" in out and "250 steps = 125 ticks of 2 steps" in out
    assert re.search(r"generator: [\d,]+ parameters", out)
    assert not outdir.exists()


def test_dry_run_float16_turns_on_loss_scaling(data, tmp_path, capsys):
    assert train.run(args(data, tmp_path / "never", "--dry_run", "--mixed_precision", "float16")) is None
    out = capsys.readouterr().out
    assert '"dtype_policy": "mixed_float16"' in out and '"loss_scaling": true' in out
    assert keras.config.dtype_policy().name == "float32"  # restored after the run


@pytest.mark.parametrize("emulated", [True, False])
def test_bfloat16_on_a_cpu_without_its_instructions_warns(data, tmp_path, capsys, monkeypatch, emulated):
    import keras_creps.utils.cpu_features as cpu_features

    monkeypatch.setattr(cpu_features, "bfloat16_is_emulated", lambda: emulated)
    assert train.run(args(data, tmp_path / "never", "--dry_run", "--mixed_precision", "bfloat16")) is None
    captured = capsys.readouterr()
    assert '"dtype_policy": "mixed_bfloat16"' in captured.out
    assert ("without bfloat16 instructions" in captured.err) is emulated, captured.err
    # With the instructions: JAX's CPU backend trained slower in bfloat16 than in float32, and says so.
    on_jax_cpu = not emulated and keras.backend.backend() == "jax"
    assert ("JAX's CPU backend trained slower" in captured.err) is on_jax_cpu, captured.err


def test_run_directory(runs, data):
    full = runs[0]
    assert os.path.basename(runs[2])[:6] == "00001-"
    name = os.path.basename(data)
    assert os.path.basename(full) == f"00000-creps-tiny-{name}-16-batch4-gamma0"
    with open(os.path.join(full, "training_options.json")) as f:
        options = json.load(f)
    assert set(train.OPTION_NAMES) <= set(options["options"])
    assert options["options"]["batch"] == 4 and options["resolved"]["steps_per_tick"] == 2
    assert options["resolved"]["generator"]["channel_base"] == 256
    assert options["resolved"]["dataset"]["num_images"] == 16
    names = sorted(os.listdir(full))
    # Ticks of 2 steps (8 images), a snapshot per tick; --keep 2 keeps the newest two states.
    assert [n for n in names if n.startswith("network-snapshot")] == [
        f"network-snapshot-000000.{k:03d}.keras" for k in (8, 16, 24)]
    assert [n for n in names if n.startswith("training-state")] == [
        f"training-state-000000.{k:03d}.{ext}" for k in (16, 24) for ext in ("json", "keras")]
    assert {"reals.png", "fakes000000.png", "fakes000000.024.png", "log.txt"} <= set(names)
    assert not [n for n in names if n.startswith(".")]  # no temporary files left
    assert Image.open(os.path.join(full, "fakes000000.024.png")).size == (64, 64)  # 4 x 4 samples of 16px
    assert glob.glob(os.path.join(full, "events.out.tfevents.*"))
    with open(os.path.join(full, "training-state-000000.024.json")) as f:
        record = json.load(f)
    assert record["step"] == 6 and record["seen_images"] == 24
    with open(os.path.join(full, "log.txt")) as f:
        log = f.read()
    assert "tick 3" in log and "kimg 0.024/0.024" in log and "sec/kimg" in log
    from keras_creps import CREPSGenerator

    generator = keras.saving.load_model(os.path.join(full, "network-snapshot-000000.024.keras"))
    assert isinstance(generator, CREPSGenerator) and generator.resolution == 16


def test_progress_lines_stats_and_one_scan(runs):
    full, resumed = runs[0], runs[2]
    with open(os.path.join(full, "log.txt")) as f:
        log = f.read().splitlines()
    # Announced before the first step, timed after it; then the steady speed after 3 more steps.
    first = log.index(next(line for line in log if line.startswith("step 1: ")))
    assert re.fullmatch(r"step 1 took \d+\.\d s.*; memory [\d.]+ GiB, peak [\d.]+ GiB", log[first + 1]), log
    steady = [line for line in log if line.startswith("steady speed: ")]
    assert len(steady) == 1 and re.search(r"s/step, [\d.]+ s/kimg, [\d.]+ images/s \(mean of 3 steps", steady[0])
    # A tiny --progress_interval: a timed line after each step that ends no tick (step 1 has its own line).
    timed = [line for line in log if line.startswith("... ")]
    assert [line.split("    ")[:2] for line in timed] == [["... kimg 0.012/0.024", "step 3"],
                                                         ["... kimg 0.020/0.024", "step 5"]], timed
    assert all("images/s" in line and "g_loss" in line for line in timed)
    assert [line.split()[1] for line in log if line.startswith("tick")] == ["1", "2", "3"]
    with open(os.path.join(full, "stats.jsonl")) as f:
        records = [json.loads(line) for line in f]
    assert [r["Progress/tick"]["mean"] for r in records] == [1, 2, 3]
    assert [r["Progress/kimg"]["mean"] for r in records] == pytest.approx([0.008, 0.016, 0.024])
    for record in records:
        assert {"Progress/tick", "Progress/kimg", "Timing/total_sec", "Timing/sec_per_tick", "Timing/sec_per_kimg",
                "Resources/peak_rss_gb", "Loss/G/loss", "Loss/D/loss", "Loss/r1_penalty", "Progress/augment",
                "timestamp"} <= set(record)
        assert record["Loss/G/loss"]["num"] == 2 and record["Resources/peak_rss_gb"]["mean"] > 0
    with open(os.path.join(resumed, "log.txt")) as f:
        assert "\nstep 5: " in f.read()  # the resumed run starts at step 5
    # The data source is scanned once; every pipeline reuses that scan.
    assert MAKE_DATASET_CALLS[0] is None and len(MAKE_DATASET_CALLS) >= 2
    assert all(info is not None and info.num_images == 16 for info in MAKE_DATASET_CALLS[1:])


def test_resume_continues_exactly(runs):
    full, resumed = runs[0], runs[2]
    with open(os.path.join(resumed, "training_options.json")) as f:
        resolved = json.load(f)["resolved"]
    assert resolved["start_step"] == 4
    assert resolved["resumed_from"].endswith("training-state-000000.016.keras")
    # The resumed run writes on from kimg 0.016 in its own directory.
    assert sorted(n for n in os.listdir(resumed) if n.startswith("network-snapshot")) == [
        "network-snapshot-000000.024.keras"]
    expected = state_arrays(os.path.join(full, "training-state-000000.024.keras"))
    actual = state_arrays(os.path.join(resumed, "training-state-000000.024.keras"))
    assert expected.keys() == actual.keys() and int(actual["step"]) == 6
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-6, atol=1e-6, err_msg=key)


def test_non_finite_stops_before_a_bad_snapshot(data, tmp_path):
    # A huge D learning rate overflows D after its first update.
    with pytest.raises(FloatingPointError) as raised:
        train.run(args(data, tmp_path, "--kimg", "0.04", "--tick", "0.004", "--dlr", "1e30"))
    message = str(raised.value)
    run_dir = glob.glob(str(tmp_path / "00000-*"))[0]
    good = os.path.join(run_dir, "training-state-000000.004.keras")
    assert "d_loss" in message and "went non-finite at step 2 (kimg 0.008)" in message, message
    assert message.endswith(f"the last good snapshot is {good}")
    assert sorted(n for n in os.listdir(run_dir) if n.startswith(("training-state", "network"))) == [
        "network-snapshot-000000.004.keras", "training-state-000000.004.json", "training-state-000000.004.keras"]
    assert int(to_numpy(keras.saving.load_model(good).step.value)) == 1
    with open(os.path.join(run_dir, "log.txt")) as f:
        assert message in f.read()


def bad_flag_line(argv, capsys, code=2):
    """Runs main the way app.run does; returns the one stderr line of a usage (2) or input (1) error."""
    train.FLAGS.unparse_flags()
    train.FLAGS(argv)
    with pytest.raises(SystemExit) as raised:
        train.main(["train.py"])
    assert raised.value.code == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--batch", "0"], "bad --batch=0: must be >= 1"),
        (["--cfg", "huge"], "bad --cfg='huge'"),
        (["--kimg", "nan"], "bad --kimg=nan"),
        (["--gamma=-1"], "bad --gamma=-1.0"),
        (["--mixed_precision", "float8"], "choose none, bfloat16 or float16"),
        (["--jit_compile", "maybe"], "bad --jit_compile='maybe'"),
        (["--resolution", "32"], "bad --resolution=32: the dataset"),
        (["--gamma", "nan"], "bad --gamma=nan: must be a finite number"),
        (["--glr", "inf"], "bad --glr=inf: must be a finite number"),
        (["--pl_weight", "inf"], "bad --pl_weight=inf"),
        (["--tick", "nan"], "bad --tick=nan"),
        (["--progress_interval", "inf"], "bad --progress_interval=inf"),
        (["--target", "nan"], "bad --target=nan: must be in [0, 1]"),
        (["--aug", "fixed", "--p", "nan"], "bad --p=nan: must be in [0, 1]"),
        (["--resume_g_ema", "/tmp"], "needs --resume_g"),
        (["--batch", "6", "--gpus", "4"], "bad --batch=6: must be a multiple of --gpus=4"),
    ],
)
def test_bad_flags_give_one_line(data, tmp_path, capsys, extra, message):
    line = bad_flag_line(args(data, tmp_path, *extra), capsys)
    assert line.startswith("train.py: ") and message in line, line
    if "--resolution" in extra:
        assert "16x16" in line


def test_gpus_on_torch_or_missing_devices(data, tmp_path, capsys):
    line = bad_flag_line(args(data, tmp_path, "--gpus", "2", "--batch", "4"), capsys)
    assert "bad --gpus=2" in line
    if BACKEND == "torch":
        assert "not supported" in line


def test_resume_needs_a_training_state(runs, data, tmp_path, capsys):
    generator = os.path.join(runs[0], "network-snapshot-000000.024.keras")
    line = bad_flag_line(args(data, tmp_path, "--resume", generator), capsys, code=1)
    assert "holds a CREPSGenerator, not a CREPSGAN training state" in line and "--resume_g" in line
    line = bad_flag_line(args(data, tmp_path, "--resume", str(tmp_path)), capsys, code=1)
    assert "holds no training-state" in line
    line = bad_flag_line(args(data, tmp_path, "--resume", "/nonexistent/run"), capsys, code=1)
    assert "bad --resume='/nonexistent/run': no such file" in line


def damaged_run(full, folder, damage):
    """A copy of `full`'s two newest states, the newest damaged as `damage` says, plus stale temporaries."""
    folder.mkdir()
    for tag in ("000000.016", "000000.024"):
        for ext in ("keras", "json"):
            shutil.copy(os.path.join(full, f"training-state-{tag}.{ext}"), folder)
    newest = folder / "training-state-000000.024.keras"
    if damage == "truncated":  # a copy cut short: half of a real state's bytes
        data = newest.read_bytes()
        newest.write_bytes(data[: len(data) // 2])
    elif damage == "record":
        (folder / "training-state-000000.024.json").write_text('{"step": 6, "ki')
    stale = [".training-state-000000.032.k2j4_x9a.tmp.keras", ".fakes000000.032.ab12cd34.tmp.png"]
    for name in stale:
        (folder / name).write_bytes(b"half")
    (folder / ".keep").write_text("not ours to remove")
    return str(newest), stale


@pytest.mark.parametrize("damage", ["truncated", "record"])
def test_resume_falls_back_to_the_newest_intact_state(runs, data, tmp_path, capsys, damage):
    folder = tmp_path / "00007-damaged"
    newest, stale = damaged_run(runs[0], folder, damage)
    capsys.readouterr()
    assert train.run(args(data, tmp_path / "out", "--kimg", "0.024", "--dry_run", "--resume", str(folder))) is None
    captured = capsys.readouterr()
    warnings = captured.err.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("train.py: warning: skipping training-state-000000.024.keras")
    assert ("is not a valid Keras archive" if damage == "truncated" else "record") in warnings[0]
    assert warnings[0].endswith("Resuming from training-state-000000.016.keras.")
    assert '"start_step": 4' in captured.out
    assert f'"resumed_from": "{folder / "training-state-000000.016.keras"}"' in captured.out
    removed = [line for line in captured.out.splitlines() if "stale temporary" in line]
    assert len(removed) == 1 and all(name in removed[0] for name in stale)
    assert sorted(n for n in os.listdir(folder) if n.startswith(".")) == [".keep"]


def test_resume_with_no_intact_state_is_one_line(runs, data, tmp_path, capsys):
    folder = tmp_path / "00008-broken"
    newest, _ = damaged_run(runs[0], folder, "truncated")
    os.remove(folder / "training-state-000000.016.keras")
    line = bad_flag_line(args(data, tmp_path, "--resume", str(folder)), capsys, code=1)
    assert "no intact training state" in line and f"{newest!r} is not a valid Keras archive" in line
    # A damaged file named directly is reported as damaged (Keras itself says "File not found").
    line = bad_flag_line(args(data, tmp_path, "--resume", newest), capsys, code=1)
    assert line.startswith(f"train.py: bad --resume={newest!r}: {newest!r} is not a valid Keras archive"), line
    assert "not found" not in line
    line = bad_flag_line(args(data, tmp_path, "--resume_g", newest), capsys, code=1)
    assert "is not a valid Keras archive" in line


def test_unusable_outdir_is_one_line(data, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    line = bad_flag_line(args(data, afile), capsys, code=1)
    assert line == f"train.py: --outdir {str(afile)!r} is an existing file, not a directory"
    line = bad_flag_line(args(data, afile / "runs"), capsys, code=1)
    assert "is inside" in line and "an existing file" in line
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        line = bad_flag_line(args(data, locked / "runs"), capsys, code=1)
        assert "is not writable" in line


def test_resume_takes_the_runs_options_unless_given(runs, data, tmp_path, capsys):
    # Resuming with no other flag continues the run as it was started; flags given explicitly win.
    folder = tmp_path / "00003-started"
    folder.mkdir()
    for name in ("training-state-000000.016.keras", "training-state-000000.016.json", "training_options.json"):
        shutil.copy(os.path.join(runs[0], name), folder)
    capsys.readouterr()
    assert train.run(["train.py", "--resume", str(folder), "--dry_run", "--gamma", "0.5"]) is None
    out = capsys.readouterr().out
    inherited = next(line for line in out.splitlines() if line.startswith("train.py: options of the resumed run"))
    for flag in ("--cfg=tiny", "--batch=4", "--cbase=128", f"--data={data}"):
        assert flag in inherited
    assert "--gamma" not in inherited and "--resume" not in inherited
    assert '"start_step": 4' in out and '"gamma": 0.5' in out and '"batch": 4' in out

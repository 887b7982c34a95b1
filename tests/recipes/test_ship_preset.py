"""recipes/ship_preset.py on a real chain of two tiny runs (the second resumes the first), in-process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image
from test_case import to_numpy

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "recipes"))

import ship_preset  # noqa: E402
import train  # noqa: E402

# Shipping is file work (choosing, copying, carding, a gallery render); training and rendering
# are tested per backend in test_train.py and test_generate.py.
pytestmark = pytest.mark.recipe_behaviour

BACKEND = keras.config.backend()
CLASSES = ["circles", "squares"]


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Run 1 trains 4 steps (snapshots at kimg 0.008, 0.016); run 2 resumes it for 2 more (0.024).

    Each run then gets the metric lines a `--metrics swd_full` run would have
    written (computing real SWDs of 16px noise would only cost time), and run
    2 a `stats.jsonl`.
    """
    data = tmp_path_factory.mktemp("data")
    rng = np.random.RandomState(0)
    labels = []
    for i in range(16):
        image = np.clip(rng.randint(0, 256, 3) + rng.randint(-40, 40, (16, 16, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(data / f"img{i:02d}.png")
        labels.append([f"img{i:02d}.png", i % 2])
    (data / "dataset.json").write_text(json.dumps({"labels": labels, "class_names": CLASSES}))
    outdir = tmp_path_factory.mktemp("runs")
    common = ["train.py", "--data", str(data), "--outdir", str(outdir), "--cfg", "tiny", "--cbase", "128",
              "--cmax", "16", "--batch", "4", "--gamma", "0", "--pl_weight", "0", "--tick", "0.008", "--snap", "1",
              "--grid_columns", "2", "--cond", "--metrics", "none",
              "--jit_compile", "false" if BACKEND == "tensorflow" else "auto"]
    first = Path(train.run([*common, "--kimg", "0.016"]))
    second = Path(train.run([*common, "--kimg", "0.024", "--resume", str(first)]))
    for run, points in ((first, [(0.008, 90.0), (0.016, 70.0)]), (second, [(0.024, 50.0)])):
        with open(run / "metric-swd_full.jsonl", "w") as f:
            for kimg, swd in points:
                f.write(json.dumps({"results": {"swd_full": swd, "swd_full_16": swd}, "metric": "swd_full",
                                    "kimg": kimg, "step": int(kimg * 250)}) + "\n")
    (second / "stats.jsonl").write_text(json.dumps({"Progress/kimg": {"mean": 0.024}, "Timing/total_sec":
                                                    {"mean": 1.0}}) + "\n")
    return first, second


def ship(*args):
    return ship_preset.run(["ship_preset.py", *args])


def state_seconds(run, tag):
    return json.loads((run / f"training-state-{tag}.json").read_text())["seconds_in_this_session"]


def assert_same_weights(a, b):
    assert [v.path for v in a.weights] == [v.path for v in b.weights]
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(to_numpy(x), to_numpy(y), err_msg=x.path)


def test_ships_the_newest_snapshot_of_the_chain(chain, tmp_path):
    from keras_creps import CREPSDiscriminator, CREPSGenerator
    from keras_creps.models.presets import load_metadata

    first, second = chain
    out = tmp_path / "saved_models" / "creps_test"
    # Runs in any order, repeated or comma separated.
    assert ship("--run", f"{second},{first}", "--out", str(out), "--truncation_advice", "psi 0.7",
                "--known_artefacts", "Speckles at 1024.", "--hardware", "test CPU") == out.absolute()
    assert sorted(os.listdir(out)) == ["README.md", "config.json", "discriminator", "images", "metadata.json",
                                       "model.weights.h5"]
    assert_same_weights(CREPSGenerator.from_preset(out),
                        keras.saving.load_model(second / "network-snapshot-000000.024.keras"))
    state = keras.saving.load_model(second / "training-state-000000.024.keras")
    assert_same_weights(CREPSDiscriminator.from_preset(out), state.discriminator)

    metadata = load_metadata(out)
    assert metadata["kimg"] == 0.024 and metadata["class_names"] == CLASSES
    assert metadata["swd_curve"] == [[0.008, 90.0], [0.016, 70.0], [0.024, 50.0]]
    assert metadata["metrics"] == {"swd_full": 50.0}
    training = metadata["training"]
    assert training["configuration"] == "tiny" and training["batch"] == 4 and training["r1_gamma"] == 0
    assert training["augmentation"] == "ada (bgc, target 0.6)" and training["hardware"] == "test CPU"
    assert training["final augment_p"] == pytest.approx(float(to_numpy(state.augment.p)), abs=1e-4)
    # Run 1 counts up to the state run 2 resumed from; run 2 up to the snapshot.
    expected = state_seconds(first, "000000.016") + state_seconds(second, "000000.024")
    assert metadata["training_time_seconds"] == pytest.approx(expected, abs=0.2)
    assert list(metadata["training_time_per_run"]) == [first.name, second.name]
    assert metadata["network_kwargs"]["generator"]["channel_base"] == 256
    assert metadata["discriminator"]["kimg"] == 0.024

    card = (out / "README.md").read_text()
    for text in ("| 0.016 | 70 |", "![SWD against kimg](images/swd_curve.png)", "## Truncation", "psi 0.7",
                 "Speckles at 1024.", "| 1 | squares |", 'CREPSDiscriminator.from_preset("creps_test")'):
        assert text in card, text
    plot = Image.open(out / "images" / "swd_curve.png")
    assert plot.format == "PNG" and plot.size[0] <= 640


def test_older_snapshot_keeps_the_gallery(chain, tmp_path):
    from keras_creps.models.presets import load_metadata

    first, second = chain
    out = tmp_path / "creps_test"
    ship("--run", str(first), "--run", str(second), "--out", str(out))
    (out / "images" / "gallery.webp").write_bytes(b"webp")
    ship("--run", str(first), "--run", str(second), "--out", str(out), "--snapshot", "000000.008")
    metadata = load_metadata(out)
    assert metadata["kimg"] == 0.008 and metadata["swd_curve"] == [[0.008, 90.0]]
    assert "swd_curve_plot" not in metadata  # one point is no curve
    assert metadata["discriminator"]["kimg"] == 0.008  # the state beside that snapshot
    assert metadata["training_time_seconds"] == pytest.approx(state_seconds(first, "000000.008"), abs=0.2)
    assert (out / "images" / "gallery.webp").read_bytes() == b"webp"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_preview_prints_the_card_and_writes_nothing(chain, tmp_path, capsys):
    first, second = chain
    out = tmp_path / "creps_test"
    ship("--run", str(first), "--run", str(second), "--out", str(out), "--preview")
    printed = capsys.readouterr().out
    assert '"kimg": 0.024' in printed and "# creps_test" in printed and "from_preset" in printed
    assert not os.path.exists(out) and not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_size_limit_writes_nothing(chain, tmp_path):
    out = tmp_path / "creps_test"
    with pytest.raises(ship_preset.ShipError, match=r"over --max_mb 0.01; nothing was written"):
        ship("--run", str(chain[1]), "--run", str(chain[0]), "--out", str(out), "--max_mb", "0.01")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "pass --run"),
        (["--run", "{tmp}"], "not a training run directory (no training_options.json)"),
        (["--run", "{first}", "--snapshot", "999"], "bad --snapshot '999': no such snapshot"),
        (["--run", "{first}", "--out", "{photos}"], "a non-empty directory that is not a preset"),
        (["--run", "{first}", "--known_artefacts", "@{tmp}/missing.md"], "bad --known_artefacts"),
    ],
)
def test_bad_input(chain, tmp_path, args, message):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"jpg")
    values = {"tmp": tmp_path, "first": chain[0], "photos": tmp_path / "photos"}
    args = [a.format(**values) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    with pytest.raises(ship_preset.ShipError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ship(*args)


def test_cli_reports_one_line(tmp_path):
    env = dict(os.environ, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, str(ROOT / "recipes" / "ship_preset.py"), "--run", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("ship_preset.py: bad --run")


def test_timing_sources_and_chain_cut(tmp_path):
    """log.txt ticks, stats.jsonl and state records all count; each run stops where the next one starts."""
    one, two = tmp_path / "00000-a", tmp_path / "00001-b"
    one.mkdir()
    two.mkdir()
    (one / "log.txt").write_text(
        "run x\nstarting\n"
        "tick 1       kimg 10.0/100    step 625    time 1h 02m 03s    sec/kimg 1.0    eta 1s\n"
        "tick 2       kimg 20.0/100    step 1250    time 1d 02h 03m    sec/kimg 1.0    eta 1s\n")
    (two / "stats.jsonl").write_text(
        '{"Progress/kimg": {"mean": 15.0}, "Timing/total_sec": {"mean": 500.0}}\nnot json\n'
        '{"kimg": 25.0, "total_sec": 900}\n')
    runs = [(one, {"resolved": {"start_kimg": 0.0}}), (two, {"resolved": {"start_kimg": 10.0}})]
    assert ship_preset.parse_duration("1d 02h 03m") == 86400 + 7200 + 180
    total, parts = ship_preset.training_seconds(runs, 25.0)
    assert parts == [("00000-a", 3723.0), ("00001-b", 900.0)]  # run 1 only up to kimg 10, where run 2 took over
    assert total == 4623.0
    total, parts = ship_preset.training_seconds(runs, 10.0)  # a snapshot of run 1: run 2 does not count
    assert parts == [("00000-a", 3723.0)]

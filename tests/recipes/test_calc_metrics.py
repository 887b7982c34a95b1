"""recipes/calc_metrics.py end to end, in a subprocess on the current backend."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image
from recipe_cases import last_line
from recipe_cases import run_cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "recipes", "calc_metrics.py")
R = 16


def run(*args, env=None):
    env = dict(os.environ, KERAS_BACKEND=keras.config.backend(), TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run directory: two network snapshots of a tiny generator and the options naming a 16x16 image folder."""
    from keras_creps import CREPSGenerator

    root = tmp_path_factory.mktemp("metrics")
    data = root / "reals"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (R, R, 3), dtype=np.uint8)).save(data / f"img{i:02d}.png")
    run = root / "00000-creps-tiny-reals-16-batch4-gamma1"
    run.mkdir()
    keras.utils.set_random_seed(0)
    generator = CREPSGenerator(R, z_dim=16, w_dim=16, channel_base=256, channel_max=32, biline_channels=8, rank=2,
                               mapping_layers=1)
    for tag in ("000000.004", "000000.008"):
        generator.save(str(run / f"network-snapshot-{tag}.keras"))
    options = {"options": {"data": None, "data_dir": None}, "resolved": {"data_source": str(data)}}
    (run / "training_options.json").write_text(json.dumps(options))
    return run


def test_run_dir_table_and_jsonl(run_dir, tmp_path):
    proc = run("--network", str(run_dir), "--metrics", "swd_full,eqt_int", "--num_gen", "4", "--batch", "4",
               "--cache_dir", str(tmp_path / "cache"), "--noprogress")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "network-snapshot-000000.008.keras" in proc.stdout and "reals" in proc.stdout
    table = proc.stdout[proc.stdout.index("metric "):]
    for word in ("swd_full_16", "eqt_int", "num_gen", "feature network"):
        assert word in table
    for name in ("swd_full", "eqt_int"):
        lines = (run_dir / f"metric-{name}.jsonl").read_text().splitlines()
        record = json.loads(lines[-1])
        assert record["metric"] == name and record["snapshot"] == "network-snapshot-000000.008.keras"
        assert record["num_gen"] == 4 and record["data"].endswith("reals") and name in record["results"]


@pytest.mark.recipe_behaviour
def test_out_dir_for_a_network_file(run_dir, tmp_path):
    network = str(run_dir / "network-snapshot-000000.004.keras")
    proc = run("--network", network, "--data", str(run_dir.parent / "reals"), "--metrics", "eqt", "--num_gen", "4",
               "--batch", "4", "--out", str(tmp_path / "results"), "--noprogress", "--jit_compile", "false")
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((tmp_path / "results" / "metric-eqt.jsonl").read_text())
    assert record["results"]["eqt"] > 0 and record["snapshot"] == "network-snapshot-000000.004.keras"


BAD_INPUT = [
    ([], 2, "--network is required"),
    (["--metrics", "fid,swd_full"], 2, "bad --metrics 'fid,swd_full': unknown fid; valid: fid50k_full"),
    (["--num_gen", "0"], 2, "bad --num_gen 0"),
    (["--data", "/nonexistent"], 1, "bad --data '/nonexistent'"),
    (["--network", "/nonexistent.keras"], 1, "no such file, directory or preset"),
    (["--metrics", "fid50k_full", "--num_gen", "4"], 2, "--feature_net auto:"),
    (["--jit_compile", "maybe"], 2, "maybe"),
]


@pytest.mark.recipe_behaviour
def test_bad_input_gives_one_clear_line(run_dir, tmp_path):
    cases = [[*([] if (not args or "--network" in args) else ["--network", str(run_dir)]), *args,
              "--cache_dir", str(tmp_path)] for args, _, _ in BAD_INPUT]
    # An empty Keras home: the ImageNet Inception weights are missing, never downloaded.
    results = run_cases("calc_metrics.py", cases, env={"KERAS_HOME": str(tmp_path / "keras")})
    for (args, code, message), (got_code, stderr) in zip(BAD_INPUT, results):
        last = last_line(stderr)
        assert got_code == code and last.startswith("calc_metrics.py: ") and message in last, (args, got_code, stderr)

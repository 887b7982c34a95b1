"""recipes/convert.py end to end, in a subprocess.

Conversions run under TensorFlow (building the networks is fastest there) and
the `.keras` files are loaded and checked under the backend on test: the
files do not depend on the backend that wrote them. Refusals and flag errors
are the recipe's own behaviour (`recipe_behaviour`): the runner runs them on
one backend.
"""

import os
import pickle
import subprocess
import sys

import keras
import numpy as np
import official_pickle_writer as writer
import pytest
from recipe_cases import last_line
from recipe_cases import run_cases
from test_case import max_rel_error
from test_case import nchw_to_nhwc
from test_case import to_numpy
from test_official_pickle import _shared_dict_dag
from test_official_pickle import official_snapshot
from test_official_pickle import refusal

from keras_creps import CREPSDiscriminator
from keras_creps import CREPSGenerator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "recipes", "convert.py")
CONVERT_BACKEND = "tensorflow"


def run(*args, backend=None, timeout=600):
    env = dict(os.environ, KERAS_BACKEND=backend or keras.config.backend(), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    data, arrays, _ = official_snapshot()
    path = str(tmp_path_factory.mktemp("official") / "network-snapshot-000000.pkl")
    writer.write(path, data)
    return path, arrays


def test_generator_ema(snapshot, tmp_path):
    path, arrays = snapshot
    out = tmp_path / "g_ema.keras"
    args = ["--pkl", path, "--out", str(out)]
    preset = tmp_path / "preset"
    with_preset = hasattr(CREPSGenerator, "save_to_preset")
    if with_preset:
        args += ["--preset", str(preset)]
    proc = run(*args, backend=CONVERT_BACKEND)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "training_set_kwargs: {'class_name': 'training.dataset.ImageFolderDataset'" in proc.stdout
    g = keras.saving.load_model(out)
    assert isinstance(g, CREPSGenerator)
    images = g(arrays["in/z"])
    assert max_rel_error(images, nchw_to_nhwc(arrays["out/img_G_call_scale1"])) <= 1e-4
    if with_preset:
        restored = CREPSGenerator.from_preset(str(preset))
        np.testing.assert_array_equal(to_numpy(restored(arrays["in/z"])), to_numpy(images))
    assert [name for name in os.listdir(tmp_path) if name.startswith(".convert-")] == []


def test_every_network_for_resuming(snapshot, tmp_path):
    path, arrays = snapshot
    outdir = tmp_path / "converted"
    proc = run("--pkl", path, "--outdir", str(outdir), backend=CONVERT_BACKEND)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(os.listdir(outdir)) == ["D.keras", "G.keras", "G_ema.keras"]
    lines = proc.stdout.splitlines()  # what --info prints alone
    assert lines[0].startswith("G: Generator, 92 tensors, ") and "'img_resolution': 16" in lines[0]
    assert any(line.startswith("D: Discriminator, 28 tensors") for line in lines)
    assert any(line.startswith("augment_pipe: AugmentPipe, 2 tensors, 13 values") for line in lines)
    g = keras.saving.load_model(outdir / "G.keras")
    assert isinstance(g, CREPSGenerator)
    # The snapshot's G differs from G_ema by +1 on this bias.
    np.testing.assert_array_equal(to_numpy(g.mapping.dense_layers[0].bias), arrays["G/mapping.fc0.bias"] + 1)
    d = keras.saving.load_model(outdir / "D.keras")
    assert isinstance(d, CREPSDiscriminator)
    logits = d.predict_on_batch(nchw_to_nhwc(arrays["D/in/real_img"]))
    assert max_rel_error(logits, arrays["D/out/logits_real"]) <= 1e-4


@pytest.mark.recipe_behaviour
def test_refuses_malicious_pickle(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    writer.write(str(path), {"G_ema": writer.Reduce(writer.Global("os", "system"), (f"touch {marker}",))})
    proc = run("--pkl", str(path), "--out", str(tmp_path / "g.keras"))
    assert proc.returncode == 1  # an unusable file, not a bad flag
    assert proc.stderr.strip().splitlines()[-1] == f"convert.py: {refusal('os.system', path)}"
    assert not marker.exists() and not (tmp_path / "g.keras").exists()


@pytest.mark.recipe_behaviour
def test_bad_flags_give_one_clear_line():
    cases = [
        ([], "pass --pkl with an official network pickle"),
        (["--pkl", "x.pkl"], "pass --out M.keras"),
        (["--pkl", "x.pkl", "--outdir", "d", "--which", "G"], "do not combine it with --out, --preset or --which"),
        (["--pkl", "x.pkl", "--out", "g.h5"], "bad --out 'g.h5': the file name must end in .keras"),
        (["--pkl", "/nonexistent.pkl", "--out", "g.keras"], "--pkl '/nonexistent.pkl': no such file"),
    ]
    results = run_cases("convert.py", [args for args, _ in cases])
    for (args, message), (code, stderr) in zip(cases, results):
        assert code == 2 and message in last_line(stderr), (args, code, stderr)


@pytest.mark.recipe_behaviour
def test_info_on_a_shared_dict_dag_is_bounded(tmp_path):
    # 625 bytes whose full repr has 2**60 paths: --info must describe it at once.
    path = tmp_path / "dag.pkl"
    path.write_bytes(pickle.dumps({"d": _shared_dict_dag()}, protocol=4))
    proc = run("--pkl", str(path), "--info", timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("d: {'a': {'a': ") and len(proc.stdout) < 1000


@pytest.mark.recipe_behaviour
def test_max_tensor_bytes_flag(snapshot, tmp_path):
    results = run_cases("convert.py", [["--pkl", snapshot[0], "--info", "--max_tensor_bytes", "1000"],
                                       ["--pkl", snapshot[0], "--info", "--max_tensor_bytes", "-1"]])
    (code, stderr), (bad_code, bad_stderr) = results
    assert code == 1, stderr[-1000:]
    last = last_line(stderr)
    assert last.startswith(f"convert.py: {snapshot[0]} exceeds the reader's tensor-bytes limit") and "=1000)" in last
    assert bad_code == 2
    assert "--max_tensor_bytes must be >= 0. Received: -1" in bad_stderr


@pytest.mark.recipe_behaviour
def test_converted_files_get_normal_permissions(snapshot, tmp_path):
    out = tmp_path / "g.keras"
    old = os.umask(0o022)
    try:
        proc = run("--pkl", snapshot[0], "--out", str(out), backend=CONVERT_BACKEND)
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["g.keras"]

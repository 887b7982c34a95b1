"""recipes/export.py end to end: a generator built on the current backend, exported under TensorFlow.

The export runs in a subprocess (which re-runs itself under
KERAS_BACKEND=tensorflow when needed); the SavedModel is then served by a
process where neither keras nor keras_creps can be imported, and its images
are compared with the current backend's Keras generator.
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from test_case import to_numpy

from keras_creps import CREPSGenerator
from keras_creps.rendering.coords import view_coords
from keras_creps.utils.images import to_uint8

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "recipes", "export.py")

SERVE = textwrap.dedent("""
    import sys
    # As if neither package were installed: `import keras` fails and
    # `importlib.util.find_spec("keras")` is None (TensorFlow then skips its Keras hooks).
    sys.modules["keras"] = sys.modules["keras_creps"] = None
    sys.path = [p for p in sys.path if p and os.path.abspath(p) != ROOT]
    import numpy as np
    import tensorflow as tf
    served = tf.saved_model.load(PATH)
    view = dict(truncation_psi=tf.constant(0.6), height=tf.constant(10), width=tf.constant(14),
                scale=tf.constant(0.8), translate=tf.constant([0.05, 0.1]))
    by_seed = served.signatures["serving_default"](seeds=tf.constant([1, 2], tf.int64), **view)
    by_z = served.signatures["render_z"](z=tf.constant(np.load(OUT + "/z_in.npy")), **view)
    np.save(OUT + "/z_seed.npy", by_seed["z"].numpy())
    np.save(OUT + "/images_seed.npy", by_seed["images"].numpy())
    np.save(OUT + "/images_z.npy", by_z["images"].numpy())
    leaked = sorted(m for m, module in sys.modules.items() if m.split(".")[0] in ("keras", "keras_creps") and module)
    assert not leaked, leaked
""")


def run(*args, env=None):
    env = dict(os.environ, KERAS_BACKEND=keras.config.backend(), TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.run([sys.executable, SCRIPT, *args], check=False, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def tiny_network(tmp_path_factory):
    keras.utils.set_random_seed(2)
    generator = CREPSGenerator(resolution=8, z_dim=8, w_dim=8, channel_base=128, channel_max=32, biline_channels=8,
                               mapping_layers=1)
    path = str(tmp_path_factory.mktemp("net") / "tiny.keras")
    generator.save(path)
    return generator, path


def keras_images(generator, z):
    rows, cols = view_coords(10, 14, center=(0.5 + float(np.float32(0.05)), 0.5 + float(np.float32(0.1))),
                             zoom=float(np.float32(0.8)), keep_aspect=False)
    ws = generator.mapping(z, truncation_psi=0.6)
    return to_uint8(to_numpy(generator.synthesis(ws, rows, cols)))


def test_export_from_this_backend_serves_the_same_images(tiny_network, tmp_path):
    generator, network = tiny_network
    outdir = tmp_path / "models" / "creps"
    proc = run("--network", network, "--outdir", str(outdir), "--max_pixels", "4096", "--truncation_psi", "0.6")
    assert proc.returncode == 0, proc.stderr[-3000:]
    if keras.config.backend() != "tensorflow":
        assert "re-running under KERAS_BACKEND=tensorflow" in proc.stderr
    path = str(outdir / "1")
    assert f"wrote {path}" in proc.stdout
    for line in ("signature_def['serving_default']", "signature_def['render_tile_z']", "inputs['seeds'] tensor_info",
                 "dtype: DT_UINT8", "max_pixels=4096", "docker run -p 8501:8501"):
        assert line in proc.stdout, proc.stdout[:3000]

    z = np.random.RandomState(5).randn(2, 8).astype("float32")
    np.save(tmp_path / "z_in.npy", z)
    script = f"import os\nROOT, PATH, OUT = {ROOT!r}, {path!r}, {str(tmp_path)!r}\n" + SERVE
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND")}
    served = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=600,
                            cwd=str(tmp_path), env=dict(env, TF_CPP_MIN_LOG_LEVEL="3"))
    assert served.returncode == 0, served.stderr[-3000:]
    for images, latents in ((np.load(tmp_path / "images_z.npy"), z),
                            (np.load(tmp_path / "images_seed.npy"), np.load(tmp_path / "z_seed.npy"))):
        expected = keras_images(generator, latents)
        assert images.shape == expected.shape == (2, 10, 14, 3)
        diff = np.abs(images.astype(int) - expected.astype(int)).max()
        assert diff <= 1, f"served images differ from the {keras.config.backend()} generator by {diff} levels"


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "--network is required"),
        (["--network", "/nonexistent/g.keras"], "'/nonexistent/g.keras': no such file"),
        (["--max_pixels", "0"], "bad --max_pixels 0"),
        (["--version", "-2"], "bad --version -2"),
    ],
)
def test_bad_flags_give_one_clear_line(tiny_network, tmp_path, args, message):
    base = [] if (not args or "--network" in args) else ["--network", tiny_network[1]]
    proc = run(*base, *args, "--outdir", str(tmp_path))
    assert proc.returncode == 2
    assert message in proc.stderr.strip().splitlines()[-1], proc.stderr[-1000:]


def test_existing_version_is_refused(tiny_network, tmp_path):
    os.makedirs(tmp_path / "3")
    proc = run("--network", tiny_network[1], "--outdir", str(tmp_path), "--version", "3")
    assert proc.returncode == 2 and "version 3 already exists" in proc.stderr
    assert os.listdir(tmp_path) == ["3"]

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
from recipe_cases import run_together
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
                zoom=tf.constant(0.8), center=tf.constant([0.55, 0.6]))
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
    rows, cols = view_coords(10, 14, center=(float(np.float32(0.55)), float(np.float32(0.6))),
                             zoom=float(np.float32(0.8)), keep_aspect=False)
    ws = generator.mapping(z, truncation_psi=0.6)
    return to_uint8(to_numpy(generator.synthesis(ws, rows, cols)))


def test_export_from_this_backend_serves_the_same_images(tiny_network, tmp_path):
    generator, network = tiny_network
    outdir = tmp_path / "models" / "creps"
    proc = run("--network", network, "--outdir", str(outdir), "--max_samples", "3", "--max_pixels", "4096",
               "--truncation_psi", "0.6")
    assert proc.returncode == 0, proc.stderr[-3000:]
    if keras.config.backend() != "tensorflow":
        assert "re-running under KERAS_BACKEND=tensorflow" in proc.stderr
    path = str(outdir / "1")
    assert f"wrote {path}" in proc.stdout
    for line in ("signature_def['serving_default']", "signature_def['render_tile_z']", "inputs['seeds'] tensor_info",
                 "inputs['zoom'] tensor_info", "inputs['center'] tensor_info", "dtype: DT_UINT8", "max_samples=3",
                 "max_pixels=4096", "docker run -p 8501:8501"):
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


BAD_FLAGS = [
    ([], "--network is required"),
    (["--network", "/nonexistent/g.keras"], "--network: No such file, directory or preset: '/nonexistent/g.keras'"),
    (["--max_pixels", "0"], "bad --max_pixels 0"),
    (["--max_samples", "0"], "bad --max_samples 0"),
    (["--max_samples", "many"], "flag --max_samples=many"),
    (["--version", "-2"], "bad --version -2"),
    (["--truncation_psi", "nan"], "bad --truncation_psi nan: must be a finite number"),
    (["--truncation_psi", "-inf"], "bad --truncation_psi -inf: must be a finite number"),
    (["--truncation_psi", "1e38"], "bad --truncation_psi 1e+38: must be at most 100 in magnitude"),
]


@pytest.fixture(scope="module")
def refusals(tiny_network, tmp_path_factory):
    """Every refused command line of the tests below, run in one process under TensorFlow.

    TensorFlow is what the script re-runs itself under, and one process
    saves a start-up (~5 s) per case; the real process (`app.run`, the
    re-run, start-up filtering) is covered by the export test above.
    Returns `{name: (the path its test inspects, [CompletedProcess])}`.
    """
    network = tiny_network[1]
    flags_dir = tmp_path_factory.mktemp("bad_flags")
    outdir_dir = tmp_path_factory.mktemp("outdir")
    a_file = outdir_dir / "models"
    a_file.write_text("not a directory")
    broken_dir = tmp_path_factory.mktemp("broken")
    broken = broken_dir / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    versions = tmp_path_factory.mktemp("versions")
    os.makedirs(versions / "3")
    groups = {
        "bad_flags": (flags_dir, [
            [*([] if (not args or "--network" in args) else ["--network", network]), *args,
             "--outdir", str(flags_dir / str(i))]
            for i, (args, _) in enumerate(BAD_FLAGS)
        ]),
        "unusable_outdir": (a_file, [["--network", network, "--outdir", str(a_file)],
                                     ["--network", network, "--outdir", str(a_file / "creps")]]),
        "corrupt_network": (broken_dir, [["--network", str(broken), "--outdir", str(broken_dir / "out")]]),
        "existing_version": (versions, [["--network", network, "--outdir", str(versions), "--version", "3"]]),
    }
    cases = [case for _, group in groups.values() for case in group]
    procs = iter(run_together("export.py", cases, env={"KERAS_BACKEND": "tensorflow"}))
    return {name: (place, [next(procs) for _ in group]) for name, (place, group) in groups.items()}


@pytest.mark.recipe_behaviour
def test_bad_flags_give_one_clear_line(refusals):
    place, procs = refusals["bad_flags"]
    for proc, (_, message) in zip(procs, BAD_FLAGS):
        assert proc.returncode == 2, (proc.args, proc.stderr[-1000:])
        assert message in proc.stderr.strip().splitlines()[-1], (proc.args, proc.stderr[-1000:])
    assert not os.listdir(place)


@pytest.mark.recipe_behaviour
def test_unusable_outdir_exits_1_with_one_line(refusals):
    a_file, procs = refusals["unusable_outdir"]
    expected = ((a_file, "is an existing file, not a directory"),
                (a_file / "creps", "which is an existing file, not a directory"))
    for proc, (outdir, message) in zip(procs, expected):
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1, proc.stderr[-1000:]
        assert f"--outdir {str(outdir)!r}" in lines[-1] and message in lines[-1], lines
        assert len(lines) == 1 and "Traceback" not in proc.stderr, lines
    assert a_file.read_text() == "not a directory"


@pytest.mark.recipe_behaviour
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_outdir_exits_1(tiny_network, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    proc = run("--network", tiny_network[1], "--outdir", str(locked / "creps"))
    assert proc.returncode == 1 and "is not writable" in proc.stderr.strip().splitlines()[-1], proc.stderr[-1000:]


@pytest.mark.recipe_behaviour
def test_corrupt_network_exits_1(refusals):
    place, (proc,) = refusals["corrupt_network"]
    broken = place / "broken.keras"
    assert proc.returncode == 1, proc.stderr[-1000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"export.py: --network {str(broken)!r} could not be loaded")
    assert not (place / "out").exists()


@pytest.mark.recipe_behaviour
def test_existing_version_is_refused(refusals):
    place, (proc,) = refusals["existing_version"]
    assert proc.returncode == 2 and "version 3 already exists" in proc.stderr
    assert os.listdir(place) == ["3"]


NAMED = textwrap.dedent("""
    import runpy, sys
    sys.path[:0] = [SITE, os.path.dirname(SCRIPT)]
    from keras_creps.models import presets
    # As installed: named presets come from the data package only, not from a source checkout.
    presets.preset_paths.PRESETS_PACKAGE = "installed_presets"
    presets.preset_paths.SAVED_MODELS_DIR = None
    sys.argv = ["export.py", "--network", "tiny_preset", "--outdir", OUT]
    runpy.run_path(SCRIPT, run_name="__main__")
""")


@pytest.mark.recipe_behaviour
def test_preset_name_resolves_from_the_installed_presets(tiny_network, tmp_path):
    generator, _ = tiny_network
    package = tmp_path / "site" / "installed_presets"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    generator.save_to_preset(package / "tiny_preset")
    script = (f"import os\nSITE, SCRIPT, OUT = {str(tmp_path / 'site')!r}, {SCRIPT!r}, "
              f"{str(tmp_path / 'served')!r}\n" + NAMED)
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600,
                          cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"wrote {tmp_path / 'served' / '1'}" in proc.stdout

"""SavedModel signatures: inputs, equality with the Keras generator, tiles, request checks and limits.

The signature tests run under the TensorFlow backend (the export itself
needs it) and are skipped on the others; tests/recipes/test_export_recipe.py
exports a generator built on every backend through recipes/export.py.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_case import TestCase, to_numpy

from keras_creps import CREPSGenerator, export
from keras_creps.rendering.coords import view_coords
from keras_creps.utils.images import to_uint8

TF_ONLY = pytest.mark.skipif(
    keras.config.backend() != "tensorflow",
    reason="SavedModel export runs under the TensorFlow backend; tests/recipes/test_export_recipe.py exports a "
    "generator built on this backend through recipes/export.py",
)
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
MAX_PIXELS = 2048
MAX_SAMPLES = 4
C_DIM = 3
VIEW_INPUTS = {"truncation_psi", "height", "width", "zoom", "center"}
TILE_INPUTS = {"row_start", "row_stop", "col_start", "col_stop"}


def tiny_generator():
    keras.utils.set_random_seed(3)
    return CREPSGenerator(resolution=16, z_dim=8, w_dim=8, c_dim=C_DIM, channel_base=256, channel_max=32,
                          biline_channels=8, mapping_layers=1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny conditional generator exported once, with loops small enough to take several steps."""
    if keras.config.backend() != "tensorflow":
        pytest.skip("needs the TensorFlow backend")
    generator = tiny_generator()
    base = tmp_path_factory.mktemp("served") / "creps"
    path = export.export_saved_model(generator, base, max_samples=MAX_SAMPLES, max_pixels=MAX_PIXELS,
                                     truncation_psi=0.7, band_pixels=48, max_tile_width=8, line_chunk=8)
    return generator, path, tf.saved_model.load(path)


def request(seeds=(0, 5), class_index=(1, 2), psi=0.7, height=13, width=21, zoom=1.5, center=(0.6, 0.3),
            tile=None):
    args = {
        "seeds": tf.constant(seeds, tf.int64),
        "class_index": tf.constant(class_index, tf.int64),
        "truncation_psi": tf.constant(psi, tf.float32),
        "height": tf.constant(height, tf.int32),
        "width": tf.constant(width, tf.int32),
        "zoom": tf.constant(zoom, tf.float32),
        "center": tf.constant(center, tf.float32),
    }
    if tile is not None:
        args.update({k: tf.constant(v, tf.int32) for k, v in zip(("row_start", "row_stop", "col_start", "col_stop"),
                                                                    tile)})
    return args


def latent_request(z, labels, **kwargs):
    """`request(**kwargs)` for the latent signatures: `z` and `class_labels` instead of seeds."""
    args = request(**kwargs)
    del args["seeds"], args["class_index"]
    return dict(args, z=tf.constant(z, tf.float32), class_labels=tf.constant(labels, tf.float32))


def keras_render(generator, z, class_index, psi, height, width, zoom, center):
    """The reference: `generator.synthesis` on `view_coords`, then `to_uint8`."""
    f32 = lambda v: float(np.float32(v))  # the values the signature receives
    rows, cols = view_coords(height, width, center=(f32(center[0]), f32(center[1])), zoom=f32(zoom),
                             keep_aspect=False)
    c = np.eye(C_DIM, dtype="float32")[list(class_index)]
    ws = generator.mapping(z, c, truncation_psi=psi)
    return to_uint8(to_numpy(generator.synthesis(ws, rows, cols)))


def assert_within_one_level(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{actual.shape} != {expected.shape}"
    diff = np.abs(actual.astype(int) - expected.astype(int))
    assert diff.max() <= 1, f"max difference {diff.max()} uint8 levels"


def assert_invalid(signature, kwargs, message):
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        signature(**kwargs)
    assert message in info.value.message, info.value.message


@TF_ONLY
class TestExportedSignatures(TestCase):
    def test_layout_and_recorded_config(self, exported):
        _, path, loaded = exported
        assert os.path.basename(path) == "1"
        assert os.path.isfile(os.path.join(path, "saved_model.pb"))
        assert os.path.isdir(os.path.join(path, "variables"))
        assert [name for name in os.listdir(os.path.dirname(path))] == ["1"]  # no temporary left
        config = export.read_export_config(path)
        assert config["format"] == export.FORMAT == "keras_creps.export/2"
        assert config["max_pixels"] == MAX_PIXELS and config["max_samples"] == MAX_SAMPLES
        assert config["max_abs_truncation_psi"] == export.MAX_ABS_TRUNCATION_PSI == 100.0
        assert config["truncation_psi"] == 0.7
        assert config["z_dim"] == 8 and config["c_dim"] == C_DIM and config["align"] == "corners"
        assert "[row, col]" in config["inputs"]["center"] and "[0.5, 0.5]" in config["inputs"]["center"]
        assert json.loads(loaded.export_config.numpy().decode()) == config
        assert sorted(loaded.signatures) == sorted(export.SIGNATURES)

    def test_inputs_use_the_view_vocabulary(self, exported):
        _, path, loaded = exported
        expected = {
            "serving_default": VIEW_INPUTS | {"seeds", "class_index"},
            "render_z": VIEW_INPUTS | {"z", "class_labels"},
            "render_tile": VIEW_INPUTS | TILE_INPUTS | {"seeds", "class_index"},
            "render_tile_z": VIEW_INPUTS | TILE_INPUTS | {"z", "class_labels"},
        }
        for name, inputs in expected.items():
            assert set(loaded.signatures[name].structured_input_signature[1]) == inputs, name
        documented = set(export.read_export_config(path)["inputs"])
        assert documented == set().union(*expected.values())

    def test_two_sizes_from_one_export_match_keras(self, exported):
        generator, _, loaded = exported
        serve = loaded.signatures["serving_default"]
        for height, width, zoom, center in ((13, 21, 1.5, (0.6, 0.3)), (16, 16, 1.0, (0.5, 0.5))):
            out = serve(**request(height=height, width=width, zoom=zoom, center=center))
            z = out["z"].numpy()
            np.testing.assert_array_equal(z, export.seeds_to_z([0, 5], 8))
            expected = keras_render(generator, z, (1, 2), 0.7, height, width, zoom, center)
            assert_within_one_level(out["images"].numpy(), expected)

    def test_render_z_equals_seed_signature(self, exported):
        _, _, loaded = exported
        by_seed = loaded.signatures["serving_default"](**request())["images"].numpy()
        labels = np.eye(C_DIM, dtype="float32")[[1, 2]]
        by_z = loaded.signatures["render_z"](**latent_request(export.seeds_to_z([0, 5], 8), labels))
        assert set(by_z) == {"images"}
        np.testing.assert_array_equal(by_z["images"].numpy(), by_seed)

    def test_tiles_equal_crops_of_the_whole_view(self, exported):
        _, _, loaded = exported
        whole = loaded.signatures["serving_default"](**request())["images"].numpy()
        for tile in ((0, 13, 0, 21), (3, 11, 5, 20), (12, 13, 20, 21), (0, 1, 0, 21)):
            r0, r1, c0, c1 = tile
            got = loaded.signatures["render_tile"](**request(tile=tile))["images"].numpy()
            assert_within_one_level(got, whole[:, r0:r1, c0:c1])
        labels = np.eye(C_DIM, dtype="float32")[[1, 2]]
        got = loaded.signatures["render_tile_z"](
            **latent_request(export.seeds_to_z([0, 5], 8), labels, tile=(2, 9, 4, 17)))["images"].numpy()
        assert_within_one_level(got, whole[:, 2:9, 4:17])

    @pytest.mark.parametrize(
        "changes, message",
        [
            ({"height": 0}, "`height` must be at least 1. Received: height=] [0]"),
            ({"width": -4}, "`width` must be at least 1. Received: width=] [-4]"),
            ({"width": 1 << 25}, "`width` must be at most 16777216. Received: width=] [33554432]"),
            ({"height": 40, "width": 40}, "more than max_pixels=2048. Received: N=] [2] [, rows=] [40] [, cols=] [40]"),
            ({"seeds": range(5), "class_index": [0] * 5, "height": 1, "width": 1},
             "more samples than max_samples=4. Received: N=] [5]"),
            ({"zoom": 0.0}, "`zoom` must be positive and finite. Received: zoom=] [0]"),
            ({"zoom": np.nan}, "`zoom` must be positive and finite. Received: zoom=] [nan]"),
            ({"zoom": np.inf}, "`zoom` must be positive and finite. Received: zoom=] [inf]"),
            ({"zoom": 2e-38, "center": (3.3e38, 0.5)}, "the view coordinates overflow float32 (zoom too small or "
                                                       "center too far). Received: zoom=] [2e-38] [, center=] [3.3e+38 0.5]"),
            ({"center": (0.0, np.inf)}, "`center` must be finite. Received: center=] [0 inf]"),
            ({"center": (np.nan, 0.5)}, "`center` must be finite. Received: center=] [nan 0.5]"),
            ({"psi": np.nan}, "`truncation_psi` must be finite, at most 100 in magnitude (max_abs_truncation_psi). "
                              "Received: truncation_psi=] [nan]"),
            ({"psi": -np.inf}, "Received: truncation_psi=] [-inf]"),
            ({"psi": 1e38}, "Received: truncation_psi=] [1e+38]"),
            ({"psi": 100.5}, "Received: truncation_psi=] [100.5]"),
            ({"class_index": (1, 3)}, "`class_index` entries must be in [0, 3). Received: class_index=] [1 3]"),
            ({"class_index": (1,)}, "`class_index` must have one entry per sample. Received: class_index rows=] [1]"),
            ({"seeds": np.zeros([0], np.int64), "class_index": np.zeros([0], np.int64)},
             "at least one sample is needed. Received: N=] [0]"),
        ],
    )
    def test_bad_requests_name_the_value(self, exported, changes, message):
        _, _, loaded = exported
        assert_invalid(loaded.signatures["serving_default"], request(**changes), message)

    def test_limits_apply_to_every_signature(self, exported):
        _, _, loaded = exported
        five = {"seeds": range(5), "class_index": [0] * 5, "height": 1, "width": 1}
        message = "more samples than max_samples=4. Received: N=] [5]"
        assert_invalid(loaded.signatures["render_tile"], request(**five, tile=(0, 1, 0, 1)), message)
        labels = np.eye(C_DIM, dtype="float32")[[0] * 5]
        assert_invalid(loaded.signatures["render_z"], latent_request(np.zeros((5, 8)), labels, height=1, width=1),
                       message)
        # At the limits exactly: accepted.
        out = loaded.signatures["serving_default"](**request(seeds=range(4), class_index=[0] * 4, height=16,
                                                             width=32))
        assert out["images"].shape == (4, 16, 32, 3)

    @pytest.mark.parametrize(
        "z, labels, message",
        [
            ([[np.nan] + [0.0] * 7, [0.0] * 8], None, "`z` must be finite. Received: NaN or Inf in z at "
                                                      "[sample, index]=] [[0 0]]"),
            ([[0.0] * 8, [0.0] * 5 + [np.inf, 0.0, -np.inf]], None, "z at [sample, index]=] [[1 5][1 7]]"),
            (None, [[0.0, np.nan, 1.0], [1.0, 0.0, 0.0]], "`class_labels` must be finite. Received: NaN or Inf in "
                                                          "class_labels at [sample, index]=] [[0 1]]"),
            (None, [[1.0, 0.0, 0.0]], "`class_labels` must have one entry per sample. Received: class_labels rows=] "
                                      "[1] [, samples=] [2]"),
        ],
    )
    def test_non_finite_latents_and_labels(self, exported, z, labels, message):
        _, _, loaded = exported
        z = export.seeds_to_z([0, 5], 8) if z is None else np.asarray(z, np.float32)
        labels = np.eye(C_DIM, dtype="float32")[[1, 2]] if labels is None else np.asarray(labels, np.float32)
        for name, tile in (("render_z", None), ("render_tile_z", (0, 2, 0, 2))):
            assert_invalid(loaded.signatures[name], latent_request(z, labels, tile=tile), message)

    def test_largest_truncation_psi_still_renders(self, exported):
        _, _, loaded = exported
        for psi in (100.0, -100.0):
            images = loaded.signatures["serving_default"](**request(psi=psi))["images"].numpy()
            assert images.shape == (2, 13, 21, 3) and images.dtype == np.uint8

    @pytest.mark.parametrize(
        "tile, message",
        [
            ((0, 14, 0, 21), "`row_stop` must be at most `height`. Received: row_stop=] [14] [, height=] [13]"),
            ((5, 5, 0, 21), "`row_stop` must be greater than `row_start`"),
            ((0, 13, -1, 3), "`col_start` must be >= 0. Received: col_start=] [-1]"),
            ((0, 13, 0, 22), "`col_stop` must be at most `width`. Received: col_stop=] [22] [, width=] [21]"),
        ],
    )
    def test_bad_tiles_name_the_value(self, exported, tile, message):
        _, _, loaded = exported
        assert_invalid(loaded.signatures["render_tile"], request(tile=tile), message)

    def test_tiles_of_views_larger_than_max_pixels(self, exported):
        _, _, loaded = exported
        # The budget applies to what one request renders: a tile of a 1000x1000 view is fine.
        out = loaded.signatures["render_tile"](**request(height=1000, width=1000, tile=(500, 510, 0, 30)))
        assert out["images"].shape == (2, 10, 30, 3)

    def test_saved_model_cli_show_and_run(self, exported, tmp_path):
        _, path, loaded = exported
        exprs = ("seeds=[3, 4];class_index=[0, 2];truncation_psi=0.5;height=9;width=11;zoom=2.0;"
                 "center=[0.6, 0.7]")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        commands = {
            "show": [SAVED_MODEL_CLI, "show", "--dir", path, "--all"],
            "run": [SAVED_MODEL_CLI, "run", "--dir", path, "--tag_set", "serve", "--signature_def",
                    "serving_default", "--input_exprs", exprs, "--outdir", str(tmp_path / "cli")],
        }
        procs = {name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                        cwd=str(tmp_path))
                 for name, cmd in commands.items()}
        results = {name: (proc.communicate(timeout=300), proc.returncode) for name, proc in procs.items()}
        for name, ((_, err), code) in results.items():
            assert code == 0, f"{name}: {err[-3000:]}"
        shown = results["show"][0][0]
        for name in export.SIGNATURES:
            assert f"signature_def['{name}']" in shown
        for line in ("inputs['seeds'] tensor_info", "inputs['class_index'] tensor_info", "inputs['zoom'] tensor_info",
                     "inputs['center'] tensor_info", "outputs['images'] tensor_info", "dtype: DT_UINT8",
                     "shape: (-1, -1, -1, 3)"):
            assert line in shown, shown[:3000]
        expected = loaded.signatures["serving_default"](
            **request(seeds=(3, 4), class_index=(0, 2), psi=0.5, height=9, width=11, zoom=2.0,
                      center=(0.6, 0.7)))["images"].numpy()
        np.testing.assert_array_equal(np.load(tmp_path / "cli" / "images.npy"), expected)


@TF_ONLY
def test_non_finite_pixels_fail_instead_of_black_images(tmp_path):
    # Finite inputs, but weights that overflow: the render must fail, not return black images.
    generator = tiny_generator()
    bias = next(v for v in generator.synthesis.variables if v.path.endswith("block1/tores/bias"))
    bias.assign(np.float32([np.nan, 0.0, np.inf]))
    loaded = tf.saved_model.load(export.export_saved_model(generator, tmp_path, max_pixels=MAX_PIXELS, band_pixels=48,
                                                           max_tile_width=8))
    assert_invalid(loaded.signatures["serving_default"], request(height=3, width=4),
                   "the render produced NaN or Inf pixels (a numeric overflow in the network for these inputs); no "
                   "image is returned rather than a black one. Received: pixels with NaN or Inf at [row, col, channel]=] "
                   "[[0 0 0][0 1 0][0 2 0][0 3 0]]")


HOSTILE = textwrap.dedent("""
    import resource, sys, time
    import numpy as np
    import tensorflow as tf
    served = tf.saved_model.load(sys.argv[1])
    serve = served.signatures["serving_default"]
    def call(seeds, height, width, psi=0.7):
        serve(seeds=tf.constant(seeds, tf.int64), class_index=tf.zeros([len(seeds)], tf.int64),
              truncation_psi=tf.constant(psi), height=tf.constant(height), width=tf.constant(width),
              zoom=tf.constant(1.0), center=tf.constant([0.5, 0.5]))
    call([0], 4, 4)  # warm up: graphs loaded, kernels initialised
    # From here on, at most 1 GiB more address space: a request that allocated
    # for its samples or pixels would fail with a MemoryError, not swap.
    vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize:")][0].split()[1]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (vm + (1 << 30), vm + (1 << 30)))
    for seeds, height, width, psi in ((list(range(1 << 20)), 1, 1, 0.7), ([0, 1], 1 << 24, 1 << 24, 0.7),
                                      ([0], 16, 16, float("nan"))):
        start = time.time()
        try:
            call(seeds, height, width, psi)
        except tf.errors.InvalidArgumentError as e:
            reason = [line for line in e.message.splitlines() if "assertion failed" in line][0]
            print("refused in %.1f s: %s" % (time.time() - start, reason[:300]))
        else:
            sys.exit("rendered a hostile request")
""")


@TF_ONLY
def test_hostile_requests_fail_fast_under_a_memory_limit(exported):
    _, path, _ = exported
    proc = subprocess.run([sys.executable, "-c", HOSTILE, path], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 3, proc.stdout
    assert "max_samples=4" in lines[0] and "max_pixels=2048" in lines[1] and "truncation_psi" in lines[2], lines
    assert all(float(line.split()[2]) < 10 for line in lines), lines

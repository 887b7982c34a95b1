"""SavedModel export: signatures, equality with the Keras generator, tiles, request checks.

The signature tests run under the TensorFlow backend (the export itself
needs it); tests/recipes/test_export_recipe.py exports a generator built on every
backend through recipes/export.py.
"""

import json
import os
import shutil
import subprocess
import sys

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
C_DIM = 3


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
    path = export.export_saved_model(generator, base, max_pixels=MAX_PIXELS, truncation_psi=0.7, band_pixels=48,
                                     max_tile_width=8, line_chunk=8)
    return generator, path, tf.saved_model.load(path)


def request(seeds=(0, 5), class_index=(1, 2), psi=0.7, height=13, width=21, scale=1.5, translate=(0.1, -0.2),
            tile=None):
    args = {
        "seeds": tf.constant(seeds, tf.int64),
        "class_index": tf.constant(class_index, tf.int64),
        "truncation_psi": tf.constant(psi, tf.float32),
        "height": tf.constant(height, tf.int32),
        "width": tf.constant(width, tf.int32),
        "scale": tf.constant(scale, tf.float32),
        "translate": tf.constant(translate, tf.float32),
    }
    if tile is not None:
        args.update({k: tf.constant(v, tf.int32) for k, v in zip(("row_start", "row_stop", "col_start", "col_stop"),
                                                                    tile)})
    return args


def keras_render(generator, z, class_index, psi, height, width, scale, translate):
    """The reference: `generator.synthesis` on `view_coords`, then `to_uint8`."""
    f32 = lambda v: float(np.float32(v))  # the values the signature receives
    rows, cols = view_coords(height, width, center=(0.5 + f32(translate[0]), 0.5 + f32(translate[1])),
                             zoom=f32(scale), keep_aspect=False)
    c = np.eye(C_DIM, dtype="float32")[list(class_index)]
    ws = generator.mapping(z, c, truncation_psi=psi)
    return to_uint8(to_numpy(generator.synthesis(ws, rows, cols)))


def assert_within_one_level(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{actual.shape} != {expected.shape}"
    diff = np.abs(actual.astype(int) - expected.astype(int))
    assert diff.max() <= 1, f"max difference {diff.max()} uint8 levels"


@TF_ONLY
class TestExportedSignatures(TestCase):
    def test_layout_and_recorded_config(self, exported):
        _, path, loaded = exported
        assert os.path.basename(path) == "1"
        assert os.path.isfile(os.path.join(path, "saved_model.pb"))
        assert os.path.isdir(os.path.join(path, "variables"))
        assert [name for name in os.listdir(os.path.dirname(path))] == ["1"]  # no temporary left
        config = export.read_export_config(path)
        assert config["max_pixels"] == MAX_PIXELS and config["truncation_psi"] == 0.7
        assert config["z_dim"] == 8 and config["c_dim"] == C_DIM and config["align"] == "corners"
        assert json.loads(loaded.export_config.numpy().decode()) == config
        assert sorted(loaded.signatures) == sorted(export.SIGNATURES)

    def test_two_sizes_from_one_export_match_keras(self, exported):
        generator, _, loaded = exported
        serve = loaded.signatures["serving_default"]
        for height, width, scale, translate in ((13, 21, 1.5, (0.1, -0.2)), (16, 16, 1.0, (0.0, 0.0))):
            out = serve(**request(height=height, width=width, scale=scale, translate=translate))
            z = out["z"].numpy()
            np.testing.assert_array_equal(z, export.seeds_to_z([0, 5], 8))
            expected = keras_render(generator, z, (1, 2), 0.7, height, width, scale, translate)
            assert_within_one_level(out["images"].numpy(), expected)

    def test_render_z_equals_seed_signature(self, exported):
        _, _, loaded = exported
        by_seed = loaded.signatures["serving_default"](**request())["images"].numpy()
        args = request()
        del args["seeds"], args["class_index"]
        z = export.seeds_to_z([0, 5], 8)
        labels = np.eye(C_DIM, dtype="float32")[[1, 2]]
        by_z = loaded.signatures["render_z"](z=tf.constant(z), class_labels=tf.constant(labels), **args)
        assert set(by_z) == {"images"}
        np.testing.assert_array_equal(by_z["images"].numpy(), by_seed)

    def test_tiles_equal_crops_of_the_whole_view(self, exported):
        _, _, loaded = exported
        whole = loaded.signatures["serving_default"](**request())["images"].numpy()
        for tile in ((0, 13, 0, 21), (3, 11, 5, 20), (12, 13, 20, 21), (0, 1, 0, 21)):
            r0, r1, c0, c1 = tile
            got = loaded.signatures["render_tile"](**request(tile=tile))["images"].numpy()
            assert_within_one_level(got, whole[:, r0:r1, c0:c1])
        args = request(tile=(2, 9, 4, 17))
        del args["seeds"], args["class_index"]
        got = loaded.signatures["render_tile_z"](
            z=tf.constant(export.seeds_to_z([0, 5], 8)), class_labels=tf.constant(np.eye(C_DIM, dtype="float32")[[1, 2]]),
            **args)["images"].numpy()
        assert_within_one_level(got, whole[:, 2:9, 4:17])

    @pytest.mark.parametrize(
        "changes, message",
        [
            ({"height": 0}, "`height` must be at least 1. Received: height=] [0]"),
            ({"width": -4}, "`width` must be at least 1. Received: width=] [-4]"),
            ({"width": 1 << 25}, "`width` must be at most 16777216. Received: width=] [33554432]"),
            ({"height": 40, "width": 40}, "more than max_pixels=2048. Received: N=] [2] [, rows=] [40] [, cols=] [40]"),
            ({"scale": 0.0}, "`scale` must be positive and finite. Received: scale=] [0]"),
            ({"translate": (0.0, np.inf)}, "`translate` must be finite"),
            ({"class_index": (1, 3)}, "`class_index` entries must be in [0, 3). Received: class_index=] [1 3]"),
            ({"class_index": (1,)}, "`class_index` must have one entry per sample. Received: class_index rows=] [1]"),
            ({"seeds": np.zeros([0], np.int64), "class_index": np.zeros([0], np.int64)},
             "at least one sample is needed. Received: N=] [0]"),
        ],
    )
    def test_bad_requests_name_the_value(self, exported, changes, message):
        _, _, loaded = exported
        kwargs = {"seeds": (0, 5), "class_index": (1, 2), "height": 13, "width": 21, "scale": 1.5,
                  "translate": (0.1, -0.2)}
        kwargs.update(changes)
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            loaded.signatures["serving_default"](**request(**kwargs))
        assert message in info.value.message, info.value.message

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
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            loaded.signatures["render_tile"](**request(tile=tile))
        assert message in info.value.message, info.value.message

    def test_tiles_of_views_larger_than_max_pixels(self, exported):
        _, _, loaded = exported
        # The budget applies to what one request renders: a tile of a 1000x1000 view is fine.
        out = loaded.signatures["render_tile"](**request(height=1000, width=1000, tile=(500, 510, 0, 30)))
        assert out["images"].shape == (2, 10, 30, 3)

    def test_saved_model_cli_show_and_run(self, exported, tmp_path):
        _, path, loaded = exported
        exprs = ("seeds=[3, 4];class_index=[0, 2];truncation_psi=0.5;height=9;width=11;scale=2.0;"
                 "translate=[0.1, 0.2]")
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
        for line in ("inputs['seeds'] tensor_info", "inputs['class_index'] tensor_info",
                     "outputs['images'] tensor_info", "dtype: DT_UINT8", "shape: (-1, -1, -1, 3)"):
            assert line in shown, shown[:3000]
        expected = loaded.signatures["serving_default"](
            **request(seeds=(3, 4), class_index=(0, 2), psi=0.5, height=9, width=11, scale=2.0,
                      translate=(0.1, 0.2)))["images"].numpy()
        np.testing.assert_array_equal(np.load(tmp_path / "cli" / "images.npy"), expected)


class TestExportHelpers(TestCase):
    @pytest.mark.parametrize("align", ["corners", "centers"])
    @pytest.mark.parametrize("keep_aspect", [False, True])
    def test_graph_coordinates_equal_view_coords_bitwise(self, align, keep_aspect):
        for height, width, scale, translate in ((1, 1, 1.0, (0, 0)), (7, 300, 3.7, (0.25, -1.5)),
                                                (64, 64, 1.0, (0, 0)), (513, 100, 0.3, (1e-3, 2.0))):
            t = np.float32(translate)
            rows, cols = view_coords(height, width, center=(0.5 + float(t[0]), 0.5 + float(t[1])),
                                     zoom=float(np.float32(scale)), align=align, keep_aspect=keep_aspect)
            got_rows, got_cols = export.view_window_coords(
                tf.constant(height), tf.constant(width), tf.constant(scale, tf.float32), tf.constant(t),
                align=align, keep_aspect=keep_aspect)
            np.testing.assert_array_equal(got_rows.numpy(), rows)
            np.testing.assert_array_equal(got_cols.numpy(), cols)
            window = (height // 3, height, width // 2, width // 2 + 1)
            tile_rows, tile_cols = export.view_window_coords(
                tf.constant(height), tf.constant(width), tf.constant(scale, tf.float32), tf.constant(t),
                tuple(tf.constant(v) for v in window), align=align, keep_aspect=keep_aspect)
            np.testing.assert_array_equal(tile_rows.numpy(), rows[window[0] : window[1]])
            np.testing.assert_array_equal(tile_cols.numpy(), cols[window[2] : window[3]])

    def test_seeds_to_z(self):
        z = export.seeds_to_z([0, 1, 2**40], 16)
        assert z.shape == (3, 16) and z.dtype == np.float32
        np.testing.assert_array_equal(z[1], export.seeds_to_z(1, 16)[0])
        assert not np.allclose(z[0], z[1])
        assert abs(float(export.seeds_to_z(range(64), 64).std()) - 1.0) < 0.05
        with pytest.raises(ValueError, match="Received: z_dim=0"):
            export.seeds_to_z([0], 0)
        with pytest.raises(ValueError, match="must be integers"):
            export.seeds_to_z([0.5], 4)

    def test_next_version(self, tmp_path):
        assert export.next_version(tmp_path / "missing") == 1
        for name in ("1", "7", "003", ".tmp-9-x", "notes"):
            os.makedirs(tmp_path / name)
        assert export.next_version(tmp_path) == 8

    def test_argument_errors(self, tmp_path):
        if keras.config.backend() != "tensorflow":
            with pytest.raises(RuntimeError, match="KERAS_BACKEND=tensorflow"):
                export.export_saved_model(tiny_generator(), tmp_path)
            assert not os.listdir(tmp_path)
            return
        generator = tiny_generator()
        os.makedirs(tmp_path / "2")
        with pytest.raises(ValueError, match="Version 2 already exists"):
            export.export_saved_model(generator, tmp_path, version=2)
        for kwargs, message in (({"max_pixels": 0}, "Received: max_pixels=0"),
                                ({"align": "middle"}, "Received: align='middle'"),
                                ({"version": -1}, "Received: version=-1"),
                                ({"truncation_psi": float("nan")}, "Received: truncation_psi=nan")):
            with pytest.raises(ValueError, match=message):
                export.export_saved_model(generator, tmp_path, **kwargs)
        with pytest.raises(ValueError, match="keras_creps.CREPSGenerator"):
            export.export_saved_model(keras.Sequential(), tmp_path)
        shutil.rmtree(tmp_path / "2")
        assert not os.listdir(tmp_path)

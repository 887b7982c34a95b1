"""CREPSGenerator against the official implementation's reference tensors."""

import keras
import numpy as np
import pytest
from keras import ops
from test_case import TestCase
from test_case import load_fixture
from test_case import nchw_to_nhwc
from test_case import to_numpy

from keras_creps import CREPSGenerator
from keras_creps.convert import generator_from_official
from keras_creps.models.creps_generator import native_coords

FIXTURES = ["creps_tiny", "creps_tiny_cond", "creps_small"]
_CACHE = {}


def official(name):
    """(arrays, meta, generator with the fixture's official weights), cached per module."""
    if name not in _CACHE:
        arrays, meta = load_fixture(name)
        state = {k[2:]: v for k, v in arrays.items() if k.startswith("G/")}
        _CACHE[name] = (arrays, meta, generator_from_official(state, **meta["G_kwargs"]))
    return _CACHE[name]


def tiny_generator(**overrides):
    kwargs = dict(
        resolution=16, z_dim=32, w_dim=32, channel_base=512, channel_max=64,
        biline_channels=8, mapping_layers=2,
    )
    kwargs.update(overrides)
    return CREPSGenerator(**kwargs)


@pytest.mark.parametrize("name", FIXTURES)
class TestOfficialParity(TestCase):
    def test_mapping(self, name):
        arrays, _, g = official(name)
        z, c = arrays["in/z"], arrays.get("in/c")
        self.assert_close_to_reference(g.mapping(z, c), arrays["out/ws"], label=f"{name} out/ws")
        self.assert_close_to_reference(
            g.mapping(z, c, truncation_psi=0.7), arrays["out/ws_psi0.7"], label=f"{name} out/ws_psi0.7"
        )

    @pytest.mark.parametrize("scale", ["1", "1.5", "2"])
    def test_images_at_scale(self, name, scale):
        arrays, meta, g = official(name)
        n = int(meta["G_kwargs"]["img_resolution"] * float(scale))
        coords = arrays[f"in/coords_scale{scale}"]  # official layout [1, n, 2, 1]
        np.testing.assert_allclose(coords[0, :, 0, 0], np.linspace(0, 1, n), atol=1e-7)
        images = g.synthesis(arrays["out/ws"], coords[0, :, 0, 0], coords[0, :, 1, 0])
        self.assert_close_to_reference(
            images, nchw_to_nhwc(arrays[f"out/img_scale{scale}"]), label=f"{name} out/img_scale{scale}"
        )

    def test_truncated_images(self, name):
        arrays, meta, g = official(name)
        grid = native_coords(meta["G_kwargs"]["img_resolution"])
        images = g.synthesis(arrays["out/ws_psi0.7"], grid, grid)
        self.assert_close_to_reference(
            images, nchw_to_nhwc(arrays["out/img_psi0.7_scale1"]), label=f"{name} out/img_psi0.7_scale1"
        )

    def test_w_plus_layer_assignment(self, name):
        arrays, meta, g = official(name)
        grid = native_coords(meta["G_kwargs"]["img_resolution"])
        images = g.synthesis(arrays["in/ws_mixed"], grid, grid)
        self.assert_close_to_reference(
            images, nchw_to_nhwc(arrays["out/img_ws_mixed_scale1"]), label=f"{name} out/img_ws_mixed_scale1"
        )

    def test_generator_call(self, name):
        arrays, _, g = official(name)
        images = g(arrays["in/z"], arrays.get("in/c"))
        self.assert_close_to_reference(
            images, nchw_to_nhwc(arrays["out/img_G_call_scale1"]), label=f"{name} out/img_G_call_scale1"
        )

    def test_intermediates(self, name):
        arrays, meta, g = official(name)
        s = g.synthesis
        grid = native_coords(meta["G_kwargs"]["img_resolution"])
        ws = ops.convert_to_tensor(arrays["out/ws"])
        rows = np.broadcast_to(grid, (3, grid.size))
        row_x, col_x = s.biline_input(ws[:, 0], rows, rows)
        # official [N, C, n, 2*rank] = [rows slots | column slots]
        ours = np.concatenate([to_numpy(row_x), to_numpy(col_x)], axis=2).transpose(0, 3, 1, 2)
        self.assert_close_to_reference(ours, arrays["int/b4.input"], label=f"{name} int/b4.input")
        row_lines, col_lines = s.line_network(ws, rows, rows)
        bilines = list(zip(row_lines, col_lines))
        for res, (r, c) in zip(s.resolutions[1:], bilines):
            ours = np.concatenate([to_numpy(r), to_numpy(c)], axis=2).transpose(0, 3, 1, 2)
            self.assert_close_to_reference(ours, arrays[f"int/b{res}.biline"], label=f"{name} int/b{res}.biline")
        features = [s.fusion(r, c) for r, c in bilines]
        feature = features[0]
        for decoder, fused in zip(s.decoders, features[1:]):
            feature = decoder(feature) + fused
        feature = s.decoder_last(feature)
        self.assert_close_to_reference(
            feature, nchw_to_nhwc(arrays["int/feature_decoded"]), label=f"{name} int/feature_decoded"
        )
        img = s.decoder_img(feature)
        self.assert_close_to_reference(img, nchw_to_nhwc(arrays["int/img_decoded"]), label=f"{name} int/img_decoded")
        w3 = ops.repeat(ws[:, -1:], 3, axis=1)
        _, res = s.block0(feature, w3)
        self.assert_close_to_reference(img + res, nchw_to_nhwc(arrays["int/block0.img"]), label=f"{name} int/block0.img")


class TestClampProbe(TestCase):
    def test_line_network_clamp(self):
        arrays, meta = load_fixture("creps_tiny")
        state = {k[2:]: v for k, v in arrays.items() if k.startswith("G/")}
        state["synthesis.b8.fc1.bias"] = arrays["clamp_probe/G/synthesis.b8.fc1.bias"]
        g = generator_from_official(state, **meta["G_kwargs"])
        grid = native_coords(16)
        images = g.synthesis(arrays["out/ws"], grid, grid)
        self.assert_close_to_reference(
            images, nchw_to_nhwc(arrays["clamp_probe/img_scale1"]), label="creps_tiny clamp_probe/img_scale1"
        )


class TestGeometry(TestCase):
    """Every pixel is a function of (w, row, col) only."""

    def test_points_equal_grid(self):
        arrays, _, g = official("creps_small")
        ws = arrays["out/ws"]
        rows = np.linspace(0, 1, 20, dtype="float32")
        cols = np.linspace(0.1, 0.7, 12, dtype="float32")
        grid = to_numpy(g.synthesis(ws, rows, cols))  # [3, 20, 12, 3]
        rr, cc = np.meshgrid(rows, cols, indexing="ij")
        points = to_numpy(g.synthesis_points(ws, rr.reshape(-1), cc.reshape(-1)))  # [3, 240, 3]
        err = np.max(np.abs(points.reshape(grid.shape) - grid)) / np.max(np.abs(grid))
        assert err <= 1e-5, err

    def test_per_sample_points(self):
        arrays, _, g = official("creps_tiny")
        ws = arrays["out/ws"]
        rng = np.random.default_rng(0)
        rows = rng.uniform(0, 1, (3, 7)).astype("float32")
        cols = rng.uniform(0, 1, (3, 7)).astype("float32")
        points = to_numpy(g.synthesis_points(ws, rows, cols))
        for n in range(3):
            for p in (0, 6):
                pixel = to_numpy(g.synthesis(ws[n : n + 1], rows[n, p : p + 1], cols[n, p : p + 1]))
                np.testing.assert_allclose(points[n, p], pixel[0, 0, 0], rtol=1e-5, atol=1e-5 * np.abs(points).max())

    def test_crop_equals_full_render(self):
        arrays, _, g = official("creps_small")
        ws = arrays["out/ws"]
        coords = np.linspace(0, 1, 128, dtype="float32")
        full = to_numpy(g.synthesis(ws, coords, coords))
        scale = np.abs(full).max()
        for r0, r1, c0, c1 in [(5, 16, 5, 16), (3, 14, 9, 20), (100, 128, 0, 7), (0, 128, 64, 65)]:
            crop = to_numpy(g.synthesis(ws, coords[r0:r1], coords[c0:c1]))
            # GEMM blocking may differ with the number of lines: allow float32 rounding.
            assert np.max(np.abs(crop - full[:, r0:r1, c0:c1])) <= 1e-5 * scale

    def test_non_square_and_per_sample_coordinates(self):
        arrays, _, g = official("creps_tiny")
        ws = arrays["out/ws"]
        rows = np.linspace(0, 1, 10, dtype="float32")
        cols = np.linspace(0, 1, 23, dtype="float32")
        images = to_numpy(g.synthesis(ws, rows, cols))
        assert images.shape == (3, 10, 23, 3)
        # Per-sample coordinates: sample n uses its own rows.
        shifted = np.stack([rows, rows * 0.5, rows + 0.25])
        per_sample = to_numpy(g.synthesis(ws, shifted, cols))
        for n in range(3):
            single = to_numpy(g.synthesis(ws[n : n + 1], shifted[n], cols))
            np.testing.assert_allclose(per_sample[n], single[0], rtol=1e-5, atol=1e-5 * np.abs(single).max())

    def test_rejects_bad_inputs(self):
        g = tiny_generator()
        ws = np.zeros((2, g.num_ws + 1, 32), "float32")
        with pytest.raises(ValueError, match="num_ws|shape"):
            g.synthesis(ws, native_coords(16), native_coords(16))
        with pytest.raises(ValueError, match="same number of points"):
            g.synthesis_points(np.zeros((1, g.num_ws, 32), "float32"), np.zeros(4), np.zeros(5))


class TestGeneratorModel(TestCase):
    def test_truncation_cutoff(self):
        arrays, _, g = official("creps_tiny")
        z = arrays["in/z"]
        ws = to_numpy(g.mapping(z))
        cut = to_numpy(g.mapping(z, truncation_psi=0.5, truncation_cutoff=3))
        w_avg = to_numpy(g.mapping.w_avg)
        np.testing.assert_allclose(cut[:, :3], w_avg + 0.5 * (ws[:, :3] - w_avg), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(cut[:, 3:], ws[:, 3:])

    def test_conditional_requires_labels(self):
        _, _, g = official("creps_tiny_cond")
        with pytest.raises(ValueError, match="c_dim=4"):
            g.mapping(np.zeros((2, 32), "float32"))

    def test_num_ws_and_config_round_trip(self):
        g = tiny_generator(resolution=64)
        assert g.num_ws == 11
        clone = CREPSGenerator.from_config(g.get_config())
        assert clone.get_config() == g.get_config()
        assert len(clone.weights) == len(g.weights)

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            (dict(resolution=12), "resolution=12"),
            (dict(resolution=4), "resolution=4"),
            (dict(z_dim=0), "z_dim=0"),
            (dict(rank=0), "rank=0"),
            (dict(channel_base=2), "channel_base=2"),
            (dict(fc_clamp=-1.0), "clamp=-1.0"),
        ],
    )
    def test_invalid_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            tiny_generator(**kwargs)

    def test_saving(self, tmp_path):
        arrays, _, g = official("creps_tiny_cond")
        z, c = arrays["in/z"], arrays["in/c"]
        rows = np.linspace(0, 1, 9, dtype="float32")
        cols = np.linspace(0.2, 0.9, 13, dtype="float32")

        def render(model):
            ws = model.mapping(z, c, truncation_psi=0.7)
            return model(z, c), model.synthesis(ws, rows, cols)

        restored = self.run_model_saving_test(g, render, tmp_path)
        np.testing.assert_array_equal(to_numpy(restored.mapping.w_avg), to_numpy(g.mapping.w_avg))


class TestGenerateFunction(TestCase):
    """The compiled, banded inference path equals the plain Keras call."""

    @pytest.mark.parametrize("band_pixels", [100, 1 << 20])
    def test_matches_synthesis(self, band_pixels):
        arrays, _, g = official("creps_tiny_cond")
        z, c = arrays["in/z"], arrays["in/c"]
        rows = np.linspace(0, 1, 21, dtype="float32")  # 100 // (3 * 13) = 2-row bands, last one padded
        cols = np.linspace(0.1, 0.9, 13, dtype="float32")
        generate = g.make_generate_function(truncation_psi=0.7, band_pixels=band_pixels)
        images = generate(z, c, rows, cols)
        assert isinstance(images, np.ndarray) and images.shape == (3, 21, 13, 3)
        expected = to_numpy(g.synthesis(g.mapping(z, c, truncation_psi=0.7), rows, cols))
        assert np.max(np.abs(images - expected)) <= 1e-5 * np.max(np.abs(expected))
        native = generate(z, c)
        self.assert_close_to_reference(
            g.make_generate_function()(z, c), nchw_to_nhwc(arrays["out/img_G_call_scale1"]),
            label="creps_tiny_cond make_generate_function")
        assert native.shape == (3, 16, 16, 3)

    def test_line_chunks_and_column_tiles(self):
        arrays, _, g = official("creps_tiny")
        ws_ref = arrays["out/ws"]
        rows = np.linspace(0, 1, 19, dtype="float32")
        cols = np.linspace(-0.2, 1.3, 23, dtype="float32")
        # 19 + 23 > 16 coordinates: each axis runs alone in padded chunks of 16;
        # tiles of 5 columns x 2 rows, edge tiles padded.
        generate = g.make_generate_function(band_pixels=30, max_tile_width=5, line_chunk=16)
        images = generate(arrays["in/z"], rows=rows, cols=cols)
        expected = to_numpy(g.synthesis(ws_ref, rows, cols))
        assert np.max(np.abs(images - expected)) <= 1e-5 * np.max(np.abs(expected))

        tiles = []
        assert generate(arrays["in/z"], rows=rows, cols=cols, sink=lambda r, c, t: tiles.append((r, c, t.shape))) is None
        assert (0, 0, (3, 2, 5, 3)) in tiles and (18, 20, (3, 1, 3, 3)) in tiles
        assert sum(t[1] * t[2] for _, _, t in tiles) == 19 * 23

    def test_invalid_tiling_arguments(self):
        _, _, g = official("creps_tiny")
        with pytest.raises(ValueError, match="max_tile_width=0"):
            g.make_generate_function(max_tile_width=0)
        with pytest.raises(ValueError, match="precision='float16'"):
            g.make_generate_function(precision="float16")
        with pytest.raises(ValueError, match="jit_compile='xla'"):
            g.make_generate_function(jit_compile="xla")
        with pytest.raises(ValueError, match="band_pixels='large'"):
            g.make_generate_function(band_pixels="large")

    # About a minute of compiling even for a tiny generator; recipes/benchmark.py --jit_compile (its
    # default) runs the same path on PyTorch.
    @pytest.mark.slow
    @pytest.mark.skipif(keras.config.backend() != "torch", reason="torch.compile is PyTorch's")
    def test_torch_compile_matches_eager(self):
        arrays, meta = load_fixture("creps_tiny")
        state = {k[2:]: v for k, v in arrays.items() if k.startswith("G/")}
        g = generator_from_official(state, **meta["G_kwargs"])  # not the module's cached, called one
        rows = np.linspace(0, 1, 12, dtype="float32")
        # Compiled first, on a generator never called: its layers' first-call
        # state must not make the second call recompile.
        generate = g.make_generate_function(jit_compile=True)
        compiled = generate(arrays["in/z"], rows=rows)
        import torch

        with torch._dynamo.config.patch(error_on_recompile=True):
            again = generate(arrays["in/z"], rows=rows)
        np.testing.assert_array_equal(again, compiled)
        eager = g.make_generate_function()(arrays["in/z"], rows=rows)
        self.assert_close_to_reference(compiled, eager, tol=1e-5, label="torch.compile vs eager")

    def test_bfloat16_stays_within_40_db_of_float32(self):
        arrays, _, g = official("creps_small")
        z = arrays["in/z"]
        exact = g.make_generate_function()(z)
        rounded = g.make_generate_function(precision="bfloat16")(z)
        assert rounded.dtype == np.float32 and rounded.shape == exact.shape

        def to_uint8(images):
            return np.clip(np.rint(images * 127.5 + 128), 0, 255)

        mse = np.mean((to_uint8(rounded) - to_uint8(exact)) ** 2)
        psnr = 10 * np.log10(255.0**2 / max(mse, 1e-12))
        relative = np.max(np.abs(rounded - exact)) / np.max(np.abs(exact))
        # The products really were rounded (float32 runs agree to ~1e-6), and only they were.
        assert relative > 1e-4, relative
        assert psnr >= 40.0, psnr

    def test_tiles_match_the_untiled_render_to_1e6(self):
        arrays, _, g = official("creps_small")
        rows = np.linspace(0, 1, 96, dtype="float32")
        cols = np.linspace(0, 1, 80, dtype="float32")
        untiled = g.make_generate_function(band_pixels=1 << 30, max_tile_width=1 << 20)(arrays["in/z"], rows=rows, cols=cols)
        tiled = g.make_generate_function(band_pixels=500, max_tile_width=16)(arrays["in/z"], rows=rows, cols=cols)
        # Bitwise on TensorFlow, JAX and PyTorch here; the bound allows other BLAS blockings.
        err = np.max(np.abs(tiled - untiled)) / np.max(np.abs(untiled))
        self.assert_close_to_reference(tiled, untiled, tol=1e-6, label=f"tiles vs untiled (bitwise={err == 0})")


def test_points_function_matches_synthesis_points():
    g = tiny_generator()
    z = np.random.RandomState(0).randn(2, 32).astype("float32")
    ws = g.mapping(z)
    rows = np.array([0.0, 0.25, 0.5, 1.0], "float32")
    cols = np.array([0.5, 0.75, 0.0, 1.0], "float32")
    points = g.make_points_function()
    got = to_numpy(points(ws, rows, cols))
    assert got.shape == (2, 4, g.img_channels)
    np.testing.assert_allclose(got, to_numpy(g.synthesis_points(ws, rows, cols)), atol=1e-4)

import math
import os

import keras
import numpy as np
import pytest
from keras import ops
from scipy.spatial.transform import Rotation

from keras_creps.augment import AugmentPipeline
from keras_creps.augment.corruptions import band_gains
from keras_creps.augment.corruptions import filter_bank
from keras_creps.augment.matrices import blit_matrix
from keras_creps.augment.matrices import color_matrix
from keras_creps.augment.matrices import geometric_matrix
from keras_creps.augment.parameters import draw_parameters
from keras_creps.augment.pipeline import apply_parameters
from keras_creps.augment.resample import blit
from keras_creps.augment.resample import geom_taps
from keras_creps.augment.resample import resample
from keras_creps.augment.resample import upsample_matrix
from keras_creps.training import gradients
from test_case import TestCase
from test_case import to_numpy


def _images(n=4, size=16, channels=3, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype("float32")


def _smooth_images(n=4, size=16):
    """Low-frequency images (< 0.35 rad / pixel) as functions of centred coordinates."""
    c = (size - 1) / 2.0
    y, x = np.meshgrid(np.arange(size) - c, np.arange(size) - c, indexing="ij")
    image = np.stack([np.sin(0.3 * x + 0.2 * y), np.cos(0.25 * x - 0.15 * y), np.sin(0.007 * x * y)], -1)
    return np.repeat(image[None], n, axis=0).astype("float32")


def _batch(params, n):
    """The same parameters for `n` images."""
    return {name: np.full((n,), value, np.float32) for name, value in params.items()}


# Independent NumPy statement of ADA's matrices (forward maps; the pipeline
# composes their inverses for the geometry).
def _t2(tx, ty):
    return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], np.float64)


def _s2(sx, sy):
    return np.diag([sx, sy, 1.0])


def _r2(theta):
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _reference_g_inv(p, h, w):
    inv = np.linalg.inv
    return (
        inv(_s2(1 - 2 * p["xflip"], 1))
        @ inv(_r2(-math.pi / 2 * p["rotate90"]))
        @ inv(_t2(np.round(p["xint_x"] * w), np.round(p["xint_y"] * h)))
        @ inv(_s2(p["scale"], p["scale"]))
        @ inv(_r2(-p["rotate_pre"]))
        @ inv(_s2(p["aniso"], 1 / p["aniso"]))
        @ inv(_r2(-p["rotate_post"]))
        @ inv(_t2(p["xfrac_x"] * w, p["xfrac_y"] * h))
    )


def _reference_color(p):
    v = np.array([1, 1, 1, 0]) / math.sqrt(3)
    vv = np.outer(v, v)
    translate = np.eye(4)
    translate[:3, 3] = p["brightness"]
    hue = np.eye(4)
    hue[:3, :3] = Rotation.from_rotvec(v[:3] * p["hue"]).as_matrix()
    c = np.eye(4)
    for m in (translate, np.diag([p["contrast"]] * 3 + [1]), np.eye(4) - 2 * vv * p["lumaflip"], hue):
        c = m @ c
    return (vv + (np.eye(4) - vv) * p["saturation"]) @ c


def _reference_blit(image, p):
    """x-flip, then `rotate90` quarter turns, then a whole-pixel shift with reflection."""
    image = np.rot90(image[:, ::-1] if p["xflip"] else image, int(p["rotate90"]))
    dx, dy = int(np.round(p["xint_x"] * image.shape[1])), int(np.round(p["xint_y"] * image.shape[0]))
    m = 8
    padded = np.pad(image, [(m, m), (m, m), (0, 0)], mode="reflect")
    return padded[m - dy : m - dy + image.shape[0], m - dx : m - dx + image.shape[1]]  # out[i, j] = in[i - dy, j - dx]


_GEOM = dict(xflip=1, rotate90=3, xint_x=0.1, xint_y=-0.07, scale=1.3, rotate_pre=0.4, aniso=0.8,
             rotate_post=-1.1, xfrac_x=0.05, xfrac_y=-0.12)  # fmt: skip
_COLOR = dict(brightness=0.15, contrast=1.4, lumaflip=1, hue=0.7, saturation=0.6)


class TestAugmentPipeline(TestCase):
    def test_p0_is_exact_identity(self):
        x = _images()
        y = AugmentPipeline("bgc", p=0.0)(x, seed=3)
        np.testing.assert_array_equal(to_numpy(y), x)
        # Filter, noise and cutout at their identity values (what p = 0 draws).
        identity = {"imgfilter_gains": np.ones((4, 4)), "noise_std": np.zeros(4), "noise": x}
        identity.update({"cutout_size": np.zeros(4), "cutout_x": np.full(4, 0.5), "cutout_y": np.full(4, 0.5)})
        np.testing.assert_array_equal(to_numpy(apply_parameters(ops.convert_to_tensor(x), identity)), x)

    def test_p1_changes_every_image(self):
        x = _images()
        y = to_numpy(AugmentPipeline("bgc", p=1.0)(x, seed=4))
        assert y.shape == x.shape and y.dtype == np.float32
        assert np.all(np.abs(y - x).reshape(4, -1).max(axis=1) > 1e-3)

    def test_layer_and_symbolic_shapes(self):
        # One image shape for the whole file, and few eager calls with the
        # geometric group: on JAX each compiles its `cond` (seconds).
        kwargs = {"preset": "color", "p": 0.5}
        self.run_layer_test(AugmentPipeline, kwargs, [_images()], (4, 16, 16, 3), call_kwargs={"seed": 1})

    def test_matrices_match_numpy_reference(self):
        h, w = 16, 20
        params = _batch(_GEOM, 2)
        params["rotate90"] = np.array([3, 1], np.float32)
        expected = [_reference_g_inv({k: v[i] for k, v in params.items()}, h, w) for i in range(2)]
        np.testing.assert_allclose(to_numpy(geometric_matrix(params, h, w)), expected, atol=1e-5)
        expected = _reference_color(_COLOR)
        np.testing.assert_allclose(to_numpy(color_matrix(_batch(_COLOR, 1)))[0], expected, atol=1e-5)

    def test_blit_matches_numpy(self):
        x = _images(n=1)
        params = dict(xflip=1, rotate90=1, xint_x=0.1, xint_y=-0.15)  # Shift (+2, -2) pixels.
        y = to_numpy(apply_parameters(ops.convert_to_tensor(x), _batch(params, 1)))
        expected = np.rot90(x[:, :, ::-1], 1, axes=(1, 2))
        padded = np.pad(expected, [(0, 0), (4, 4), (4, 4), (0, 0)], mode="reflect")
        expected = padded[:, 4 + 2 : 4 + 2 + 16, 4 - 2 : 4 - 2 + 16]  # out[i, j] = in[i + 2, j - 2]
        np.testing.assert_array_equal(y, expected)
        np.testing.assert_array_equal(y[0], _reference_blit(x[0], params))

    def test_groups_alone_at_p1(self):
        x = _images()
        for preset in ("blit", "color"):
            layer = AugmentPipeline(preset, p=1.0)
            drawn = draw_parameters(1.0, layer.settings, x.shape, seed=5)
            drawn = [{k: float(v[i]) for k, v in drawn.items()} for i in range(4)]
            y = to_numpy(layer(x, seed=5))
            for image, out, params in zip(x, y, drawn):
                if preset == "blit":
                    np.testing.assert_array_equal(out, _reference_blit(image, params))
                else:
                    c = _reference_color(params)
                    np.testing.assert_allclose(out, image @ c[:3, :3].T + c[:3, 3], atol=1e-5)

    def test_color_matches_numpy(self):
        x = _images(n=2)
        y = to_numpy(apply_parameters(ops.convert_to_tensor(x), _batch(_COLOR, 2)))
        c = _reference_color(_COLOR)
        np.testing.assert_allclose(y, x @ c[:3, :3].T + c[:3, 3], atol=1e-5)
        grey = x[..., :1]
        y = to_numpy(apply_parameters(ops.convert_to_tensor(grey), _batch(_COLOR, 2)))
        c = _reference_color(dict(_COLOR, hue=0.0, saturation=1.0))  # No hue / saturation for luma.
        rows = c[:3].mean(axis=0)
        np.testing.assert_allclose(y, grey * rows[:3].sum() + rows[3], atol=1e-5)

    def test_upsampling_matches_convolution(self):
        signal = np.random.default_rng(5).normal(size=12)
        padded = np.pad(signal, 24, mode="reflect")
        zeros = np.zeros(2 * padded.size)
        zeros[::2] = padded
        full = 2 * np.convolve(zeros, geom_taps())[5 : 5 + zeros.size]  # upfirdn2d's alignment.
        np.testing.assert_allclose(upsample_matrix(12) @ signal, full[48 : 48 + 44], atol=1e-6)

    def test_geometric_path_whole_pixel_maps(self):
        x = _images()
        shift = np.broadcast_to(_t2(-2, 3).astype(np.float32), (4, 3, 3))  # out(x, y) = in(x - 2, y + 3)
        y = to_numpy(resample(x, shift))
        np.testing.assert_allclose(y[:, :13, 2:], x[:, 3:, :14], atol=1e-5)
        # With reflection at the borders the shift is exact everywhere.
        np.testing.assert_allclose(y, to_numpy(blit(x, shift)), atol=1e-5)
        # A quarter turn is exact only up to the filter's asymmetry: use smooth images.
        smooth = _smooth_images()
        quarter = np.broadcast_to(np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]], np.float32), (4, 3, 3))
        y = to_numpy(resample(smooth, quarter))
        # (ADA gives the same ~0.1 pixel offsets: sym6 is not linear-phase.)
        expected = np.rot90(smooth, 1, axes=(1, 2))
        np.testing.assert_allclose(y[:, 3:-3, 3:-3], expected[:, 3:-3, 3:-3], atol=0.04)

    def test_geometric_path_rotation_direction(self):
        smooth = _smooth_images()
        matrix = _r2(0.5) @ _t2(1.5, -0.5)
        y = to_numpy(resample(smooth, np.broadcast_to(matrix.astype(np.float32), (4, 3, 3))))
        c = (16 - 1) / 2.0
        py, px = np.meshgrid(np.arange(16) - c, np.arange(16) - c, indexing="ij")
        sx, sy, _ = np.einsum("ij,jhw->ihw", matrix, np.stack([px, py, np.ones_like(px)]))  # out(p) = in(M p)
        expected = np.stack([np.sin(0.3 * sx + 0.2 * sy), np.cos(0.25 * sx - 0.15 * sy)], -1)
        np.testing.assert_allclose(y[0, 4:-4, 4:-4, :2], expected[4:-4, 4:-4], atol=0.02)

    def test_band_filter(self):
        bank = filter_bank()
        assert bank.shape == (4, 43)
        np.testing.assert_allclose(bank.sum(axis=0), np.eye(1, 43, 21)[0], atol=1e-12)
        gains = to_numpy(band_gains(np.array([[1.0, 1.0, 1.0, 1.0], [2.0, 1.0, 1.0, 1.0]], np.float32)))
        np.testing.assert_allclose(gains[0], 1.0, atol=1e-6)
        expected_power = np.array([10, 1, 1, 1]) / 13
        np.testing.assert_allclose(gains[1], np.array([2, 1, 1, 1]) / math.sqrt(1 + 3 * 10 / 13), rtol=1e-5)
        assert abs((expected_power * gains[1] ** 2).sum() - 1) < 1e-5
        x = _images(n=2)
        raw = np.array([[2.0, 1.0, 0.5, 1.0], [1.0, 1.0, 1.0, 3.0]], np.float32)
        y = to_numpy(apply_parameters(ops.convert_to_tensor(x), {"imgfilter_gains": raw}))
        taps = to_numpy(band_gains(raw)) @ bank  # [2, 43]
        padded = np.pad(x, [(0, 0), (21, 21), (21, 21), (0, 0)], mode="reflect")
        expected = np.zeros_like(x)
        for n in range(2):
            correlate = lambda r, n=n: np.correlate(r, taps[n], "valid")  # noqa: E731
            columns = np.apply_along_axis(correlate, 0, padded[n])  # [16, 58, 3]
            expected[n] = np.apply_along_axis(correlate, 1, columns)  # [16, 16, 3]
        np.testing.assert_allclose(y, expected, atol=1e-5)

    def test_cutout_and_noise(self):
        x = np.ones((1, 8, 8, 3), np.float32)
        params = {"cutout_size": [0.5], "cutout_x": [0.5], "cutout_y": [0.25]}
        y = to_numpy(apply_parameters(ops.convert_to_tensor(x), params))[0, :, :, 0]
        expected = np.ones((8, 8))
        expected[0:4, 2:6] = 0.0
        np.testing.assert_array_equal(y, expected)
        noise = np.random.default_rng(0).normal(size=x.shape).astype(np.float32)
        y = apply_parameters(ops.convert_to_tensor(x), {"noise_std": [0.5], "noise": noise})
        np.testing.assert_allclose(to_numpy(y), x + 0.5 * noise, atol=1e-6)

    def test_application_probabilities(self):
        settings = AugmentPipeline("bgc").settings
        params = {k: to_numpy(v) for k, v in draw_parameters(0.4, settings, (4000, 8, 8, 3), seed=1).items()}
        assert abs(np.mean(params["scale"] != 1) - 0.4) < 0.03
        assert abs(np.mean(params["xint_x"] != 0) - 0.4) < 0.03
        rotated = (params["rotate_pre"] != 0) | (params["rotate_post"] != 0)
        assert abs(np.mean(rotated) - 0.4) < 0.03
        assert abs(np.mean(params["xflip"]) - 0.2) < 0.03  # Applied 40%, then a fair coin.
        std = np.std(np.log2(params["contrast"][params["contrast"] != 1]))
        assert abs(std - 0.5) < 0.05
        assert set(np.unique(params["rotate90"])) == {0, 1, 2, 3}

    def test_gradients(self):
        x = _images()
        layer = AugmentPipeline("bgcfnc", p=1.0)
        _, grad = gradients.get().input_gradient(lambda images: layer(images, seed=7) * np.float32(0.5), x)
        grad = to_numpy(grad)
        assert grad.shape == x.shape and np.all(np.isfinite(grad))
        assert np.all(np.abs(grad).reshape(4, -1).max(axis=1) > 0)

    def test_seeds(self):
        x = _images()
        layer = AugmentPipeline("color", p=0.8)
        a, b, c = (to_numpy(layer(x, seed=s)) for s in (5, 5, 6))
        np.testing.assert_array_equal(a, b)
        assert np.abs(a - c).max() > 1e-3
        d = to_numpy(layer(x, seed=keras.random.SeedGenerator(9)))
        e = to_numpy(layer(x, seed=keras.random.SeedGenerator(9)))
        np.testing.assert_array_equal(d, e)
        owned = AugmentPipeline("blit", p=0.8, seed=3)
        assert np.abs(to_numpy(owned(x)) - to_numpy(owned(x))).max() > 1e-3  # The generator advances.

    def test_compiled(self):
        x = _images()
        layer = AugmentPipeline("bgc", p=1.0)
        if self.backend == "jax":
            import jax

            y = jax.jit(lambda images: layer(images, seed=2))(x)
        elif self.backend == "tensorflow":
            import tensorflow as tf

            y = tf.function(lambda images: layer(images, seed=2))(x)
        else:
            y = layer(x, seed=2)
        np.testing.assert_allclose(to_numpy(y), to_numpy(layer(x, seed=2)), atol=1e-5)

    def test_config_and_saving(self, tmp_path):
        layer = AugmentPipeline("blit", p=0.6, hue=0.5, scale_std=0.3, imgfilter_bands=[1, 0, 1, 0], seed=4)
        config = layer.get_config()
        clone = AugmentPipeline.from_config(config)
        assert clone.get_config() == config
        assert clone.multipliers["hue"] == 0.5 and clone.multipliers["xflip"] == 1.0
        inputs = keras.Input((16, 16, 3))
        model = keras.Model(inputs, layer(inputs))
        layer.p.assign(0.37)
        path = os.path.join(str(tmp_path), "augment.keras")
        model.save(path)
        restored = keras.saving.load_model(path).layers[-1]
        assert isinstance(restored, AugmentPipeline)
        np.testing.assert_allclose(to_numpy(restored.p), 0.37)
        x = _images()
        np.testing.assert_array_equal(to_numpy(restored(x, seed=1)), to_numpy(layer(x, seed=1)))

    @pytest.mark.parametrize(
        "kwargs, text",
        [
            ({"preset": "xyz"}, "preset='xyz'"),
            ({"p": -1}, "p=-1"),
            ({"xflip": -0.5}, "xflip=-0.5"),
            ({"scale_std": float("nan")}, "scale_std=nan"),
            ({"imgfilter_bands": (1, 1)}, "imgfilter_bands=(1, 1)"),
            ({"seed": "a"}, "seed='a'"),
        ],
    )
    def test_bad_arguments(self, kwargs, text):
        with pytest.raises(ValueError, match=text.replace("(", r"\(").replace(")", r"\)")):
            AugmentPipeline(**kwargs)

    def test_bad_images(self):
        with pytest.raises(ValueError, match="images.shape"):
            AugmentPipeline()(np.zeros((1, 8, 8, 2), np.float32))

"""CREPSGAN under mixed precision: dynamic loss scaling, float16, bfloat16."""

import keras
import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps import CREPSDiscriminator
from keras_creps import CREPSGAN
from keras_creps import CREPSGenerator
from keras_creps.training.gan import GANOptimizer

R = 8
BATCH = 4


def tiny_gan(dtype=None, seed=0, **compile_kwargs):
    """A 8x8 GAN; the same `seed` gives the same initial weights at any dtype."""
    keras.utils.set_random_seed(seed)
    generator = CREPSGenerator(
        R, z_dim=16, w_dim=16, channel_base=128, channel_max=16, biline_channels=4, rank=2,
        mapping_layers=2, dtype=dtype,
    )
    discriminator = CREPSDiscriminator(R, channel_base=128, channel_max=16, mapping_layers=2, dtype=dtype)
    gan = CREPSGAN(generator, discriminator)
    # Every phase on every step: one compiled step per GAN.
    compile_kwargs = dict(dict(r1_gamma=1.0, g_reg_interval=1, d_reg_interval=1), **compile_kwargs)
    gan.compile(**compile_kwargs)
    return gan


def images(count=8):
    return np.random.RandomState(0).uniform(-1, 1, (count, R, R, 3)).astype("float32")


def fit_steps(gan, steps):
    data = images(BATCH * steps)
    return gan.fit(data, batch_size=BATCH, epochs=1, shuffle=False, verbose=0).history


def values(variables):
    return [np.array(to_numpy(v.value)) for v in variables]


def inner_optimizer_values(gan):
    return values(gan.generator_optimizer.variables) + values(gan.discriminator_optimizer.variables)


def scales(gan):
    return tuple(float(to_numpy(gan.optimizer.loss_scale(w).value)) for w in ("generator", "discriminator"))


@pytest.fixture(scope="module")
def float32_run():
    """Logs of two single steps and the final GAN of a float32 run (shared)."""
    gan = tiny_gan()
    logs = [fit_steps(gan, 1), fit_steps(gan, 1)]
    return gan, logs


@pytest.fixture(scope="module")
def float16_run():
    """A float16 GAN (scale growth every 2 finite updates) and the logs of its first step (shared).

    One compiled float16 step serves both float16 tests: ~30 s less per backend.
    """
    gan = tiny_gan("mixed_float16", loss_scale_growth_steps=2)
    return gan, fit_steps(gan, 1)


class TestLossScaling(TestCase):
    def test_auto_turns_on_for_float16_only(self):
        for dtype, expected in ((None, False), ("mixed_bfloat16", False), ("mixed_float16", True)):
            generator = CREPSGenerator(R, z_dim=8, w_dim=8, channel_base=64, channel_max=8, biline_channels=4,
                                       rank=1, mapping_layers=1, dtype=dtype)
            discriminator = CREPSDiscriminator(R, channel_base=64, channel_max=8, mapping_layers=1, dtype=dtype)
            gan = CREPSGAN(generator, discriminator)
            gan.compile()
            assert gan.optimizer.loss_scaling is expected, dtype
            assert (gan.optimizer.loss_scale("generator") is not None) is expected
        gan.compile(loss_scaling=False)
        assert not gan.optimizer.loss_scaling

    def test_scaling_by_a_power_of_two_changes_nothing_in_float32(self, float32_run):
        plain, plain_logs = float32_run
        scaled = tiny_gan(loss_scaling=True)
        assert scaled.optimizer.loss_scaling and not plain.optimizer.loss_scaling
        for step, logs_plain in enumerate(plain_logs):
            logs_scaled = fit_steps(scaled, 1)
            for name in ("g_loss", "d_loss", "pl_penalty", "r1_penalty"):
                np.testing.assert_allclose(
                    logs_scaled[name], logs_plain[name], rtol=1e-5, atol=1e-7, err_msg=f"step {step} {name}"
                )
        assert scales(scaled) == (2.0**15, 2.0**15)
        assert logs_scaled["g_loss_scale"][-1] == 2.0**15
        for network in ("generator", "discriminator", "generator_ema"):
            a = values(getattr(scaled, network).variables)
            b = values(getattr(plain, network).variables)
            for i, (x, y) in enumerate(zip(a, b)):
                np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=f"{network}/{i}")
        for i, (x, y) in enumerate(zip(inner_optimizer_values(scaled), inner_optimizer_values(plain))):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7, err_msg=f"optimizer/{i}")

    def test_float16_overflow_undoes_the_update_and_halves_the_scale(self, float16_run, tmp_path):
        gan = float16_run[0]  # after its first step
        assert gan.generator.synthesis.compute_dtype == "float16"
        iterations = [int(to_numpy(o.iterations.value)) for o in (gan.generator_optimizer, gan.discriminator_optimizer)]
        for which in ("generator", "discriminator"):
            gan.optimizer.loss_scale(which).assign(2.0**24)
        networks_before = values(gan.generator.trainable_variables + gan.discriminator.trainable_variables)
        optimizers_before = inner_optimizer_values(gan)
        logs = fit_steps(gan, 1)
        # 2**24 overflows float16 in both networks' backward passes: both
        # phases of each network (main loss, regularizer) are undone.
        assert scales(gan) == (2.0**22, 2.0**22)
        assert np.isfinite(logs["g_loss"][-1]) and np.isfinite(logs["d_loss"][-1])
        after = values(gan.generator.trainable_variables + gan.discriminator.trainable_variables)
        for i, (x, y) in enumerate(zip(after, networks_before)):
            np.testing.assert_array_equal(x, y, err_msg=f"weight {i} moved on a non-finite step")
        for i, (x, y) in enumerate(zip(inner_optimizer_values(gan), optimizers_before)):
            np.testing.assert_array_equal(x, y, err_msg=f"optimizer variable {i} moved on a non-finite step")

        # At a scale of 1 every gradient is finite: both updates of a network
        # apply, and with growth every 2 finite updates the scale doubles.
        for which in ("generator", "discriminator"):
            gan.optimizer.loss_scale(which).assign(1.0)
        fit_steps(gan, 1)
        assert scales(gan) == (2.0, 2.0)
        assert int(to_numpy(gan.generator_optimizer.iterations.value)) == iterations[0] + 2
        assert int(to_numpy(gan.discriminator_optimizer.iterations.value)) == iterations[1] + 2
        after_finite = values(gan.generator.trainable_variables)
        assert any(not np.array_equal(x, y) for x, y in zip(after_finite, networks_before))

        # The loss scale is training state: saved and restored.
        path = str(tmp_path / "gan.keras")
        gan.save(path)
        loaded = keras.saving.load_model(path)
        assert loaded.optimizer.loss_scaling
        assert scales(loaded) == (2.0, 2.0)
        assert loaded.generator.synthesis.compute_dtype == "float16"

    @pytest.mark.parametrize("dtype", ["mixed_float16", "mixed_bfloat16"])
    def test_first_step_agrees_with_float32(self, dtype, float32_run, float16_run):
        # From the same initial weights. `g_loss` is computed before any
        # update and `scores_real` before D's first update, so they differ
        # from float32 only by rounding; `d_loss` and `r1_penalty` follow one
        # update of each network. (Measured at most 0.12 / 0.003 / 1.2 % /
        # 1.5 % over the three backends; bfloat16 keeps 8 mantissa bits.)
        # The R1 penalty after one bfloat16 update moves with where the
        # rounding happens: folding EqualizedConv2D's gain into its kernel
        # (one rounding fewer) took it from 0.6 / 1.5 / 0.8 % to 8.2 / 0.01 /
        # 0.3 % off float32 on JAX / TensorFlow / PyTorch (2026-12-02).
        reference = float32_run[1][0]
        half = dtype == "mixed_float16"
        mixed = float16_run[1] if half else fit_steps(tiny_gan(dtype), 1)
        for name, rtol, atol in (
            ("g_loss", 0.0, 0.03 if half else 0.2),
            ("scores_real", 0.0, 0.01),
            ("d_loss", 0.05, 0.0),
            ("r1_penalty", 0.05 if half else 0.15, 0.0),
        ):
            assert np.isfinite(mixed[name][-1]), name
            np.testing.assert_allclose(mixed[name][-1], reference[name][-1], rtol=rtol, atol=atol, err_msg=name)


class TestErrors(TestCase):
    def test_loss_scale_optimizer_is_refused_with_a_reason(self):
        inner = keras.optimizers.Adam()
        with pytest.raises(ValueError, match="MultiOptimizer cannot hold one"):
            GANOptimizer(keras.optimizers.LossScaleOptimizer(inner), keras.optimizers.Adam())

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            (dict(loss_scaling="yes"), "loss_scaling"),
            (dict(initial_loss_scale=0.5), "initial_loss_scale"),
            (dict(loss_scale_growth_steps=0), "loss_scale_growth_steps"),
        ],
    )
    def test_bad_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            GANOptimizer(keras.optimizers.Adam(), keras.optimizers.Adam(), **kwargs)

    def test_compile_rejects_bad_loss_scaling(self):
        gan = tiny_gan()
        with pytest.raises(ValueError, match="loss_scaling='sometimes'"):
            gan.compile(loss_scaling="sometimes")

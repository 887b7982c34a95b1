"""CREPSGAN: phases, optimizer and EMA state on every backend, saving, errors."""

import os

import keras
import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps import CREPSDiscriminator
from keras_creps import CREPSGAN
from keras_creps import CREPSGenerator

R = 8
BATCH = 4


def tiny_gan(c_dim=0, **compile_kwargs):
    generator = CREPSGenerator(
        R, z_dim=32, c_dim=c_dim, w_dim=32, channel_base=256, channel_max=32,
        biline_channels=8, rank=2, mapping_layers=2,
    )
    discriminator = CREPSDiscriminator(R, c_dim=c_dim, channel_base=256, channel_max=32, mapping_layers=2)
    gan = CREPSGAN(generator, discriminator)
    compile_kwargs.setdefault("r1_gamma", 1.0)
    gan.compile(**compile_kwargs)
    return gan


def toy_data(count=8, c_dim=0, seed=0):
    rng = np.random.RandomState(seed)
    images = rng.uniform(-1, 1, (count, R, R, 3)).astype("float32")
    labels = np.eye(max(c_dim, 1), dtype="float32")[rng.randint(max(c_dim, 1), size=count)][:, :c_dim]
    return images, labels


def fit_steps(gan, data, steps):
    images, labels = data
    return gan.fit(
        images, labels, batch_size=BATCH, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0
    ).history


def value(x):
    return to_numpy(x.value if hasattr(x, "value") else x)


def snapshot(gan):
    """Every piece of training state, as NumPy."""
    state = {}
    for prefix, variables in (
        ("G", gan.generator.variables),
        ("D", gan.discriminator.variables),
        ("G_ema", gan.generator_ema.variables),
        ("opt", gan.optimizer.variables),
    ):
        for i, variable in enumerate(variables):
            state[f"{prefix}/{i}"] = np.array(value(variable))
    for name in ("step", "seen_images", "pl_mean"):
        state[name] = np.array(value(getattr(gan, name)))
    return state


def assert_first_step_lands_as_in(trained, gan):
    """From the `trained` fixture's initial weights, one step of `gan` gives its logs and state."""
    _, data, states, _, logs = trained
    for prefix, network in (("G", gan.generator), ("D", gan.discriminator), ("G_ema", gan.generator_ema)):
        for i, variable in enumerate(network.variables):
            variable.assign(states[0][f"{prefix}/{i}"])
    step_logs = fit_steps(gan, data, 1)
    for name, values in logs[0].items():
        np.testing.assert_allclose(step_logs[name], values, rtol=1e-4, atol=1e-6, err_msg=name)
    # Adam's first update is about lr * sign(gradient), so a gradient
    # within rounding of zero can move its weight differently: allow 1%
    # of the elements to differ by up to two such updates (lr <= 0.002).
    after = snapshot(gan)
    for key in after:
        expected = np.asarray(states[1][key], "float64")
        diff = np.abs(np.asarray(after[key], "float64") - expected)
        off = diff > 1e-5 + 1e-4 * np.abs(expected)
        assert off.mean() <= 0.01 and diff.max() <= 0.004, (key, off.sum(), diff.max())


@pytest.fixture(scope="module")
def trained():
    """A GAN trained step by step for 3 steps, with the state after each step.

    Intervals 1 and 2 give two compiled step variants (Dreg on even steps).
    Compilation dominates the cost of these tests, so they share this run.
    """
    gan = tiny_gan(g_reg_interval=1, d_reg_interval=2)
    data = toy_data()
    states, iterations, logs = [snapshot(gan)], [], []
    for _ in range(3):
        logs.append(fit_steps(gan, data, 1))
        states.append(snapshot(gan))
        iterations.append(
            (int(value(gan.generator_optimizer.iterations)), int(value(gan.discriminator_optimizer.iterations)))
        )
    return gan, data, states, iterations, logs


class TestTrainStep(TestCase):
    def test_phases_optimizers_ema_and_counters_advance(self, trained):
        gan, _, states, iterations, logs = trained
        for step in range(3):
            previous, current = states[step], states[step + 1]
            for prefix in ("G/", "D/", "G_ema/", "opt/"):
                changed = [
                    k for k in current if k.startswith(prefix) and not np.array_equal(current[k], previous[k])
                ]
                assert changed, f"no {prefix} variable changed at step {step}"
            assert all(np.isfinite(v[0]) for v in logs[step].values())
        # G: Gmain + Greg every step; D: Dmain every step + Dreg on steps 0 and 2.
        assert iterations == [(2, 2), (4, 3), (6, 5)]
        assert int(value(gan.step)) == 3
        assert int(value(gan.seen_images)) == 3 * BATCH
        assert int(value(gan.optimizer.iterations)) == 3
        assert float(value(gan.pl_mean)) > 0
        # w_avg moved off zero (Dmain updates it) and the EMA copies it.
        w_avg = value(gan.generator.mapping.w_avg)
        assert np.abs(w_avg).max() > 0
        np.testing.assert_array_equal(value(gan.generator_ema.mapping.w_avg), w_avg)
        assert {"g_loss", "d_loss", "g_reg", "d_reg", "r1_penalty", "pl_penalty", "scores_real",
                "scores_fake", "signs_real", "signs_fake", "pl_mean", "kimg"} <= set(logs[0])

    def test_first_step_copies_generator_into_ema(self, trained):
        # Ramp-up: ema_nimg = min(ema_kimg * 1000, 0 * 0.05) = 0 -> beta = 0 at step 0.
        state = trained[2][1]
        for key in state:
            if key.startswith("G_ema/"):
                np.testing.assert_array_equal(state[key], state["G/" + key[len("G_ema/"):]], err_msg=key)
        # Later steps average: the EMA lags behind G.
        state = trained[2][3]
        assert any(
            not np.array_equal(state[k], state["G/" + k[len("G_ema/"):]]) for k in state if k.startswith("G_ema/")
        )

    def test_save_and_load_resumes_exactly(self, trained, tmp_path):
        gan, data, *_ = trained
        path = os.path.join(str(tmp_path), "gan.keras")
        gan.save(path)
        restored = keras.saving.load_model(path)
        saved, loaded = snapshot(gan), snapshot(restored)
        assert saved.keys() == loaded.keys()
        for key in saved:
            np.testing.assert_array_equal(loaded[key], saved[key], err_msg=key)
        assert restored.g_reg_interval == 1 and restored.d_reg_interval == 2 and restored.r1_gamma == 1.0
        # Same optimizer settings: the saved ones are already adjusted, not adjusted twice.
        assert restored.generator_optimizer.get_config() == gan.generator_optimizer.get_config()
        # Step 3 (Gmain, Greg, Dmain) continues identically from the file.
        fit_steps(gan, data, 1)
        fit_steps(restored, data, 1)
        after, after_restored = snapshot(gan), snapshot(restored)
        for key in after:
            np.testing.assert_allclose(after_restored[key], after[key], rtol=1e-6, atol=1e-6, err_msg=key)

    def test_run_eagerly_matches_the_compiled_step(self, trained):
        # `run_eagerly=True` (for debugging) trains the same way: from the
        # fixture's initial weights, one eager step with all four phases
        # lands where the compiled step did.
        assert_first_step_lands_as_in(trained, tiny_gan(g_reg_interval=1, d_reg_interval=2, run_eagerly=True))

    @pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch's compiled bias_act kernels")
    def test_torch_step_with_compiled_bias_act_matches(self, trained, monkeypatch):
        # The step runs large element-wise chains as compiled kernels; here
        # every size is compiled, and the first step (all four phases,
        # R1's and the path length's double backward through the eager
        # backward) lands where the fixture's did (kernels below the size
        # threshold there: none of this GAN's tensors reach it).
        from keras_creps.layers import fused_bias_act as fused_module

        monkeypatch.setattr(fused_module, "_TORCH_COMPILED_MIN_ELEMENTS", 1)
        calls = []
        run_compiled = fused_module._run_compiled
        monkeypatch.setattr(fused_module, "_run_compiled", lambda kind, *a: calls.append(kind) or run_compiled(kind, *a))
        assert_first_step_lands_as_in(trained, tiny_gan(g_reg_interval=1, d_reg_interval=2))
        assert not fused_module._torch_compile_error
        assert "forward" in calls and "backward" in calls

    def test_conditional_with_style_mixing(self):
        gan = tiny_gan(c_dim=3, g_reg_interval=1, d_reg_interval=1, style_mixing_prob=0.9, jit_compile=False)
        logs = fit_steps(gan, toy_data(c_dim=3), 1)
        assert all(np.isfinite(v[0]) for v in logs.values())
        images = gan(np.zeros((2, 32), "float32"), np.eye(3, dtype="float32")[:2])
        assert tuple(images.shape) == (2, R, R, 3)
        with pytest.raises(ValueError, match="c_dim=3"):
            gan.fit(toy_data()[0], np.zeros((8, 0), "float32"), batch_size=BATCH, epochs=1, verbose=0)


class TestConfiguration(TestCase):
    def test_lazy_regularization_adjusts_optimizers(self):
        gan = tiny_gan()
        g, d = gan.generator_optimizer, gan.discriminator_optimizer
        assert float(g.learning_rate) == pytest.approx(0.002 * 4 / 5)
        assert float(d.learning_rate) == pytest.approx(0.002 * 16 / 17)
        assert g.beta_1 == 0.0 and d.beta_1 == 0.0
        assert g.beta_2 == pytest.approx(0.99 ** (4 / 5))
        assert d.beta_2 == pytest.approx(0.99 ** (16 / 17))
        assert g.epsilon == 1e-8
        assert [gan.phases_for_step(s) for s in (0, 1, 4, 16)] == [
            (True, True), (False, False), (True, False), (True, True),
        ]
        gan.compile(pl_weight=0.0, r1_gamma=0.0)
        assert gan.phases_for_step(0) == (False, False)
        assert float(gan.generator_optimizer.learning_rate) == pytest.approx(0.002)

    def test_user_optimizers(self):
        gan = tiny_gan(
            generator_optimizer=keras.optimizers.Adam(0.001, beta_1=0.0, beta_2=0.9),
            discriminator_optimizer=keras.optimizers.SGD(0.01),
            adjust_for_lazy_regularization=False,
        )
        assert float(gan.generator_optimizer.learning_rate) == pytest.approx(0.001)
        assert isinstance(gan.discriminator_optimizer, keras.optimizers.SGD)
        g_vars = {id(v) for v in gan.generator_optimizer._trainable_variables}
        assert g_vars == {id(v) for v in gan.generator.trainable_variables}
        assert [id(v) for v in gan.optimizer.network_variables("generator")] == [
            id(v) for v in gan.generator_optimizer._trainable_variables
        ]
        d_vars = gan.optimizer.network_variables("discriminator")
        assert {id(v) for v in d_vars} == {id(v) for v in gan.discriminator.trainable_variables}

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"r1_gamma": -1.0}, "r1_gamma=-1.0"),
            ({"pl_weight": float("nan")}, "pl_weight=nan"),
            ({"pl_decay": 0.0}, "pl_decay=0.0"),
            ({"g_reg_interval": 0}, "g_reg_interval"),
            ({"ema_kimg": -5}, "ema_kimg=-5"),
            ({"style_mixing_prob": 2}, "style_mixing_prob=2"),
            ({"seed": -1}, "seed=-1"),
            ({"steps_per_execution": 4}, "steps_per_execution=4"),
            ({"loss": "mse"}, "loss='mse'"),
        ],
    )
    def test_compile_rejects_bad_arguments(self, kwargs, match):
        gan = tiny_gan()
        with pytest.raises(ValueError, match=match):
            gan.compile(**kwargs)

    def test_lazy_adjustment_needs_constant_learning_rate(self):
        schedule = keras.optimizers.schedules.ExponentialDecay(0.002, 100, 0.9)
        with pytest.raises(ValueError, match="learning_rate"):
            tiny_gan(generator_optimizer=keras.optimizers.Adam(schedule))

    def test_mismatched_networks(self):
        generator = CREPSGenerator(16, z_dim=8, w_dim=8, channel_base=128, channel_max=16, mapping_layers=1)
        discriminator = CREPSDiscriminator(32, channel_base=128, channel_max=16)
        with pytest.raises(ValueError, match="resolution"):
            CREPSGAN(generator, discriminator)
        with pytest.raises(ValueError, match="generator"):
            CREPSGAN("not a model", discriminator)

    def test_bad_data(self):
        gan = tiny_gan(g_reg_interval=1, d_reg_interval=1)
        wrong = np.zeros((8, R // 2, R // 2, 3), "float32")
        with pytest.raises(ValueError, match=rf"images.shape=\(4, {R // 2}, {R // 2}, 3\)"):
            gan.fit(wrong, np.zeros((8, 0), "float32"), batch_size=BATCH, epochs=1, verbose=0)

    def test_config_round_trip(self):
        gan = tiny_gan()
        clone = CREPSGAN.from_config(gan.get_config())
        assert clone.generator.get_config() == gan.generator.get_config()
        assert clone.discriminator.get_config() == gan.discriminator.get_config()
        assert clone.generator_ema.name == "generator_ema"
        assert not clone.generator_ema.trainable

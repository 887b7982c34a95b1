"""ADA in CREPSGAN on every backend: augmented phases, gradients, the p controller, resume, train.py flags.

JAX compiles a GAN step in tens of seconds, so the GAN checks share two
compiled steps: a GAN without augmentation and one with a test double of the
pipeline whose effect is exact (its settings are variables, so one compiled
step serves every setting). Each check starts that GAN from the same saved
state. The real `AugmentPipeline` trains in `recipes/train.py` runs (here
and in `tests/recipes/test_train.py`).
"""

import json
import os
import sys

import keras
import numpy as np
import pytest
from keras import ops
from PIL import Image
from test_case import TestCase
from test_case import to_numpy

from keras_creps import CREPSDiscriminator
from keras_creps import CREPSGAN
from keras_creps import CREPSGenerator
from keras_creps.augment import AdaptiveAugment
from keras_creps.augment import AugmentPipeline
from keras_creps.models.creps_generator import native_coords
from keras_creps.training import random_streams

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "recipes"))

import train  # noqa: E402

R = 8
BATCH = 4
STEP = np.float32(4 * 2 / 100)  # p's move per adjustment: batch 4, ada_interval 2, ada_kimg 0.1


@keras.saving.register_keras_serializable(package="keras_creps_tests")
class BlendAugment(keras.layers.Layer):
    """Test double of `AugmentPipeline`: `(1 - p) * x + p * (gain * x + offset)`.

    Exactly the identity at p = 0; at p = 1 a constant image (gain 0) or the
    negated image (gain -1). `gain` and `offset` are variables too, so that
    changing them needs no new compiled step.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for name in ("p", "gain", "offset"):
            setattr(self, name, self.add_weight(shape=(), dtype="float32", initializer="zeros",
                                                trainable=False, name=name))
        self.built = True

    def set(self, p, gain, offset=0.0):
        for variable, number in ((self.p, p), (self.gain, gain), (self.offset, offset)):
            variable.assign(number)

    def call(self, images, seed=None):
        p = self.p.value
        return (1.0 - p) * images + p * (self.gain.value * images + self.offset.value)


def make_gan(augment=None, like=None, **compile_kwargs):
    """A tiny GAN (pl_weight 0, R1 every step); with `like`, starting from `like`'s weights.

    The networks of `train_args` below (on JAX, building weights of the same
    shapes again needs no new compilation).
    """
    generator = CREPSGenerator(R, z_dim=32, w_dim=32, channel_base=256, channel_max=32, biline_channels=8,
                               rank=2, mapping_layers=2)
    discriminator = CREPSDiscriminator(R, channel_base=128, channel_max=16, mapping_layers=2)
    if like is not None:
        generator.set_weights(like.generator.get_weights())
        discriminator.set_weights(like.discriminator.get_weights())
    gan = CREPSGAN(generator, discriminator, augment=augment)
    gan.compile(**{"r1_gamma": 1.0, "pl_weight": 0.0, "d_reg_interval": 1, **compile_kwargs})
    return gan


def toy_images(count=8):
    return np.random.RandomState(0).uniform(-1, 1, (count, R, R, 3)).astype("float32")


def fit_steps(gan, steps):
    images = toy_images()
    return gan.fit(images, np.zeros((len(images), 0), "float32"), batch_size=BATCH, epochs=1,
                   steps_per_epoch=steps, shuffle=False, verbose=0).history


def value(x):
    return np.array(to_numpy(x.value if hasattr(x, "value") else x))


def all_variables(gan):
    return gan.variables + gan.optimizer.variables


def restore(gan, values):
    for variable, number in zip(all_variables(gan), values):
        variable.assign(number)


def snapshot(gan):
    """All training state (with `p` and ADA's statistics), as NumPy."""
    state = {}
    for prefix, variables in (("G", gan.generator.variables), ("D", gan.discriminator.variables),
                              ("G_ema", gan.generator_ema.variables), ("opt", gan.optimizer.variables)):
        state.update({f"{prefix}/{i}": value(v) for i, v in enumerate(variables)})
    for name in ("step", "seen_images", "pl_mean"):
        state[name] = value(getattr(gan, name))
    state.update(p=value(gan.augment.p), sign_sum=value(gan.ada.sign_sum), sign_count=value(gan.ada.sign_count))
    return state


def trainable(gan):
    return [value(v) for v in gan.generator.trainable_variables]


def set_d_bias(gan, number):
    """Sets D's output bias: +-100 makes every sign of D(real) +-1."""
    gan.discriminator.epilogue.out.bias.assign(np.full((1,), number, "float32"))


@pytest.fixture(scope="module")
def gans():
    """`(plain, augmented, initial state of augmented)`; the same weights, ADA every 2 steps."""
    plain = make_gan()
    augmented = make_gan(BlendAugment(), like=plain, ada_interval=2, ada_kimg=0.1)
    return plain, augmented, [value(v) for v in all_variables(augmented)]


@pytest.fixture(scope="module")
def phase_runs(gans):
    """One step (Gmain, Dmain, Dreg) without augmentation, and from the same state with three settings.

    Also the values the augmented phases must produce, computed beforehand
    from the initial networks.
    """
    plain, gan, initial = gans
    z = keras.random.normal((BATCH, 32), seed=gan.random_streams.seed("g_main", gan.step))
    grid = native_coords(R)
    fakes = gan.generator.synthesis(gan.generator.mapping(z, None), grid, grid)
    expected = {
        "g_loss_negated": value(ops.mean(ops.softplus(-gan.discriminator(-fakes)))),
        "const_logit": value(gan.discriminator(ops.full((BATCH, R, R, 3), 0.25))),
    }
    logs, before, after = {"none": fit_steps(plain, 1)}, {}, {"none": [value(v) for v in plain.variables]}
    for name, setting in (("p0", (0.0, -1.0)), ("const", (1.0, 0.0, 0.25)), ("negate", (1.0, -1.0))):
        restore(gan, initial)
        gan.augment.set(*setting)
        before[name] = trainable(gan)
        logs[name] = fit_steps(gan, 1)
        after[name] = trainable(gan)
        if name == "negate":
            after["negate_grads"] = [value(m) for m in gan.generator_optimizer._momentums]
        if name == "p0":
            extra = {id(v) for v in gan.augment.variables + gan.ada.variables}
            after["p0_all"] = [value(v) for v in gan.variables if id(v) not in extra]
    return logs, before, after, expected


class TestAugmentedPhases(TestCase):
    def test_p0_is_exactly_no_augmentation(self, phase_runs):
        logs, _, after, _ = phase_runs
        assert "augment_p" not in logs["none"] and logs["p0"]["augment_p"] == [0.0]
        p0_logs = {k: v for k, v in logs["p0"].items() if k != "augment_p"}
        assert p0_logs.keys() == logs["none"].keys()
        # Bitwise on TensorFlow and PyTorch. On JAX the two are different XLA programs, and with
        # the other test lane loading the CPU they differed in the 7th digit (scores_fake
        # -0.0085426252 vs -0.0085426327, measured in a loaded run; equal when run alone); the
        # weights after the step by up to 2e-6 (one weight of 256 in a layer whose weights reach
        # ~2.5: 0.0119256 vs 0.0119276, with the suite's cheaper XLA:CPU compilation, see
        # tests/conftest.py).
        jax = keras.config.backend() == "jax"
        rtol = 1e-5 if jax else 0.0
        for name, values in logs["none"].items():
            np.testing.assert_allclose(p0_logs[name], values, rtol=rtol, atol=rtol * 1e-3, err_msg=name)
        assert len(after["p0_all"]) == len(after["none"])
        for a, b in zip(after["p0_all"], after["none"]):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-5 if jax else 0.0)

    def test_discriminator_sees_augmented_images_in_every_phase(self, phase_runs):
        # Constant augmented images: D's scores in Gmain and Dmain are D(const),
        # and R1 (w.r.t. the images before augmentation) is exactly 0.
        logs, before, after, expected = phase_runs
        const = float(expected["const_logit"][0, 0])
        np.testing.assert_allclose(expected["const_logit"], const, rtol=1e-6)  # one value for the whole batch
        for name in ("scores_real", "scores_fake"):
            np.testing.assert_allclose(logs["const"][name], [const], rtol=1e-5, err_msg=name)
        assert logs["const"]["signs_real"] == [float(np.sign(const))]
        assert logs["const"]["r1_penalty"] == [0.0]
        assert logs["none"]["r1_penalty"][0] > 0
        # G's gradient through a constant is zero, so Adam leaves G as it was.
        for old, new in zip(before["const"], after["const"]):
            np.testing.assert_array_equal(new, old)

    def test_each_augmentation_has_its_own_seed_stream(self):
        # New streams come last: the draws of runs without augmentation do not change.
        streams = random_streams.STREAMS
        assert streams[:8] == ("g_main", "g_reg", "g_reg_noise", "d_main", "mixing", "labels", "mixing_z", "mixing_p")
        assert set(streams[8:]) == {"augment_g_main", "augment_d_fake", "augment_d_real", "augment_d_reg"}
        assert len(set(streams)) == len(streams) <= random_streams.STREAMS_PER_STEP

    def test_generator_gradients_pass_through_the_augmentation(self, phase_runs):
        logs, before, after, expected = phase_runs
        # Gmain scored the negated fakes, and G learned from them (through a
        # constant, above, it learned nothing: the gradient is the chain rule's).
        np.testing.assert_allclose(logs["negate"]["g_loss"], [expected["g_loss_negated"]], rtol=1e-5)
        changed = [not np.array_equal(old, new) for old, new in zip(before["negate"], after["negate"])]
        assert sum(changed) >= len(changed) // 2
        assert all(np.isfinite(v).all() for v in after["negate"])
        # With beta_1 = 0 Adam's first moment is G's gradient: mostly nonzero, and
        # none replaced by nan_to_num (NaN -> 0 and +-inf -> +-1e5).
        grads = np.concatenate([g.ravel() for g in after["negate_grads"]])
        assert np.isfinite(grads).all() and np.abs(grads).max() < 1e4
        assert np.mean(grads != 0) > 0.9


class TestAdaptiveAugment(TestCase):
    def run_steps(self, ada, p, signs_per_step, batch, first_step=0):
        """Applies `updates` for each step's signs; returns p after each step."""
        trace = []
        for i, signs in enumerate(signs_per_step):
            signs = np.asarray(signs, "float32")
            for variable, new in ada.updates(p, signs.sum(), signs.size, first_step + i, batch):
                variable.assign(new)
            trace.append(float(value(p)))
        return trace

    def test_rule_with_hand_computed_numbers(self):
        # batch 8, interval 3, kimg 2: p moves by 8 * 3 / 2000 = 0.012 after steps 2, 5, ...
        ada = AdaptiveAugment(target=0.6, interval=3, kimg=2.0)
        p = keras.Variable(0.5, dtype="float32", trainable=False)
        assert ada.adjustment(8) == pytest.approx(0.012)
        ones, minus = [1.0] * 8, [-1.0] * 8
        # Steps 0-2: mean (8 - 8 + 2) / 24 = 0.083 < 0.6 (step 2: five +1, three -1); falls.
        trace = self.run_steps(ada, p, [ones, minus, [1.0] * 5 + [-1.0] * 3], 8)
        fell = np.float32(0.5) - np.float32(0.012)
        assert trace == [0.5, 0.5, float(fell)]
        assert float(value(ada.sign_sum)) == 0.0 and int(value(ada.sign_count)) == 0
        # Steps 3-5: an overfitting D (every sign +1): p rises by the same amount.
        trace = self.run_steps(ada, p, [ones, ones, ones], 8, first_step=3)
        assert trace[:2] == [float(fell)] * 2 and trace[2] == float(fell + np.float32(0.012))
        # Mid-interval the statistics accumulate (counted over all calls, e.g. Dmain and Dreg).
        self.run_steps(ada, p, [ones + [0.0, -1.0]], 8, first_step=6)
        assert float(value(ada.sign_sum)) == 7.0 and int(value(ada.sign_count)) == 10

    def test_never_below_zero_and_unchanged_at_the_target(self):
        ada = AdaptiveAugment(target=0.5, interval=1, kimg=1.0)
        p = keras.Variable(0.003, dtype="float32", trainable=False)
        assert self.run_steps(ada, p, [[-1.0] * 4], 4) == [0.0]  # 0.003 - 0.004 clamps to 0
        assert self.run_steps(ada, p, [[-1.0] * 4], 4, first_step=1) == [0.0]
        assert self.run_steps(ada, p, [[1.0, 1.0, 1.0, 1.0]], 4, first_step=2) == [np.float32(0.004)]
        # A mean sign equal to the target leaves p alone.
        assert self.run_steps(ada, p, [[1.0, 1.0, 1.0, -1.0]], 4, first_step=3) == [np.float32(0.004)]

    def test_fixed_p_and_validation(self):
        ada = AdaptiveAugment(target=None)
        assert not ada.adaptive and ada.updates(keras.Variable(0.3), 4.0, 4, 3, 4) == []
        clone = AdaptiveAugment.from_config(AdaptiveAugment(0.7, 2, 100, name="c").get_config())
        assert (clone.target, clone.interval, clone.kimg, clone.name) == (0.7, 2, 100.0, "c")
        for kwargs, match in (({"target": 1.5}, "target=1.5"), ({"interval": 0}, "interval=0"),
                              ({"kimg": 0}, "kimg=0"), ({"kimg": float("inf")}, "kimg=inf")):
            with pytest.raises(ValueError, match=match):
                AdaptiveAugment(**kwargs)

    def test_gan_compile_validates_and_stores_the_settings(self, gans):
        gan = gans[1]
        for kwargs, match in (({"ada_target": 2}, "Received: ada_target=2"),
                              ({"ada_interval": 0}, "Received: ada_interval=0"),
                              ({"ada_kimg": -1}, "Received: ada_kimg=-1")):
            with pytest.raises(ValueError, match=match):
                gan.compile(**kwargs)
        with pytest.raises(ValueError, match="augment=3"):
            CREPSGAN(gan.generator, gan.discriminator, augment=3)
        config = gan.get_compile_config()
        assert (config["ada_target"], config["ada_interval"], config["ada_kimg"]) == (0.6, 2, 0.1)
        assert (gan.ada.target, gan.ada.interval, gan.ada.kimg) == (0.6, 2, 0.1)


@pytest.fixture(scope="module")
def ada_run(gans, phase_runs):
    """The augmented GAN against an overfitting D (every real sign +1) for 5 steps, from p = 0.

    Returns the GAN and `(p, sign_sum, sign_count)` after each step; the
    state after step 4 is mid-interval. Runs after `phase_runs` (same GAN).
    """
    _, gan, initial = gans
    restore(gan, initial)
    gan.augment.set(0.0, -1.0)
    set_d_bias(gan, 100.0)
    trace = []
    for _ in range(5):
        trace.append((fit_steps(gan, 1)["augment_p"][0], float(value(gan.ada.sign_sum)),
                      int(value(gan.ada.sign_count))))
    return gan, trace


class TestAdaInTraining(TestCase):
    def test_p_rises_on_an_overfitting_discriminator(self, ada_run):
        _, trace = ada_run
        # 8 signs a step (4 in Dmain, 4 in Dreg); p adjusts after odd steps.
        assert trace == [(0.0, 8.0, 8), (float(STEP), 0.0, 0), (float(STEP), 8.0, 8),
                         (float(2 * STEP), 0.0, 0), (float(2 * STEP), 8.0, 8)]

    def test_resume_exactly_then_p_falls_to_zero(self, ada_run, tmp_path):
        gan, _ = ada_run
        path = os.path.join(str(tmp_path), "gan.keras")
        gan.save(path)
        restored = keras.saving.load_model(path)
        saved, loaded = snapshot(gan), snapshot(restored)
        assert saved.keys() == loaded.keys()
        for key in saved:
            np.testing.assert_array_equal(loaded[key], saved[key], err_msg=key)
        assert isinstance(restored.augment, BlendAugment)
        assert (restored.ada.target, restored.ada.interval, restored.ada.kimg) == (0.6, 2, 0.1)
        # Now every real sign is -1: step 5 averages 8 signs +1 and 8 signs -1 (0 < 0.6), p falls.
        for model in (gan, restored):
            set_d_bias(model, -100.0)
            fit_steps(model, 1)
        after, after_restored = snapshot(gan), snapshot(restored)
        for key in after:
            np.testing.assert_allclose(after_restored[key], after[key], rtol=1e-6, atol=1e-6, err_msg=key)
        assert after["p"] == 2 * STEP - STEP
        # Down to 0 and no further.
        trace = [fit_steps(gan, 1)["augment_p"][0] for _ in range(4)]
        assert trace == [float(STEP), 0.0, 0.0, 0.0]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    rng = np.random.RandomState(0)
    for i in range(8):
        Image.fromarray(rng.randint(0, 256, (16, 16, 3)).astype(np.uint8)).save(root / f"img{i}.png")
    return str(root)


def train_args(data, outdir, *extra):
    return ["train.py", "--data", data, "--outdir", str(outdir), "--cfg", "tiny", "--cbase", "128", "--cmax", "16",
            "--batch", "4", "--gamma", "0", "--pl_weight", "0", "--grid_columns", "2", "--metrics", "none", *extra]


def dry_run(argv, capsys):
    assert train.run(argv) is None
    document, _ = json.JSONDecoder().raw_decode(capsys.readouterr().out)
    return document


class TestTrainFlags(TestCase):
    def test_dry_run_records_the_augmentation(self, data, tmp_path, capsys):
        document = dry_run(train_args(data, tmp_path, "--dry_run", "--aug", "fixed", "--p", "0.3"), capsys)
        options, resolved = document["options"], document["resolved"]
        assert (options["aug"], options["p"], options["augpipe"]) == ("fixed", 0.3, "bgc")
        assert resolved["augment"]["p"] == pytest.approx(0.3) and resolved["augment"]["preset"] == "bgc"
        assert resolved["compile"]["ada_target"] is None
        # The defaults: ADA from p = 0.
        document = dry_run(train_args(data, tmp_path, "--dry_run"), capsys)
        assert document["options"]["aug"] == "ada" and document["resolved"]["augment"]["p"] == 0.0
        compiled = document["resolved"]["compile"]
        assert (compiled["ada_target"], compiled["ada_interval"], compiled["ada_kimg"]) == (0.6, 4, 500.0)
        document = dry_run(train_args(data, tmp_path, "--dry_run", "--aug", "noaug"), capsys)
        assert document["resolved"]["augment"] is None

    @pytest.mark.parametrize(
        "extra, message",
        [
            (["--aug", "maybe"], "bad --aug='maybe': choose ada, fixed or noaug"),
            (["--aug", "fixed", "--p", "1.5"], "bad --p=1.5: must be in [0, 1]"),
            (["--p", "0.3"], "bad --p=0.3: only used with --aug fixed, not --aug ada"),
            (["--aug", "fixed", "--target", "0.5"], "bad --target=0.5: only used with --aug ada"),
            (["--target", "nan"], "bad --target=nan: must be in [0, 1]"),
            (["--augpipe", "bgx"], "bad --augpipe='bgx': choose one of blit, "),
            (["--aug", "noaug", "--augpipe", "bg"], "bad --augpipe='bg': only used with --aug ada or fixed"),
            (["--ada_kimg", "0"], "bad --ada_kimg=0.0: must be a finite number > 0"),
        ],
    )
    def test_bad_flags_give_one_line(self, data, tmp_path, capsys, extra, message):
        train.FLAGS.unparse_flags()
        train.FLAGS(train_args(data, tmp_path, *extra))
        with pytest.raises(SystemExit) as raised:
            train.main(["train.py"])
        assert raised.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("train.py: ") and message in lines[0], lines

    def test_fixed_p_run_shows_augment_p(self, data, tmp_path):
        # One step with the real pipeline at a fixed p.
        argv = train_args(data, tmp_path, "--kimg", "0.004", "--tick", "0.004", "--aug", "fixed",
                          "--p", "0.5", "--augpipe", "blit")
        run_dir = train.run(argv)
        with open(os.path.join(run_dir, "log.txt")) as f:
            assert "augment_p 0.5\n" in f.read()
        state = keras.saving.load_model(os.path.join(run_dir, "training-state-000000.004.keras"))
        assert isinstance(state.augment, AugmentPipeline) and state.augment.preset == "blit"
        assert float(value(state.augment.p)) == 0.5 and state.get_compile_config()["ada_target"] is None

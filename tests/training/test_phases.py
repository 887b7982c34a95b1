"""The phase functions: each loss against its formula on tiny networks."""

import keras
import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps import CREPSDiscriminator
from keras_creps import CREPSGenerator
from keras_creps.training import phases
from keras_creps.training.losses import path_lengths

R = 8
N = 4


@pytest.fixture(scope="module")
def networks():
    keras.utils.set_random_seed(0)
    generator = CREPSGenerator(R, z_dim=8, w_dim=8, channel_base=64, channel_max=8, biline_channels=4, rank=1,
                               mapping_layers=1)
    discriminator = CREPSDiscriminator(R, channel_base=64, channel_max=8, mapping_layers=1)
    z = np.random.RandomState(0).standard_normal((N, 8)).astype("float32")
    real = np.random.RandomState(1).uniform(-1, 1, (N, R, R, 3)).astype("float32")
    return generator, discriminator, z, real


def numpy(x):
    return np.asarray(to_numpy(x), "float64")


def softplus(x):
    return np.logaddexp(0.0, x)


class TestPhases(TestCase):
    def test_style_mixing_takes_the_tail_from_the_second_latents(self, networks):
        generator, _, z, _ = networks
        mixing = phases.StyleMixing(1.0, z_seed=3, cutoff_seed=4, draw_seed=5)
        ws, unmixed = phases.map_latents(generator, z, None, mixing)
        first = numpy(generator.mapping(z, None))
        second = numpy(generator.mapping(keras.random.normal(z.shape, seed=3), None))
        np.testing.assert_array_equal(numpy(unmixed), first)
        from_first = np.all(numpy(ws) == first, axis=(0, 2))
        cutoff = int(np.argmin(from_first))
        assert 1 <= cutoff < generator.num_ws and from_first[:cutoff].all()
        np.testing.assert_array_equal(numpy(ws)[:, cutoff:], second[:, cutoff:])
        ws, unmixed = phases.map_latents(generator, z, None, None)
        np.testing.assert_array_equal(numpy(ws), first)

    def test_g_main_and_d_main_are_the_logistic_losses(self, networks):
        generator, discriminator, z, real = networks
        fake = phases.synthesize(generator, generator.mapping(z, None))
        fake_logits, real_logits = numpy(discriminator(fake)), numpy(discriminator(real))
        loss, (losses, logits) = phases.g_main(generator, discriminator, z, None, 2 * N)
        np.testing.assert_allclose(numpy(logits), fake_logits, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(numpy(loss), softplus(-fake_logits).sum() / (2 * N), rtol=1e-5)
        loss, (losses, real_out, fake_out) = phases.d_main(discriminator, fake, None, real, None, N)
        expected = softplus(fake_logits) + softplus(-real_logits)
        np.testing.assert_allclose(numpy(losses), expected, rtol=1e-5)
        np.testing.assert_allclose(numpy(loss), expected.sum() / N, rtol=1e-5)

    def test_d_reg_is_r1_before_augmentation(self, networks):
        _, discriminator, _, real = networks
        loss, (penalty, logits) = phases.d_reg(discriminator, real, None, weight=3.0, batch_size=N)
        assert numpy(penalty).shape == (N,) and (numpy(penalty) > 0).all()
        np.testing.assert_allclose(numpy(loss), numpy(penalty).sum() * 3.0 / N, rtol=1e-5)
        # D sees a constant image: its gradient w.r.t. the reals is zero.
        constant = lambda images: images * 0.0 + 0.25  # noqa: E731 (connected, so the gradient is 0, not None)
        _, (penalty, _) = phases.d_reg(discriminator, real, None, 1.0, N, augment=constant)
        np.testing.assert_array_equal(numpy(penalty), np.zeros(N))

    def test_g_reg_moves_pl_mean_and_penalizes_the_distance(self, networks):
        generator, _, z, _ = networks
        noise = np.random.RandomState(2).standard_normal((N, R, R, 3)).astype("float32") / R
        loss, (penalty, new_mean) = phases.g_reg(generator, z, None, noise, 0.5, 0.1, weight=2.0, batch_size=N)
        grid = np.linspace(0, 1, R, dtype="float32")
        lengths = numpy(path_lengths(generator, generator.mapping(z, None), noise, grid, grid))
        expected_mean = 0.5 + 0.1 * (lengths.mean() - 0.5)
        np.testing.assert_allclose(numpy(new_mean), expected_mean, rtol=1e-5)
        np.testing.assert_allclose(numpy(penalty), (lengths - expected_mean) ** 2, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(numpy(loss), numpy(penalty).sum() * 2.0 / N, rtol=1e-5)

    def test_d_main_fakes_update_w_avg(self, networks):
        generator, _, z, _ = networks
        before = numpy(generator.mapping.w_avg)
        fake = phases.generate_for_d_main(generator, z, None)
        assert tuple(fake.shape) == (N, R, R, 3)
        assert not np.array_equal(numpy(generator.mapping.w_avg), before)

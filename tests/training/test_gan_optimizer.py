"""GANOptimizer: one optimizer per network, its variable layout, updates and dynamic loss scaling."""

import keras
import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps.training.gan_optimizer import GANOptimizer
from keras_creps.training.gan_optimizer import default_adam
from keras_creps.training.gan_optimizer import optimizer_pair


def value(variable):
    return np.array(to_numpy(variable.value))


def setup(**kwargs):
    """`(optimizer, G's variable, D's variable)`; SGD with rates 0.1 (G) and 0.5 (D)."""
    g_w = keras.Variable(np.array([1.0, -2.0, 3.0], "float32"), name="g_w")
    d_w = keras.Variable(np.array([0.5, 4.0], "float32"), name="d_w")
    optimizer = GANOptimizer(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.5), **kwargs)
    optimizer.set_generator_variables([g_w])
    optimizer.build([d_w, g_w])  # any order: variables are told apart by identity
    return optimizer, g_w, d_w


def squares(variable, factor=1.0):
    def loss_fn():
        loss = keras.ops.sum(keras.ops.square(variable.value)) * factor
        return loss, loss

    return loss_fn


class TestGANOptimizer(TestCase):
    def test_each_network_has_its_optimizer(self):
        optimizer, g_w, d_w = setup()
        assert optimizer.network_variables("generator") == [g_w]
        assert optimizer.network_variables("discriminator") == [d_w]
        # Layout (saved training states depend on it): own iterations and
        # learning rate, then G's optimizer's variables, then D's.
        # (Keras numbers optimizer names globally, `sgd`, `sgd_1`, ..., so
        # compare with the names the two inner optimizers really got.)
        owners = [v.path.split("/")[0] for v in optimizer.variables]
        own, g_name, d_name = owners[0], owners[2], owners[4]
        assert own.startswith("gan_optimizer") and g_name.startswith("sgd") and d_name.startswith("sgd")
        assert g_name != d_name and owners == [own, own, g_name, g_name, d_name, d_name]
        aux = optimizer.update("generator", squares(g_w), [g_w, d_w])
        assert float(to_numpy(aux)) == pytest.approx(14.0)
        np.testing.assert_allclose(value(g_w), np.array([1.0, -2.0, 3.0]) * (1 - 0.1 * 2), rtol=1e-6)
        np.testing.assert_array_equal(value(d_w), [0.5, 4.0])
        optimizer.update("discriminator", squares(d_w), [g_w, d_w])
        np.testing.assert_allclose(value(d_w), [0.0, 0.0], atol=1e-7)  # w - 0.5 * 2w
        assert int(value(optimizer.generator_optimizer.iterations)) == 1
        assert int(value(optimizer.discriminator_optimizer.iterations)) == 1

    def test_loss_scaling_undoes_non_finite_updates(self):
        optimizer, g_w, d_w = setup(loss_scaling=True, initial_loss_scale=4.0, loss_scale_growth_steps=1)
        owners = [v.path.split("/")[-1] for v in optimizer.variables[:6]]
        assert owners[2:] == ["generator_loss_scale", "generator_finite_steps", "discriminator_loss_scale",
                              "discriminator_finite_steps"]
        optimizer.update("generator", squares(g_w), [g_w, d_w])
        np.testing.assert_allclose(value(g_w), [0.8, -1.6, 2.4], rtol=1e-6)  # unscaled gradients
        assert float(value(optimizer.loss_scale("generator"))) == 8.0  # grows after 1 finite step
        optimizer.update("generator", squares(g_w, factor=np.float32(np.inf)), [g_w, d_w])
        np.testing.assert_allclose(value(g_w), [0.8, -1.6, 2.4], rtol=1e-6)  # undone
        assert float(value(optimizer.loss_scale("generator"))) == 4.0
        assert float(value(optimizer.loss_scale("discriminator"))) == 4.0

    def test_optimizer_pair_defaults_and_adjustment(self):
        g, d = optimizer_pair(None, keras.optimizers.Adam(0.01, beta_1=0.5), g_reg_interval=4, d_reg_interval=None)
        assert float(g.learning_rate) == pytest.approx(0.002 * 4 / 5) and g.beta_2 == pytest.approx(0.99**0.8)
        assert float(d.learning_rate) == pytest.approx(0.01) and d.beta_1 == 0.5
        assert default_adam().epsilon == 1e-8

    def test_config_round_trip(self):
        optimizer, *_ = setup(loss_scaling=True, initial_loss_scale=8.0)
        clone = GANOptimizer.from_config(optimizer.get_config())
        assert clone.get_config() == optimizer.get_config()
        assert isinstance(clone.discriminator_optimizer, keras.optimizers.SGD)

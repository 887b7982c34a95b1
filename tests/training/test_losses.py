"""Losses and regularizers against the official reference values and finite differences."""

import keras
import numpy as np
import pytest
from keras import ops
from test_case import TestCase
from test_case import load_fixture
from test_case import nchw_to_nhwc
from test_case import to_numpy

from keras_creps.convert import discriminator_from_official
from keras_creps.convert import generator_from_official
from keras_creps.training import discriminator_logistic_loss
from keras_creps.training import generator_logistic_loss
from keras_creps.training import gradients
from keras_creps.training import path_length_penalty
from keras_creps.training import path_lengths
from keras_creps.training import r1_penalty


@pytest.fixture(scope="module")
def tiny():
    arrays, meta = load_fixture("creps_tiny")
    g_state = {k[2:]: v for k, v in arrays.items() if k.startswith("G/")}
    d_state = {
        k[2:]: v for k, v in arrays.items() if k.startswith("D/") and not k.startswith(("D/in/", "D/out/"))
    }
    generator = generator_from_official(g_state, **meta["G_kwargs"])
    discriminator = discriminator_from_official(d_state, **meta["D"]["kwargs"])
    return generator, discriminator, arrays


def _assert_matches_finite_differences(fn, x, grad, eps=2e-3, count=8, tol=5e-2, seed=0):
    """Checks `grad = d sum(fn(x)) / dx` at `count` random coordinates.

    Central differences per coordinate (few ReLU kinks crossed), in float64
    sums; errors are measured against `max|grad|`.
    """
    grad = np.asarray(to_numpy(ops.stop_gradient(grad)), np.float64).reshape(-1)
    flat = np.asarray(x, np.float32).reshape(-1)
    scale = np.abs(grad).max()
    assert scale > 0
    for index in np.random.RandomState(seed).choice(flat.size, count, replace=False):
        step = np.zeros_like(flat)
        step[index] = eps
        plus = np.sum(np.asarray(to_numpy(ops.stop_gradient(fn((flat + step).reshape(np.shape(x))))), np.float64))
        minus = np.sum(np.asarray(to_numpy(ops.stop_gradient(fn((flat - step).reshape(np.shape(x))))), np.float64))
        numeric = (plus - minus) / (2 * eps)
        assert abs(numeric - grad[index]) <= tol * scale, (index, numeric, grad[index], scale)


class TestLogisticLosses(TestCase):
    def test_match_official(self, tiny):
        _, _, arrays = tiny
        self.assert_close_to_reference(
            generator_logistic_loss(arrays["D/out/logits_gen"]), arrays["loss/G_main"], label="loss/G_main"
        )
        fake, real = discriminator_logistic_loss(arrays["D/out/logits_real"], arrays["D/out/logits_gen"])
        self.assert_close_to_reference(fake, arrays["loss/D_gen"], label="loss/D_gen")
        self.assert_close_to_reference(real, arrays["loss/D_real"], label="loss/D_real")

    def test_stable_for_large_logits(self):
        loss = to_numpy(generator_logistic_loss(np.array([[-200.0], [200.0]], "float32")))
        np.testing.assert_allclose(loss[:, 0], [200.0, 0.0], atol=1e-5)


class TestR1Penalty(TestCase):
    def test_matches_official(self, tiny):
        _, discriminator, arrays = tiny
        images = nchw_to_nhwc(arrays["D/in/real_img"])
        penalty, logits = r1_penalty(discriminator, ops.convert_to_tensor(images))
        self.assert_close_to_reference(penalty, arrays["D/out/r1_penalty"], tol=1e-4, label="D r1_penalty")
        self.assert_close_to_reference(logits, arrays["D/out/logits_real"], label="D r1 logits")

    def test_input_gradient_matches_finite_difference(self, tiny):
        _, discriminator, arrays = tiny
        images = nchw_to_nhwc(arrays["D/in/real_img"]).astype("float32")
        _, grads = gradients.get().input_gradient(
            lambda x: discriminator(x), ops.convert_to_tensor(images)
        )
        _assert_matches_finite_differences(lambda x: discriminator(x), images, grads)

    def test_weight_gradient_of_penalty_matches_finite_difference(self, tiny):
        # Second order: d r1 / d weights through the input gradient.
        _, discriminator, arrays = tiny
        images = ops.convert_to_tensor(nchw_to_nhwc(arrays["D/in/real_img"]).astype("float32"))
        variable = discriminator.epilogue.out.kernel
        backend = gradients.get()
        _, _, (grad,) = backend.value_and_grad(
            lambda: (ops.sum(r1_penalty(discriminator, images)[0]), None),
            [variable],
            discriminator.variables,
        )
        original = to_numpy(variable)

        def penalty_at(kernel):
            variable.assign(kernel)
            return ops.sum(r1_penalty(discriminator, images)[0])

        try:
            _assert_matches_finite_differences(penalty_at, original, grad, count=6)
        finally:
            variable.assign(original)


class TestPathLength(TestCase):
    def test_matches_official(self, tiny):
        generator, _, arrays = tiny
        ws = ops.convert_to_tensor(arrays["out/ws"])
        noise = ops.convert_to_tensor(nchw_to_nhwc(arrays["pl/in/pl_noise"]))
        lengths = path_lengths(generator, ws, noise)
        self.assert_close_to_reference(lengths, arrays["pl/out/pl_lengths"], tol=1e-4, label="pl_lengths")
        penalty, new_mean = path_length_penalty(lengths, ops.convert_to_tensor(0.0), 0.01)
        self.assert_close_to_reference(
            np.reshape(to_numpy(new_mean), ()), arrays["pl/out/pl_mean_after_first_update"],
            tol=1e-4, label="pl_mean_after_first_update",
        )
        self.assert_close_to_reference(penalty, arrays["pl/out/pl_penalty"], tol=1e-4, label="pl_penalty")

    def test_gradient_matches_official_and_finite_difference(self, tiny):
        generator, _, arrays = tiny
        ws = arrays["out/ws"].astype("float32")
        noise = nchw_to_nhwc(arrays["pl/in/pl_noise"]).astype("float32")
        from keras_creps.models.creps_generator import native_coords

        grid = native_coords(generator.resolution)

        def weighted(w):
            return ops.multiply(generator.synthesis(w, grid, grid), ops.convert_to_tensor(noise))

        _, grads = gradients.get().input_gradient(weighted, ops.convert_to_tensor(ws))
        self.assert_close_to_reference(grads, arrays["pl/out/pl_grads"], tol=1e-4, label="pl_grads")
        _assert_matches_finite_differences(weighted, ws, grads)

    def test_penalty_is_differentiable_wrt_weights(self, tiny):
        generator, _, arrays = tiny
        ws = ops.convert_to_tensor(arrays["out/ws"])
        noise = ops.convert_to_tensor(nchw_to_nhwc(arrays["pl/in/pl_noise"]))
        variables = generator.synthesis.trainable_variables

        def loss():
            penalty, _ = path_length_penalty(path_lengths(generator, ws, noise), 0.0, 0.01)
            return ops.sum(penalty), None

        _, _, grads = gradients.get().value_and_grad(loss, variables, generator.variables)
        nonzero = [float(np.abs(to_numpy(g)).max()) > 0 for g in grads]
        assert sum(nonzero) > len(grads) // 2


class TestGradientModule(TestCase):
    def test_value_and_grad_keeps_assignments(self):
        variable = keras.Variable(np.array([1.0, 2.0], "float32"))
        counter = keras.Variable(0.0, trainable=False)

        def loss():
            counter.assign(counter.value + 1.0)
            return ops.sum(ops.square(variable.value)), counter.value

        value, aux, (grad,) = gradients.get().value_and_grad(loss, [variable], [variable, counter])
        assert float(to_numpy(value)) == pytest.approx(5.0)
        np.testing.assert_allclose(to_numpy(grad), [2.0, 4.0])
        assert float(to_numpy(counter)) == 1.0
        assert float(to_numpy(aux)) == 1.0

    def test_unconnected_variable_gets_zero_gradient(self):
        used = keras.Variable(np.ones(2, "float32"))
        unused = keras.Variable(np.ones(3, "float32"))
        _, _, grads = gradients.get().value_and_grad(
            lambda: (ops.sum(used.value), None), [used, unused], [used, unused]
        )
        np.testing.assert_array_equal(to_numpy(grads[1]), np.zeros(3))

    def test_unknown_backend_is_refused(self, monkeypatch):
        monkeypatch.setattr(keras.config, "backend", lambda: "numpy")
        with pytest.raises(ValueError, match="numpy"):
            gradients.get()

    @pytest.mark.skipif(keras.config.backend() != "torch", reason="Python reference cycles hold tensors on PyTorch only")
    def test_value_and_grad_frees_the_forward_activations(self):
        # Keras on PyTorch leaves the inputs of a layer called with two
        # arguments (as the discriminator is, with images and labels) in a
        # reference cycle; with automatic collection off, only
        # value_and_grad's own collection can free them.
        import gc
        import weakref

        class Product(keras.layers.Layer):
            def build(self, x_shape, c_shape=None):
                self.kernel = self.add_weight(shape=(3, 4))

            def call(self, x, c=None):
                return ops.matmul(x, self.kernel)

        layer = Product()
        layer.build((None, 3))
        held = []

        def loss():
            hidden = ops.convert_to_tensor(np.ones((2, 3), "float32")) * 2.0
            held.append(weakref.ref(hidden))
            return ops.sum(layer(hidden, None)), None

        was_enabled = gc.isenabled()
        gc.collect()
        gc.disable()
        try:
            gradients.get().value_and_grad(loss, layer.trainable_variables, layer.variables)
            assert held[0]() is None
        finally:
            if was_enabled:
                gc.enable()

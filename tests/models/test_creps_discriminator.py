import keras
import numpy as np
import pytest

import discriminator_reference as ref
from keras_creps.convert import discriminator_from_official
from keras_creps.models.creps_discriminator import CREPSDiscriminator
from test_case import TestCase
from test_case import load_fixture
from test_case import max_rel_error
from test_case import nchw_to_nhwc
from test_case import to_numpy

TINY = {"resolution": 16, "channel_base": 512, "channel_max": 64}
# One small conditional configuration shared by several tests (on JAX every
# new weight or input shape costs a compilation).
SMALL_COND = dict(TINY, c_dim=4, mapping_layers=2)


def _official_state(arrays):
    return {k[2:]: v for k, v in arrays.items() if k.startswith("D/") and not k.startswith(("D/in/", "D/out/"))}


def _input_gradient(model, images):
    """d sum(model(images)) / d images, with the backend's own autodiff."""
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(images)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(model(x))
        return tape.gradient(total, x).numpy()
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        grad = jax.jit(jax.grad(lambda x: model.stateless_call(trainable, non_trainable, x)[0].sum()))
        return np.asarray(grad(images))
    import torch

    x = torch.tensor(images, requires_grad=True)
    model(x).sum().backward()
    return x.grad.numpy()


def _r1_weight_gradients(model, images):
    """Gradients of the R1 penalty `sum((d sum(D(x)) / dx)^2)` w.r.t. the weights (double backprop)."""
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(images)
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                total = tf.reduce_sum(model(x))
            penalty = tf.reduce_sum(tf.square(inner.gradient(total, x)))
        grads = outer.gradient(penalty, model.trainable_variables)
        return [np.zeros(v.shape, "float32") if g is None else g.numpy() for v, g in zip(model.trainable_variables, grads)]
    if backend == "jax":
        import jax

        non_trainable = [v.value for v in model.non_trainable_variables]

        def penalty(trainable):
            inner = jax.grad(lambda x: model.stateless_call(trainable, non_trainable, x)[0].sum())
            return (inner(images) ** 2).sum()

        return [np.asarray(g) for g in jax.jit(jax.grad(penalty))([v.value for v in model.trainable_variables])]
    import torch

    x = torch.tensor(images, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    weights = [v.value for v in model.trainable_variables]
    grads = torch.autograd.grad(grad.square().sum(), weights, allow_unused=True)
    return [np.zeros(w.shape, "float32") if g is None else g.numpy() for w, g in zip(weights, grads)]


def _to_official_state(model):
    """Inverse of the converter: official names and layouts of `model`'s weights."""
    state = {}

    def conv(prefix, layer):
        state[f"{prefix}.weight"] = np.transpose(to_numpy(layer.kernel), (3, 2, 0, 1))
        if layer.bias is not None:
            state[f"{prefix}.bias"] = to_numpy(layer.bias)

    def dense(prefix, layer):
        state[f"{prefix}.weight"] = to_numpy(layer.kernel).T
        state[f"{prefix}.bias"] = to_numpy(layer.bias)

    for res, block in zip(model.block_resolutions, model.blocks):
        for layer in (block.fromrgb, block.conv0, block.conv1, block.skip):
            if layer is not None:
                conv(f"b{res}.{layer.name}", layer)
    if model.mapping is not None:
        dense("mapping.embed", model.mapping.embed)
        for i, layer in enumerate(model.mapping.dense_layers):
            dense(f"mapping.fc{i}", layer)
    conv("b4.conv", model.epilogue.conv)
    dense("b4.fc", model.epilogue.fc)
    dense("b4.out", model.epilogue.out)
    return state


@pytest.fixture(scope="module")
def tiny():
    arrays, meta = load_fixture("creps_tiny")
    model = discriminator_from_official(_official_state(arrays), **meta["D"]["kwargs"])
    return model, arrays, meta


class TestCREPSDiscriminator(TestCase):
    @pytest.mark.parametrize(
        "output, images",
        [
            ("logits_real", lambda a: a["D/in/real_img"]),
            ("logits_real_b8", lambda a: a["D/in/real_img_b8"]),
            ("logits_real_first2", lambda a: a["D/in/real_img"][:2]),
            # Generated images (|x| ~ 240, batch 3, so one group of 3): exercises the clamps.
            ("logits_gen", lambda a: a["out/img_scale1"]),
        ],
    )
    def test_parity_with_official(self, tiny, output, images):
        model, arrays, _ = tiny
        # `predict_on_batch` runs the compiled forward pass (jit / tf.function);
        # the eager path is compared with the NumPy reference below.
        logits = model.predict_on_batch(nchw_to_nhwc(images(arrays)))
        self.assert_close_to_reference(logits, arrays[f"D/out/{output}"], tol=1e-4, label=f"D {output}")

    def test_input_gradient_matches_official_r1(self, tiny):
        model, arrays, _ = tiny
        grads = _input_gradient(model, nchw_to_nhwc(arrays["D/in/real_img"]))
        self.assert_close_to_reference(grads, nchw_to_nhwc(arrays["D/out/r1_grads"]), tol=1e-3, label="D r1_grads")

    def test_r1_penalty_is_differentiable_wrt_weights(self, tiny):
        model, arrays, _ = tiny
        grads = _r1_weight_gradients(model, nchw_to_nhwc(arrays["D/in/real_img"]))
        assert len(grads) == len(model.trainable_variables) == 18
        for variable, grad in zip(model.trainable_variables, grads):
            assert grad.shape == tuple(variable.shape) and np.all(np.isfinite(grad)), variable.path
        # The network is piecewise linear after the minibatch-stddev nonlinearity, so the
        # biases there only move activation boundaries: zero gradient (also in the official code).
        zero = sorted(v.path.split("/", 1)[1] for v, g in zip(model.trainable_variables, grads) if not np.any(g))
        assert zero == ["b4/conv/bias", "b4/fc/bias", "b4/out/bias"]

    def test_matches_numpy_reference(self, tiny):
        model, arrays, _ = tiny
        images = nchw_to_nhwc(arrays["D/in/real_img_b8"])
        np.testing.assert_allclose(to_numpy(model(images)), ref.discriminator(model, images), rtol=1e-4, atol=1e-5)

    def test_mixed_precision(self, tiny):
        model, arrays, _ = tiny
        mixed = CREPSDiscriminator(**TINY, dtype="mixed_bfloat16")
        mixed.set_weights(model.get_weights())
        assert mixed.blocks[0].compute_dtype == "bfloat16" and mixed.epilogue.compute_dtype == "float32"
        logits = mixed.predict_on_batch(nchw_to_nhwc(arrays["D/in/real_img"]))
        assert keras.backend.standardize_dtype(logits.dtype) == "float32"
        assert max_rel_error(logits, arrays["D/out/logits_real"]) < 5e-2

    def test_structure(self):
        model = CREPSDiscriminator(**TINY)
        assert model.built
        assert [b.name for b in model.blocks] == ["b16", "b8"] and model.epilogue.name == "b4"
        assert model.resolution == 16 and model.img_channels == 3 and model.c_dim == 0 and model.cmap_dim == 0
        assert [model.channels(r) for r in (16, 8, 4)] == [32, 64, 64]
        assert model.count_params() == 211_041  # the official D's 28 state-dict entries minus 10 filters
        assert model.compute_output_shape((5, 16, 16, 3)) == (5, 1)

    def test_conditional(self):
        model = CREPSDiscriminator(**SMALL_COND)
        assert model.cmap_dim == 64 and model.mapping is not None
        rng = np.random.RandomState(0)
        images = rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
        labels = np.eye(4, dtype="float32")[[0, 2, 3, 1]]
        logits = to_numpy(model(images, c=labels))
        assert logits.shape == (4, 1)
        np.testing.assert_allclose(logits, ref.discriminator(model, images, labels), rtol=1e-4, atol=1e-5)
        other = to_numpy(model(images, c=np.eye(4, dtype="float32")[[1, 1, 1, 1]]))
        assert np.max(np.abs(other - logits)) > 1e-6
        with pytest.raises(ValueError, match="Received: c=None"):
            model(images)

    def test_saving(self, tmp_path):
        model = CREPSDiscriminator(**SMALL_COND)
        images = np.random.RandomState(1).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
        labels = np.eye(4, dtype="float32")[[0, 1, 2, 0]]
        restored = self.run_model_saving_test(model, lambda m: m(images, c=labels), tmp_path)
        assert isinstance(restored, CREPSDiscriminator) and restored.cmap_dim == 64

    def test_saving_unconditional(self, tiny, tmp_path):
        model, arrays, _ = tiny
        images = nchw_to_nhwc(arrays["D/in/real_img"])
        restored = self.run_model_saving_test(model, lambda m: m(images), tmp_path)
        self.assert_close_to_reference(restored(images), arrays["D/out/logits_real"], label="D logits_real (reloaded)")

    def test_get_config_round_trip(self):
        kwargs = dict(SMALL_COND, conv_clamp=None, cmap_dim=64, mbstd_group_size=None)
        model = CREPSDiscriminator(**kwargs)
        config = model.get_config()
        for key, value in dict(kwargs, img_channels=3).items():
            assert config[key] == value
        clone = CREPSDiscriminator.from_config(config)
        assert clone.get_config() == config
        assert [v.shape for v in clone.weights] == [v.shape for v in model.weights]

    def test_invalid_arguments(self, tiny):
        with pytest.raises(ValueError, match="Received: resolution=12"):
            CREPSDiscriminator(resolution=12)
        with pytest.raises(ValueError, match="Received: resolution=2"):
            CREPSDiscriminator(resolution=2)
        with pytest.raises(ValueError, match="Received: c_dim=-1"):
            CREPSDiscriminator(resolution=8, c_dim=-1)
        with pytest.raises(ValueError, match="Received: channel_base=8, resolution=16"):
            CREPSDiscriminator(resolution=16, channel_base=8)
        with pytest.raises(ValueError, match="Received: cmap_dim=0"):
            CREPSDiscriminator(resolution=8, c_dim=2, cmap_dim=0)
        with pytest.raises(ValueError, match="Received: conv_clamp=0"):
            CREPSDiscriminator(resolution=8, conv_clamp=0)
        with pytest.raises(ValueError, match=r"Received: images.shape=\(2, 8, 8, 3\)"):
            tiny[0](np.zeros((2, 8, 8, 3), "float32"))

    def test_converter_round_trip_conditional(self):
        model = CREPSDiscriminator(**SMALL_COND)
        state = _to_official_state(model)
        state.update({"b8.resample_filter": ref.fir_2d().astype("float32"), "b4.conv.resample_filter": ref.fir_2d().astype("float32")})
        converted = discriminator_from_official(
            state, c_dim=4, img_resolution=16, img_channels=3, channel_base=512, channel_max=64,
            mapping_kwargs={"num_layers": 2}, epilogue_kwargs={"mbstd_group_size": 4},
            block_kwargs={"freeze_layers": 0}, num_fp16_res=4,
        )
        images = np.random.RandomState(3).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
        labels = np.eye(4, dtype="float32")[[1, 3, 0, 0]]
        np.testing.assert_array_equal(to_numpy(converted(images, c=labels)), to_numpy(model(images, c=labels)))

    def test_converter_errors(self, tiny):
        _, arrays, meta = tiny
        kwargs = meta["D"]["kwargs"]
        state = _official_state(arrays)

        missing = dict(state)
        del missing["b8.conv1.bias"]
        with pytest.raises(ValueError, match=r"missing 'b8.conv1.bias' \(expected official shape \(64,\)\)"):
            discriminator_from_official(missing, **kwargs)

        wrong = dict(state, **{"b16.conv0.weight": np.zeros((32, 32, 1, 3), "float32")})
        with pytest.raises(ValueError, match=r"'b16.conv0.weight' has shape \(32, 32, 1, 3\), expected \(32, 32, 3, 3\)"):
            discriminator_from_official(wrong, **kwargs)

        extra = dict(state, **{"b32.conv0.weight": np.zeros((1,), "float32"), "mapping.fc0.weight": np.zeros((1,))})
        with pytest.raises(ValueError, match=r"\['b32.conv0.weight', 'mapping.fc0.weight'\]"):
            discriminator_from_official(extra, **kwargs)

        bad_filter = dict(state, **{"b8.conv1.resample_filter": np.ones((4, 4), "float32") / 16})
        with pytest.raises(ValueError, match="'b8.conv1.resample_filter' is not the normalised"):
            discriminator_from_official(bad_filter, **kwargs)

        with pytest.raises(ValueError, match="Received: architecture='skip'"):
            discriminator_from_official(state, architecture="skip", **kwargs)
        with pytest.raises(ValueError, match=r"Unsupported official discriminator kwargs: \['foo'\]"):
            discriminator_from_official(state, foo=1, **kwargs)
        with pytest.raises(ValueError, match="resample_filter"):
            discriminator_from_official(state, block_kwargs={"resample_filter": [1, 2, 1]}, **kwargs)
        with pytest.raises(ValueError, match="need 'img_resolution'"):
            discriminator_from_official(state, c_dim=0, img_channels=3)

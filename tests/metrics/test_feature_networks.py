"""Feature networks of the metrics: Keras InceptionV3 and NVIDIA's TorchScript Inception.

Nothing is downloaded: the Keras network gets random weights saved to a temp
file, and the TorchScript network is replaced by a small scripted module with
the same call contract (uint8 NCHW in, `return_features=True` -> [N, 2048]).
"""

import hashlib
import pickle
import sys

import keras
import numpy as np
import pytest
from keras.src.initializers.random_initializers import VarianceScaling
from keras.src.initializers.random_initializers import compute_fans
from test_case import TestCase
from test_case import to_numpy

from keras_creps.metrics.feature_network import INCEPTION_PKL_ENV
from keras_creps.metrics.feature_network import FeatureNetwork
from keras_creps.metrics.feature_network import feature_network
from keras_creps.metrics.inception_keras import IMAGENET_NOTOP_FILE
from keras_creps.metrics.inception_keras import InceptionKeras
from keras_creps.metrics.inception_torchscript import INCEPTION_PKL_URL

try:
    import torch
except ImportError:
    torch = None


def _images(n, h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def _direct_features(model, images):
    """The documented pipeline written out: float -> bilinear 299 -> x/127.5-1 -> model."""
    x = keras.ops.image.resize(images.astype("float32"), (299, 299), interpolation="bilinear", antialias=False)
    x = keras.applications.inception_v3.preprocess_input(x)
    # `predict_on_batch` on the feature network's own model and batch size:
    # JAX and TensorFlow reuse its compiled step instead of compiling again.
    return np.asarray(model.predict_on_batch(x), dtype=np.float64)


def _numpy_variance_scaling(rng):
    """A `VarianceScaling.__call__` drawing uniform samples with NumPy.

    On JAX, Keras' initializers compile one XLA random program per kernel
    shape: InceptionV3 has ~55 of them, which takes 20-60 s on two cores.
    """

    def call(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out}.get(self.mode, (fan_in + fan_out) / 2.0)
        limit = np.sqrt(3.0 * self.scale / max(1.0, fan))
        return keras.ops.convert_to_tensor(rng.uniform(-limit, limit, size=shape).astype("float32"), dtype=dtype)

    return call


if torch is not None:

    class ProbeDetector(torch.nn.Module):
        """Stand-in for NVIDIA's detector, same call contract.

        Rejects anything but a uint8 [N, 3, H, W] tensor; its features start
        with the per-channel means, the maximum and (H, W) of the raw input,
        followed by a conv/pool/linear head on the input resized to 299.
        """

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(3, 8, 3, stride=4)
            self.fc = torch.nn.Linear(8, 2042)

        def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
            if img.dtype != torch.uint8 or img.dim() != 4 or img.shape[1] != 3:
                raise RuntimeError("expected a uint8 [N, 3, H, W] tensor")
            x = img.to(torch.float32)
            n = x.shape[0]
            size = torch.tensor([[float(img.shape[2]), float(img.shape[3])]]).expand(n, 2)
            stats = torch.cat([x.mean(dim=[2, 3]), x.amax(dim=[1, 2, 3]).unsqueeze(1), size], dim=1)
            x = torch.nn.functional.interpolate(x, size=[299, 299], mode="bilinear", align_corners=False)
            x = torch.relu(self.conv((x - 128.0) / 128.0)).mean(dim=[2, 3])
            features = torch.cat([stats, self.fc(x)], dim=1)
            if return_features:
                return features
            return torch.softmax(features[:, :1008], dim=1)


@pytest.fixture(scope="module")
def keras_setup(tmp_path_factory):
    """InceptionV3 with seeded random weights, and the feature network loaded from its saved weights.

    Returns `(net.model, net, original)`: the model that the feature network
    loaded (checked to hold the saved weights) and the one that saved them.
    """
    path = tmp_path_factory.mktemp("inception") / "inception.weights.h5"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(VarianceScaling, "__call__", _numpy_variance_scaling(np.random.default_rng(1)))
        model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None)
        model.save_weights(path)
        net = feature_network("inception_keras", weights=str(path), batch_size=2)
    saved = [to_numpy(w) for w in model.weights]
    loaded = [to_numpy(w) for w in net.model.weights]
    assert len(saved) == len(loaded) == 376
    for a, b in zip(saved, loaded):
        np.testing.assert_array_equal(a, b)
    return net.model, net, model


@pytest.fixture
def probe_file(tmp_path):
    if torch is None:
        pytest.skip("torch is not installed")
    path = tmp_path / "inception-2015-12-05.pkl"
    torch.jit.save(torch.jit.script(ProbeDetector().eval()), str(path))
    return path


class ChannelMeans(FeatureNetwork):
    """A feature network without a network: per-channel means, recording its batches."""

    name = "channel_means"
    feature_dim = 3

    def __init__(self, batch_size, pad):
        super().__init__(batch_size=batch_size)
        self._pad_last_batch = pad
        self.batch_shapes = []

    def _extract(self, images):
        self.batch_shapes.append(images.shape)
        return images.mean(axis=(1, 2))


class TestFeatureNetworkBase(TestCase):
    def test_batches_padding_progress_and_grayscale(self):
        gray = _images(5, 4, 6, c=1)
        for pad, last in ((True, 2), (False, 1)):
            net = ChannelMeans(batch_size=2, pad=pad)
            calls = []
            features = net(gray, progress=lambda done, total: calls.append((done, total)))
            assert calls == [(2, 5), (4, 5), (5, 5)]
            assert net.batch_shapes == [(2, 4, 6, 3), (2, 4, 6, 3), (last, 4, 6, 3)]
            np.testing.assert_allclose(features, np.repeat(gray.mean(axis=(1, 2)), 3, axis=1))
            assert features.dtype == np.float64
        assert ChannelMeans(batch_size=8, pad=True)(gray[:0]).shape == (0, 3)

    def test_wrong_feature_shape(self):
        net = ChannelMeans(batch_size=2, pad=False)
        net.feature_dim = 4
        with pytest.raises(ValueError, match=r"expected \(2, 4\)"):
            net(_images(2, 3, 3))


class TestInceptionKeras(TestCase):
    def test_pipeline_contract(self, keras_setup):
        model, net, _ = keras_setup
        assert isinstance(net, InceptionKeras)
        assert (net.name, net.metric_suffix, net.feature_dim) == ("inception_keras", "_keras", 2048)
        images = _images(2, 64, 48)
        x = to_numpy(net.preprocess(images))
        assert x.shape == (2, 299, 299, 3) and x.min() >= -1.0 and x.max() <= 1.0
        resized = to_numpy(keras.ops.image.resize(images.astype("float32"), (299, 299), antialias=False))
        np.testing.assert_allclose(x, resized / 127.5 - 1.0, atol=1e-6)
        features = net(images)
        assert features.shape == (2, 2048) and features.dtype == np.float64
        np.testing.assert_array_equal(net(images), features)
        expected = _direct_features(model, images)
        self.assert_close_to_reference(features, expected, tol=1e-5, label="inception_keras pipeline")

    def test_input_already_299(self, keras_setup):
        model, net, _ = keras_setup
        images = _images(2, 299, 299, seed=2)
        expected = model.predict_on_batch(images.astype("float32") / 127.5 - 1.0).astype(np.float64)
        self.assert_close_to_reference(net(images), expected, tol=1e-5, label="inception_keras 299")
        assert net(images[:0]).shape == (0, 2048)

    def test_cache_key_hashes_weight_values(self, keras_setup):
        _, net, original = keras_setup
        key = net.cache_key()
        assert key.startswith("inception_keras-bilinear299-sha256:") and len(key.split(":")[-1]) == 16
        assert InceptionKeras(weights=original).cache_key() == key

    def test_keras_model_file_and_instance(self, tmp_path, monkeypatch):
        monkeypatch.setattr(VarianceScaling, "__call__", _numpy_variance_scaling(np.random.default_rng(2)))
        inputs = keras.Input((None, None, 3))
        x = keras.layers.Conv2D(4, 3, strides=8)(inputs)
        x = keras.layers.GlobalAveragePooling2D()(x)
        tiny = keras.Model(inputs, keras.layers.Dense(2048)(x))
        path = tmp_path / "tiny.keras"
        tiny.save(path)
        net = feature_network("auto", weights=str(path), batch_size=4)
        assert isinstance(net, InceptionKeras)
        images = _images(3, 40, 40, seed=3)
        self.assert_close_to_reference(net(images), _direct_features(tiny, images), tol=1e-5, label="tiny .keras")
        assert net.cache_key() != InceptionKeras(weights=keras.models.clone_model(tiny)).cache_key()
        wrong = keras.Model(inputs, keras.layers.Dense(10)(x))
        with pytest.raises(ValueError, match="Received: output shape=.*10"):
            InceptionKeras(weights=wrong)

    def test_missing_imagenet_weights_are_not_downloaded(self, tmp_path, monkeypatch):
        monkeypatch.setenv("KERAS_HOME", str(tmp_path))
        monkeypatch.delenv(INCEPTION_PKL_ENV, raising=False)

        def no_download(*args, **kwargs):
            raise AssertionError("keras tried to download")

        monkeypatch.setattr(keras.utils, "get_file", no_download)
        monkeypatch.setattr("keras.src.utils.file_utils.get_file", no_download)
        for name in ("inception_keras", "auto"):
            with pytest.raises(FileNotFoundError) as info:
                feature_network(name)
            message = str(info.value)
            assert IMAGENET_NOTOP_FILE in message and str(tmp_path) in message
            assert "keras.applications.InceptionV3(include_top=False, weights='imagenet')" in message
        with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
            feature_network("inception_keras", weights=str(tmp_path / "nope.weights.h5"))
        assert list(tmp_path.iterdir()) == []

    def test_bad_arguments(self, keras_setup):
        _, net, _ = keras_setup
        with pytest.raises(ValueError, match=r"Received: images.dtype=float32"):
            net(np.zeros((1, 8, 8, 3), "float32"))
        with pytest.raises(ValueError, match=r"Received: images.shape=\(1, 8, 8, 2\)"):
            net(np.zeros((1, 8, 8, 2), "uint8"))
        with pytest.raises(ValueError, match=r"Received: images.shape=\(8, 8, 3\)"):
            net(np.zeros((8, 8, 3), "uint8"))
        with pytest.raises(ValueError, match="Received: name='vgg'"):
            feature_network("vgg")
        with pytest.raises(ValueError, match="Received: batch_size=0"):
            feature_network("inception_torchscript", weights="x.pt", batch_size=0)
        with pytest.raises(ValueError, match="Received: weights="):
            InceptionKeras(weights=3)


class TestTorchScriptInception(TestCase):
    def test_contract_layout_range_and_grayscale(self, probe_file):
        net = feature_network("inception_torchscript", weights=str(probe_file), batch_size=2)
        assert (net.name, net.metric_suffix, net.feature_dim) == ("inception_torchscript", "", 2048)
        images = _images(3, 20, 12, seed=4)
        calls = []
        features = net(images, progress=lambda done, total: calls.append((done, total)))
        assert calls == [(2, 3), (3, 3)]
        assert features.shape == (3, 2048) and features.dtype == np.float64
        np.testing.assert_array_equal(net(images), features)
        # uint8 NCHW with values 0..255 reached the module unchanged.
        np.testing.assert_allclose(features[:, :3], images.mean(axis=(1, 2)), rtol=1e-6)
        np.testing.assert_array_equal(features[:, 3], images.max(axis=(1, 2, 3)))
        np.testing.assert_array_equal(features[:, 4:6], [[20, 12]] * 3)
        # Batching does not change the features.
        whole = feature_network("inception_torchscript", weights=str(probe_file), batch_size=8)(images)
        np.testing.assert_allclose(whole, features, rtol=1e-6, atol=1e-6)
        gray = images[..., :1]
        np.testing.assert_array_equal(net(gray), net(np.repeat(gray, 3, axis=-1)))

    def test_auto_env_var_and_cache_key(self, probe_file, monkeypatch):
        monkeypatch.setenv(INCEPTION_PKL_ENV, str(probe_file))
        net = feature_network()
        assert net.name == "inception_torchscript"
        digest = hashlib.sha256(probe_file.read_bytes()).hexdigest()[:16]
        assert net.cache_key() == f"inception_torchscript-sha256:{digest}"
        assert feature_network("auto", weights=str(probe_file)).name == "inception_torchscript"

    def test_python_pickle_needs_allow_pickle(self, tmp_path):
        if torch is None:
            pytest.skip("torch is not installed")
        path = tmp_path / "inception-2015-12-05.pkl"
        with open(path, "wb") as f:
            pickle.dump(ProbeDetector().eval(), f)
        with pytest.raises(ValueError, match="Received: allow_pickle=False"):
            feature_network("inception_torchscript", weights=str(path))
        net = feature_network("inception_torchscript", weights=str(path), allow_pickle=True)
        images = _images(2, 16, 16, seed=5)
        np.testing.assert_allclose(net(images)[:, :3], images.mean(axis=(1, 2)), rtol=1e-6)

    def test_missing_file_and_missing_torch(self, tmp_path, monkeypatch):
        monkeypatch.delenv(INCEPTION_PKL_ENV, raising=False)
        for weights in (None, str(tmp_path / "missing.pkl")):
            with pytest.raises(FileNotFoundError) as info:
                feature_network("inception_torchscript", weights=weights)
            assert INCEPTION_PKL_URL in str(info.value) and INCEPTION_PKL_ENV in str(info.value)
        fake = tmp_path / "inception-2015-12-05.pt"
        fake.write_bytes(b"PK\x03\x04")
        monkeypatch.setitem(sys.modules, "torch", None)
        with pytest.raises(ImportError, match="pip install torch==2.13.0"):
            feature_network("auto", weights=str(fake))
        # Configured through the environment only: fall back to Keras, loudly.
        monkeypatch.setenv(INCEPTION_PKL_ENV, str(fake))
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
        with pytest.warns(UserWarning, match="torch is not installed"), pytest.raises(FileNotFoundError):
            feature_network()

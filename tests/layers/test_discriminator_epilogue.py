import numpy as np
import pytest

import discriminator_reference as ref
from keras_creps.layers.discriminator_epilogue import DiscriminatorEpilogue
from test_case import TestCase
from test_case import to_numpy


def _randomize_biases(layer, seed):
    rng = np.random.RandomState(seed)
    for v in layer.weights:
        if v.path.endswith("bias"):
            v.assign(rng.randn(*v.shape).astype("float32"))


class TestDiscriminatorEpilogue(TestCase):
    def test_layer(self):
        x = np.random.RandomState(0).randn(4, 4, 4, 8).astype("float32")
        layer, _ = self.run_layer_test(DiscriminatorEpilogue, {"channels": 8}, [x], (4, 1))
        assert tuple(layer.conv.kernel.shape) == (3, 3, 9, 8)
        assert tuple(layer.fc.kernel.shape) == (8 * 16, 8)

    def test_layer_conditional(self):
        rng = np.random.RandomState(1)
        x = rng.randn(4, 4, 4, 8).astype("float32")
        cmap = rng.randn(4, 5).astype("float32")
        layer, _ = self.run_layer_test(DiscriminatorEpilogue, {"channels": 8, "cmap_dim": 5}, [x, cmap], (4, 1))
        assert tuple(layer.out.kernel.shape) == (8, 5)

    @pytest.mark.parametrize(
        "kwargs, batch",
        [
            ({}, 4),
            ({}, 8),
            ({"mbstd_group_size": 2, "mbstd_num_channels": 2}, 4),
            ({"mbstd_num_channels": 0}, 4),
            ({"cmap_dim": 5}, 4),
        ],
    )
    def test_matches_numpy_reference(self, kwargs, batch):
        rng = np.random.RandomState(batch)
        x = (rng.randn(batch, 4, 4, 8) * 30).astype("float32")
        cmap = rng.randn(batch, 5).astype("float32")
        layer = DiscriminatorEpilogue(8, clamp=40.0, **kwargs)
        layer.build(x.shape)
        _randomize_biases(layer, 5)
        y = to_numpy(layer(x, cmap=cmap))
        expected = ref.epilogue(layer, x, cmap)
        np.testing.assert_allclose(y, expected, rtol=0, atol=1e-4 * np.max(np.abs(expected)))

    def test_flatten_is_channels_first(self):
        # Only the fc weight of (channel 1, row 2, col 3) is nonzero: index 1*16 + 2*4 + 3 in NCHW order.
        layer = DiscriminatorEpilogue(8, mbstd_num_channels=0, clamp=None)
        x = np.random.RandomState(6).randn(4, 4, 4, 8).astype("float32")
        layer.build(x.shape)
        kernel = np.zeros((128, 8), "float32")
        kernel[16 + 8 + 3, 0] = 1.0
        layer.fc.kernel.assign(kernel)
        feats = to_numpy(layer.conv(x))[:, 2, 3, 1]  # [N]
        fc_out = to_numpy(layer.fc(np.transpose(to_numpy(layer.conv(x)), (0, 3, 1, 2)).reshape(4, -1)))
        np.testing.assert_allclose(fc_out[:, 0], np.where(feats >= 0, 1, 0.2) * feats * np.sqrt(2) / np.sqrt(128), rtol=1e-5)
        np.testing.assert_allclose(to_numpy(layer(x)), ref.epilogue(layer, x), rtol=1e-5, atol=1e-6)

    def test_invalid(self):
        with pytest.raises(ValueError, match="Received: channels=0"):
            DiscriminatorEpilogue(0)
        with pytest.raises(ValueError, match="Received: mbstd_num_channels=-1"):
            DiscriminatorEpilogue(4, mbstd_num_channels=-1)
        with pytest.raises(ValueError, match=r"expects inputs \[N, 4, 4, 8\]"):
            DiscriminatorEpilogue(8)(np.zeros((4, 8, 8, 8), "float32"))
        layer = DiscriminatorEpilogue(8, cmap_dim=5)
        with pytest.raises(ValueError, match="Received: cmap=None"):
            layer(np.zeros((4, 4, 4, 8), "float32"))

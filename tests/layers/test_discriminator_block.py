import numpy as np
import pytest

import discriminator_reference as ref
from keras_creps.layers.discriminator_block import DiscriminatorBlock
from test_case import TestCase
from test_case import to_numpy


def _randomize_biases(layer, seed):
    rng = np.random.RandomState(seed)
    for v in layer.weights:
        if v.path.endswith("bias"):
            v.assign(rng.randn(*v.shape).astype("float32"))


class TestDiscriminatorBlock(TestCase):
    def test_layer_from_rgb(self):
        x = np.random.RandomState(0).randn(2, 8, 8, 3).astype("float32")
        layer, _ = self.run_layer_test(DiscriminatorBlock, {"tmp_channels": 4, "out_channels": 6, "from_rgb": True}, [x], (2, 4, 4, 6))
        names = sorted({v.path.split("/")[-2] for v in layer.weights})
        assert names == ["conv0", "conv1", "fromrgb", "skip"]
        assert layer.skip.bias is None and layer.skip.clamp is None

    def test_layer_features(self):
        x = np.random.RandomState(1).randn(2, 8, 8, 4).astype("float32")
        layer, _ = self.run_layer_test(DiscriminatorBlock, {"tmp_channels": 4, "out_channels": 6}, [x], (2, 4, 4, 6))
        assert layer.fromrgb is None

    @pytest.mark.parametrize("from_rgb", [True, False])
    def test_matches_numpy_reference(self, from_rgb):
        rng = np.random.RandomState(2)
        x = (rng.randn(3, 8, 8, 3 if from_rgb else 4) * 50).astype("float32")
        layer = DiscriminatorBlock(4, 6, from_rgb=from_rgb, clamp=20.0)
        layer.build(x.shape)
        _randomize_biases(layer, 3)
        y = to_numpy(layer(x))
        np.testing.assert_allclose(y, ref.block(layer, x), rtol=0, atol=1e-4 * np.max(np.abs(y)))

    def test_invalid(self):
        with pytest.raises(ValueError, match="Received: tmp_channels=0"):
            DiscriminatorBlock(0, 4)
        with pytest.raises(ValueError, match="tmp_channels=4"):
            DiscriminatorBlock(4, 4)(np.zeros((1, 8, 8, 3), "float32"))

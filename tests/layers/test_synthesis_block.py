import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps.layers.synthesis_block import SynthesisBlock


class TestSynthesisBlock(TestCase):
    def test_layer_basics(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(2, 6, 4, 8)).astype("float32")
        ws = rng.normal(size=(2, 3, 16)).astype("float32")
        block, _ = self.run_layer_test(SynthesisBlock, dict(channels=12, tores_channels=3), (x, ws), ((2, 6, 4, 12), (2, 6, 4, 3)))
        assert block.num_ws == 3

    def test_first_block_has_only_fc1(self):
        rng = np.random.default_rng(1)
        x = rng.normal(size=(2, 6, 8)).astype("float32")
        ws = rng.normal(size=(2, 1, 16)).astype("float32")
        block = SynthesisBlock(8, use_fc0=False)
        y, out = block(x, ws)
        assert out is None and block.num_ws == 1 and block.fc0 is None
        np.testing.assert_allclose(to_numpy(y), to_numpy(block.fc1(x, ws[:, 0])), rtol=1e-6)

    def test_latents_are_used_in_order(self):
        rng = np.random.default_rng(2)
        x = rng.normal(size=(1, 5, 8)).astype("float32")
        ws = rng.normal(size=(1, 3, 16)).astype("float32")
        block = SynthesisBlock(8, tores_channels=2)
        y, out = block(x, ws)
        h = block.fc1(block.fc0(x, ws[:, 0]), ws[:, 1])
        np.testing.assert_allclose(to_numpy(out), to_numpy(block.tores(h, ws[:, 2])), rtol=1e-5, atol=1e-6)

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="tores_channels=0"):
            SynthesisBlock(4, tores_channels=0)

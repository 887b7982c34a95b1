import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps.layers.mapping_network import MappingNetwork


class TestMappingNetwork(TestCase):
    def test_layer_basics(self):
        z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
        self.run_layer_test(MappingNetwork, dict(z_dim=8, c_dim=0, w_dim=6, num_ws=4, num_layers=2), (z,), (3, 4, 6))

    def test_conditional_and_unbroadcast(self):
        rng = np.random.default_rng(1)
        c = np.eye(3, dtype="float32")
        z = rng.normal(size=(3, 8)).astype("float32")
        cond = MappingNetwork(z_dim=8, c_dim=3, w_dim=6, num_ws=None, num_layers=2)
        assert tuple(cond(z, c).shape) == (3, 6)
        with pytest.raises(ValueError, match="c_dim=3"):
            cond(z)

    def test_truncation_and_w_avg_update(self):
        rng = np.random.default_rng(2)
        z = rng.normal(size=(5, 8)).astype("float32")
        m = MappingNetwork(z_dim=8, c_dim=0, w_dim=6, num_ws=3, num_layers=2, w_avg_beta=0.9)
        ws = to_numpy(m(z))
        np.testing.assert_array_equal(ws[:, 0], ws[:, 2])
        m.update_w_avg(ws)
        np.testing.assert_allclose(to_numpy(m.w_avg), 0.1 * ws[:, 0].mean(0), rtol=1e-5, atol=1e-6)
        avg = to_numpy(m.w_avg)
        np.testing.assert_allclose(to_numpy(m(z, truncation_psi=0.0)), np.broadcast_to(avg, ws.shape), rtol=1e-6, atol=1e-6)
        cut = to_numpy(m(z, truncation_psi=0.5, truncation_cutoff=1))
        np.testing.assert_allclose(cut[:, 0], avg + 0.5 * (ws[:, 0] - avg), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(cut[:, 1:], ws[:, 1:])

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="z_dim=0, c_dim=0"):
            MappingNetwork(z_dim=0, c_dim=0, w_dim=4, num_ws=1)
        with pytest.raises(ValueError, match="w_avg_beta=1.5"):
            MappingNetwork(z_dim=4, c_dim=0, w_dim=4, num_ws=1, w_avg_beta=1.5)
        m = MappingNetwork(z_dim=4, c_dim=0, w_dim=4, num_ws=2)
        with pytest.raises(ValueError, match="truncation_cutoff=-1"):
            m(np.zeros((1, 4), "float32"), truncation_psi=0.5, truncation_cutoff=-1)

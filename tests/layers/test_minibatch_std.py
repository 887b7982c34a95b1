import keras
import numpy as np
import pytest

import discriminator_reference as ref
from keras_creps.layers.minibatch_std import MinibatchStd
from keras_creps.layers.minibatch_std import minibatch_group_size
from test_case import TestCase
from test_case import to_numpy


class TestMinibatchStd(TestCase):
    def test_layer(self):
        x = np.random.RandomState(0).randn(8, 4, 4, 6).astype("float32")
        self.run_layer_test(MinibatchStd, {}, [x], (8, 4, 4, 7))
        self.run_layer_test(MinibatchStd, {"group_size": None, "num_channels": 2}, [x], (8, 4, 4, 8))

    @pytest.mark.parametrize("batch", [1, 2, 3, 4, 5, 6, 8, 12])
    @pytest.mark.parametrize("group_size, num_channels", [(4, 1), (2, 2), (None, 1)])
    def test_matches_numpy_reference(self, batch, group_size, num_channels):
        x = np.random.RandomState(batch).randn(batch, 4, 3, 6).astype("float32")
        y = to_numpy(MinibatchStd(group_size, num_channels)(x))
        np.testing.assert_allclose(y, ref.minibatch_std(x, group_size, num_channels), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(y[..., :6], x)

    def test_group_size_rule(self):
        assert [minibatch_group_size(n, 4) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 12)] == [1, 2, 3, 4, 1, 3, 1, 4, 3, 4]
        assert minibatch_group_size(6, None) == 6
        # Dynamic (tensor) batch size gives the same group sizes.
        for n in (1, 2, 3, 5, 6, 8):
            assert int(to_numpy(minibatch_group_size(keras.ops.convert_to_tensor(n), 4))) == minibatch_group_size(n, 4)

    def test_groups_are_strided(self):
        x = np.random.RandomState(7).randn(8, 4, 4, 3).astype("float32")
        layer = MinibatchStd(group_size=4)
        y = to_numpy(layer(x))
        # With N=8, G=4: groups {0, 2, 4, 6} and {1, 3, 5, 7}.
        swapped = x[[2, 1, 0, 3, 4, 5, 6, 7]]
        np.testing.assert_array_equal(to_numpy(layer(swapped))[[2, 1, 0, 3, 4, 5, 6, 7]], y)
        changed = to_numpy(layer(x[[1, 0, 2, 3, 4, 5, 6, 7]]))[[1, 0, 2, 3, 4, 5, 6, 7]]
        assert np.max(np.abs(changed[..., -1] - y[..., -1])) > 1e-3
        # The statistic is constant over pixels and shared by the members of a group.
        assert np.allclose(y[0, ..., -1], y[0, 0, 0, -1]) and np.allclose(y[::2, 0, 0, -1], y[0, 0, 0, -1])

    def test_dynamic_batch_in_graph(self):
        if keras.config.backend() != "tensorflow":
            pytest.skip("an unknown batch size only exists in TensorFlow graphs")
        import tensorflow as tf

        layer = MinibatchStd(group_size=4)
        fn = tf.function(layer, input_signature=[tf.TensorSpec([None, 4, 4, 3], tf.float32)])
        for batch in (8, 6, 5):
            x = np.random.RandomState(batch).randn(batch, 4, 4, 3).astype("float32")
            np.testing.assert_allclose(fn(x).numpy(), ref.minibatch_std(x), rtol=1e-5, atol=1e-6)

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="Received: group_size=0"):
            MinibatchStd(group_size=0)
        with pytest.raises(ValueError, match="Received: num_channels=0"):
            MinibatchStd(num_channels=0)
        with pytest.raises(ValueError, match="divisible by num_channels=2"):
            MinibatchStd(num_channels=2)(np.zeros((2, 4, 4, 3), "float32"))

"""Seeds of the training step: a function of (seed, step, stream), the same on every call."""

import keras
import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps.training.random_streams import STREAMS
from keras_creps.training.random_streams import STREAMS_PER_STEP
from keras_creps.training.random_streams import FixedSeed
from keras_creps.training.random_streams import RandomStreams


class TestRandomStreams(TestCase):
    def test_seed_is_run_seed_and_stream_index(self):
        streams = RandomStreams(5)
        seed = streams.seed("d_main", keras.ops.convert_to_tensor(3, "int32"))
        assert isinstance(seed, FixedSeed)
        value = to_numpy(seed.next())
        assert value.tolist() == [5, 3 * STREAMS_PER_STEP + STREAMS.index("d_main")] == [5, 51]
        # The dtype Keras' random functions expect on this backend.
        assert str(value.dtype) == keras.random.SeedGenerator(1).state.dtype

    def test_draws_depend_on_seed_step_and_stream_only(self):
        streams = RandomStreams(7)
        step = keras.Variable(2, dtype="int32", trainable=False)

        def draw(stream, at=None, run=streams):
            return to_numpy(keras.random.normal((3,), seed=run.seed(stream, step if at is None else at)))

        first = draw("g_main")
        np.testing.assert_array_equal(draw("g_main"), first)  # no hidden state
        np.testing.assert_array_equal(draw("g_main", run=RandomStreams(7)), first)
        assert not np.array_equal(draw("d_main"), first)
        assert not np.array_equal(draw("g_main", at=3), first)
        assert not np.array_equal(draw("g_main", run=RandomStreams(8)), first)
        step.assign(3)
        np.testing.assert_array_equal(draw("g_main"), draw("g_main", at=3))

    def test_replica_seed_offsets_the_run_seed(self):
        streams = RandomStreams(1)
        seed = streams.seed("augment_d_real", 0)
        replica = keras.ops.convert_to_tensor(2, "int32")
        value = to_numpy(streams.replica_seed(seed, replica).next())
        assert value.tolist() == [1 + 2 * 1000003, STREAMS.index("augment_d_real")]

    def test_streams_fit_in_a_step(self):
        assert len(set(STREAMS)) == len(STREAMS) <= STREAMS_PER_STEP

    @pytest.mark.parametrize("seed", [-1, 2**31, 1.5, True, "0"])
    def test_rejects_bad_seed(self, seed):
        with pytest.raises(ValueError, match=f"Received: seed={seed!r}"):
            RandomStreams(seed)

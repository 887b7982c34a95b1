"""Tests of improved precision and recall against a brute-force computation."""

import numpy as np
import pytest
from test_case import TestCase

from keras_creps.metrics.precision_recall import precision_recall


def _brute_force(real, fake, k):
    """All pairwise distances at once, in float64, from coordinate differences."""

    def distances(p, q):
        return np.sqrt(np.sum((p[:, None, :] - q[None, :, :]) ** 2, axis=-1))

    def coverage(probes, manifold):
        radii = np.sort(distances(manifold, manifold), axis=1)[:, k]  # index 0 is the point itself
        return np.mean(np.any(distances(probes, manifold) <= radii[None, :], axis=1))

    return coverage(fake, real), coverage(real, fake)


class TestPrecisionRecall(TestCase):
    def test_identical_sets(self):
        real = np.random.default_rng(0).standard_normal((80, 5))
        assert precision_recall(real, real.copy()) == (1.0, 1.0)

    def test_disjoint_sets(self):
        rng = np.random.default_rng(1)
        real = rng.standard_normal((60, 5))
        fake = rng.standard_normal((70, 5)) + 100.0
        assert precision_recall(real, fake) == (0.0, 0.0)

    def test_half_of_the_fakes_inside(self):
        rng = np.random.default_rng(2)
        real = rng.standard_normal((200, 2))
        near = real[:50] + 1e-3 * rng.standard_normal((50, 2))  # inside the real balls
        far = rng.standard_normal((50, 2)) * 0.1 + 50.0  # a tight cluster far away
        fake = np.concatenate([near, far])
        precision, recall = precision_recall(real, fake, k=3)
        assert precision == 0.5
        # Each near fake's ball (radius: distance to its 3rd nearest near
        # fake) covers the real point it copies: recall >= 50 / 200.
        assert recall >= 0.25
        assert (precision, recall) == pytest.approx(_brute_force(real, fake, 3), abs=0)

    @pytest.mark.parametrize("k, col_batch_size", [(3, 7), (3, 2), (1, 5)])
    def test_batched_equals_brute_force(self, k, col_batch_size):
        rng = np.random.default_rng(3)
        real = rng.standard_normal((53, 6))
        fake = rng.standard_normal((41, 6)) * 1.2 + 0.6
        expected = _brute_force(real, fake, k)
        assert 0.05 < expected[0] < 0.95 and 0.05 < expected[1] < 0.95
        batched = precision_recall(real, fake, k=k, row_batch_size=7, col_batch_size=col_batch_size)
        assert batched == expected
        assert precision_recall(real, fake, k=k) == expected

    def test_bad_arguments_raise(self):
        real = np.zeros((10, 3))
        with pytest.raises(ValueError, match="Received: k=0"):
            precision_recall(real, real, k=0)
        with pytest.raises(ValueError, match="Received: row_batch_size=-1"):
            precision_recall(real, real, row_batch_size=-1)
        with pytest.raises(ValueError, match=r"Received: fake_features.shape=\(3, 3\)"):
            precision_recall(real, np.zeros((3, 3)), k=3)
        with pytest.raises(ValueError, match=r"fake_features.shape=\(10, 4\)"):
            precision_recall(real, np.zeros((10, 4)))
        with pytest.raises(ValueError, match=r"Received: real_features.shape=\(10,\)"):
            precision_recall(np.zeros(10), real)

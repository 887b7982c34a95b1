"""Tests of the kernel (Inception) distance against a direct MMD^2 estimate."""

import numpy as np
import pytest
from test_case import TestCase

from keras_creps.metrics.kernel_distance import kernel_distance


def _direct_unbiased_mmd2(x, y):
    """Unbiased MMD^2 written as averages over index pairs."""
    dim = x.shape[1]

    def kernel(p, q):
        return (np.einsum("id,jd->ij", p, q) / dim + 1.0) ** 3

    m = x.shape[0]
    off_diagonal = ~np.eye(m, dtype=bool)
    within_x = kernel(x, x)[off_diagonal].mean()  # mean over i != j
    within_y = kernel(y, y)[off_diagonal].mean()
    between = kernel(x, y).mean()  # mean over all i, j
    return within_x + within_y - 2.0 * between


class TestKernelDistance(TestCase):
    def test_one_subset_of_everything_is_the_full_estimate(self):
        rng = np.random.default_rng(0)
        a = rng.standard_normal((60, 8))
        b = rng.standard_normal((60, 8)) * 1.3 + 0.4
        expected = _direct_unbiased_mmd2(a, b)
        actual = kernel_distance(a, b, num_subsets=1, max_subset_size=1000)
        assert isinstance(actual, float)
        assert expected > 0.01
        assert abs(actual - expected) < 1e-12 * abs(expected) + 1e-15

    def test_same_distribution_near_zero_and_shift_positive(self):
        rng = np.random.default_rng(1)
        a = rng.standard_normal((400, 16))
        b = rng.standard_normal((400, 16))
        shifted = rng.standard_normal((400, 16)) + 0.5
        options = dict(num_subsets=10, max_subset_size=200)
        same = kernel_distance(a, b, **options)
        different = kernel_distance(a, shifted, **options)
        # The estimate is unbiased: about 0 (either sign) for equal laws.
        assert abs(same) < 0.01
        assert different > 0.1
        assert different > 20 * abs(same)

    def test_deterministic_for_a_seed(self):
        rng = np.random.default_rng(2)
        a, b = rng.standard_normal((100, 4)), rng.standard_normal((90, 4)) + 0.3
        options = dict(num_subsets=3, max_subset_size=30)
        first = kernel_distance(a, b, seed=7, **options)
        assert kernel_distance(a, b, seed=7, **options) == first
        assert kernel_distance(a, b, seed=8, **options) != first

    def test_subset_size_is_bounded_by_the_smaller_set(self):
        rng = np.random.default_rng(3)
        a, b = rng.standard_normal((50, 4)), rng.standard_normal((20, 4)) + 0.3
        # Subsets of 20 rows of `a` (all of `b`): the mean over subsets of
        # the direct estimate on the same draws.
        actual = kernel_distance(a, b, num_subsets=2, max_subset_size=100, seed=4)
        draws = np.random.default_rng(4)
        expected = []
        for _ in range(2):
            x = a[draws.choice(50, 20, replace=False)]
            y = b[draws.choice(20, 20, replace=False)]
            expected.append(_direct_unbiased_mmd2(x, y))
        assert abs(actual - np.mean(expected)) < 1e-12 * abs(np.mean(expected))

    def test_bad_arguments_raise(self):
        a = np.zeros((10, 3))
        with pytest.raises(ValueError, match="Received: num_subsets=0"):
            kernel_distance(a, a, num_subsets=0)
        with pytest.raises(ValueError, match="Received: max_subset_size=1"):
            kernel_distance(a, a, max_subset_size=1)
        with pytest.raises(ValueError, match="Received: seed=-1"):
            kernel_distance(a, a, seed=-1)
        with pytest.raises(ValueError, match=r"features_b.shape=\(10, 4\)"):
            kernel_distance(a, np.zeros((10, 4)))
        with pytest.raises(ValueError, match=r"Received: features_a.shape=\(1, 3\)"):
            kernel_distance(np.zeros((1, 3)), a)

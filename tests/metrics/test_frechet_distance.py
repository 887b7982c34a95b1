"""Tests of the Fréchet distance against an independent eigendecomposition route."""

import importlib

import numpy as np
import pytest
from scipy import linalg
from test_case import TestCase

from keras_creps.metrics.frechet_distance import feature_statistics
from keras_creps.metrics.frechet_distance import frechet_distance
from keras_creps.metrics.frechet_distance import frechet_distance_from_statistics

# The module, not the function of the same name that `keras_creps.metrics` exports.
fd_module = importlib.import_module("keras_creps.metrics.frechet_distance")


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def _psd_sqrt(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def _reference_from_statistics(mu_a, sigma_a, mu_b, sigma_b):
    """FD through the symmetric form tr((A^1/2 B A^1/2)^1/2), all by eigh."""
    root_a = _psd_sqrt(sigma_a)
    middle = root_a @ sigma_b @ root_a
    values = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_root = np.sum(np.sqrt(np.clip(values, 0.0, None)))
    return np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_root


def _reference(a, b):
    def stats(x):
        centred = x - x.mean(axis=0)
        return x.mean(axis=0), centred.T @ centred / (x.shape[0] - 1)

    return _reference_from_statistics(*stats(a), *stats(b))


class TestFrechetDistance(TestCase):
    def test_feature_statistics(self):
        x = np.random.default_rng(0).standard_normal((50, 6)).astype(np.float32)
        mu, sigma = feature_statistics(x)
        assert mu.dtype == np.float64 and sigma.dtype == np.float64
        assert mu.shape == (6,) and sigma.shape == (6, 6)
        self.assert_all_close(mu, x.astype(np.float64).mean(axis=0), atol=1e-12)
        self.assert_all_close(sigma, np.cov(x.astype(np.float64), rowvar=False), atol=1e-12)
        _, sigma_1d = feature_statistics(x[:, :1])
        assert sigma_1d.shape == (1, 1)

    def test_identical_sets_give_zero(self):
        x = np.random.default_rng(1).standard_normal((200, 32))
        trace = np.trace(np.cov(x, rowvar=False))
        assert abs(frechet_distance(x, x)) < 1e-6 * trace

    def test_matches_eigendecomposition_reference(self):
        rng = np.random.default_rng(2)
        a = rng.standard_normal((300, 16))
        b = rng.standard_normal((250, 16)) @ rng.standard_normal((16, 16)) * 0.5 + 0.3
        expected = _reference(a, b)
        actual = frechet_distance(a, b)
        assert expected > 1.0
        assert abs(actual - expected) < 1e-9 * expected

    @pytest.mark.parametrize("case", ["fewer_rows_than_dims", "zero_column"])
    def test_rank_deficient_covariances(self, case):
        rng = np.random.default_rng(3)
        if case == "fewer_rows_than_dims":
            a, b = rng.standard_normal((20, 64)), rng.standard_normal((25, 64)) + 0.2
        else:
            a, b = rng.standard_normal((100, 20)), rng.standard_normal((100, 20)) * 1.5
            a[:, 3] = 0.0
            b[:, 3] = 0.0
        actual = frechet_distance(a, b)
        expected = _reference(a, b)
        trace = np.trace(np.cov(a, rowvar=False)) + np.trace(np.cov(b, rowvar=False))
        assert np.isfinite(actual)
        assert abs(actual - expected) < 1e-6 * trace
        # Identical rank-deficient sets: still ~0.
        assert abs(frechet_distance(a, a)) < 1e-6 * trace

    def test_diagonal_gaussians_closed_form(self):
        rng = np.random.default_rng(4)
        mu_a, mu_b = rng.standard_normal(10), rng.standard_normal(10)
        s_a, s_b = rng.uniform(0.1, 3.0, 10), rng.uniform(0.1, 3.0, 10)
        expected = np.sum((mu_a - mu_b) ** 2) + np.sum(s_a + s_b - 2 * np.sqrt(s_a * s_b))
        actual = frechet_distance_from_statistics(mu_a, np.diag(s_a), mu_b, np.diag(s_b))
        assert isinstance(actual, float)
        assert abs(actual - expected) < 1e-10 * expected

    def test_non_finite_root_retries_with_offset(self, monkeypatch):
        rng = np.random.default_rng(5)
        mu_a, sigma_a = feature_statistics(rng.standard_normal((40, 8)))
        mu_b, sigma_b = feature_statistics(rng.standard_normal((40, 8)) + 1.0)
        calls = []
        real_sqrtm = linalg.sqrtm

        def failing_once(matrix):
            calls.append(matrix)
            if len(calls) == 1:
                return np.full_like(matrix, np.nan)
            return real_sqrtm(matrix)

        monkeypatch.setattr(fd_module.linalg, "sqrtm", failing_once)
        actual = frechet_distance_from_statistics(mu_a, sigma_a, mu_b, sigma_b)
        assert len(calls) == 2
        offset = np.eye(8) * 1e-6
        self.assert_all_close(calls[1], (sigma_a + offset) @ (sigma_b + offset), atol=1e-12)
        # The mean and trace terms use the covariances as given; only the
        # root sees the offset.
        root = real_sqrtm((sigma_a + offset) @ (sigma_b + offset))
        expected = np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a + sigma_b) - 2 * np.trace(np.real(root))
        assert abs(actual - expected) < 1e-10 * abs(expected)
        plain = _reference_from_statistics(mu_a, sigma_a, mu_b, sigma_b)
        assert abs(actual - plain) < 1e-4 * plain

    def test_bad_inputs_raise(self):
        good = np.zeros((5, 3))
        with pytest.raises(ValueError, match=r"Received: features_a.shape=\(5,\)"):
            frechet_distance(np.zeros(5), good)
        mismatch = r"Received: features_a.shape=\(5, 3\), features_b.shape=\(5, 4\)"
        with pytest.raises(ValueError, match=mismatch):
            frechet_distance(good, np.zeros((5, 4)))
        with pytest.raises(ValueError, match=r"Received: features_b.shape=\(1, 3\)"):
            frechet_distance(good, np.zeros((1, 3)))
        bad = np.ones((5, 3))
        bad[2, 1] = np.nan
        with pytest.raises(ValueError, match=r"Received: features_b\[2, 1\]=nan"):
            frechet_distance(good, bad)
        with pytest.raises(ValueError, match=r"Received: mu_b.shape=\(4,\), sigma_b.shape=\(3, 3\)"):
            frechet_distance_from_statistics(np.zeros(3), np.eye(3), np.zeros(4), np.eye(3))
        with pytest.raises(ValueError, match=r"Received: sigma_a\[0, 0\]=inf"):
            frechet_distance_from_statistics(np.zeros(3), np.diag([np.inf, 1, 1]), np.zeros(3), np.eye(3))

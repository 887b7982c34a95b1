"""Fréchet distance between two feature sets (the maths behind FID).

Each set is summarised by a Gaussian (mean and covariance of its rows); the
distance is the squared 2-Wasserstein distance between the two Gaussians:

    ||mu_a - mu_b||^2 + tr(sigma_a) + tr(sigma_b) - 2 tr((sigma_a sigma_b)^(1/2))

Everything is NumPy/SciPy in float64, independent of the Keras backend. The
statistics are exposed separately so the real set's `(mu, sigma)` can be
computed once and cached.
"""

import warnings

import numpy as np
from scipy import linalg

# Added to both covariance diagonals when the matrix square root of their
# product is not finite (Heusel et al.'s reference code does the same).
_SQRTM_EPS = 1e-6


def validate_features(name, features, min_rows=2, dtype=np.float64):
    """Returns `features` as a finite floating-point `[N, D]` array or raises.

    Shared by the feature-set metrics of this package (Fréchet, kernel,
    precision/recall distances).

    Args:
        name: string. Argument name used in the error message.
        features: array-like `[N, D]`.
        min_rows: int. Smallest accepted `N`. Defaults to `2`.
        dtype: NumPy dtype or None. Result dtype; `None` keeps a floating
            input's dtype (no copy of a large float32 set) and turns other
            inputs into float64. Defaults to `np.float64`.

    Returns:
        A NumPy array `[N, D]`.
    """
    array = np.asarray(features)
    if array.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D array [num_samples, feature_dim]. "
            f"Received: {name}.shape={array.shape}"
        )
    if array.shape[0] < min_rows or array.shape[1] < 1:
        raise ValueError(
            f"`{name}` needs at least {min_rows} rows and 1 column. "
            f"Received: {name}.shape={array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"`{name}` must be real-valued. Received: {name}.dtype={array.dtype}")
    if dtype is None:
        dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else np.float64
    array = array.astype(dtype, copy=False)
    check_finite(name, array)
    return array


def check_finite(name, array):
    """Raises `ValueError` naming the first non-finite entry of `array`."""
    finite = np.isfinite(array)
    if not np.all(finite):
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        where = ", ".join(str(i) for i in index)
        raise ValueError(f"`{name}` must be finite. Received: {name}[{where}]={array[index]}")


def feature_statistics(features):
    """Mean and covariance of a feature set, in float64.

    Args:
        features: array-like `[N, D]` with `N >= 2` finite rows.

    Returns:
        Tuple `(mu, sigma)`: `mu` of shape `[D]`, `sigma` of shape `[D, D]`,
        the unbiased covariance (divides by `N - 1`, as
        `numpy.cov(features, rowvar=False)`).

    Example:
    ```python
    mu, sigma = feature_statistics(np.random.randn(500, 64))
    ```
    """
    features = validate_features("features", features)
    mu = features.mean(axis=0)
    # `np.cov` returns a 0-d array for a single feature; keep [D, D].
    sigma = np.atleast_2d(np.cov(features, rowvar=False))
    return mu, sigma


def _validate_statistics(mu, sigma, suffix):
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(
            f"`mu_{suffix}` must be [D] and `sigma_{suffix}` [D, D]. "
            f"Received: mu_{suffix}.shape={mu.shape}, sigma_{suffix}.shape={sigma.shape}"
        )
    check_finite(f"mu_{suffix}", mu)
    check_finite(f"sigma_{suffix}", sigma)
    return mu, sigma


def _sqrtm_of_product(sigma_a, sigma_b):
    """Real part of `sqrtm(sigma_a @ sigma_b)`, regularised if not finite."""
    with warnings.catch_warnings():
        # Rank-deficient covariances (N <= D, constant features) make the
        # product singular; SciPy warns, but the Schur method still returns
        # an accurate root there (relative error ~1e-8 of the trace against
        # an eigendecomposition reference, see the tests). Finiteness is
        # checked explicitly below instead.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(sigma_a @ sigma_b)
        if not np.all(np.isfinite(root)):
            offset = np.eye(sigma_a.shape[0]) * _SQRTM_EPS
            root = linalg.sqrtm((sigma_a + offset) @ (sigma_b + offset))
    # The product of two PSD matrices has real non-negative eigenvalues, so
    # any imaginary part is rounding noise (~1e-6 of the entries here when
    # N < D). It is dropped rather than checked: a threshold that never fires
    # on legitimate, nearly singular covariances cannot be guaranteed.
    return np.real(root)


def frechet_distance_from_statistics(mu_a, sigma_a, mu_b, sigma_b):
    """Fréchet distance between two Gaussians given by their statistics.

    Args:
        mu_a: array-like `[D]`. Mean of the first set.
        sigma_a: array-like `[D, D]`. Covariance of the first set.
        mu_b: array-like `[D]`. Mean of the second set.
        sigma_b: array-like `[D, D]`. Covariance of the second set.

    Returns:
        Python float, `||mu_a - mu_b||^2 + tr(sigma_a + sigma_b -
        2 (sigma_a sigma_b)^(1/2))`. The exact value is non-negative; the
        returned one is not clipped, so identical inputs may give a rounding
        residue of about `1e-8 * trace` of either sign.

    The square root is `scipy.linalg.sqrtm` of the product; if it is not
    finite it is recomputed with `1e-6 * I` added to both covariances. Its
    real part is used.

    Example:
    ```python
    mu_real, sigma_real = feature_statistics(real_features)  # cache these
    mu_fake, sigma_fake = feature_statistics(fake_features)
    fid = frechet_distance_from_statistics(mu_real, sigma_real, mu_fake, sigma_fake)
    ```

    References:
        - [Heusel et al., 2017](https://arxiv.org/abs/1706.08500)
        - [Dowson and Landau, 1982](https://doi.org/10.1016/0047-259X(82)90077-X)
    """
    mu_a, sigma_a = _validate_statistics(mu_a, sigma_a, "a")
    mu_b, sigma_b = _validate_statistics(mu_b, sigma_b, "b")
    if mu_a.shape != mu_b.shape:
        raise ValueError(
            "Both statistics must have the same feature dimension. "
            f"Received: mu_a.shape={mu_a.shape}, mu_b.shape={mu_b.shape}"
        )
    mean_term = np.sum(np.square(mu_a - mu_b))
    root = _sqrtm_of_product(sigma_a, sigma_b)
    return float(mean_term + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * np.trace(root))


def frechet_distance(features_a, features_b):
    """Fréchet distance between two feature sets (FID on Inception features).

    Args:
        features_a: array-like `[N_a, D]`, `N_a >= 2`, finite.
        features_b: array-like `[N_b, D]`, `N_b >= 2`, finite.

    Returns:
        Python float; see `frechet_distance_from_statistics`.

    Example:
    ```python
    a = np.random.randn(1000, 64)
    b = np.random.randn(1000, 64) + 0.5
    frechet_distance(a, b)  # ~ 64 * 0.25 = 16
    ```

    References:
        - [Heusel et al., 2017](https://arxiv.org/abs/1706.08500)
    """
    features_a = validate_features("features_a", features_a)
    features_b = validate_features("features_b", features_b)
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            "Both feature sets must have the same feature dimension. "
            f"Received: features_a.shape={features_a.shape}, features_b.shape={features_b.shape}"
        )
    return frechet_distance_from_statistics(
        *feature_statistics(features_a), *feature_statistics(features_b)
    )

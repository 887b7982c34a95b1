"""Improved precision and recall of a generated feature set.

Each set is turned into a manifold estimate: the union of balls centred on
its points, each ball's radius being the distance from the point to its k-th
nearest neighbour within the same set. Precision is the fraction of generated
points inside the real manifold; recall is the fraction of real points inside
the generated manifold.

Distances are computed block by block, so memory does not grow with the
square of the number of samples. NumPy only, independent of the Keras
backend.
"""

import numpy as np

from keras_creps.utils.arguments import positive_int
from keras_creps.metrics.frechet_distance import validate_features


def _squared_norms(features):
    return np.einsum("nd,nd->n", features, features)


def _squared_distances(rows, cols, row_norms, col_norms):
    """`[len(rows), len(cols)]` squared Euclidean distances, built in place.

    The matrix-product form `|a|^2 - 2 a.b + |b|^2` makes one BLAS call do
    the work; rounding can make it slightly negative, hence the clip at 0.
    """
    block = rows @ cols.T
    block *= -2.0
    block += row_norms[:, None]
    block += col_norms[None, :]
    np.maximum(block, 0.0, out=block)
    return block


def _kth_neighbour_squared_radii(manifold, k, row_batch_size, col_batch_size):
    """Squared distance of each point to its k-th nearest other point.

    The point itself is among the candidates (at distance ~0), so this is the
    (k+1)-th smallest distance of its row. Each row keeps its running
    `k + 1` smallest values across column batches.
    """
    num = manifold.shape[0]
    norms = _squared_norms(manifold)
    radii = np.empty(num, dtype=manifold.dtype)
    for start in range(0, num, row_batch_size):
        stop = min(start + row_batch_size, num)
        best = None  # [rows, <= k + 1] smallest squared distances so far
        for col_start in range(0, num, col_batch_size):
            col_stop = min(col_start + col_batch_size, num)
            block = _squared_distances(
                manifold[start:stop], manifold[col_start:col_stop],
                norms[start:stop], norms[col_start:col_stop],
            )
            if block.shape[1] > k + 1:
                # In place: no second row_batch x col_batch buffer.
                block.partition(k, axis=1)
            block = block[:, : k + 1].copy()
            best = block if best is None else np.concatenate([best, block], axis=1)
            if best.shape[1] > k + 1:
                best = np.partition(best, k, axis=1)[:, : k + 1]
        radii[start:stop] = np.partition(best, k, axis=1)[:, k]
    return radii


def _fraction_inside(probes, manifold, squared_radii, row_batch_size, col_batch_size):
    """Fraction of `probes` within the ball of at least one manifold point."""
    probe_norms = _squared_norms(probes)
    manifold_norms = _squared_norms(manifold)
    inside = np.zeros(probes.shape[0], dtype=bool)
    for start in range(0, probes.shape[0], row_batch_size):
        stop = min(start + row_batch_size, probes.shape[0])
        found = inside[start:stop]  # view: updates land in `inside`
        for col_start in range(0, manifold.shape[0], col_batch_size):
            col_stop = min(col_start + col_batch_size, manifold.shape[0])
            # Probes already inside a ball need no further columns; with a
            # good generator most are found in the first column batch.
            pending = start + np.flatnonzero(~found)
            if pending.size == 0:
                break
            block = _squared_distances(
                probes[pending], manifold[col_start:col_stop],
                probe_norms[pending], manifold_norms[col_start:col_stop],
            )
            hits = np.any(block <= squared_radii[None, col_start:col_stop], axis=1)
            inside[pending] = hits
    return float(np.mean(inside))


def precision_recall(real_features, fake_features, k=3, row_batch_size=10000, col_batch_size=10000):
    """Improved precision and recall (Kynkäänniemi et al., 2019).

    The radius of a point is its Euclidean distance to its `k`-th nearest
    neighbour in its own set (the point itself excluded). Precision is the
    fraction of fake points within the radius of at least one real point;
    recall is the fraction of real points within the radius of at least one
    fake point. A point on a ball's boundary counts as inside.

    Distances are evaluated in float32 (twice as fast as float64 here: a
    4000 x 2000 x 4096 product takes 0.43 s vs 0.89 s on this project's
    2-core CPU) as `|a|^2 - 2 a.b + |b|^2` on blocks of `row_batch_size`
    rows by `col_batch_size` columns. Peak extra memory is therefore about
    `5 * row_batch_size * col_batch_size` bytes (a float32 block and its
    boolean comparison: 500 MB with the defaults) plus a float32 copy of up
    to `row_batch_size` probe rows, independent of the set sizes, on top of
    the float32 feature sets themselves. The work is four
    all-pairs passes, ~`8 N^2 D` flops for two sets of `N` points: about
    9 minutes for 50k x 50k VGG features (D = 4096) at the measured
    ~150 GFLOP/s.

    Args:
        real_features: array-like `[N_r, D]`, finite, `N_r > k`.
        fake_features: array-like `[N_f, D]`, finite, `N_f > k`.
        k: int. Neighbourhood size. Defaults to `3`.
        row_batch_size: int. Rows per distance block. Defaults to `10000`.
        col_batch_size: int. Columns per distance block. Defaults to
            `10000`.

    Returns:
        Tuple of Python floats `(precision, recall)`, each in `[0, 1]`.

    Example:
    ```python
    real = np.random.randn(1000, 16)
    fake = np.random.randn(1000, 16) * 0.5  # a narrower distribution
    precision, recall = precision_recall(real, fake)  # high, lower
    ```

    References:
        - [Kynkäänniemi et al., 2019](https://arxiv.org/abs/1904.06991)
    """
    positive_int("k", k)
    positive_int("row_batch_size", row_batch_size)
    positive_int("col_batch_size", col_batch_size)
    real = validate_features("real_features", real_features, min_rows=k + 1, dtype=np.float32)
    fake = validate_features("fake_features", fake_features, min_rows=k + 1, dtype=np.float32)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            "Both feature sets must have the same feature dimension. "
            f"Received: real_features.shape={real.shape}, fake_features.shape={fake.shape}"
        )
    batches = (row_batch_size, col_batch_size)
    real_radii = _kth_neighbour_squared_radii(real, k, *batches)
    precision = _fraction_inside(fake, real, real_radii, *batches)
    fake_radii = _kth_neighbour_squared_radii(fake, k, *batches)
    recall = _fraction_inside(real, fake, fake_radii, *batches)
    return precision, recall

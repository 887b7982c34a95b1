"""Bi-line fusion: row x column outer product over the bi-line thickness."""

import math

import keras
from keras import ops

from keras_creps.utils.arguments import positive_float


@keras.saving.register_keras_serializable(package="keras_creps")
class BilineFusion(keras.layers.Layer):
    """Entangles row and column embeddings into per-pixel features.

    Both embeddings are scaled by `scale` (CREPS: `sqrt(0.5)`) and multiplied
    over the thickness axis:
    `F[n, i, j, c] = sum_d X[n, i, d, c] * Y[n, j, d, c]` for a grid, or
    `F[n, p, c] = sum_d X[n, p, d, c] * Y[n, p, d, c]` for paired sample
    points (`pointwise=True`), where row `p` and column `p` belong to the
    same point.

    Args:
        scale: float. Factor applied to both embeddings. Defaults to
            `sqrt(0.5)`.
        pointwise: bool. `False` for the `H x W` grid of all row/column pairs,
            `True` for `P` paired points. Defaults to `False`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        row_lines: tensor `[N, H, rank, C]` (or `[N, P, rank, C]`).
        col_lines: tensor `[N, W, rank, C]` (or `[N, P, rank, C]`).

    Returns:
        `[N, H, W, C]`, or `[N, P, C]` when `pointwise`.

    Example:
    ```python
    fuse = BilineFusion()
    f = fuse(np.ones((1, 4, 8, 32)), np.ones((1, 6, 8, 32)))  # [1, 4, 6, 32]
    ```
    """

    def __init__(self, scale=math.sqrt(0.5), pointwise=False, **kwargs):
        super().__init__(**kwargs)
        self.scale = positive_float("scale", scale)
        self.pointwise = bool(pointwise)

    def build(self, row_lines_shape, col_lines_shape):
        # No weights; the shapes are checked here so that a mismatch is named
        # at build time, not deep inside a broadcast.
        if len(row_lines_shape) != 4 or len(col_lines_shape) != 4:
            raise ValueError(
                "Expected row and column lines of rank 4 ([N, H or P, rank, C]). "
                f"Received: row_lines_shape={row_lines_shape}, col_lines_shape={col_lines_shape}"
            )
        for axis, name in ((2, "rank"), (3, "channels")):
            a, b = row_lines_shape[axis], col_lines_shape[axis]
            if a is not None and b is not None and a != b:
                raise ValueError(
                    f"Row and column lines must have the same {name}. "
                    f"Received: row_lines_shape={row_lines_shape}, col_lines_shape={col_lines_shape}"
                )
        if self.pointwise and None not in (row_lines_shape[1], col_lines_shape[1]):
            if row_lines_shape[1] != col_lines_shape[1]:
                raise ValueError(
                    "Pointwise fusion pairs rows and columns one to one, so both need the same count. "
                    f"Received: row_lines_shape={row_lines_shape}, col_lines_shape={col_lines_shape}"
                )

    def call(self, row_lines, col_lines):
        row_lines = row_lines * self.scale
        col_lines = col_lines * self.scale
        if self.pointwise:
            return ops.sum(row_lines * col_lines, axis=2)  # [N, P, C]
        if keras.config.backend() == "torch":
            # Eager PyTorch: one batched product with K = rank is fastest.
            return ops.einsum("nhdc,nwdc->nhwc", row_lines, col_lines)  # [N, H, W, C]
        # XLA (TensorFlow, JAX): `rank` broadcast multiply-adds fuse into one
        # loop over the output, 3-5x faster than a K = rank dot + transpose.
        fused = row_lines[:, :, None, 0] * col_lines[:, None, :, 0]  # [N, H, W, C]
        for d in range(1, row_lines.shape[2]):
            fused = fused + row_lines[:, :, None, d] * col_lines[:, None, :, d]
        return fused

    def compute_output_shape(self, row_lines_shape, col_lines_shape):
        n, rows, _, channels = row_lines_shape
        if self.pointwise:
            return (n, rows, channels)
        return (n, rows, col_lines_shape[1], channels)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "pointwise": self.pointwise})
        return config

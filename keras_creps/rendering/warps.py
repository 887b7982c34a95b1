"""Warped renders: every output pixel samples the continuous image at its own point.

CREPS evaluates `I(row, col)` at arbitrary points (`synthesis_points`), so
rotations, shears and free-form distortions are exact: no resampling of a
rendered raster is involved.
"""

import math

import numpy as np

from keras_creps.rendering.coords import view_coords
from keras_creps.utils.arguments import finite_float


def _exact_cos_sin(degrees):
    """cos and sin of `degrees`, exact at multiples of 90 degrees."""
    quarter, rest = divmod(float(degrees), 90.0)
    if rest == 0.0:
        return [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][int(quarter) % 4]
    radians = math.radians(degrees)
    return math.cos(radians), math.sin(radians)


def affine_matrix(rotate=0.0, zoom=(1.0, 1.0), shear=0.0):
    """2x2 matrix acting on `(row, col)` offsets: per-axis zoom, then shear, then rotation.

    A positive `rotate` (degrees) turns the *content* counter-clockwise on
    screen (rows grow downwards). `zoom` is a magnification per axis, as
    `view_coords`' `zoom`: `(2, 2)` shows the central half of the view
    on each axis (sampling offsets are divided by the zoom).

    Example:
    ```python
    matrix = affine_matrix(rotate=30, zoom=(2.0, 2.0))
    point_rows, point_cols = affine_points(rows, cols, matrix)
    ```
    """
    zoom_rows, zoom_cols = (finite_float(f"zoom[{i}]", float(v)) for i, v in enumerate(zoom))
    if zoom_rows <= 0 or zoom_cols <= 0:
        raise ValueError(f"`zoom` must be positive on both axes. Received: zoom={tuple(zoom)!r}")
    cos, sin = _exact_cos_sin(rotate)
    # Sampling point = R(-angle) @ output offset rotates the content by +angle.
    rotation = np.array([[cos, sin], [-sin, cos]])
    shear_m = np.array([[1.0, 0.0], [float(shear), 1.0]])
    zoom_m = np.diag([1.0 / zoom_rows, 1.0 / zoom_cols])
    return rotation @ shear_m @ zoom_m


def affine_points(rows, cols, matrix, center=(0.5, 0.5)):
    """Sample points of the grid `rows x cols` mapped by `matrix` about `center`.

    Args:
        rows: `[H]` row coordinates of the output grid.
        cols: `[W]` column coordinates.
        matrix: 2x2 array on `(row, col)` offsets from `center`.
        center: `(row, col)` fixed point of the map.

    Returns:
        `(point_rows, point_cols)`, float32 `[H * W]` each, row-major.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 2) or not np.all(np.isfinite(matrix)):
        raise ValueError(f"`matrix` must be a finite 2x2 array. Received: {matrix!r}")
    rr, cc = np.meshgrid(np.asarray(rows, np.float64), np.asarray(cols, np.float64), indexing="ij")
    offsets = np.stack([rr.ravel() - center[0], cc.ravel() - center[1]])  # [2, H * W]
    mapped = matrix @ offsets
    return (mapped[0] + center[0]).astype(np.float32), (mapped[1] + center[1]).astype(np.float32)


def field_points(row_field, col_field):
    """Free-form warp: per-pixel sample coordinates `[H, W]` each -> flattened points."""
    row_field, col_field = np.asarray(row_field, np.float32), np.asarray(col_field, np.float32)
    if row_field.shape != col_field.shape or row_field.ndim != 2:
        raise ValueError(
            f"Coordinate fields must both be [H, W]. Received: {row_field.shape} and {col_field.shape}")
    return row_field.ravel(), col_field.ravel()


def swirl_field(height, width, strength=2.0, radius=0.5, center=(0.5, 0.5)):
    """A swirl: points rotate about `center` by `strength * exp(-d / radius)` radians."""
    rows, cols = view_coords(height, width, keep_aspect=False)
    rr, cc = np.meshgrid(rows.astype(np.float64), cols.astype(np.float64), indexing="ij")
    dr, dc = rr - center[0], cc - center[1]
    angle = strength * np.exp(-np.hypot(dr, dc) / radius)
    cos, sin = np.cos(angle), np.sin(angle)
    return center[0] + cos * dr - sin * dc, center[1] + sin * dr + cos * dc


def render_points_grid(generator, ws, point_rows, point_cols, height, width, chunk=1 << 16):
    """Renders `H * W` sample points (row-major) in chunks into `[N, H, W, C]`."""
    import keras

    point_rows = np.asarray(point_rows, np.float32)
    point_cols = np.asarray(point_cols, np.float32)
    if point_rows.shape != (height * width,) or point_cols.shape != (height * width,):
        raise ValueError(
            f"Expected {height * width} points. Received: {point_rows.shape} and {point_cols.shape}")
    parts = [
        keras.ops.convert_to_numpy(
            generator.synthesis_points(ws, point_rows[i : i + chunk], point_cols[i : i + chunk]))
        for i in range(0, height * width, chunk)
    ]
    images = np.concatenate(parts, axis=1)
    return images.reshape(images.shape[0], height, width, images.shape[-1])

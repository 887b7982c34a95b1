"""Coordinate vectors for CREPS renders.

A CREPS generator defines a continuous image `I(row, col)`; the image it was
trained on spans `[0, 1]` on both axes. A render is a choice of row and
column coordinate vectors:

- `align="corners"`: `n` pixels whose first and last sit on the window's
  edges, `start + (stop - start) * i / (n - 1)`. This is the official
  convention: the native `R x R` image is `linspace(0, 1, R)` and the
  official `--scale s` is `linspace(0, 1, int(R * s))`.
- `align="centers"`: `n` pixels at the centres of `n` equal cells,
  `start + (stop - start) * (i + 0.5) / n`. Grids nest exactly across scales:
  pixels `2i` and `2i + 1` of a `2n` grid straddle pixel `i` of the `n` grid.
"""

import numpy as np

from keras_creps.utils.arguments import positive_int

ALIGNMENTS = ("corners", "centers")
MAX_AXIS = 1 << 24  # 16.7 M pixels per axis


def _size(name, value):
    positive_int(name, int(value) if isinstance(value, np.integer) else value)
    if value > MAX_AXIS:
        raise ValueError(f"`{name}` is absurdly large (more than {MAX_AXIS} pixels). Received: {name}={value!r}")
    return int(value)


def _align(align):
    if align not in ALIGNMENTS:
        raise ValueError(f"`align` must be one of {ALIGNMENTS}. Received: align={align!r}")
    return align


def _finite(name, value):
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite. Received: {name}={value!r}")
    return value


def axis_coords(size, start=0.0, stop=1.0, align="corners"):
    """`size` coordinates covering the window `[start, stop]` of one axis.

    Args:
        size: int. Number of pixels.
        start, stop: floats. The window in image units (the training image is
            `[0, 1]`); values outside it extrapolate.
        align: `"corners"` (official) or `"centers"`.

    Returns:
        float32 NumPy array `[size]`.

    Example:
    ```python
    axis_coords(5)                     # [0, .25, .5, .75, 1] (official grid)
    axis_coords(4, align="centers")    # [.125, .375, .625, .875]
    ```
    """
    size, align = _size("size", size), _align(align)
    start, stop = _finite("start", start), _finite("stop", stop)
    i = np.arange(size, dtype=np.float64)
    if align == "centers":
        t = (i + 0.5) / size
    else:
        t = i / (size - 1) if size > 1 else np.zeros(1)
    return (start + (stop - start) * t).astype(np.float32)


def scale_coords(resolution, scale=1.0, align="corners"):
    """The official `--scale`: `int(resolution * scale)` pixels over `[0, 1]` on each axis.

    Returns:
        `(rows, cols)`, each float32 `[int(resolution * scale)]`.
    """
    resolution = _size("resolution", resolution)
    scale = _finite("scale", scale)
    if scale <= 0:
        raise ValueError(f"`scale` must be positive. Received: scale={scale!r}")
    coords = axis_coords(_size("int(resolution * scale)", int(resolution * scale)), align=align)
    return coords, coords


def view_coords(height, width=None, center=(0.5, 0.5), zoom=1.0, align="corners", keep_aspect=True):
    """Row and column coordinates of an `height x width` view.

    At `zoom=1` the view's rows cover `[0, 1]` (the training image's height);
    `zoom=z` covers `1 / z` of it around `center = (row, col)`, so
    translation is a change of `center`. With `keep_aspect=True` columns use
    the same pixel spacing as rows (a wider view shows more of the
    continuous image, no stretching); otherwise they also cover `1 / z`.

    Args:
        height: int. Rows.
        width: int or None. Columns; defaults to `height`.
        center: `(row, col)` centre of the view in image units.
        zoom: float > 0.
        align: `"corners"` (official) or `"centers"`.
        keep_aspect: bool. Same spacing on both axes. Defaults to `True`.

    Returns:
        `(rows [height], cols [width])` float32.

    Example:
    ```python
    rows, cols = view_coords(512, 1024)                         # 2:1 panorama
    rows, cols = view_coords(256, zoom=4, center=(0.3, 0.6))    # 4x zoom-in
    images = generator.synthesis(ws, rows, cols)
    ```
    """
    height = _size("height", height)
    width = height if width is None else _size("width", width)
    align = _align(align)
    zoom = _finite("zoom", zoom)
    if zoom <= 0:
        raise ValueError(f"`zoom` must be positive. Received: zoom={zoom!r}")
    if len(center) != 2:
        raise ValueError(f"`center` must be a (row, col) pair. Received: center={center!r}")
    center_row, center_col = _finite("center[0]", center[0]), _finite("center[1]", center[1])
    extent = 1.0 / zoom
    if keep_aspect:
        # Pixel spacing of the rows, reused for the columns.
        intervals = (lambda n: n) if align == "centers" else (lambda n: max(n - 1, 1))
        col_extent = extent / intervals(height) * intervals(width)
    else:
        col_extent = extent
    rows = axis_coords(height, center_row - extent / 2, center_row + extent / 2, align)
    cols = axis_coords(width, center_col - col_extent / 2, center_col + col_extent / 2, align)
    return rows, cols

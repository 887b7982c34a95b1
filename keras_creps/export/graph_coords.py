"""`keras_creps.rendering.view_coords` as TensorFlow ops, for views whose size arrives with the request."""

import tensorflow as tf

from keras_creps.rendering.coords import ALIGNMENTS


def view_window_coords(height, width, zoom, center, window=None, align="corners", keep_aspect=False):
    """Graph-side `view_coords`: the coordinates of a window of a view, as TensorFlow ops.

    Equal bit for bit to
    `rows, cols = keras_creps.rendering.view_coords(height, width,
    center=(center[0], center[1]), zoom=zoom, align=align,
    keep_aspect=keep_aspect)` followed by `rows[row_start:row_stop]`,
    `cols[col_start:col_stop]` (the same float64 arithmetic, element by
    element, then float32), without building the whole vectors: built with
    `tf.range`, so sizes may be tensors known only at run time. Arguments are
    not checked here (the serving functions check them first).

    Args:
        height, width: int32 scalars. The view's size in pixels.
        zoom: float scalar. Magnification: the view spans `1 / zoom` of the
            training image's height.
        center: `[2]` floats. `[row, col]` of the view's centre in image
            units: the training image spans `[0, 1]` on both axes, so
            `[0.5, 0.5]` is its centre.
        window: `(row_start, row_stop, col_start, col_stop)` or None for the
            whole view.
        align: `"corners"` or `"centers"`.
        keep_aspect: bool.

    Returns:
        `(rows, cols)` float32 tensors.

    Example:
    ```python
    rows, cols = view_window_coords(tf.constant(512), tf.constant(512), 2.0, [0.5, 0.6], (0, 64, 128, 256))
    ```
    """
    if align not in ALIGNMENTS:
        raise ValueError(f"`align` must be one of {ALIGNMENTS}. Received: align={align!r}")
    if window is None:
        window = (0, height, 0, width)
    f64 = tf.float64
    extent = 1.0 / tf.cast(zoom, f64)
    center = tf.cast(center, f64)
    if keep_aspect:
        if align == "centers":
            intervals = lambda n: tf.cast(n, f64)
        else:
            intervals = lambda n: tf.cast(tf.maximum(n - 1, 1), f64)
        col_extent = extent / intervals(height) * intervals(width)
    else:
        col_extent = extent

    def axis(start_index, stop_index, size, low, high):
        # The order of operations of `rendering.coords.axis_coords`.
        i = tf.cast(tf.range(start_index, stop_index), f64)
        size = tf.cast(size, f64)
        t = (i + 0.5) / size if align == "centers" else i / tf.maximum(size - 1.0, 1.0)
        return tf.cast(low + (high - low) * t, tf.float32)

    row_start, row_stop, col_start, col_stop = window
    rows = axis(row_start, row_stop, height, center[0] - extent / 2, center[0] + extent / 2)
    cols = axis(col_start, col_stop, width, center[1] - col_extent / 2, center[1] + col_extent / 2)
    return rows, cols

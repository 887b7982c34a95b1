"""Serving limits and the checks every request passes before anything is rendered.

A served model renders whatever a client asks for, so each request is
checked inside the graph, against limits fixed at export time and recorded
in the export config:

- `max_samples`: samples `N` per request (seeds, or rows of `z`). Every
  sample runs the mapping and line networks once, whatever its size, so
  pixels alone do not bound the work (65536 seeds of 1x1 pixel is 64 K
  pixels but minutes of compute).
- `max_pixels`: samples x pixels, `N * rows * cols` of what the request
  renders (a tile counts its own pixels, not the whole view's).
- `MAX_AXIS`: `height` and `width` (the view's size, also for tiles).
- `MAX_ABS_TRUNCATION_PSI` (100, the bound `recipes/generate.py` puts on
  `--trunc`): `|truncation_psi|`. Useful values lie in about `[-1, 2]`;
  far beyond, `w_avg + psi * (w - w_avg)` only saturates the image, and
  toward float32's range it overflows into NaN (black images: `1e38` did).
  100 leaves every plausible value and extrapolation alone.

Non-finite inputs (`truncation_psi`, `zoom`, `center`, `z`, `class_labels`)
and out-of-range ones (sizes, tiles, `class_index`) fail too, as do views
whose coordinates overflow float32 and renders that come out NaN or Inf
(never returned as black images). Each failure is an
`InvalidArgumentError` naming the input or limit and the received value;
the checks run in a fixed order and the first rule broken is reported.
"""

import dataclasses

import tensorflow as tf

from keras_creps.rendering.coords import MAX_AXIS
from keras_creps.utils.arguments import positive_int

MAX_ABS_TRUNCATION_PSI = 100.0
DEFAULT_MAX_SAMPLES = 64
DEFAULT_MAX_PIXELS = 1 << 22


@dataclasses.dataclass(frozen=True)
class ServingLimits:
    """What one request may ask for (see the module docstring).

    Args:
        max_samples: int. Largest `N`. Defaults to `64`.
        max_pixels: int. Largest `N * rows * cols`. Defaults to `2**22`
            (4 Mpx, e.g. four 1024x1024 images or 64 of 256x256).

    Example:
    ```python
    limits = ServingLimits(max_samples=16, max_pixels=16 * 512**2)
    ```
    """

    max_samples: int = DEFAULT_MAX_SAMPLES
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self):
        positive_int("max_samples", self.max_samples)
        positive_int("max_pixels", self.max_pixels)


class CheckChain:
    """Assert ops that run one after the other, in the order they are added.

    A bad request often breaks several rules at once (a huge width is also
    too many pixels); chaining makes the reported one the first rule broken,
    in a fixed order, rather than whichever assert the executor ran first.
    Rendering depends on `ops` (`tf.control_dependencies(chain.ops)`).
    """

    def __init__(self):
        self.ops = []

    def check(self, condition, *message):
        with tf.control_dependencies(self.ops[-1:]):
            self.ops.append(tf.debugging.Assert(condition, list(message), summarize=16))


def _non_finite_at(values):
    """Indices of the first few non-finite entries (a message small whatever the input's size)."""
    return tf.where(tf.logical_not(tf.math.is_finite(values)))[:4]


def sample_checks(chain, limits, n):
    """At least one sample, at most `max_samples`."""
    chain.check(n >= 1, "at least one sample is needed. Received: N=", n)
    chain.check(n <= limits.max_samples,
                f"the request has more samples than max_samples={limits.max_samples}. Received: N=", n)


def pixel_budget_checks(chain, limits, n, window):
    """Samples x pixels of what the request renders (the tile's own pixels for a tile)."""
    row_start, row_stop, col_start, col_stop = window
    rows, cols = row_stop - row_start, col_stop - col_start
    pixels = tf.cast(n, tf.float64) * tf.cast(rows, tf.float64) * tf.cast(cols, tf.float64)
    chain.check(pixels <= float(limits.max_pixels),
                f"the request renders N * rows * cols pixels, more than max_pixels={limits.max_pixels}. "
                "Received: N=", n, ", rows=", rows, ", cols=", cols)


def view_checks(chain, height, width, zoom, center, truncation_psi, has_w_avg):
    """The view's size, zoom, centre and truncation."""
    for name, value in (("height", height), ("width", width)):
        chain.check(value >= 1, f"`{name}` must be at least 1. Received: {name}=", value)
        chain.check(value <= MAX_AXIS, f"`{name}` must be at most {MAX_AXIS}. Received: {name}=", value)
    chain.check(tf.logical_and(tf.math.is_finite(zoom), zoom > 0),
                "`zoom` must be positive and finite. Received: zoom=", zoom)
    chain.check(tf.reduce_all(tf.math.is_finite(center)), "`center` must be finite. Received: center=", center)
    psi_ok = tf.logical_and(tf.math.is_finite(truncation_psi), tf.abs(truncation_psi) <= MAX_ABS_TRUNCATION_PSI)
    chain.check(psi_ok, f"`truncation_psi` must be finite, at most {MAX_ABS_TRUNCATION_PSI:g} in magnitude "
                "(max_abs_truncation_psi). Received: truncation_psi=", truncation_psi)
    if not has_w_avg:
        chain.check(tf.equal(truncation_psi, 1.0), "this generator has no w_avg: `truncation_psi` must be 1. "
                    "Received: truncation_psi=", truncation_psi)


def window_checks(chain, window, height, width):
    """A tile `[row_start, row_stop) x [col_start, col_stop)` inside the view, not empty."""
    row_start, row_stop, col_start, col_stop = window
    for axis, start, stop, size, size_name in (("row", row_start, row_stop, height, "height"),
                                               ("col", col_start, col_stop, width, "width")):
        chain.check(start >= 0, f"`{axis}_start` must be >= 0. Received: {axis}_start=", start)
        chain.check(stop > start, f"`{axis}_stop` must be greater than `{axis}_start`. Received: "
                    f"{axis}_start=", start, f", {axis}_stop=", stop)
        chain.check(stop <= size, f"`{axis}_stop` must be at most `{size_name}`. Received: {axis}_stop=",
                    stop, f", {size_name}=", size)


def latent_checks(chain, n, c_dim, z=None, class_index=None, class_labels=None):
    """Finite latents and labels, one label per sample, class indices in range."""
    if z is not None:
        chain.check(tf.reduce_all(tf.math.is_finite(z)),
                    "`z` must be finite. Received: NaN or Inf in z at [sample, index]=", _non_finite_at(z))
    for name, labels in (("class_index", class_index), ("class_labels", class_labels)):
        if labels is not None:
            rows = tf.shape(labels)[0]
            chain.check(tf.equal(rows, n), f"`{name}` must have one entry per sample. Received: {name} rows=",
                        rows, ", samples=", n)
    if class_index is not None:
        chain.check(tf.reduce_all(tf.logical_and(class_index >= 0, class_index < c_dim)),
                    f"`class_index` entries must be in [0, {c_dim}). Received: class_index=", class_index)
    if class_labels is not None:
        chain.check(tf.reduce_all(tf.math.is_finite(class_labels)),
                    "`class_labels` must be finite. Received: NaN or Inf in class_labels at [sample, index]=",
                    _non_finite_at(class_labels))


def coordinate_checks(chain, rows, cols, zoom, center):
    """The view's coordinates are finite float32 (a tiny zoom or a far centre can overflow them)."""
    finite = tf.logical_and(tf.reduce_all(tf.math.is_finite(rows)), tf.reduce_all(tf.math.is_finite(cols)))
    chain.check(finite, "the view coordinates overflow float32 (zoom too small or center too far). "
                "Received: zoom=", zoom, ", center=", center)


def pixel_checks(chain, pixels):
    """Rendered floats are finite: NaN would become black pixels, Inf saturated ones, silently."""
    chain.check(tf.reduce_all(tf.math.is_finite(pixels)),
                "the render produced NaN or Inf pixels (a numeric overflow in the network for these inputs); "
                "no image is returned rather than a black one. Received: pixels with NaN or Inf at "
                "[row, col, channel]=", _non_finite_at(pixels))

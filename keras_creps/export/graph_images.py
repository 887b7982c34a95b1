"""Network output -> uint8 inside a TensorFlow graph, the package's one rounding.

The formula is defined once, in `keras_creps.utils.images.to_uint8`:
`clip(rint(x * 127.5 + 128), 0, 255)` computed in float32 (the multiply and
the add each rounded to float32, `rint` rounding halves to even). This is
the same formula in TF ops, so the served images equal `to_uint8` of the
same floats to the bit (tests/export/test_export_helpers.py checks halfway
cases and out-of-range values). NaN has no uint8 value: the renderer
rejects non-finite pixels before they get here.
"""

import tensorflow as tf


def to_uint8(images):
    """`[-1, 1]` floats -> uint8 in the graph, bit-equal to `keras_creps.utils.images.to_uint8`.

    Example:
    ```python
    to_uint8(tf.constant([-1.0, 0.0, 1.0]))   # [0, 128, 255]
    ```
    """
    # Two float32 ops, each rounded, as NumPy evaluates them; the serving
    # graphs are not XLA-compiled, so they are not fused into one multiply-add
    # (which would round once and differ from NumPy near the halfway points).
    images = tf.math.multiply(tf.cast(images, tf.float32), tf.constant(127.5, tf.float32))
    images = tf.math.add(images, tf.constant(128.0, tf.float32))
    # tf.round rounds half to even, as np.rint does.
    return tf.cast(tf.clip_by_value(tf.round(images), 0.0, 255.0), tf.uint8)

"""Seeds -> latents as the exported seed signatures draw them (a graph can reproduce this, not NumPy's)."""

import numpy as np
import tensorflow as tf

from keras_creps.utils.arguments import positive_int

SEED_ALGORITHM = "philox"


def seed_latent(seed, z_dim):
    """The float32 `[z_dim]` latent of one int64 scalar `seed` tensor (graph or eager)."""
    key = tf.stack([seed, tf.zeros([], tf.int64)])
    return tf.random.stateless_normal([z_dim], seed=key, dtype=tf.float32, alg=SEED_ALGORITHM)


def seeds_to_z(seeds, z_dim):
    """The latents the exported seed signatures use for `seeds`.

    `z[i] = tf.random.stateless_normal([z_dim], seed=[seeds[i], 0],
    alg="philox")`: deterministic across machines and devices. (This is not
    `recipes/generate.py`'s NumPy `RandomState(seed)` mapping, which a
    TensorFlow graph cannot reproduce; pass those latents to the `render_z`
    signature to match its images.)

    Args:
        seeds: int or sequence of ints (int64 range).
        z_dim: int. Latent size of the generator.

    Returns:
        float32 NumPy array `[len(seeds), z_dim]`.

    Example:
    ```python
    z = seeds_to_z([0, 7], generator.z_dim)
    images = served.signatures["render_z"](z=z, ...)   # == serving_default(seeds=[0, 7], ...)
    ```
    """
    positive_int("z_dim", z_dim)
    seeds = np.asarray(seeds).reshape(-1)
    if seeds.size and not np.issubdtype(seeds.dtype, np.integer):
        raise ValueError(f"`seeds` must be integers. Received: seeds={seeds!r}")
    with tf.device("/CPU:0"):
        return np.stack(
            [seed_latent(tf.constant(int(s), tf.int64), z_dim).numpy() for s in seeds]
        ).reshape(len(seeds), z_dim)

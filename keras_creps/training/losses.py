"""StyleGAN2 losses and regularizers as used by CREPS (`keras.ops` only).

The input gradients R1 and path length need come from the backend module
chosen in `keras_creps.training.gradients`; everything else is shared.
"""

import math

from keras import ops

from keras_creps.models.creps_generator import native_coords
from keras_creps.training import gradients


def generator_logistic_loss(fake_logits):
    """Non-saturating generator loss `softplus(-D(G(z)))`, per sample.

    Example:
    ```python
    loss = ops.mean(generator_logistic_loss(discriminator(fake_images)))
    ```
    """
    return ops.softplus(-fake_logits)


def discriminator_logistic_loss(real_logits, fake_logits):
    """Discriminator loss `softplus(D(G(z))) + softplus(-D(x))`, per sample.

    Returns the two halves `(fake_term, real_term)` so that callers can log
    them and sum them (they may differ in batch size).
    """
    return ops.softplus(fake_logits), ops.softplus(-real_logits)


def r1_penalty(discriminator, images, c=None):
    """R1: per-sample sum of squared input gradients of `sum(D(images))`.

    Args:
        discriminator: a `CREPSDiscriminator` (any callable `(images, c)`).
        images: `[N, H, W, C]` real images.
        c: optional labels `[N, c_dim]` for conditional discriminators.

    Returns:
        `(penalty [N], logits [N, 1])`; the training loss is
        `penalty * gamma / 2`. The penalty's sum over samples stays
        differentiable w.r.t. the discriminator's weights.

    Example:
    ```python
    penalty, logits = r1_penalty(discriminator, real_images)
    loss = ops.mean(penalty) * gamma / 2
    ```
    """
    logits, penalty = gradients.get().squared_input_gradient(lambda x: discriminator(x, c), images)  # [N]
    return penalty, logits


def path_lengths(generator, ws, noise, rows=None, cols=None):
    """Path lengths `|J_w^T n|` of the synthesis network, per sample.

    `g = d sum(G.synthesis(ws) * noise) / d ws` and the length is
    `sqrt(mean over num_ws of sum over w_dim of g^2)`.

    Args:
        generator: a `CREPSGenerator`.
        ws: `[N, num_ws, w_dim]` latents.
        noise: `[N, H, W, C]` noise with the image's shape, normally
            `normal / sqrt(H * W)`.
        rows, cols: coordinates (default the native grid).

    Returns:
        `[N]` lengths, differentiable w.r.t. the generator's weights and `ws`.

    Example:
    ```python
    noise = keras.random.normal((n, r, r, 3)) / r
    lengths = path_lengths(generator, ws, noise)
    ```
    """
    if rows is None:
        rows = native_coords(generator.resolution)
    if cols is None:
        cols = native_coords(generator.resolution)
    backend = gradients.get()
    noise = ops.convert_to_tensor(noise, "float32")

    def weighted_image(w):
        images = generator.synthesis(w, rows, cols)  # [N, H, W, C]
        return ops.cast(images, "float32") * noise

    _, grads = backend.input_gradient(weighted_image, ws)  # [N, num_ws, w_dim]
    grads = ops.cast(grads, "float32")
    return ops.sqrt(ops.mean(ops.sum(ops.square(grads), axis=2), axis=1))


def path_length_noise(shape, seed):
    """`N(0, 1) / sqrt(H * W)` noise for `path_lengths`, `shape = [N, H, W, C]`."""
    import keras

    return keras.random.normal(shape, seed=seed) / math.sqrt(shape[1] * shape[2])


def path_length_penalty(lengths, pl_mean, decay=0.01):
    """Returns `(penalty [N], new_pl_mean)`.

    `new_pl_mean = pl_mean + decay * (mean(lengths) - pl_mean)` and the
    penalty is `(lengths - new_pl_mean)^2` (the new mean is not detached, as
    in the official loss). Multiply by the path-length weight (2 for CREPS).
    """
    mean = gradients.get().replica_mean(ops.mean(lengths))
    new_mean = pl_mean + decay * (mean - pl_mean)
    return ops.square(lengths - new_mean), new_mean

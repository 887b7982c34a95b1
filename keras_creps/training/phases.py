"""The four phases of a StyleGAN2/CREPS training step, as loss functions.

As in the official `loss.py`, a step runs `g_main` (G against D),
`g_reg` (path length, lazily), `d_main` (D on fakes and reals) and `d_reg`
(R1, lazily), each with its own latents and its own optimizer update. Each
phase here is a function of explicit inputs that returns `(loss, aux)`: the
scalar loss for its optimizer (summed over the local batch and divided by
the global one, so that replicas add up to the mean) and auxiliary values
to log. `CREPSGAN` draws the inputs, differentiates and applies updates.

The network calls are cast to float32 before any loss so that the losses
are computed in float32 under mixed precision.
"""

import dataclasses

import keras
from keras import ops

from keras_creps.models.creps_generator import native_coords
from keras_creps.training.losses import discriminator_logistic_loss
from keras_creps.training.losses import generator_logistic_loss
from keras_creps.training.losses import path_length_penalty
from keras_creps.training.losses import path_lengths
from keras_creps.training.losses import r1_penalty


@dataclasses.dataclass(frozen=True)
class StyleMixing:
    """Style mixing of one step: the probability and the step's seeds.

    Args:
        probability: float in (0, 1]. Chance that a batch mixes.
        z_seed: seed of the second latents.
        cutoff_seed: seed of the `ws` index where the second latents take over.
        draw_seed: seed of the draw against `probability`.
    """

    probability: float
    z_seed: object
    cutoff_seed: object
    draw_seed: object


def _identity(images):
    return images


def map_latents(generator, z, c, mixing=None):
    """`(ws, unmixed ws)` of latents `z` (and labels `c`), with optional style mixing.

    With `mixing`, one cutoff per batch: `ws[:, cutoff:]` come from second
    latents when the batch mixes (`cutoff = num_ws` otherwise).

    Args:
        generator: a `CREPSGenerator`.
        z: `[N, z_dim]` latents.
        c: `[N, c_dim]` labels or None.
        mixing: a `StyleMixing` or None.

    Returns:
        `(ws, ws before mixing)`, each `[N, num_ws, w_dim]`.
    """
    ws = generator.mapping(z, c)  # [N, num_ws, w_dim]
    if mixing is None:
        return ws, ws
    num_ws = generator.num_ws
    z2 = keras.random.normal(ops.shape(z), seed=mixing.z_seed)
    ws2 = generator.mapping(z2, c)
    cutoff = keras.random.randint((), 1, num_ws, seed=mixing.cutoff_seed)
    mix = keras.random.uniform((), seed=mixing.draw_seed) < mixing.probability
    cutoff = ops.where(mix, cutoff, num_ws)
    keep = ops.reshape(ops.arange(num_ws) < cutoff, (1, num_ws, 1))
    return ops.where(keep, ws, ws2), ws


def synthesize(generator, ws):
    """G's images `[N, R, R, C]` of `ws` on its native grid."""
    grid = native_coords(generator.resolution)
    return generator.synthesis(ws, grid, grid)


def g_main(generator, discriminator, z, c, batch_size, mixing=None, augment=_identity):
    """Gmain: the non-saturating loss `softplus(-D(G(z)))`.

    Args:
        generator, discriminator: the networks.
        z: `[N, z_dim]` latents; c: `[N, c_dim]` labels or None.
        batch_size: int. The global batch (the loss's divisor).
        mixing: a `StyleMixing` or None.
        augment: `images -> images` applied before D (ADA).

    Returns:
        `(loss, (per-sample losses [N, 1], logits [N, 1]))`.
    """
    ws, _ = map_latents(generator, z, c, mixing)
    logits = ops.cast(discriminator(augment(synthesize(generator, ws)), c), "float32")
    losses = generator_logistic_loss(logits)
    return ops.sum(losses) / batch_size, (losses, logits)


def g_reg(generator, z, c, noise, pl_mean, pl_decay, weight, batch_size, mixing=None):
    """Greg: the path-length penalty `(|J_w^T n| - pl_mean)^2`, times `weight`.

    Args:
        generator: the generator.
        z: `[N, z_dim]` latents; c: `[N, c_dim]` labels or None.
        noise: `[N, R, R, C]` image-space noise (`N(0, 1) / R`).
        pl_mean: float32 scalar. The running mean of path lengths.
        pl_decay: float. Its decay.
        weight: float. Path-length weight times the lazy interval.
        batch_size: int. The global path-length batch (the divisor).
        mixing: a `StyleMixing` or None.

    Returns:
        `(loss, (per-sample penalties [N], the new pl_mean))`; the caller
        stores the new mean.
    """
    ws, _ = map_latents(generator, z, c, mixing)
    lengths = path_lengths(generator, ws, noise, native_coords(generator.resolution),
                           native_coords(generator.resolution))
    penalty, new_mean = path_length_penalty(lengths, pl_mean, pl_decay)
    return ops.sum(penalty) * weight / batch_size, (penalty, ops.stop_gradient(new_mean))


def generate_for_d_main(generator, z, c, mixing=None):
    """Dmain's fakes (no gradient to G); updates the generator's `w_avg` as the official Dmain does."""
    ws, ws_unmixed = map_latents(generator, z, c, mixing)
    if generator.mapping.w_avg is not None:
        generator.mapping.update_w_avg(ws_unmixed)
    return ops.stop_gradient(synthesize(generator, ws))


def d_main(discriminator, fake, fake_c, real, real_c, batch_size, augment_fake=_identity, augment_real=_identity):
    """Dmain: `softplus(D(fake)) + softplus(-D(real))`.

    Args:
        discriminator: the discriminator.
        fake, fake_c: G's images `[N, R, R, C]` and their labels (or None).
        real, real_c: the data's images and labels (or None).
        batch_size: int. The global batch (the divisor).
        augment_fake, augment_real: `images -> images` applied before D.

    Returns:
        `(loss, (per-sample losses, real logits [N, 1], fake logits [N, 1]))`.
    """
    fake_logits = ops.cast(discriminator(augment_fake(fake), fake_c), "float32")
    real_logits = ops.cast(discriminator(augment_real(real), real_c), "float32")
    fake_term, real_term = discriminator_logistic_loss(real_logits, fake_logits)
    loss = (ops.sum(fake_term) + ops.sum(real_term)) / batch_size
    return loss, (fake_term + real_term, real_logits, fake_logits)


def d_reg(discriminator, real, real_c, weight, batch_size, augment=_identity):
    """Dreg: R1, the squared gradient of D at the reals (before augmentation), times `weight`.

    Args:
        discriminator: the discriminator.
        real, real_c: the data's images and labels (or None).
        weight: float. `r1_gamma / 2` times the lazy interval.
        batch_size: int. The global batch (the divisor).
        augment: `images -> images` applied before D.

    Returns:
        `(loss, (per-sample penalties [N], logits [N, 1]))`.
    """
    penalty, logits = r1_penalty(lambda x, c: discriminator(augment(x), c), real, real_c)
    return ops.sum(penalty) * weight / batch_size, (penalty, ops.cast(logits, "float32"))

"""Draws the per-image random parameters of the ADA pipeline.

Each transform is applied to each image independently with probability
`p * multiplier`; a transform that is not applied gets its identity value
(`IDENTITY`). Arbitrary rotation is split into a pre- and a post-rotation
(around the anisotropic scaling), each applied with probability
`1 - sqrt(1 - p * rotate)`, so that at least one of them happens with
probability `p * rotate`.

All randomness comes from a single `keras.random.uniform` call: with an
integer seed, separate calls would reuse the same random bits (on every
backend a stateless draw depends only on the seed), so the normal variates
are made from uniform columns by the inverse CDF instead.
"""

import math

import keras
from keras import ops

# Identity value of every parameter: the value of an image the transform skips.
IDENTITY = {
    "xflip": 0.0, "rotate90": 0.0, "xint_x": 0.0, "xint_y": 0.0,
    "scale": 1.0, "rotate_pre": 0.0, "aniso": 1.0, "rotate_post": 0.0, "xfrac_x": 0.0, "xfrac_y": 0.0,
    "brightness": 0.0, "contrast": 1.0, "lumaflip": 0.0, "hue": 0.0, "saturation": 1.0,
    "noise_std": 0.0, "cutout_size": 0.0,
}  # fmt: skip

# Uniform columns each transform consumes (one decides whether it applies).
_COLUMNS = {
    "xflip": 2, "rotate90": 2, "xint": 3, "scale": 2, "rotate": 4, "aniso": 2, "xfrac": 3,
    "brightness": 2, "contrast": 2, "lumaflip": 2, "hue": 2, "saturation": 2,
    "imgfilter": 8, "noise": 2, "cutout": 3,
}  # fmt: skip

# Keeps the inverse-CDF normals finite: |z| <= 5.3 (float32 resolution of u).
_EPSILON = 2.0**-24


def _normal(u):
    """Standard normal variates from uniforms in [0, 1) by the inverse CDF."""
    u = ops.clip(u, _EPSILON, 1.0 - _EPSILON)
    return math.sqrt(2.0) * ops.erfinv(2.0 * u - 1.0)


class _Columns:
    """Hands out consecutive columns of a `[N, K]` uniform draw."""

    def __init__(self, uniform):
        self.uniform = uniform
        self.next = 0

    def take(self):
        column = self.uniform[:, self.next]  # [N]
        self.next += 1
        return column


def _applied(columns, probability):
    return columns.take() < probability  # [N] bool


def _draw_blit(params, columns, p, s):
    if s["xflip"] > 0:
        applied = _applied(columns, s["xflip"] * p)
        params["xflip"] = ops.where(applied, ops.floor(columns.take() * 2.0), 0.0)
    if s["rotate90"] > 0:
        applied = _applied(columns, s["rotate90"] * p)
        turns = ops.minimum(ops.floor(columns.take() * 4.0), 3.0)
        params["rotate90"] = ops.where(applied, turns, 0.0)
    if s["xint"] > 0:
        applied = _applied(columns, s["xint"] * p)
        for axis in ("xint_x", "xint_y"):
            shift = (columns.take() * 2.0 - 1.0) * s["xint_max"]
            params[axis] = ops.where(applied, shift, 0.0)


def _draw_geom(params, columns, p, s):
    def lognormal(std):
        return ops.power(2.0, _normal(columns.take()) * std)

    def rotation():
        return (columns.take() * 2.0 - 1.0) * (math.pi * s["rotate_max"])

    if s["scale"] > 0:
        applied = _applied(columns, s["scale"] * p)
        params["scale"] = ops.where(applied, lognormal(s["scale_std"]), 1.0)
    if s["rotate"] > 0:
        p_rot = 1.0 - ops.sqrt(ops.clip(1.0 - s["rotate"] * p, 0.0, 1.0))
        applied = _applied(columns, p_rot)
        params["rotate_pre"] = ops.where(applied, rotation(), 0.0)
    if s["aniso"] > 0:
        applied = _applied(columns, s["aniso"] * p)
        params["aniso"] = ops.where(applied, lognormal(s["aniso_std"]), 1.0)
    if s["rotate"] > 0:
        applied = _applied(columns, p_rot)
        params["rotate_post"] = ops.where(applied, rotation(), 0.0)
    if s["xfrac"] > 0:
        applied = _applied(columns, s["xfrac"] * p)
        for axis in ("xfrac_x", "xfrac_y"):
            params[axis] = ops.where(applied, _normal(columns.take()) * s["xfrac_std"], 0.0)


def _draw_color(params, columns, p, s):
    if s["brightness"] > 0:
        applied = _applied(columns, s["brightness"] * p)
        params["brightness"] = ops.where(applied, _normal(columns.take()) * s["brightness_std"], 0.0)
    if s["contrast"] > 0:
        applied = _applied(columns, s["contrast"] * p)
        factor = ops.power(2.0, _normal(columns.take()) * s["contrast_std"])
        params["contrast"] = ops.where(applied, factor, 1.0)
    if s["lumaflip"] > 0:
        applied = _applied(columns, s["lumaflip"] * p)
        params["lumaflip"] = ops.where(applied, ops.floor(columns.take() * 2.0), 0.0)
    if s["hue"] > 0:
        applied = _applied(columns, s["hue"] * p)
        theta = (columns.take() * 2.0 - 1.0) * (math.pi * s["hue_max"])
        params["hue"] = ops.where(applied, theta, 0.0)
    if s["saturation"] > 0:
        applied = _applied(columns, s["saturation"] * p)
        factor = ops.power(2.0, _normal(columns.take()) * s["saturation_std"])
        params["saturation"] = ops.where(applied, factor, 1.0)


def _draw_corruptions(params, columns, p, s):
    if s["imgfilter"] > 0:
        gains = []
        for band_strength in s["imgfilter_bands"]:
            applied = _applied(columns, s["imgfilter"] * p * band_strength)
            gain = ops.power(2.0, _normal(columns.take()) * s["imgfilter_std"])
            gains.append(ops.where(applied, gain, 1.0))
        params["imgfilter_gains"] = ops.stack(gains, axis=-1)  # [N, 4]
    if s["noise"] > 0:
        applied = _applied(columns, s["noise"] * p)
        params["noise_std"] = ops.where(applied, ops.abs(_normal(columns.take())) * s["noise_std"], 0.0)
    if s["cutout"] > 0:
        applied = _applied(columns, s["cutout"] * p)
        params["cutout_size"] = ops.cast(applied, "float32") * s["cutout_size"]
        params["cutout_x"] = columns.take()
        params["cutout_y"] = columns.take()


def num_columns(settings):
    """Number of uniform variates drawn per image for `settings`."""
    return sum(count for name, count in _COLUMNS.items() if settings[name] > 0)


def draw_parameters(p, settings, image_shape, seed=None):
    """Draws the per-image parameters of every enabled transform.

    Args:
        p: float or scalar tensor. The augmentation probability.
        settings: dict. Probability multipliers (`xflip`, ..., `cutout`) and
            ranges (`xint_max`, ..., `cutout_size`, `imgfilter_bands`), as
            in `AugmentPipeline.settings`. Transforms with multiplier 0 are
            not drawn.
        image_shape: tuple `(N, H, W, C)`. `H, W, C` must be known when the
            `noise` transform is enabled.
        seed: `keras.random.SeedGenerator`, int, or `None`. Defaults to `None`.

    Returns:
        A dict of float32 tensors `[N]` keyed as in `IDENTITY` (plus
        `imgfilter_gains` `[N, 4]`, `cutout_x`, `cutout_y` and `noise` `[N, H, W, C]`).
    """
    batch = image_shape[0]
    count = num_columns(settings)
    pixels = 0
    if settings["noise"] > 0:
        pixels = math.prod(image_shape[1:])
    if count + pixels == 0:
        return {}
    uniform = keras.random.uniform((batch, count + pixels), seed=seed, dtype="float32")
    p = ops.cast(p, "float32")
    params = {}
    columns = _Columns(uniform)
    _draw_blit(params, columns, p, settings)
    _draw_geom(params, columns, p, settings)
    _draw_color(params, columns, p, settings)
    _draw_corruptions(params, columns, p, settings)
    if pixels:
        noise = _normal(uniform[:, count:])  # [N, H * W * C]
        params["noise"] = ops.reshape(noise, (-1,) + tuple(image_shape[1:]))  # [N, H, W, C]
    return params

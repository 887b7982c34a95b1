"""ADA's augmentation pipeline as a Keras layer (Karras et al., 2020)."""

import math

import keras
from keras import ops

from keras_creps.augment.corruptions import apply_band_filter
from keras_creps.augment.corruptions import apply_color
from keras_creps.augment.corruptions import apply_cutout
from keras_creps.augment.corruptions import apply_noise
from keras_creps.augment.matrices import blit_matrix
from keras_creps.augment.matrices import color_matrix
from keras_creps.augment.matrices import geom_matrix
from keras_creps.augment.matrices import is_identity
from keras_creps.augment.parameters import draw_parameters
from keras_creps.augment.resample import blit
from keras_creps.augment.resample import resample

# Probability multipliers of ADA's transforms, in pipeline order.
MULTIPLIERS = (
    "xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
    "brightness", "contrast", "lumaflip", "hue", "saturation", "imgfilter", "noise", "cutout",
)  # fmt: skip

# Ranges and standard deviations, with ADA's defaults.
RANGES = {
    "xint_max": 0.125, "scale_std": 0.2, "rotate_max": 1.0, "aniso_std": 0.2, "xfrac_std": 0.125,
    "brightness_std": 0.2, "contrast_std": 0.5, "hue_max": 1.0, "saturation_std": 1.0,
    "imgfilter_std": 1.0, "noise_std": 0.1, "cutout_size": 0.5,
}  # fmt: skip

_GROUPS = {
    "blit": ("xflip", "rotate90", "xint"),
    "geom": ("scale", "rotate", "aniso", "xfrac"),
    "color": ("brightness", "contrast", "lumaflip", "hue", "saturation"),
    "filter": ("imgfilter",),
    "noise": ("noise",),
    "cutout": ("cutout",),
}
_COMBINED = {"bg": "blit geom", "bgc": "blit geom color", "bgcf": "blit geom color filter"}
_COMBINED.update({"bgcfn": _COMBINED["bgcf"] + " noise", "bgcfnc": _COMBINED["bgcf"] + " noise cutout"})
# ADA's named presets: the multipliers set to 1 (all others 0).
PRESETS = dict(_GROUPS)
PRESETS.update({name: sum((_GROUPS[g] for g in groups.split()), ()) for name, groups in _COMBINED.items()})

_BLIT_KEYS = ("xflip", "rotate90", "xint_x")
_GEOM_KEYS = ("scale", "rotate_pre", "aniso", "rotate_post", "xfrac_x")
_COLOR_KEYS = ("brightness", "contrast", "lumaflip", "hue", "saturation")


def _non_negative(name, value):
    number = not isinstance(value, bool) and isinstance(value, (int, float))
    if not number or not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite non-negative number. Received: {name}={value!r}")
    return float(value)


def _resolve_multipliers(preset, overrides):
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"`preset` must be one of {sorted(PRESETS)} or None. Received: preset={preset!r}")
    enabled = PRESETS[preset] if preset is not None else ()
    multipliers = {}
    for name in MULTIPLIERS:
        value = overrides[name]
        multipliers[name] = (1.0 if name in enabled else 0.0) if value is None else _non_negative(name, value)
    return multipliers


def _bands(value):
    bands = list(value) if isinstance(value, (list, tuple)) else None
    if bands is None or len(bands) != 4:
        raise ValueError(
            f"`imgfilter_bands` must be a sequence of 4 numbers. Received: imgfilter_bands={value!r}"
        )
    return [_non_negative("imgfilter_bands", band) for band in bands]


def apply_parameters(images, params):
    """Augments float32 `[N, H, W, C]` images with parameters from `draw_parameters`.

    Transforms whose parameters are absent are skipped; an image whose
    parameters are all at their identity values is returned unchanged, bit
    for bit (per-image selects).
    """
    height, width, channels = images.shape[1:]
    params = {name: ops.cast(value, "float32") for name, value in params.items()}
    if any(key in params for key in _BLIT_KEYS):
        # Exact pixel moves. ADA folds them into the resampling matrix, which
        # keeps whole-pixel shifts exact but not flips and quarter turns (the
        # sym6 filter is not symmetric: up to 0.25-0.45 off on noise images).
        images = blit(images, blit_matrix(params, height, width))
    if any(key in params for key in _GEOM_KEYS):
        images = _apply_geom(images, geom_matrix(params, height, width))
    if any(key in params for key in _COLOR_KEYS):
        matrix = color_matrix(params, channels)
        changed = ops.logical_not(is_identity(matrix))[:, None, None, None]
        images = ops.where(changed, apply_color(images, matrix), images)
    if "imgfilter_gains" in params:
        gains = params["imgfilter_gains"]
        changed = ops.any(ops.not_equal(gains, 1.0), axis=-1)[:, None, None, None]
        images = ops.where(changed, apply_band_filter(images, gains), images)
    if "noise_std" in params:
        images = apply_noise(images, params["noise_std"], params["noise"])
    if "cutout_size" in params:
        images = apply_cutout(images, params["cutout_size"], params["cutout_x"], params["cutout_y"])
    return images


def _apply_geom(images, matrix):
    changed = ops.logical_not(is_identity(matrix))  # [N]

    def transformed():
        return ops.where(changed[:, None, None, None], resample(images, matrix), images)

    # The resampler is >90% of the pipeline's time (16x64^2 "bgc" at p = 1,
    # forward + backward: JAX 105 ms, 7 ms without it; TensorFlow 250 / 16 ms).
    # `cond` skips it when no image needs it (always while ADA's p is 0) and
    # traces on every backend (`lax.cond`, `tf.cond`, eager `if` on PyTorch):
    # at p = 0 JAX 80 -> 13 ms, TensorFlow 240 -> 143 ms.
    return ops.cond(ops.any(changed), transformed, lambda: images)


@keras.saving.register_keras_serializable(package="keras_creps")
class AugmentPipeline(keras.layers.Layer):
    """ADA's differentiable augmentation pipeline for discriminator inputs.

    Every transform is applied to every image independently with probability
    `p * multiplier`. `preset` names the transforms whose multiplier is 1
    (ADA's `augpipe` names); any multiplier given explicitly overrides it.
    Groups, in order: pixel blitting (`xflip`, `rotate90`, `xint`: exact
    pixel moves with reflection at the borders), general geometric transforms
    (`scale`, `rotate`, `aniso`, `xfrac`: one anti-aliased resampling with
    reflect padding and a `sym6` wavelet 2x up/down-sampling), colour
    (`brightness`, `contrast`, `lumaflip`, `hue`, `saturation`: one 4x4
    matrix on `(R, G, B, 1)`), band filtering (`imgfilter`), additive noise
    (`noise`) and `cutout`. Everything is differentiable w.r.t. the images.

    With `p = 0` the images are returned unchanged (bit for bit). Geometry,
    colour and band filtering agree with ADA's `AugmentPipe` to ~1e-5 for
    the same parameters, with two deliberate differences: blits are exact
    pixel moves (ADA resamples them, which slightly blurs flips and quarter
    turns), and the reflect padding is always the largest ADA uses
    (`H - 1`, `W - 1`), since ADA's batch-dependent padding cannot be traced.
    `draw_parameters` and `apply_parameters` expose the two halves of `call`.

    Args:
        preset: string or None. One of `"blit"`, `"geom"`, `"color"`,
            `"filter"`, `"noise"`, `"cutout"`, `"bg"`, `"bgc"`, `"bgcf"`,
            `"bgcfn"`, `"bgcfnc"`; `None` enables nothing. Defaults to `"bgc"`.
        p: float. Initial augmentation probability (the variable `p`, which
            ADA's controller assigns during training). Defaults to `0.0`.
        xflip, rotate90, xint, scale, rotate, aniso, xfrac, brightness,
            contrast, lumaflip, hue, saturation, imgfilter, noise, cutout:
            float or None. Probability multiplier of each transform; `None`
            takes 1 if `preset` includes it, else 0. Defaults to `None`.
        xint_max: float. Largest integer translation, as a fraction of the
            image size. Defaults to `0.125`.
        scale_std: float. Log2 std of isotropic scaling. Defaults to `0.2`.
        rotate_max: float. Largest rotation, in half turns. Defaults to `1.0`.
        aniso_std: float. Log2 std of anisotropic scaling. Defaults to `0.2`.
        xfrac_std: float. Std of fractional translation, as a fraction of the
            image size. Defaults to `0.125`.
        brightness_std: float. Std of the brightness offset. Defaults to `0.2`.
        contrast_std: float. Log2 std of contrast. Defaults to `0.5`.
        hue_max: float. Largest hue rotation, in half turns. Defaults to `1.0`.
        saturation_std: float. Log2 std of saturation. Defaults to `1.0`.
        imgfilter_bands: 4 floats. Probability multipliers of the 4 frequency
            bands of `imgfilter`. Defaults to `(1, 1, 1, 1)`.
        imgfilter_std: float. Log2 std of band amplification. Defaults to `1.0`.
        noise_std: float. Std of the additive noise's scale. Defaults to `0.1`.
        cutout_size: float. Cutout square side, as a fraction of the image
            size. Defaults to `0.5`.
        seed: int or None. Seed of the layer's own `SeedGenerator`, used when
            `call` gets no `seed`. Defaults to `None`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        images: float tensor `[N, H, W, C]`, `C` 1 or 3, `H, W, C` static.
        seed: `keras.random.SeedGenerator`, int or None. Source of randomness;
            `None` uses the layer's generator. Defaults to `None`.

    Example:
    ```python
    augment = AugmentPipeline("bgc", p=0.2)
    images = np.random.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    augmented = augment(images, seed=keras.random.SeedGenerator(1))
    augment.p.assign(0.3)  # What ADA's controller does.
    ```

    References:
        - [Karras et al., 2020](https://arxiv.org/abs/2006.06676)
    """

    def __init__(
        self, preset="bgc", p=0.0,
        xflip=None, rotate90=None, xint=None, scale=None, rotate=None, aniso=None, xfrac=None,
        brightness=None, contrast=None, lumaflip=None, hue=None, saturation=None,
        imgfilter=None, noise=None, cutout=None,
        xint_max=0.125, scale_std=0.2, rotate_max=1.0, aniso_std=0.2, xfrac_std=0.125,
        brightness_std=0.2, contrast_std=0.5, hue_max=1.0, saturation_std=1.0,
        imgfilter_bands=(1.0, 1.0, 1.0, 1.0), imgfilter_std=1.0, noise_std=0.1, cutout_size=0.5,
        seed=None, **kwargs,
    ):  # fmt: skip
        super().__init__(**kwargs)
        arguments = dict(locals())
        self.preset = preset
        self.multipliers = _resolve_multipliers(preset, arguments)
        self.ranges = {name: _non_negative(name, arguments[name]) for name in RANGES}
        self.imgfilter_bands = _bands(imgfilter_bands)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"`seed` must be an integer or None. Received: seed={seed!r}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.p = self.add_weight(
            name="p",
            shape=(),
            dtype="float32",
            initializer=keras.initializers.Constant(_non_negative("p", p)),
            trainable=False,
            aggregation="only_first_replica",
        )
        self.built = True

    @property
    def settings(self):
        """Multipliers and ranges, the `settings` of `draw_parameters`."""
        return {**self.multipliers, **self.ranges, "imgfilter_bands": tuple(self.imgfilter_bands)}

    def call(self, images, seed=None):
        images = ops.convert_to_tensor(images)
        if len(images.shape) != 4:
            raise ValueError(f"`images` must be [N, H, W, C]. Received: images.shape={images.shape}")
        height, width, channels = images.shape[1:]
        if height is None or width is None or channels not in (1, 3):
            raise ValueError(
                f"`images` must have static height and width and 1 or 3 channels. "
                f"Received: images.shape={images.shape}"
            )
        x = ops.cast(images, "float32")
        seed = self.seed_generator if seed is None else seed
        shape = (ops.shape(x)[0], height, width, channels)
        params = draw_parameters(self.p, self.settings, shape, seed=seed)
        return ops.cast(apply_parameters(x, params), images.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"preset": self.preset, "p": float(ops.convert_to_numpy(self.p))})
        config.update(self.multipliers)
        config.update(self.ranges)
        config.update({"imgfilter_bands": list(self.imgfilter_bands), "seed": self.seed})
        return config

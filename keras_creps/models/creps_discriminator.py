"""The discriminator CREPS trains against: StyleGAN2's residual discriminator."""

import math

import keras
from keras import ops

from keras_creps.utils.arguments import non_negative_int
from keras_creps.utils.arguments import positive_float
from keras_creps.utils.arguments import positive_int
from keras_creps.utils.arguments import power_of_two
from keras_creps.layers.discriminator_block import DiscriminatorBlock
from keras_creps.layers.discriminator_epilogue import DiscriminatorEpilogue
from keras_creps.layers.mapping_network import MappingNetwork
from keras_creps.models.creps_model import CREPSModel

# Learning-rate multiplier of the label mapping, as in the official code.
MAPPING_LR_MULTIPLIER = 0.01


@keras.saving.register_keras_serializable(package="keras_creps")
class CREPSDiscriminator(CREPSModel):
    """StyleGAN2's residual discriminator, as used to train CREPS.

    Blocks `b{R}, b{R/2}, ..., b8` (`DiscriminatorBlock`, each halving the
    resolution; the first one starts with a 1x1 `fromrgb`) are followed by
    the 4x4 epilogue `b4` (`DiscriminatorEpilogue`: minibatch standard
    deviation, 3x3 conv, two dense layers). Block `b{res}` works with
    `min(channel_base // res, channel_max)` channels. Every weight uses the
    equalized learning rate, every conv output except the 1x1 skips is
    clamped to `conv_clamp` (scaled by the branch gain) and both residual
    branches are scaled by `sqrt(0.5)`.

    With `c_dim > 0` the discriminator is conditional: a label mapping
    network (`mapping`: `mapping_layers` leaky-ReLU dense layers, learning
    rate multiplier 0.01, no latent) maps `c` to `cmap [N, cmap_dim]`, and
    the logit is the projection `sum(out * cmap) / sqrt(cmap_dim)`.

    Under a mixed-precision dtype policy the blocks compute in float16 /
    bfloat16, while the label mapping and the epilogue (minibatch statistics
    and logits) compute in float32, as in the official implementation; the
    logits are then float32.

    Layer names follow the official state dict (`b16/conv0`, `b4/fc`,
    `mapping/fc0`, ...), see `keras_creps.convert.discriminator_from_official`.
    All weights are created in the constructor.

    Args:
        resolution: int. Input image size `H = W`, a power of two `>= 4`.
        img_channels: int. Image channels. Defaults to `3`.
        c_dim: int. Label size, 0 for unconditional. Defaults to `0`.
        channel_base: int. Channel multiplier. Defaults to `32768`.
        channel_max: int. Maximum channels per block. Defaults to `512`.
        conv_clamp: float or None. Clamp of the conv outputs. Defaults to
            `256.0`.
        cmap_dim: int or None. Size of the mapped label; `None` uses the
            channel count of `b4`. Ignored when `c_dim == 0`. Defaults to `None`.
        mbstd_group_size: int or None. Maximum minibatch-stddev group size;
            `None` uses the whole batch. Defaults to `4`.
        mbstd_num_channels: int. Minibatch-stddev channels, 0 to disable.
            Defaults to `1`.
        mapping_layers: int. Depth of the label mapping. Defaults to `8`.
        **kwargs: other keyword arguments passed to `keras.Model`.

    Call arguments:
        images: tensor `[N, resolution, resolution, img_channels]`, NHWC,
            values nominally in `[-1, 1]`.
        c: tensor `[N, c_dim]`, the labels (e.g. one-hot); required when
            `c_dim > 0`, ignored otherwise. Defaults to `None`.

    Returns:
        Logits `[N, 1]`.

    Example:
    ```python
    D = CREPSDiscriminator(resolution=16, channel_base=512, channel_max=64)
    logits = D(np.random.uniform(-1, 1, (4, 16, 16, 3)).astype("float32"))  # [4, 1]
    ```

    References:
        - [Karras et al., 2020](https://arxiv.org/abs/1912.04958)
        - [Nguyen et al., 2023](https://arxiv.org/abs/2303.14157)
    """

    def __init__(
        self,
        resolution,
        img_channels=3,
        c_dim=0,
        channel_base=32768,
        channel_max=512,
        conv_clamp=256.0,
        cmap_dim=None,
        mbstd_group_size=4,
        mbstd_num_channels=1,
        mapping_layers=8,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Arguments ===
        self.resolution = power_of_two("resolution", resolution)
        self.img_channels = positive_int("img_channels", img_channels)
        self.c_dim = non_negative_int("c_dim", c_dim)
        self.channel_base = positive_int("channel_base", channel_base)
        self.channel_max = positive_int("channel_max", channel_max)
        self.conv_clamp = None if conv_clamp is None else positive_float("conv_clamp", conv_clamp)
        self.mbstd_group_size = (
            None if mbstd_group_size is None else positive_int("mbstd_group_size", mbstd_group_size)
        )
        self.mbstd_num_channels = non_negative_int("mbstd_num_channels", mbstd_num_channels)
        self.mapping_layers = positive_int("mapping_layers", mapping_layers)
        self.block_resolutions = [2**i for i in range(int(math.log2(self.resolution)), 2, -1)]
        if self.channel_base < self.resolution:
            raise ValueError(
                f"`channel_base` must be at least `resolution`, so that every block has a channel. "
                f"Received: channel_base={channel_base!r}, resolution={resolution!r}"
            )
        if cmap_dim is not None:
            positive_int("cmap_dim", cmap_dim)
        self._cmap_dim_arg = cmap_dim
        self.cmap_dim = 0 if self.c_dim == 0 else (cmap_dim or self.channels(4))

        # === Layers ===
        self.blocks = []
        for res in self.block_resolutions:
            self.blocks.append(
                DiscriminatorBlock(
                    self.channels(res),
                    self.channels(res // 2),
                    from_rgb=res == self.resolution,
                    clamp=self.conv_clamp,
                    name=f"b{res}",
                    dtype=self.dtype_policy,
                )
            )
        # As in the official code, the label mapping and the epilogue (batch
        # statistics, logits) always compute in at least float32.
        head_dtype = self.dtype_policy
        if self.dtype_policy.compute_dtype in ("float16", "bfloat16"):
            head_dtype = "float32"
        self.mapping = None
        if self.c_dim > 0:
            self.mapping = MappingNetwork(
                z_dim=0,
                c_dim=self.c_dim,
                w_dim=self.cmap_dim,
                num_ws=None,
                num_layers=self.mapping_layers,
                lr_multiplier=MAPPING_LR_MULTIPLIER,
                w_avg_beta=None,
                name="mapping",
                dtype=head_dtype,
            )
        self.epilogue = DiscriminatorEpilogue(
            self.channels(4),
            resolution=4,
            cmap_dim=self.cmap_dim,
            mbstd_group_size=self.mbstd_group_size,
            mbstd_num_channels=self.mbstd_num_channels,
            clamp=self.conv_clamp,
            name="b4",
            dtype=head_dtype,
        )

        # === Weights ===
        self.build((None, self.resolution, self.resolution, self.img_channels))

    def channels(self, res):
        """Channel count of block `b{res}`."""
        return min(self.channel_base // res, self.channel_max)

    def build(self, input_shape=None):
        # All shapes follow from the constructor arguments; `input_shape` is
        # accepted for Keras' build protocol and ignored.
        if self.built:
            return
        shape = (None, self.resolution, self.resolution, self.img_channels)
        for block in self.blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)
        if self.mapping is not None:
            self.mapping.build(None, (None, self.c_dim))
        self.epilogue.build(shape)
        self.built = True

    def call(self, images, c=None):
        expected = (self.resolution, self.resolution, self.img_channels)
        if tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"{self.name} expects images [N, {self.resolution}, {self.resolution}, "
                f"{self.img_channels}] (NHWC). Received: images.shape={tuple(images.shape)}"
            )
        if self.mapping is not None and c is None:
            raise ValueError(
                f"{self.name} is conditional (c_dim={self.c_dim}); pass labels `c` of shape "
                f"[N, {self.c_dim}]. Received: c=None"
            )
        x = ops.cast(images, self.compute_dtype)  # [N, R, R, C_img]
        for block in self.blocks:
            x = block(x)  # [N, res/2, res/2, channels(res/2)]
        cmap = None
        if self.mapping is not None:
            cmap = self.mapping(None, c=c)  # [N, cmap_dim]
        return self.epilogue(x, cmap=cmap)  # [N, 1]

    def compute_output_shape(self, images_shape, c_shape=None):
        return (images_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "resolution": self.resolution,
                "img_channels": self.img_channels,
                "c_dim": self.c_dim,
                "channel_base": self.channel_base,
                "channel_max": self.channel_max,
                "conv_clamp": self.conv_clamp,
                "cmap_dim": self._cmap_dim_arg,
                "mbstd_group_size": self.mbstd_group_size,
                "mbstd_num_channels": self.mbstd_num_channels,
                "mapping_layers": self.mapping_layers,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

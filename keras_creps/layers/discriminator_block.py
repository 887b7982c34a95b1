"""Residual discriminator block of StyleGAN2 (architecture "resnet")."""

import math

import keras

from keras_creps.utils.arguments import positive_int
from keras_creps.layers.bias_act import validate_activation
from keras_creps.layers.bias_act import validate_clamp
from keras_creps.layers.equalized_conv2d import EqualizedConv2D

# Both residual branches are scaled by sqrt(1/2) so that their sum keeps
# the variance of one branch.
RESIDUAL_GAIN = math.sqrt(0.5)


@keras.saving.register_keras_serializable(package="keras_creps")
class DiscriminatorBlock(keras.layers.Layer):
    """One resolution of StyleGAN2's residual discriminator; halves H and W.

    `out = skip(x) + conv1(conv0(x))`, where
    - `fromrgb` (first block only, `from_rgb=True`): 1x1 conv turning the
      image into `tmp_channels` features (activation, clamp);
    - `conv0`: 3x3 conv, `tmp_channels -> tmp_channels` (activation, clamp);
    - `conv1`: 3x3 conv with 2x FIR down-sampling, `tmp_channels ->
      out_channels` (activation, gain `sqrt(0.5)`, clamp `clamp * sqrt(0.5)`);
    - `skip`: 1x1 conv with 2x FIR down-sampling, no bias, linear, gain
      `sqrt(0.5)`, no clamp.

    Args:
        tmp_channels: int. Channels inside the block (input channels when
            `from_rgb=False`).
        out_channels: int. Output channels.
        from_rgb: bool. Whether the input is an image that needs `fromrgb`.
            Defaults to `False`.
        activation: string. Activation of all convolutions except `skip`.
            Defaults to `"lrelu"`.
        clamp: float or None. Output clamp of the convolutions except `skip`.
            Defaults to `256.0`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        inputs: tensor `[N, H, W, C]`: the image (`C = img_channels`) when
            `from_rgb=True`, else features with `C = tmp_channels`.

    Example:
    ```python
    block = DiscriminatorBlock(32, 64, from_rgb=True)
    y = block(np.random.randn(2, 16, 16, 3).astype("float32"))  # [2, 8, 8, 64]
    ```

    References:
        - [Karras et al., 2020](https://arxiv.org/abs/1912.04958)
    """

    def __init__(
        self,
        tmp_channels,
        out_channels,
        from_rgb=False,
        activation="lrelu",
        clamp=256.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.tmp_channels = positive_int("tmp_channels", tmp_channels)
        self.out_channels = positive_int("out_channels", out_channels)
        self.from_rgb = bool(from_rgb)
        self.activation = validate_activation(activation)
        self.clamp = validate_clamp(clamp)

        common = dict(activation=self.activation, clamp=self.clamp, dtype=self.dtype_policy)
        self.fromrgb = None
        if self.from_rgb:
            self.fromrgb = EqualizedConv2D(self.tmp_channels, 1, name="fromrgb", **common)
        self.conv0 = EqualizedConv2D(self.tmp_channels, 3, name="conv0", **common)
        self.conv1 = EqualizedConv2D(self.out_channels, 3, down=2, name="conv1", **common)
        self.skip = EqualizedConv2D(
            self.out_channels, 1, down=2, use_bias=False, name="skip", dtype=self.dtype_policy
        )

    def build(self, input_shape):
        channels = input_shape[-1]
        if not self.from_rgb and channels is not None and channels != self.tmp_channels:
            raise ValueError(
                f"Without fromrgb the input must have tmp_channels={self.tmp_channels} channels. "
                f"Received: input_shape={input_shape}"
            )
        shape = tuple(input_shape)
        if self.fromrgb is not None:
            self.fromrgb.build(shape)
            shape = self.fromrgb.compute_output_shape(shape)
        self.conv0.build(shape)
        self.conv1.build(shape)
        self.skip.build(shape)

    def call(self, inputs):
        x = inputs
        if self.fromrgb is not None:
            x = self.fromrgb(x)  # [N, H, W, tmp]
        y = self.skip(x, gain=RESIDUAL_GAIN)  # [N, H/2, W/2, out]
        x = self.conv0(x)  # [N, H, W, tmp]
        x = self.conv1(x, gain=RESIDUAL_GAIN)  # [N, H/2, W/2, out]
        return y + x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[:-1]) + (self.tmp_channels,)
        return self.conv1.compute_output_shape(shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tmp_channels": self.tmp_channels,
                "out_channels": self.out_channels,
                "from_rgb": self.from_rgb,
                "activation": self.activation,
                "clamp": self.clamp,
            }
        )
        return config

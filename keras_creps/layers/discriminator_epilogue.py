"""Final 4x4 stage of StyleGAN2's discriminator: features (and labels) -> logits."""

import math

import keras
from keras import ops

from keras_creps.utils.arguments import non_negative_int
from keras_creps.utils.arguments import positive_int
from keras_creps.layers.bias_act import validate_activation
from keras_creps.layers.bias_act import validate_clamp
from keras_creps.layers.equalized_conv2d import EqualizedConv2D
from keras_creps.layers.equalized_dense import EqualizedDense
from keras_creps.layers.minibatch_std import MinibatchStd


@keras.saving.register_keras_serializable(package="keras_creps")
class DiscriminatorEpilogue(keras.layers.Layer):
    """Turns the lowest-resolution features into one logit per sample.

    `mbstd` (minibatch standard deviation, `num_channels` extra channels,
    omitted when `mbstd_num_channels == 0`) -> `conv` (3x3,
    `C + mbstd_num_channels -> C`, activation, clamp) -> flatten ->
    `fc` (dense, `C*H*W -> C`, activation) -> `out` (dense, linear, to 1, or
    to `cmap_dim` when conditional).

    The flatten uses the **channels-first** order `[C, H, W]` of the official
    implementation, so its `fc` weights load unchanged; this layer's inputs
    are channels-last.

    When `cmap_dim > 0` the output is the projection on the mapped label:
    `sum(out(x) * cmap, axis=1) / sqrt(cmap_dim)`, shape `[N, 1]`.

    Args:
        channels: int. Number of input (and hidden) channels `C`.
        resolution: int. Spatial size `H = W` of the input. Defaults to `4`.
        cmap_dim: int. Size of the mapped label, 0 for unconditional.
            Defaults to `0`.
        mbstd_group_size: int or None. Group size of the minibatch standard
            deviation; `None` uses the whole batch. Defaults to `4`.
        mbstd_num_channels: int. Number of minibatch statistic channels,
            0 to disable. Defaults to `1`.
        activation: string. Activation of `conv` and `fc`. Defaults to
            `"lrelu"`.
        clamp: float or None. Output clamp of `conv`. Defaults to `256.0`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        inputs: tensor `[N, resolution, resolution, channels]`.
        cmap: tensor `[N, cmap_dim]`, the mapped label; required when
            `cmap_dim > 0`, ignored otherwise. Defaults to `None`.

    Example:
    ```python
    epilogue = DiscriminatorEpilogue(64)
    logits = epilogue(np.random.randn(4, 4, 4, 64).astype("float32"))  # [4, 1]
    ```

    References:
        - [Karras et al., 2020](https://arxiv.org/abs/1912.04958)
        - [Miyato & Koyama, 2018](https://arxiv.org/abs/1802.05637)
    """

    def __init__(
        self,
        channels,
        resolution=4,
        cmap_dim=0,
        mbstd_group_size=4,
        mbstd_num_channels=1,
        activation="lrelu",
        clamp=256.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.channels = positive_int("channels", channels)
        self.resolution = positive_int("resolution", resolution)
        self.cmap_dim = non_negative_int("cmap_dim", cmap_dim)
        self.mbstd_group_size = (
            None if mbstd_group_size is None else positive_int("mbstd_group_size", mbstd_group_size)
        )
        self.mbstd_num_channels = non_negative_int("mbstd_num_channels", mbstd_num_channels)
        self.activation = validate_activation(activation)
        self.clamp = validate_clamp(clamp)

        self.mbstd = None
        if self.mbstd_num_channels > 0:
            self.mbstd = MinibatchStd(
                group_size=self.mbstd_group_size,
                num_channels=self.mbstd_num_channels,
                name="mbstd",
                dtype=self.dtype_policy,
            )
        self.conv = EqualizedConv2D(
            self.channels,
            3,
            activation=self.activation,
            clamp=self.clamp,
            name="conv",
            dtype=self.dtype_policy,
        )
        self.fc = EqualizedDense(self.channels, activation=self.activation, name="fc", dtype=self.dtype_policy)
        self.out = EqualizedDense(max(self.cmap_dim, 1), name="out", dtype=self.dtype_policy)

    def build(self, inputs_shape, cmap_shape=None):
        expected = (self.resolution, self.resolution, self.channels)
        if tuple(inputs_shape[1:]) != expected:
            raise ValueError(
                f"{self.name} expects inputs [N, {self.resolution}, {self.resolution}, {self.channels}]. "
                f"Received: inputs_shape={inputs_shape}"
            )
        shape = tuple(inputs_shape)
        if self.mbstd is not None:
            self.mbstd.build(shape)
            shape = self.mbstd.compute_output_shape(shape)
        self.conv.build(shape)
        self.fc.build((None, self.channels * self.resolution**2))
        self.out.build((None, self.channels))

    def call(self, inputs, cmap=None):
        if self.cmap_dim > 0 and cmap is None:
            raise ValueError(
                f"{self.name} is conditional (cmap_dim={self.cmap_dim}); `cmap` [N, {self.cmap_dim}] "
                f"must be given. Received: cmap=None"
            )
        x = inputs
        if self.mbstd is not None:
            x = self.mbstd(x)  # [N, H, W, C + F]
        x = self.conv(x)  # [N, H, W, C]
        x = ops.transpose(x, (0, 3, 1, 2))  # [N, C, H, W]
        x = ops.reshape(x, (-1, self.channels * self.resolution**2))  # [N, C*H*W]
        x = self.fc(x)  # [N, C]
        x = self.out(x)  # [N, max(cmap_dim, 1)]
        if self.cmap_dim > 0:
            cmap = ops.cast(cmap, x.dtype)
            x = ops.sum(x * cmap, axis=1, keepdims=True) * (1.0 / math.sqrt(self.cmap_dim))  # [N, 1]
        return x

    def compute_output_shape(self, inputs_shape, cmap_shape=None):
        return (inputs_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "resolution": self.resolution,
                "cmap_dim": self.cmap_dim,
                "mbstd_group_size": self.mbstd_group_size,
                "mbstd_num_channels": self.mbstd_num_channels,
                "activation": self.activation,
                "clamp": self.clamp,
            }
        )
        return config

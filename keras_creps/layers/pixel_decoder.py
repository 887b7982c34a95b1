"""Per-pixel MLP decoder of CREPS' fused features."""

import keras

from keras_creps.utils.arguments import positive_int
from keras_creps.layers.bias_act import validate_activation
from keras_creps.layers.equalized_dense import EqualizedDense


@keras.saving.register_keras_serializable(package="keras_creps")
class PixelDecoder(keras.layers.Layer):
    """A stack of equalized-lr dense layers applied to every pixel.

    CREPS decodes its fused features with `channels -> 2c -> 4c -> 2c -> c`
    layers, each with leaky ReLU and gain `sqrt(2)` and no clamp. The
    sub-layers are named `fc0`, `fc1`, ... (official `decoder_*.0`, `.1`, ...).

    Args:
        channels: int. Input and output channels `c`.
        hidden_multipliers: tuple of ints. Widths of the hidden layers as
            multiples of `channels`. Defaults to `(2, 4, 2)`.
        activation: string. Activation of every layer. Defaults to `"lrelu"`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        inputs: tensor `[..., channels]`.

    Example:
    ```python
    decoder = PixelDecoder(32)
    y = decoder(np.random.randn(1, 64, 64, 32).astype("float32"))  # [1, 64, 64, 32]
    ```
    """

    def __init__(self, channels, hidden_multipliers=(2, 4, 2), activation="lrelu", **kwargs):
        super().__init__(**kwargs)
        self.channels = positive_int("channels", channels)
        self.hidden_multipliers = tuple(
            positive_int("hidden_multipliers", m) for m in hidden_multipliers
        )
        self.activation = validate_activation(activation)
        widths = [self.channels * m for m in self.hidden_multipliers] + [self.channels]
        self.dense_layers = [
            EqualizedDense(units, activation=activation, name=f"fc{i}", dtype=self.dtype_policy)
            for i, units in enumerate(widths)
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.dense_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        x = inputs
        for layer in self.dense_layers:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.channels,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "hidden_multipliers": list(self.hidden_multipliers),
                "activation": self.activation,
            }
        )
        return config

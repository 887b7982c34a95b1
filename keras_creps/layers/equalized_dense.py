"""Fully connected layer with StyleGAN's equalized learning rate."""

import math

import keras

from keras_creps.utils.arguments import number
from keras_creps.utils.arguments import positive_float
from keras_creps.utils.arguments import positive_int
from keras_creps.layers.bias_act import bias_act
from keras_creps.layers.bias_act import dense_last_axis
from keras_creps.layers.bias_act import default_gain
from keras_creps.layers.bias_act import validate_activation
from keras_creps.layers.bias_act import validate_clamp
from keras_creps.layers.matmul_precision import matmul
from keras_creps.layers.host_initializers import HostConstant
from keras_creps.layers.host_initializers import HostNormal


def _static_rows(x):
    """Number of rows `prod(shape[:-1])` if statically known, else None."""
    rows = 1
    for dim in x.shape[:-1]:
        if dim is None:
            return None
        rows *= dim
    return rows


@keras.saving.register_keras_serializable(package="keras_creps")
class EqualizedDense(keras.layers.Layer):
    """Dense layer with equalized learning rate, as in StyleGAN.

    The stored kernel is drawn from `N(0, 1 / lr_multiplier^2)` and scaled at
    run time by `lr_multiplier / sqrt(in_features)`; the bias is stored
    unscaled and multiplied by `lr_multiplier`. Keeping the gains out of the
    stored values makes the effective learning rate of every weight the same
    and lets official checkpoints round-trip unchanged. After the matrix
    product the layer applies `bias_act`: bias, activation, gain and clamp.

    The layer acts on the last axis of an input of any rank.

    Args:
        units: int. Number of output features.
        activation: string. `"linear"`, `"relu"` or `"lrelu"`. Defaults to
            `"linear"`.
        lr_multiplier: float. Learning-rate multiplier. Defaults to `1.0`.
        bias_init: float. Initial (stored) bias value. Defaults to `0.0`.
        use_bias: bool. Whether to add a bias. Defaults to `True`.
        gain: float or None. Output gain; `None` uses the activation's default
            (`sqrt(2)` for lrelu). Defaults to `None`.
        clamp: float or None. Clip the output to `[-clamp, clamp]`.
            Defaults to `None`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        inputs: tensor `[..., in_features]`.

    Example:
    ```python
    layer = EqualizedDense(64, activation="lrelu", lr_multiplier=0.01)
    y = layer(np.random.randn(4, 32).astype("float32"))  # [4, 64]
    ```

    References:
        - [Karras et al., 2018](https://arxiv.org/abs/1710.10196)
    """

    def __init__(
        self,
        units,
        activation="linear",
        lr_multiplier=1.0,
        bias_init=0.0,
        use_bias=True,
        gain=None,
        clamp=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.activation = validate_activation(activation)
        self.lr_multiplier = positive_float("lr_multiplier", lr_multiplier)
        self.bias_init = number("bias_init", bias_init)
        self.use_bias = bool(use_bias)
        self.gain = None if gain is None else float(gain)
        self.clamp = validate_clamp(clamp)

    def build(self, input_shape):
        in_features = input_shape[-1]
        if in_features is None:
            raise ValueError(
                f"The last axis of the input to {self.name} must be known. "
                f"Received: input_shape={input_shape}"
            )
        self.in_features = int(in_features)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.in_features, self.units),
            initializer=HostNormal(stddev=1.0 / self.lr_multiplier),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=HostConstant(self.bias_init),
            )
        self.weight_gain = self.lr_multiplier / math.sqrt(self.in_features)

    def call(self, inputs):
        # All supported activations are positively homogeneous, so the output
        # gain folds into the weight gain: act(x W + b) * g = act(x gW + gb).
        gain = default_gain(self.activation) if self.gain is None else self.gain
        scale = self.weight_gain * gain
        rows = _static_rows(inputs)
        if rows is not None and rows < self.in_features:
            # Few rows (latents, labels): scaling the input is cheaper than
            # materialising a scaled copy of a large kernel.
            y = dense_last_axis(inputs * scale, self.kernel)  # [..., units]
        else:
            # Many rows (pixels): the work of a per-pixel network, rounded to
            # bfloat16 inside `matmul_precision("bfloat16")`. Latents (the
            # branch above) stay float32 there: they set every pixel's style.
            y = dense_last_axis(inputs, self.kernel * scale, product=matmul)  # [..., units]
        bias = None
        if self.bias is not None:
            bias_gain = self.lr_multiplier * gain
            bias = self.bias if bias_gain == 1 else self.bias * bias_gain
        return bias_act(y, bias, self.activation, gain=1.0, clamp=self.clamp)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": self.activation,
                "lr_multiplier": self.lr_multiplier,
                "bias_init": self.bias_init,
                "use_bias": self.use_bias,
                "gain": self.gain,
                "clamp": self.clamp,
            }
        )
        return config

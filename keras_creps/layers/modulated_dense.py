"""Style-modulated fully connected layer (StyleGAN2's modulated 1x1 convolution)."""

import math

import keras
from keras import ops

from keras_creps.utils.arguments import positive_int
from keras_creps.layers.bias_act import bias_act
from keras_creps.layers.bias_act import default_gain
from keras_creps.layers.bias_act import validate_activation
from keras_creps.layers.bias_act import validate_clamp
from keras_creps.layers.equalized_dense import EqualizedDense
from keras_creps.layers.input_modulation import modulates_inputs
from keras_creps.layers.matmul_precision import matmul
from keras_creps.layers.host_initializers import HostConstant
from keras_creps.layers.host_initializers import HostNormal


@keras.saving.register_keras_serializable(package="keras_creps")
class ModulatedDense(keras.layers.Layer):
    """Per-sample modulated (and optionally demodulated) dense layer.

    A style vector `s = affine(w)` scales the input features of the kernel
    separately for every sample: `W'[n, i, o] = W[i, o] * s[n, i]`. With
    `demodulate=True` each output column is then normalised,
    `W'[n, :, o] /= sqrt(sum_i W'[n, i, o]^2 + 1e-8)`, which also cancels any
    constant weight gain. Without demodulation the equalized-lr gain
    `1 / sqrt(in_features)` is applied to the styles (StyleGAN's ToRGB, CREPS'
    ToRes). The layer acts on the channel (last) axis only, identically at
    every position of the other axes, so it serves both CREPS' line network
    (`[N, L, C]`) and its per-pixel refinement (`[N, H, W, C]`).

    Inside `keras_creps.layers.input_modulation.modulate_inputs()` the styles
    scale the inputs and the demodulation scales the outputs instead of both
    scaling a per-sample kernel: the same result up to float32 rounding, in
    less memory where a compiler would hold every layer's kernel at once.

    The style affine is a sub-layer named `affine` (`EqualizedDense` with
    bias initialised to 1), as in the official implementation.

    Args:
        units: int. Number of output channels.
        demodulate: bool. Whether to demodulate. Defaults to `True`.
        activation: string. `"linear"`, `"relu"` or `"lrelu"`. Defaults to
            `"lrelu"`.
        gain: float or None. Output gain; `None` uses the activation's default.
            Defaults to `None`.
        clamp: float or None. Clip the output to `[-clamp, clamp]`.
            Defaults to `None`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        x: tensor `[N, ..., in_channels]`.
        w: tensor `[N, w_dim]`, the latent that produces the styles.

    Example:
    ```python
    layer = ModulatedDense(128, clamp=256.0)
    x = np.random.randn(2, 16, 8, 64).astype("float32")
    w = np.random.randn(2, 512).astype("float32")
    y = layer(x, w)  # [2, 16, 8, 128]
    ```

    References:
        - [Karras et al., 2020](https://arxiv.org/abs/1912.04958)
        - [Nguyen et al., 2023](https://arxiv.org/abs/2303.14157)
    """

    def __init__(
        self,
        units,
        demodulate=True,
        activation="lrelu",
        gain=None,
        clamp=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.demodulate = bool(demodulate)
        self.activation = validate_activation(activation)
        self.gain = None if gain is None else float(gain)
        self.clamp = validate_clamp(clamp)
        self.affine = None

    def build(self, x_shape, w_shape):
        in_channels = x_shape[-1]
        if in_channels is None or w_shape[-1] is None:
            raise ValueError(
                f"The channel axes of the inputs to {self.name} must be known. "
                f"Received: x_shape={x_shape}, w_shape={w_shape}"
            )
        self.in_channels = int(in_channels)
        self.affine = EqualizedDense(
            self.in_channels, bias_init=1.0, name="affine", dtype=self.dtype_policy
        )
        self.affine.build(w_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.in_channels, self.units),
            initializer=HostNormal(stddev=1.0),
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=HostConstant(0.0))

    def modulated_kernel(self, w, gain=1.0):
        """The per-sample kernel `[N, in_channels, units]` for latents `w [N, w_dim]`.

        `gain` multiplies the whole kernel (used to fold the output gain in).
        """
        styles = self._styles(w, gain)  # [N, I]
        kernel = self.kernel[None, :, :] * styles[:, :, None]  # [N, I, O]
        if self.demodulate:
            dcoefs = _demodulation(kernel)  # [N, 1, O]
            kernel = kernel * (dcoefs * gain if gain != 1 else dcoefs)
        return kernel

    def _styles(self, w, gain):
        """`affine(w)` `[N, I]`, with the equalized-lr gain and `gain` folded in when not demodulating."""
        styles = self.affine(w)
        if not self.demodulate:
            styles = styles * (gain / math.sqrt(self.in_channels))
        return styles

    def _modulated_product(self, flat, w, gain):
        """`flat [N, P, I] @ modulated_kernel(w, gain)`: `[N, P, O]`, by the side `input_modulation` picks."""
        if not modulates_inputs():
            return matmul(flat, self.modulated_kernel(w, gain))  # [N, P, O]
        styles = self._styles(w, gain)  # [N, I]
        y = matmul(flat * styles[:, None, :], self.kernel)  # [N, P, O]
        if self.demodulate:
            # Summed as soon as it is made: XLA fuses the product and its
            # squares into the reduction and never holds the [N, I, O] kernel.
            dcoefs = _demodulation(self.kernel[None, :, :] * styles[:, :, None])  # [N, 1, O]
            y = y * (dcoefs * gain if gain != 1 else dcoefs)
        return y

    def call(self, x, w):
        # The activation is positively homogeneous: its gain is folded into
        # the per-sample kernel and the bias (see `EqualizedDense.call`).
        gain = default_gain(self.activation) if self.gain is None else self.gain
        shape = ops.shape(x)
        flat = ops.reshape(x, (shape[0], -1, self.in_channels))  # [N, P, I]
        y = self._modulated_product(flat, w, gain)  # [N, P, O], in the precision of `matmul_precision`
        y = ops.reshape(y, tuple(shape[:-1]) + (self.units,))
        bias = self.bias if gain == 1 else self.bias * gain
        return bias_act(y, bias, self.activation, gain=1.0, clamp=self.clamp)

    def compute_output_shape(self, x_shape, w_shape):
        return tuple(x_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "demodulate": self.demodulate,
                "activation": self.activation,
                "gain": self.gain,
                "clamp": self.clamp,
            }
        )
        return config


def _demodulation(kernel):
    """`[N, 1, O]` for a modulated kernel `[N, I, O]`: one over each output column's norm."""
    return ops.rsqrt(ops.sum(ops.square(kernel), axis=1, keepdims=True) + 1e-8)

"""2-D convolution with equalized learning rate and optional 2x down-sampling."""

import math

import keras
from keras import ops

from keras_creps.utils.arguments import positive_int
from keras_creps.layers.bias_act import bias_act
from keras_creps.layers.bias_act import default_gain
from keras_creps.layers.bias_act import validate_activation
from keras_creps.layers.bias_act import validate_clamp
from keras_creps.layers.blur import DEFAULT_FIR_TAPS
from keras_creps.layers.blur import fir_downsample
from keras_creps.layers.blur import fir_filter_2d
from keras_creps.layers.blur import fir_output_size
from keras_creps.layers.fast_conv import fast_conv
from keras_creps.layers.host_initializers import HostConstant
from keras_creps.layers.host_initializers import HostNormal


@keras.saving.register_keras_serializable(package="keras_creps")
class EqualizedConv2D(keras.layers.Layer):
    """Convolution with equalized learning rate, as in StyleGAN2's discriminator.

    The kernel is stored in Keras layout `[k, k, in_channels, filters]`,
    drawn from `N(0, 1)`, and scaled at run time by
    `1 / sqrt(in_channels * k^2)`. The convolution is a cross-correlation with
    "same" zero padding (`k // 2` on each side).

    With `down=2` the input is first low-pass filtered with the
    `outer([1, 3, 3, 1]) / 64` FIR filter: for `k > 1` the filter is applied
    with padding `k // 2 + 1` on each side and the convolution then runs with
    stride 2 and no padding; for `k == 1` the filtered signal is subsampled
    (samples `0, 2, 4, ...`) before the 1x1 convolution. This reproduces
    `conv2d_resample(..., down=2)` of the official implementation exactly.

    After the convolution, `bias_act` adds the bias and applies the
    activation, the gain `default_gain(activation) * gain` and the clamp
    `clamp * gain`, where `gain` is a call argument (the residual blocks pass
    `sqrt(0.5)`).

    Args:
        filters: int. Number of output channels.
        kernel_size: int. Odd kernel size.
        down: int. `1` or `2`, the down-sampling factor. Defaults to `1`.
        activation: string. `"linear"`, `"relu"` or `"lrelu"`. Defaults to
            `"linear"`.
        use_bias: bool. Whether to add a bias. Defaults to `True`.
        clamp: float or None. Clip the output to `[-clamp * gain, clamp * gain]`.
            Defaults to `None`.
        fir_taps: sequence of numbers. 1-D taps of the down-sampling filter,
            an even number of them. Defaults to `(1, 3, 3, 1)`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        inputs: tensor `[N, H, W, in_channels]`.
        gain: float. Extra output gain, also applied to the clamp.
            Defaults to `1.0`.

    Example:
    ```python
    conv = EqualizedConv2D(64, 3, down=2, activation="lrelu", clamp=256.0)
    y = conv(np.random.randn(2, 16, 16, 32).astype("float32"))  # [2, 8, 8, 64]
    ```

    References:
        - [Karras et al., 2018](https://arxiv.org/abs/1710.10196)
        - [Karras et al., 2020](https://arxiv.org/abs/1912.04958)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        down=1,
        activation="linear",
        use_bias=True,
        clamp=None,
        fir_taps=DEFAULT_FIR_TAPS,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = positive_int("filters", filters)
        self.kernel_size = positive_int("kernel_size", kernel_size)
        if self.kernel_size % 2 != 1:
            raise ValueError(f"`kernel_size` must be odd. Received: kernel_size={kernel_size!r}")
        if isinstance(down, bool) or down not in (1, 2):
            raise ValueError(f"`down` must be 1 or 2. Received: down={down!r}")
        self.down = down
        self.activation = validate_activation(activation)
        self.use_bias = bool(use_bias)
        self.clamp = validate_clamp(clamp)
        self.fir_filter = fir_filter_2d(fir_taps)
        if self.fir_filter.shape[0] % 2 != 0:
            raise ValueError(
                f"`fir_taps` must have an even number of taps (the padding is then the same "
                f"on both sides). Received: fir_taps={list(fir_taps)!r}"
            )
        self.fir_taps = [float(t) for t in fir_taps]

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None:
            raise ValueError(
                f"The channel axis of the input to {self.name} must be known. "
                f"Received: input_shape={input_shape}"
            )
        self.in_channels = int(in_channels)
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel",
            shape=(k, k, self.in_channels, self.filters),
            initializer=HostNormal(stddev=1.0),
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=HostConstant(0.0))
        self.weight_gain = 1.0 / math.sqrt(self.in_channels * k * k)

    def _fir_padding(self):
        # FIR padding on each side: the convolution's own `k // 2` plus
        # `(taps - 2) // 2`, so that the output is exactly `H / 2`.
        return self.kernel_size // 2 + (self.fir_filter.shape[0] - 2) // 2

    def call(self, inputs, gain=1.0):
        if not gain > 0:
            raise ValueError(f"`gain` must be positive. Received: gain={gain!r}")
        # The activations are positively homogeneous, so the output gain
        # folds into the kernel and the bias (as in `EqualizedDense.call`):
        # one pass fewer over the output.
        act_gain = default_gain(self.activation) * gain
        act_clamp = None if self.clamp is None else self.clamp * gain
        kernel = ops.cast(self.kernel * (self.weight_gain * act_gain), inputs.dtype)  # [k, k, Cin, Cout]
        bias = None if self.bias is None else ops.cast(self.bias * act_gain, inputs.dtype)  # [Cout]
        x = inputs
        if self.down == 1:
            y = fast_conv(x, kernel, padding="same", bias=bias)  # [N, H, W, Cout]
        elif self.kernel_size == 1:
            x = fir_downsample(x, self.fir_filter, self._fir_padding(), down=self.down)  # [N, H/2, W/2, Cin]
            y = fast_conv(x, kernel, bias=bias)  # [N, H/2, W/2, Cout]
        else:
            x = fir_downsample(x, self.fir_filter, self._fir_padding(), down=1)  # [N, H + 1, W + 1, Cin]
            y = fast_conv(x, kernel, strides=self.down, bias=bias)  # [N, H/2, W/2, Cout]
        return bias_act(y, None, self.activation, gain=1.0, clamp=act_clamp)

    def _output_size(self, size):
        if size is None or self.down == 1:
            return size
        fir_size = self.fir_filter.shape[0]
        size = fir_output_size(size, fir_size, self._fir_padding(), 1)
        return (size - self.kernel_size) // self.down + 1

    def compute_output_shape(self, input_shape):
        return (
            input_shape[0],
            self._output_size(input_shape[1]),
            self._output_size(input_shape[2]),
            self.filters,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "down": self.down,
                "activation": self.activation,
                "use_bias": self.use_bias,
                "clamp": self.clamp,
                "fir_taps": self.fir_taps,
            }
        )
        return config

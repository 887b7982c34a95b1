"""CREPS synthesis block: modulated dense layers and a ToRes output."""

import keras

from keras_creps.utils.arguments import positive_int
from keras_creps.layers.bias_act import validate_clamp
from keras_creps.layers.modulated_dense import ModulatedDense


@keras.saving.register_keras_serializable(package="keras_creps")
class SynthesisBlock(keras.layers.Layer):
    """`fc0 -> fc1 -> tores` on the channel axis, each with its own `w`.

    The layers are `ModulatedDense`: `fc0` and `fc1` demodulated with leaky
    ReLU (gain `sqrt(2)`), `tores` not demodulated and linear; all clamp to
    `fc_clamp`. The block is position-wise, so it serves both the line
    network (`[N, L, rank, C]`) and the per-pixel refinement
    (`[N, H, W, C]`).

    Args:
        channels: int. Output channels of `fc0` and `fc1`.
        tores_channels: int or None. Output channels of the ToRes layer;
            `None` for a block without one (CREPS' first block).
        use_fc0: bool. Whether the block starts with `fc0`; the first CREPS
            block (fed by the Fourier input) has only `fc1`. Defaults to
            `True`.
        fc_clamp: float or None. Output clamp of every layer. Defaults to
            `256.0`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        x: tensor `[N, ..., C_in]`.
        ws: tensor `[N, num_ws, w_dim]` with `num_ws = use_fc0 + 1 + (tores)`
            latents, consumed in layer order.

    Returns:
        A tuple `(x [N, ..., channels], tores_out [N, ..., tores_channels] or None)`.

    Example:
    ```python
    block = SynthesisBlock(128, tores_channels=32)
    x, res = block(np.ones((1, 64, 8, 64), "float32"), np.ones((1, 3, 16), "float32"))
    ```
    """

    def __init__(self, channels, tores_channels=None, use_fc0=True, fc_clamp=256.0, **kwargs):
        super().__init__(**kwargs)
        self.channels = positive_int("channels", channels)
        self.tores_channels = None if tores_channels is None else positive_int("tores_channels", tores_channels)
        self.use_fc0 = bool(use_fc0)
        self.fc_clamp = validate_clamp(fc_clamp)
        self.fc0 = None
        if self.use_fc0:
            self.fc0 = ModulatedDense(channels, clamp=self.fc_clamp, name="fc0", dtype=self.dtype_policy)
        self.fc1 = ModulatedDense(channels, clamp=self.fc_clamp, name="fc1", dtype=self.dtype_policy)
        self.tores = None
        if self.tores_channels is not None:
            self.tores = ModulatedDense(
                self.tores_channels,
                demodulate=False,
                activation="linear",
                clamp=self.fc_clamp,
                name="tores",
                dtype=self.dtype_policy,
            )

    @property
    def num_ws(self):
        """How many latents the block consumes."""
        return int(self.use_fc0) + 1 + int(self.tores is not None)

    def build(self, x_shape, ws_shape):
        w_shape = (ws_shape[0], ws_shape[-1])
        shape = tuple(x_shape)
        layers = [layer for layer in (self.fc0, self.fc1, self.tores) if layer is not None]
        for layer in layers:
            layer.build(shape, w_shape)
            if layer is not self.tores:
                shape = layer.compute_output_shape(shape, w_shape)

    def call(self, x, ws):
        i = 0
        if self.fc0 is not None:
            x = self.fc0(x, ws[:, i])
            i += 1
        x = self.fc1(x, ws[:, i])
        i += 1
        out = None
        if self.tores is not None:
            out = self.tores(x, ws[:, i])
        return x, out

    def compute_output_shape(self, x_shape, ws_shape):
        x_out = tuple(x_shape[:-1]) + (self.channels,)
        res = None if self.tores_channels is None else tuple(x_shape[:-1]) + (self.tores_channels,)
        return x_out, res

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "tores_channels": self.tores_channels,
                "use_fc0": self.use_fc0,
                "fc_clamp": self.fc_clamp,
            }
        )
        return config

"""Fourier bi-line input: per-row and per-column embeddings of coordinates."""

import math

import keras
from keras import ops

from keras_creps.utils.arguments import positive_float
from keras_creps.utils.arguments import positive_int
from keras_creps.layers.equalized_dense import EqualizedDense
from keras_creps.layers.host_initializers import HostNormal
from keras_creps.layers.sine import fourier_sine


@keras.saving.register_keras_serializable(package="keras_creps")
class BilineInput(keras.layers.Layer):
    """Style-modulated Fourier features of row and column coordinates.

    CREPS' first layer. For a coordinate `t`, channel `k < channels / 2` and
    thickness index `d < rank`, the phase is `2 * pi * t * freqs[k, d]`;
    channel `k` carries `sin(phase)` and channel `k + channels / 2` carries
    `cos(phase)` (computed as `sin(phase + pi / 2)`, as the official code
    does). Row coordinates use thickness slots `0..rank-1` of the amplitude
    and column coordinates slots `rank..2*rank-1`; the same frequencies serve
    both. The features are multiplied by `amplitude * affine(w)` and by
    `1 / sqrt(channels)`.

    Row and column coordinate vectors are independent: they may have
    different lengths (an `H x W` image) or be paired point lists (`P` rows
    and `P` columns for arbitrary sample points).

    Args:
        channels: int. Number of output channels (even).
        rank: int. Bi-line thickness `D`. Defaults to `8`.
        bandwidth: float. Standard deviation of the random frequencies.
            Defaults to `10.0`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        w: tensor `[N, w_dim]`.
        rows: tensor `[N, H]` of row coordinates.
        cols: tensor `[N, W]` of column coordinates.

    Returns:
        A tuple `(row_lines [N, H, rank, channels], col_lines [N, W, rank, channels])`.

    Example:
    ```python
    layer = BilineInput(channels=64)
    w = np.random.randn(2, 32).astype("float32")
    rows = np.tile(np.linspace(0, 1, 16, dtype="float32"), (2, 1))
    cols = np.tile(np.linspace(0, 1, 24, dtype="float32"), (2, 1))
    row_lines, col_lines = layer(w, rows, cols)  # [2, 16, 8, 64], [2, 24, 8, 64]
    ```
    """

    def __init__(self, channels, rank=8, bandwidth=10.0, **kwargs):
        super().__init__(**kwargs)
        self.channels = positive_int("channels", channels)
        if channels % 2:
            raise ValueError(f"`channels` must be even. Received: channels={channels}")
        self.rank = positive_int("rank", rank)
        self.bandwidth = positive_float("bandwidth", bandwidth)
        self.affine = EqualizedDense(
            self.channels * 2 * self.rank, bias_init=1.0, name="affine", dtype=self.dtype_policy
        )

    def build(self, w_shape, rows_shape=None, cols_shape=None):
        self.affine.build(w_shape)
        # Fixed random frequencies, [channels / 2, rank]; official layout is the
        # flattened [1, channels / 2 * rank] with index k * rank + d.
        self.freqs = self.add_weight(
            name="freqs",
            shape=(self.channels // 2, self.rank),
            initializer=HostNormal(stddev=self.bandwidth),
            trainable=False,
        )
        # Per-(channel, slot) amplitude; slots 0..rank-1 rows, rank..2*rank-1 columns.
        self.amplitude = self.add_weight(
            name="amplitude",
            shape=(self.channels, 2 * self.rank),
            initializer=HostNormal(stddev=1.0),
        )

    def _fourier_features(self, coords):
        # coords [N, L] -> [N, L, rank, channels]
        freqs = ops.transpose(ops.cast(self.freqs, coords.dtype))  # [rank, C/2]
        phase = coords[:, :, None, None] * freqs[None, None, :, :]  # [N, L, rank, C/2]
        phase = phase * (2.0 * math.pi)
        # XLA:CPU calls the C library's scalar sinf per element; `fourier_sine` is vector code there
        # (`layers/sine.py`: TensorFlow's bfloat16 line network at 256^2 0.144-0.150 -> 0.116-0.135 s).
        return fourier_sine(ops.concatenate([phase, phase + (math.pi / 2.0)], axis=-1))

    def call(self, w, rows, cols):
        batch = ops.shape(w)[0]
        styles = ops.reshape(self.affine(w), (batch, self.channels, 2 * self.rank))
        amplitude = self.amplitude[None, :, :] * styles  # [N, C, 2*rank]
        amplitude = ops.transpose(amplitude, (0, 2, 1))[:, None, :, :]  # [N, 1, 2*rank, C]
        scale = 1.0 / math.sqrt(self.channels)
        rows = ops.cast(rows, self.compute_dtype)
        cols = ops.cast(cols, self.compute_dtype)
        row_lines = self._fourier_features(rows) * amplitude[:, :, : self.rank] * scale
        col_lines = self._fourier_features(cols) * amplitude[:, :, self.rank :] * scale
        return row_lines, col_lines

    def compute_output_shape(self, w_shape, rows_shape, cols_shape):
        batch = w_shape[0]
        return (
            (batch, rows_shape[-1], self.rank, self.channels),
            (batch, cols_shape[-1], self.rank, self.channels),
        )

    def get_config(self):
        config = super().get_config()
        config.update({"channels": self.channels, "rank": self.rank, "bandwidth": self.bandwidth})
        return config

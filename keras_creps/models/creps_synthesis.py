"""CREPS synthesis network: bi-line line network, fusion, decoders, refinement."""

import math

import keras
from keras import ops

from keras_creps.utils.arguments import positive_float
from keras_creps.utils.arguments import positive_int
from keras_creps.utils.arguments import power_of_two
from keras_creps.layers.bias_act import validate_clamp
from keras_creps.layers.biline_fusion import BilineFusion
from keras_creps.layers.biline_input import BilineInput
from keras_creps.layers.equalized_dense import EqualizedDense
from keras_creps.layers.pixel_decoder import PixelDecoder
from keras_creps.layers.synthesis_block import SynthesisBlock


def block_resolutions(resolution):
    """`[4, 8, ..., resolution]`."""
    return [2**i for i in range(2, int(math.log2(resolution)) + 1)]


def block_channels(resolution, channel_base, channel_max):
    """Channel count of every block: `min(channel_base // res, channel_max)`."""
    return {res: min(channel_base // res, channel_max) for res in block_resolutions(resolution)}


def batched_coords(coords, batch, dtype):
    """`[L]` or `[N, L]` coordinates -> `[N, L]` in `dtype`."""
    coords = ops.cast(ops.convert_to_tensor(coords), dtype)
    if len(coords.shape) == 1:
        return ops.broadcast_to(coords[None, :], (batch, ops.shape(coords)[0]))
    if len(coords.shape) != 2:
        raise ValueError(
            f"Coordinates must have shape [L] or [N, L]. Received: shape={tuple(coords.shape)}"
        )
    return coords


@keras.saving.register_keras_serializable(package="keras_creps")
class CREPSSynthesis(keras.layers.Layer):
    """The CREPS synthesis network `ws -> image` at arbitrary coordinates.

    Blocks `b4 .. b{resolution}` form the *line network*: every block runs at
    the full output length (`resolution` only selects channel counts) on
    per-row and per-column embeddings of thickness `rank`. Block `b4` starts
    from `BilineInput` (`biline_input`, official `b4.input`) and applies
    `fc1`; every later block applies `fc0`, `fc1` and a ToRes layer whose
    outputs are summed into the running bi-line. After each block `>= 8` the
    running bi-line is fused into per-pixel features; decoders `decoder_16 ..`
    merge them, `decoder_last` and `decoder_img` produce an image, and two
    per-pixel refinement blocks (`block0`, `block1`) add their ToRes outputs.

    Latent usage (official `w_idx` scheme): `biline_input` takes `ws[:, 0]`,
    `b4.fc1` `ws[:, 1]`; block `b(2^k)` (`k >= 3`) takes
    `ws[:, 2k-5 : 2k-2]` for `fc0`, `fc1`, `tores`; the refinement uses
    `ws[:, -1]`.

    Args:
        w_dim: int. Latent size.
        resolution: int. Native resolution `R` (a power of two >= 8).
        img_channels: int. Output channels. Defaults to `3`.
        channel_base: int. Defaults to `65536` (the paper's CREPS config).
        channel_max: int. Defaults to `1024`.
        biline_channels: int. Channels of the bi-line / pixel features.
            Defaults to `32`.
        rank: int. Bi-line thickness. Defaults to `8`.
        bandwidth: float. Fourier frequency scale. Defaults to `10.0`.
        fc_clamp: float or None. Clamp of every modulated layer. Defaults to
            `256.0`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        ws: tensor `[N, num_ws, w_dim]`.
        rows: `[H]` or `[N, H]` row coordinates (native grid:
            `linspace(0, 1, R)`).
        cols: `[W]` or `[N, W]` column coordinates.

    Returns:
        Images `[N, H, W, img_channels]`.
    """

    def __init__(
        self,
        w_dim,
        resolution,
        img_channels=3,
        channel_base=65536,
        channel_max=1024,
        biline_channels=32,
        rank=8,
        bandwidth=10.0,
        fc_clamp=256.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.w_dim = positive_int("w_dim", w_dim)
        self.resolution = power_of_two("resolution", resolution, minimum=8)
        self.img_channels = positive_int("img_channels", img_channels)
        self.channel_base = positive_int("channel_base", channel_base)
        self.channel_max = positive_int("channel_max", channel_max)
        self.biline_channels = positive_int("biline_channels", biline_channels)
        self.rank = positive_int("rank", rank)
        self.bandwidth = positive_float("bandwidth", bandwidth)
        self.fc_clamp = validate_clamp(fc_clamp)
        self.resolutions = block_resolutions(resolution)
        self.channels = block_channels(resolution, channel_base, channel_max)
        if min(self.channels.values()) < 1:
            raise ValueError(
                f"`channel_base` is too small for resolution {resolution}: block "
                f"{resolution} would have no channels. Received: channel_base={channel_base}"
            )
        if self.channels[4] % 2:
            raise ValueError(
                f"The first block needs an even channel count; min(channel_base // 4, "
                f"channel_max) = {self.channels[4]}. Received: channel_base={channel_base}, "
                f"channel_max={channel_max}"
            )
        b = self.biline_channels
        dtype = self.dtype_policy

        # Line network.
        self.biline_input = BilineInput(
            self.channels[4], rank=rank, bandwidth=bandwidth, name="biline_input", dtype=dtype
        )
        self.line_blocks = []
        for res in self.resolutions:
            block = SynthesisBlock(
                self.channels[res],
                tores_channels=None if res == 4 else b,
                use_fc0=res != 4,
                fc_clamp=fc_clamp,
                name=f"b{res}",
                dtype=dtype,
            )
            self.line_blocks.append(block)
        # Per-pixel network.
        self.fusion = BilineFusion(name="fusion", dtype=dtype)
        self.point_fusion = BilineFusion(pointwise=True, name="point_fusion", dtype=dtype)
        self.decoders = [
            PixelDecoder(b, name=f"decoder_{res}", dtype=dtype) for res in self.resolutions[2:]
        ]
        self.decoder_last = PixelDecoder(b, name="decoder_last", dtype=dtype)
        self.decoder_img = EqualizedDense(img_channels, name="decoder_img", dtype=dtype)
        self.block0 = SynthesisBlock(4 * b, tores_channels=img_channels, fc_clamp=fc_clamp, name="block0", dtype=dtype)
        self.block1 = SynthesisBlock(2 * b, tores_channels=img_channels, fc_clamp=fc_clamp, name="block1", dtype=dtype)

        # w index of each line block's first latent and the total count.
        self.block_w_start = [1] + [2 * k - 5 for k in range(3, len(self.resolutions) + 2)]
        self.num_ws = 2 * len(self.resolutions) + 1

    def build(self, ws_shape=None, rows_shape=None, cols_shape=None):
        batch, b = None, self.biline_channels
        w_shape = (batch, self.w_dim)
        self.biline_input.build(w_shape)
        in_channels = self.channels[4]
        for res, block in zip(self.resolutions, self.line_blocks):
            block.build((batch, None, self.rank, in_channels), (batch, block.num_ws, self.w_dim))
            in_channels = self.channels[res]
        pixels = (batch, None, None, b)
        for decoder in self.decoders + [self.decoder_last]:
            decoder.build(pixels)
        self.decoder_img.build(pixels)
        self.block0.build(pixels, (batch, 3, self.w_dim))
        self.block1.build((batch, None, None, 4 * b), (batch, 3, self.w_dim))
        # The fusions have no weights; mark them built so that models holding
        # a synthesis network count as built before their first call.
        self.fusion.built = True
        self.point_fusion.built = True

    # ------------------------------------------------------------------ parts

    def line_network(self, ws, rows, cols):
        """Runs the line network on `[N, H]` rows and `[N, W]` columns.

        Returns `(row_lines, col_lines)`: lists with one entry per block
        `>= 8`, the running bi-line after that block, split into its rows
        `[N, H, rank, b]` and its columns `[N, W, rank, b]`.
        """
        row_x, col_x = self.biline_input(ws[:, 0], rows, cols)  # [N, H, D, C4], [N, W, D, C4]
        num_rows = ops.shape(row_x)[1]
        # Rows and columns share every line layer: one product over H + W lines.
        x = ops.concatenate([row_x, col_x], axis=1)  # [N, H + W, D, C4]
        row_lines, col_lines = [], []
        biline = None
        for block, start in zip(self.line_blocks, self.block_w_start):
            x, out = block(x, ws[:, start : start + block.num_ws])
            if out is None:
                continue
            biline = out if biline is None else biline + out  # [N, H + W, D, b]
            row_lines.append(biline[:, :num_rows])
            col_lines.append(biline[:, num_rows:])
        return row_lines, col_lines

    def pixel_network(self, features, w_last):
        """Decoders, head and refinement on fused features `[N, ..., b]` per block."""
        feature = features[0]
        for decoder, fused in zip(self.decoders, features[1:]):
            feature = decoder(feature) + fused
        feature = self.decoder_last(feature)
        img = self.decoder_img(feature)
        ws = ops.repeat(w_last[:, None, :], 3, axis=1)  # [N, 3, w_dim]
        feature, res = self.block0(feature, ws)
        img = img + res
        feature, res = self.block1(feature, ws)
        return img + res

    # ------------------------------------------------------------------ calls

    def _check_ws(self, ws):
        ws = ops.cast(ops.convert_to_tensor(ws), self.compute_dtype)
        if len(ws.shape) != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(
                f"`ws` must have shape [N, {self.num_ws}, {self.w_dim}]. "
                f"Received: shape={tuple(ws.shape)}"
            )
        return ws

    def call(self, ws, rows, cols):
        ws = self._check_ws(ws)
        batch = ops.shape(ws)[0]
        rows = batched_coords(rows, batch, self.compute_dtype)
        cols = batched_coords(cols, batch, self.compute_dtype)
        row_lines, col_lines = self.line_network(ws, rows, cols)
        return self.render_rows(row_lines, col_lines, ws[:, -1])

    def render_rows(self, row_lines, col_lines, w_last):
        """Image rows from the line network's outputs: fusion + per-pixel network.

        Pixels are independent, so any subset of rows (a band of a large
        image) can be rendered on its own with the matching slices of
        `row_lines`.

        Args:
            row_lines: list (one per block >= 8) of `[N, T, rank, b]`.
            col_lines: list of `[N, W, rank, b]`.
            w_last: `[N, w_dim]`, the refinement latent `ws[:, -1]`.

        Returns:
            `[N, T, W, img_channels]`.
        """
        features = [self.fusion(r, c) for r, c in zip(row_lines, col_lines)]  # [N, T, W, b]
        return self.pixel_network(features, w_last)

    def points(self, ws, rows, cols):
        """Evaluates the image at `P` points `(rows[p], cols[p])`: `[N, P, img_channels]`."""
        ws = self._check_ws(ws)
        batch = ops.shape(ws)[0]
        rows = batched_coords(rows, batch, self.compute_dtype)
        cols = batched_coords(cols, batch, self.compute_dtype)
        if rows.shape[-1] is not None and cols.shape[-1] is not None and rows.shape[-1] != cols.shape[-1]:
            raise ValueError(
                f"`rows` and `cols` must list the same number of points. "
                f"Received: {rows.shape[-1]} rows and {cols.shape[-1]} cols"
            )
        row_lines, col_lines = self.line_network(ws, rows, cols)
        features = [self.point_fusion(r, c) for r, c in zip(row_lines, col_lines)]  # [N, P, b]
        return self.pixel_network(features, ws[:, -1])

    def compute_output_shape(self, ws_shape, rows_shape, cols_shape):
        return (ws_shape[0], rows_shape[-1], cols_shape[-1], self.img_channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "w_dim": self.w_dim,
                "resolution": self.resolution,
                "img_channels": self.img_channels,
                "channel_base": self.channel_base,
                "channel_max": self.channel_max,
                "biline_channels": self.biline_channels,
                "rank": self.rank,
                "bandwidth": self.bandwidth,
                "fc_clamp": self.fc_clamp,
            }
        )
        return config

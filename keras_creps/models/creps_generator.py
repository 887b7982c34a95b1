"""The CREPS generator: mapping network + synthesis network."""

import functools

import keras
import numpy as np

from keras_creps.utils.arguments import non_negative_int
from keras_creps.utils.arguments import positive_int
from keras_creps.utils.tile_plan import auto_band_pixels
from keras_creps.utils.tile_plan import plan_tiles
from keras_creps.utils.torch_inference import inference_function
from keras_creps.layers.mapping_network import MappingNetwork
from keras_creps.layers.input_modulation import modulate_inputs
from keras_creps.layers.matmul_precision import MATMUL_DTYPES
from keras_creps.layers.matmul_precision import matmul_precision
from keras_creps.models.creps_synthesis import CREPSSynthesis
from keras_creps.models.creps_model import CREPSModel
from keras_creps.models.settle_calls import few_lines
from keras_creps.models.settle_calls import few_points
from keras_creps.models.settle_calls import few_tile_rows
from keras_creps.models.settle_calls import settle_pixels


def native_coords(size):
    """The official pixel grid of a `size`-pixel axis: `linspace(0, 1, size)`."""
    return np.linspace(0.0, 1.0, size, dtype="float32")


def _check_precision(precision):
    if precision not in MATMUL_DTYPES:
        raise ValueError(f"`precision` must be one of {MATMUL_DTYPES}. Received: precision={precision!r}")


def _padded(x, size, axis):
    """`x` extended to `size` along `axis` by repeating its last entry (cropped later)."""
    missing = size - x.shape[axis]
    if missing <= 0:
        return x
    last = np.take(x, [-1], axis=axis)
    return np.concatenate([x, np.repeat(last, missing, axis=axis)], axis=axis)


@keras.saving.register_keras_serializable(package="keras_creps")
class CREPSGenerator(CREPSModel):
    """CREPS generator (Nguyen et al., CVPR 2023): a StyleGAN2-family generator
    without spatial convolutions or upsampling.

    Every output pixel is a function of `(w, row coordinate, column
    coordinate)` only, so one model renders at any size, aspect ratio, crop or
    warp. The model has two parts, named as in the official code:

    - `mapping(z, c=None, truncation_psi=1.0, truncation_cutoff=None)` ->
      `ws [N, num_ws, w_dim]` (a `MappingNetwork`);
    - `synthesis(ws, rows, cols)` -> `images [N, H, W, img_channels]`
      (a `CREPSSynthesis`), with `rows` `[H]` or `[N, H]` and `cols` `[W]` or
      `[N, W]` coordinates. The native image is `linspace(0, 1, resolution)`
      on both axes; official `--scale s` is `linspace(0, 1, int(R * s))`.

    `synthesis_points(ws, rows, cols)` evaluates the same function at `P`
    arbitrary `(row, col)` points (`[P]` or `[N, P]` each) and returns
    `[N, P, img_channels]`. Calling the model, `generator(z)`, maps `z` and
    renders the native grid. Images are NHWC, roughly in `[-1, 1]`.

    Args:
        resolution: int. Native resolution `R` (power of two >= 8).
        z_dim: int. Latent size. Defaults to `512`.
        c_dim: int. Label size, 0 for unconditional. Defaults to `0`.
        w_dim: int. Intermediate latent size. Defaults to `512`.
        img_channels: int. Output channels. Defaults to `3`.
        channel_base: int. Channels of block `res` are
            `min(channel_base // res, channel_max)`. Defaults to `65536`, the
            paper's CREPS config (official `--cfg=creps` doubles `--cbase`).
        channel_max: int. Defaults to `1024`.
        biline_channels: int. Bi-line / pixel feature channels. Defaults to `32`.
        rank: int. Bi-line thickness. Defaults to `8`.
        bandwidth: float. Std of the Fourier input frequencies. Defaults to `10.0`.
        mapping_layers: int. Mapping network depth. Defaults to `8`.
        mapping_lr_multiplier: float. Defaults to `0.01`.
        w_avg_beta: float. Decay of the tracked `w_avg`. Defaults to `0.998`.
        fc_clamp: float or None. Output clamp of every modulated layer.
            Defaults to `256.0`.
        **kwargs: other keyword arguments passed to `keras.Model`
            (e.g. `name`, `dtype`).

    Example:
    ```python
    generator = keras_creps.CREPSGenerator(resolution=64, z_dim=64, w_dim=64,
                                           channel_base=4096, channel_max=128)
    z = np.random.randn(2, 64).astype("float32")
    ws = generator.mapping(z, truncation_psi=0.7)
    images = generator.synthesis(ws, np.linspace(0, 1, 48), np.linspace(0, 1, 96))
    # images: [2, 48, 96, 3]
    ```

    References:
        - [Nguyen, Le, Tran: Efficient Scale-Invariant Generator with
          Column-Row Entangled Pixel Synthesis, CVPR 2023](https://arxiv.org/abs/2303.14157)
    """

    def __init__(
        self,
        resolution,
        z_dim=512,
        c_dim=0,
        w_dim=512,
        img_channels=3,
        channel_base=65536,
        channel_max=1024,
        biline_channels=32,
        rank=8,
        bandwidth=10.0,
        mapping_layers=8,
        mapping_lr_multiplier=0.01,
        w_avg_beta=0.998,
        fc_clamp=256.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Layers ===
        self.synthesis = CREPSSynthesis(
            w_dim=w_dim,
            resolution=resolution,
            img_channels=img_channels,
            channel_base=channel_base,
            channel_max=channel_max,
            biline_channels=biline_channels,
            rank=rank,
            bandwidth=bandwidth,
            fc_clamp=fc_clamp,
            name="synthesis",
            dtype=self.dtype_policy,
        )
        self.mapping = MappingNetwork(
            z_dim=positive_int("z_dim", z_dim),
            c_dim=non_negative_int("c_dim", c_dim),
            w_dim=w_dim,
            num_ws=self.synthesis.num_ws,
            num_layers=mapping_layers,
            lr_multiplier=mapping_lr_multiplier,
            w_avg_beta=w_avg_beta,
            name="mapping",
            dtype=self.dtype_policy,
        )
        # Every weight exists right after construction (loading needs no call).
        self.synthesis.build()
        self.mapping.build()
        self.built = True

        # === Config ===
        self.resolution = resolution
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.img_channels = img_channels
        self.channel_base = channel_base
        self.channel_max = channel_max
        self.biline_channels = biline_channels
        self.rank = rank
        self.bandwidth = float(bandwidth)
        self.mapping_layers = mapping_layers
        self.mapping_lr_multiplier = float(mapping_lr_multiplier)
        self.w_avg_beta = None if w_avg_beta is None else float(w_avg_beta)
        self.fc_clamp = self.synthesis.fc_clamp

    @property
    def num_ws(self):
        """Number of latents the synthesis network consumes (`2 * log2(R) - 1`)."""
        return self.synthesis.num_ws

    def synthesis_points(self, ws, rows, cols):
        """Renders `P` arbitrary points: `rows`, `cols` `[P]` or `[N, P]` -> `[N, P, C]`."""
        return self.synthesis.points(ws, rows, cols)

    def make_generate_function(
        self, truncation_psi=1.0, truncation_cutoff=None, jit_compile="auto", band_pixels="auto",
        max_tile_width=1024, line_chunk=2048, precision="float32",
    ):
        """Returns a fast, memory-bounded `generate(z, c=None, rows=None, cols=None, sink=None)`.

        The line network runs once per sample (for very long coordinate
        vectors, in chunks of `line_chunk` coordinates per axis); the
        per-pixel network then runs on tiles of at most `max_tile_width`
        columns and about `band_pixels` pixels (all samples), one tile at a
        time. Pixels are independent, so the result is the same as
        `synthesis` (up to float32 rounding), while the working memory is
        bounded by one tile plus the (small) line outputs, and activations
        stay cache-sized. Both parts are compiled: `tf.function` with XLA on
        TensorFlow, `jax.jit` over the variables on JAX; PyTorch runs under
        `torch.inference_mode()`, eagerly or through `torch.compile`. Edge
        tiles are padded to the full tile shape, so each output size
        compiles once.

        `generate` returns a float32 NumPy array `[N, H, W, C]`, or, when a
        `sink(row_start, col_start, tile)` callable is given, passes it each
        `[N, h, w, C]` tile instead (e.g. to write a huge image
        progressively) and returns None.

        Args:
            truncation_psi: float. Truncation applied by the mapping network.
            truncation_cutoff: int or None. Number of truncated latents.
            jit_compile: `"auto"`, True or False. `"auto"`: XLA on TensorFlow
                and JAX, eager PyTorch. True: the same, and `torch.compile` on
                PyTorch (a one-off compile of about a minute per tile shape on
                a 2-core CPU, after which the per-pixel network ran 3x faster
                than eager: its element-wise passes are fused; the first call
                also runs each part eagerly once; a second function with the
                same settings reuses the compiled parts; weights assigned
                later are used, layers' Python settings taken as fixed: see
                `keras_creps.utils.torch_inference`). False: a
                plain TensorFlow graph (oneDNN kernels: about 90 MB less
                memory, 5% slower at 256^2 and 25% slower at 512^2 on a 2-core
                CPU), no `jax.jit`, eager PyTorch. Defaults to `"auto"`.
            band_pixels: int or `"auto"`. Pixels in one tile, over the whole
                batch. `"auto"`: 65536 for bfloat16 on TensorFlow and
                PyTorch, 16384 otherwise (see
                `keras_creps.utils.tile_plan.auto_band_pixels`).
                Defaults to `"auto"`.
            max_tile_width: int. Columns in one tile. Defaults to `1024`.
            line_chunk: int. Coordinates per line-network call when an
                image has more than that many rows + columns. Defaults to `2048`.
            precision: `"float32"` or `"bfloat16"`. With `"bfloat16"` the
                matrix products of the line network and of the per-pixel
                decoders and refinement (99% of the work) run in bfloat16
                with float32 accumulation (see
                `keras_creps.layers.matmul_precision`); everything else, and
                the output, stay float32. On a CPU with bfloat16 matrix
                instructions (AMX, AVX512-BF16) or a GPU this is the fast
                path on every backend: at 256^2 on a 2-core AMX machine it
                rendered 2.3x (TensorFlow), 2.5x (JAX) and 3.3x (PyTorch,
                compiled) faster than float32, at 51-52 dB PSNR.
                `recipes/benchmark.py --precision` measures both.
                Defaults to `"float32"`.

        Example:
        ```python
        generate = generator.make_generate_function(truncation_psi=0.7)
        images = generate(z)  # np.ndarray [N, R, R, 3]
        wide = generate(z, rows=np.linspace(0, 1, 256), cols=np.linspace(0, 1, 1024))
        ```
        """
        _check_precision(precision)
        if band_pixels == "auto":
            band_pixels = auto_band_pixels(precision, keras.config.backend())
        positive_int("band_pixels", band_pixels)
        positive_int("max_tile_width", max_tile_width)
        positive_int("line_chunk", line_chunk)
        grid = native_coords(self.resolution)
        synthesis = self.synthesis

        # XLA on JAX held every line layer's modulated kernel at once; scaled
        # inputs exist one layer at a time (`layers/input_modulation.py`).
        scale_inputs = keras.config.backend() == "jax"

        def lines(z, c, rows, cols):
            ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
            # Entered inside the compiled function: the traced program keeps its precision.
            with matmul_precision(precision), modulate_inputs(scale_inputs):
                row_lines, col_lines = synthesis.line_network(ws, rows, cols)
            return row_lines, col_lines, ws[:, -1]

        def render_rows(row_lines, col_lines, w_last):
            with matmul_precision(precision):
                return synthesis.render_rows(row_lines, col_lines, w_last)

        line_fn = self._compile(lines, jit_compile, settle_args=few_lines)
        tile_fn = self._compile(render_rows, jit_compile, settle_args=functools.partial(
            few_tile_rows, pixels=settle_pixels(synthesis)))

        def to_numpy(values):
            return [keras.ops.convert_to_numpy(v) for v in values]

        def sample_lines(z, c, rows, cols):
            """Line outputs of one sample: (row_lines, col_lines, w_last) as NumPy."""
            if rows.shape[1] + cols.shape[1] <= line_chunk:
                row_lines, col_lines, w_last = line_fn(z, c, rows, cols)
                return to_numpy(row_lines), to_numpy(col_lines), keras.ops.convert_to_numpy(w_last)
            # Rows and columns never mix in the line network: run each axis
            # in fixed-size chunks (the other axis empty).
            def axis_lines(coords, axis):
                parts = []
                for start in range(0, coords.shape[1], line_chunk):
                    chunk = _padded(coords[:, start : start + line_chunk], line_chunk, axis=1)
                    empty = coords[:, :0]
                    out = line_fn(z, c, chunk, empty) if axis == 0 else line_fn(z, c, empty, chunk)
                    parts.append(to_numpy(out[axis]))
                    w_last = out[2]
                valid = coords.shape[1]
                return [np.concatenate([p[j] for p in parts], axis=1)[:, :valid] for j in range(len(parts[0]))], w_last

            row_lines, w_last = axis_lines(rows, 0)
            col_lines, _ = axis_lines(cols, 1)
            return row_lines, col_lines, keras.ops.convert_to_numpy(w_last)

        def generate(z, c=None, rows=None, cols=None, sink=None):
            z = np.asarray(z, dtype="float32")
            rows = grid if rows is None else np.asarray(rows, dtype="float32")
            cols = grid if cols is None else np.asarray(cols, dtype="float32")
            batch = z.shape[0]
            rows = np.broadcast_to(rows, (batch, rows.shape[-1]))
            cols = np.broadcast_to(cols, (batch, cols.shape[-1]))
            c = None if c is None else np.asarray(c, dtype="float32")
            # One sample at a time: the line network's activations are the
            # largest tensors; its outputs are small.
            per_sample = [
                sample_lines(z[i : i + 1], None if c is None else c[i : i + 1], rows[i : i + 1], cols[i : i + 1])
                for i in range(batch)
            ]
            row_lines = [np.concatenate(parts) for parts in zip(*[s[0] for s in per_sample])]
            col_lines = [np.concatenate(parts) for parts in zip(*[s[1] for s in per_sample])]
            w_last = np.concatenate([s[2] for s in per_sample])

            height, width = rows.shape[1], cols.shape[1]
            plan = plan_tiles(height, width, band_pixels, max_tile_width, batch=batch)
            images = None
            if sink is None:
                images = np.empty((batch, height, width, self.img_channels), dtype="float32")

                def sink(row_start, col_start, tile):
                    images[:, row_start : row_start + tile.shape[1], col_start : col_start + tile.shape[2]] = tile

            for col_start, col_stop in plan.col_strips:
                col_parts = [_padded(l[:, col_start:col_stop], plan.tile_width, axis=1) for l in col_lines]
                for row_start, row_stop in plan.row_bands:
                    row_parts = [_padded(l[:, row_start:row_stop], plan.band_height, axis=1) for l in row_lines]
                    tile = keras.ops.convert_to_numpy(tile_fn(row_parts, col_parts, w_last))
                    sink(row_start, col_start, tile[:, : row_stop - row_start, : col_stop - col_start])
            return images

        return generate

    def make_points_function(self, jit_compile="auto", precision="float32"):
        """Returns `points(ws, rows, cols)`: `synthesis_points` compiled for inference.

        Compiled as `make_generate_function` compiles its parts (`tf.function`
        with XLA on TensorFlow, `jax.jit` over the variables on JAX,
        `torch.inference_mode()` on PyTorch), so rendering free sample points
        (rotated or warped views) costs about what a grid render does. Each
        new number of points compiles once: callers that loop over chunks
        should pad them to one length.

        Args:
            jit_compile: `"auto"`, True or False, as for
                `make_generate_function`. Defaults to `"auto"`.
            precision: `"float32"` or `"bfloat16"`: the precision of the
                line and pixel networks' products (see
                `make_generate_function`). Defaults to `"float32"`.

        Returns:
            A callable `(ws, rows, cols) -> [N, P, C]` backend tensor, for
            `ws` `[N, num_ws, w_dim]` and `rows`, `cols` `[P]` or `[N, P]`.

        Example:
        ```python
        points = generator.make_points_function()
        ws = generator.mapping(z)
        values = points(ws, np.array([0.5, 0.25], "float32"), np.array([0.5, 0.75], "float32"))  # [N, 2, C]
        ```
        """
        _check_precision(precision)

        def points(ws, rows, cols):
            with matmul_precision(precision):
                return self.synthesis_points(ws, rows, cols)

        return self._compile(points, jit_compile, settle_args=functools.partial(
            few_points, pixels=settle_pixels(self.synthesis)))

    def _compile(self, fn, jit_compile, settle_args=None):
        """`fn` compiled for inference on the current backend (see `make_generate_function`).

        `settle_args` shrinks the arguments of PyTorch's eager first call
        (`keras_creps.utils.torch_inference.inference_function`).
        """
        if jit_compile not in ("auto", True, False):
            raise ValueError(f"`jit_compile` must be 'auto', True or False. Received: jit_compile={jit_compile!r}")
        xla = jit_compile in ("auto", True)
        backend = keras.config.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            return tf.function(fn, jit_compile=xla)
        if backend == "jax" and xla:
            import jax

            variables = self.variables

            @jax.jit
            def stateless(values, *args):
                with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                    return fn(*args)

            return lambda *args: stateless([v.value for v in variables], *args)
        if backend == "torch":
            return inference_function(fn, compiled=jit_compile is True, owner=self, settle_args=settle_args)
        return fn

    def call(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        grid = native_coords(self.resolution)
        return self.synthesis(ws, grid, grid)

    def compute_output_shape(self, z_shape, c_shape=None):
        return (z_shape[0], self.resolution, self.resolution, self.img_channels)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "resolution": self.resolution,
            "z_dim": self.z_dim,
            "c_dim": self.c_dim,
            "w_dim": self.w_dim,
            "img_channels": self.img_channels,
            "channel_base": self.channel_base,
            "channel_max": self.channel_max,
            "biline_channels": self.biline_channels,
            "rank": self.rank,
            "bandwidth": self.bandwidth,
            "mapping_layers": self.mapping_layers,
            "mapping_lr_multiplier": self.mapping_lr_multiplier,
            "w_avg_beta": self.w_avg_beta,
            "fc_clamp": self.fc_clamp,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)

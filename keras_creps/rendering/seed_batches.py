"""Rendering many seeds in batches whose images fit a memory budget.

A render of `N` seeds at `H x W` pixels is `N * H * W * C` values; held as
one float32 array, 100 seeds at 4096^2 are 20 GB. Here the seeds are split
into batches whose uint8 images fit a byte budget, every tile the generator
produces is converted to uint8 as it arrives (the float32 image is never
whole), and the caller writes each batch before the next one is rendered.
The images are the ones an unbatched render gives: pixels are independent,
and the uint8 rounding is the package's one (`utils.images.to_uint8`).
"""

import keras
import numpy as np

from keras_creps.rendering.warps import affine_matrix
from keras_creps.rendering.warps import affine_points
from keras_creps.utils.arguments import non_negative_int
from keras_creps.utils.arguments import positive_int
from keras_creps.utils.images import to_uint8

__all__ = [
    "DEFAULT_BUDGET_BYTES",
    "MAX_SEED",
    "SeedBatchRenderer",
    "class_labels",
    "image_bytes",
    "parse_seeds",
    "plan_seed_batches",
    "seed_latents",
    "seeds_per_batch",
]

MAX_SEED = 2**32 - 1  # numpy's RandomState takes seeds in [0, 2**32)
DEFAULT_BUDGET_BYTES = 256 << 20
POINT_CHUNK = 1 << 14  # sample points per compiled call of a rotated view


def seed_latents(seeds, z_dim):
    """The latents of `seeds`: `RandomState(seed).randn(z_dim)` each, as StyleGAN's tools draw them.

    Args:
        seeds: sequence of ints in `[0, MAX_SEED]`.
        z_dim: int. Latent size of the generator.

    Returns:
        float32 NumPy array `[len(seeds), z_dim]`.

    Example:
    ```python
    z = seed_latents([0, 3, 5], generator.z_dim)
    ```
    """
    positive_int("z_dim", z_dim)
    latents = np.empty((len(seeds), z_dim), np.float32)
    for i, seed in enumerate(seeds):
        seed = non_negative_int("seed", int(seed) if isinstance(seed, np.integer) else seed)
        if seed > MAX_SEED:
            raise ValueError(f"`seed` must be at most {MAX_SEED}. Received: seed={seed!r}")
        latents[i] = np.random.RandomState(seed).randn(z_dim)
    return latents


def parse_seeds(text, max_count=None):
    """Seeds from text such as `"0,3,5-9"`: single seeds and inclusive `a-b` ranges.

    The count is checked before any range is expanded, so `"0-4294967295"`
    fails at once instead of filling memory.

    Args:
        text: str. Comma-separated seeds and ranges, each in `[0, MAX_SEED]`.
        max_count: int or None. Most seeds allowed. Defaults to no limit.

    Returns:
        A list of ints, in the order given.

    Raises:
        ValueError: a part is no seed or range, a seed is out of range, or
            there are more than `max_count`; the message is one line.

    Example:
    ```python
    parse_seeds("0,3,5-9")   # [0, 3, 5, 6, 7, 8, 9]
    ```
    """
    spans = []
    for part in text.split(","):
        part = part.strip()
        try:
            low, high = (int(v) for v in part.split("-", 1)) if "-" in part else (int(part), int(part))
            if low > high:
                raise ValueError
        except ValueError:
            raise ValueError(f"{part!r} is not a seed or an a-b range of non-negative integers") from None
        if low < 0 or high > MAX_SEED:
            raise ValueError("seeds must be integers in [0, 2**32)")
        spans.append((low, high))
    count = sum(high - low + 1 for low, high in spans)
    if max_count is not None and count > max_count:
        raise ValueError(f"{count} seeds, at most {max_count} a run")
    return [seed for low, high in spans for seed in range(low, high + 1)]


def class_labels(class_index, c_dim, count):
    """`count` one-hot labels of class `class_index`, or None for an unconditional generator.

    Args:
        class_index: int in `[0, c_dim)`, or None when `c_dim` is 0.
        c_dim: int. Number of classes of the generator (0: unconditional).
        count: int. Number of labels.

    Returns:
        float32 NumPy array `[count, c_dim]`, or None.
    """
    if class_index is None:
        if c_dim:
            raise ValueError(f"A conditional generator needs a `class_index`. Received: c_dim={c_dim!r}")
        return None
    if not 0 <= class_index < c_dim:
        raise ValueError(f"`class_index` must be in [0, {c_dim}). Received: class_index={class_index!r}")
    labels = np.zeros((count, c_dim), np.float32)
    labels[:, class_index] = 1
    return labels


def image_bytes(height, width, channels, count=1):
    """Bytes of `count` uint8 images `[height, width, channels]`."""
    return int(count) * int(height) * int(width) * int(channels)


def seeds_per_batch(height, width, channels, budget_bytes=DEFAULT_BUDGET_BYTES):
    """How many uint8 images of this size fit `budget_bytes` (at least one).

    Example:
    ```python
    seeds_per_batch(4096, 4096, 3, 256 << 20)   # 5 (48 MiB each)
    ```
    """
    positive_int("budget_bytes", budget_bytes)
    return max(1, budget_bytes // image_bytes(height, width, channels))


def plan_seed_batches(count, height, width, channels, budget_bytes=DEFAULT_BUDGET_BYTES):
    """`[(start, stop)]` ranges over `count` seeds, each batch's images within `budget_bytes`.

    A single image larger than the budget still gets a batch of its own.

    Example:
    ```python
    plan_seed_batches(10, 4096, 4096, 3, 256 << 20)   # [(0, 5), (5, 10)]
    ```
    """
    non_negative_int("count", count)
    per_batch = seeds_per_batch(height, width, channels, budget_bytes)
    return [(start, min(start + per_batch, count)) for start in range(0, count, per_batch)]


class SeedBatchRenderer:
    """Renders uint8 images of many seeds, a budgeted batch at a time.

    Args:
        generator: a `CREPSGenerator`.
        truncation_psi: float. Truncation of the mapping network.
        budget_bytes: int. Bytes of uint8 images one batch may hold.
            Defaults to 256 MiB.
        point_chunk: int. Sample points per call of a rotated view.
        precision: `"float32"` or `"bfloat16"` (see
            `CREPSGenerator.make_generate_function`). Defaults to `"float32"`.
        jit_compile: `"auto"`, True or False, for both the grid and the
            point renderer (see `CREPSGenerator.make_generate_function`;
            True on PyTorch is `torch.compile`: ~30 s of compiling per size
            for the paper generator at 256^2 on 2 cores, then 1.4x faster
            in float32 and 2.8x in bfloat16). Defaults to `"auto"`.

    Example:
    ```python
    renderer = SeedBatchRenderer(generator, truncation_psi=0.7)
    rows, cols = view_coords(1024)
    for start, images in renderer.batches(range(100), rows, cols):
        for seed, image in zip(range(start, start + len(images)), images):
            save_png(f"out/seed{seed:04d}.png", image)
    ```
    """

    def __init__(self, generator, truncation_psi=1.0, budget_bytes=DEFAULT_BUDGET_BYTES, point_chunk=POINT_CHUNK,
                 precision="float32", jit_compile="auto"):
        self.generator = generator
        self.truncation_psi = truncation_psi
        self.budget_bytes = positive_int("budget_bytes", budget_bytes)
        self.point_chunk = positive_int("point_chunk", point_chunk)
        self.precision = precision
        self.jit_compile = jit_compile
        self._generate = generator.make_generate_function(
            truncation_psi=truncation_psi, precision=precision, jit_compile=jit_compile)
        self._points = None

    def plan(self, count, height, width):
        """The `(start, stop)` batches `batches` uses for `count` seeds at `height x width`."""
        return plan_seed_batches(count, height, width, self.generator.img_channels, self.budget_bytes)

    def batches(self, seeds, rows, cols, class_index=None, rotate=0.0, center=(0.5, 0.5)):
        """Yields `(start, images)`: uint8 `[n, H, W, C]` of `seeds[start : start + n]`.

        Args:
            seeds: sequence of ints (see `seed_latents`).
            rows, cols: `[H]`, `[W]` coordinates of the view (e.g. `view_coords`).
            class_index: int or None. The class of every image.
            rotate: float. Degrees the content turns counter-clockwise about `center`.
            center: `(row, col)` fixed point of the rotation, in image units.
        """
        for start, stop in self.plan(len(seeds), len(rows), len(cols)):
            z = seed_latents(seeds[start:stop], self.generator.z_dim)
            c = class_labels(class_index, self.generator.c_dim, stop - start)
            yield start, self.render(z, c, rows, cols, rotate=rotate, center=center)

    def render(self, z, c, rows, cols, rotate=0.0, center=(0.5, 0.5)):
        """uint8 images `[N, H, W, C]` of latents `z` (labels `c`) in one batch (no budget applies)."""
        rows, cols = np.asarray(rows, np.float32), np.asarray(cols, np.float32)
        out = np.empty((len(z), len(rows), len(cols), self.generator.img_channels), np.uint8)
        if rotate:
            self._render_rotated(out, z, c, rows, cols, rotate, center)
            return out

        def sink(row_start, col_start, tile):
            out[:, row_start : row_start + tile.shape[1], col_start : col_start + tile.shape[2]] = to_uint8(tile)

        self._generate(z, c, rows, cols, sink=sink)
        return out

    def _render_rotated(self, out, z, c, rows, cols, rotate, center):
        """Fills `out` tile by tile from free sample points: each call has `chunk` points, so it compiles once."""
        if self._points is None:
            # The generator compiles its point renderer like its grid renderer (XLA, jit, inference
            # mode), so a rotation video costs about what a straight one does, not an eager pass a frame.
            self._points = self.generator.make_points_function(precision=self.precision, jit_compile=self.jit_compile)
        ws = self.generator.mapping(z, c, truncation_psi=self.truncation_psi)
        matrix = affine_matrix(rotate=rotate)
        height, width = len(rows), len(cols)
        tile_cols = min(width, self.point_chunk)
        band = min(height, max(1, self.point_chunk // tile_cols))
        chunk = band * tile_cols
        for row_start in range(0, height, band):
            row_stop = min(row_start + band, height)
            for col_start in range(0, width, tile_cols):
                col_stop = min(col_start + tile_cols, width)
                point_rows, point_cols = affine_points(
                    rows[row_start:row_stop], cols[col_start:col_stop], matrix, center=center)
                valid = len(point_rows)
                if valid < chunk:  # pad the edge tiles: one shape, one compiled program
                    point_rows = np.pad(point_rows, (0, chunk - valid), mode="edge")
                    point_cols = np.pad(point_cols, (0, chunk - valid), mode="edge")
                values = keras.ops.convert_to_numpy(self._points(ws, point_rows, point_cols))[:, :valid]
                out[:, row_start:row_stop, col_start:col_stop] = to_uint8(values).reshape(
                    len(z), row_stop - row_start, col_stop - col_start, -1)

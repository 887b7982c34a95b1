"""Rendering images larger than memory allows untiled, written progressively."""

import os
import tempfile

import numpy as np

from keras_creps.rendering.coords import view_coords
from keras_creps.utils.tile_plan import plan_tiles
from keras_creps.utils.files import atomic_write
from keras_creps.utils.images import save_png
from keras_creps.utils.images import to_uint8

PNG_MAX_PIXELS = 1 << 28  # Pillow holds a PNG whole: 268 Mpx (805 MB of RGB)


def render_large_image(generator, z, path, height, width=None, c=None, rows=None, cols=None,
                       truncation_psi=1.0, tile=1024, band_pixels=1 << 18, progress=None, precision="float32",
                       jit_compile="auto"):
    """Renders one `height x width` image tile by tile into `path`.

    The image is cut into tiles by `keras_creps.utils.tile_plan` (as
    `generator.make_generate_function` does, which renders them); every
    tile is converted to uint8 and written into a memory-mapped `.npy`
    file (`[height, width, C]`) as soon as it is rendered, so the memory
    needed is one tile plus the line network's outputs, whatever the image
    size. For a `.png` path the finished array is then encoded with Pillow
    (up to `PNG_MAX_PIXELS`; larger images stay `.npy`). The file appears
    under `path` only when complete. Tiles are
    bit-for-bit the pixels an untiled render would give, up to float32
    rounding of the GEMMs.

    Args:
        generator: a `CREPSGenerator`.
        z: `[1, z_dim]` or `[z_dim]` latent.
        path: output file, `.npy` or `.png`.
        height, width: output size (`width` defaults to `height`).
        c: optional `[1, c_dim]` label.
        rows, cols: optional coordinate vectors; default `view_coords(height, width)`.
        truncation_psi: float.
        tile: int. Largest tile width in pixels (`max_tile_width` of
            `tile_plan`).
        band_pixels: int. Largest number of pixels per tile.
        progress: optional callable `(pixels_done, pixels_total)`.
        precision: `"float32"` or `"bfloat16"` (see
            `CREPSGenerator.make_generate_function`). Defaults to `"float32"`.
        jit_compile: `"auto"`, True or False (see
            `CREPSGenerator.make_generate_function`). Defaults to `"auto"`.

    Returns:
        `path`.

    Example:
    ```python
    render_large_image(generator, z, "big.png", 8192, 8192)
    ```
    """
    width = height if width is None else width
    plan_tiles(height, width, band_pixels=band_pixels, max_tile_width=tile)  # checks the sizes before any file exists
    if rows is None or cols is None:
        default_rows, default_cols = view_coords(height, width, keep_aspect=False)
        rows = default_rows if rows is None else rows
        cols = default_cols if cols is None else cols
    rows = np.asarray(rows, np.float32)
    cols = np.asarray(cols, np.float32)
    if rows.shape != (height,) or cols.shape != (width,):
        raise ValueError(
            f"`rows` / `cols` must have shapes ({height},) / ({width},). Received: {rows.shape}, {cols.shape}")
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".npy", ".png"):
        raise ValueError(f"`path` must end in .npy or .png. Received: path={path!r}")
    if ext == ".png" and height * width > PNG_MAX_PIXELS:
        raise ValueError(
            f"{height}x{width} is over the {PNG_MAX_PIXELS} pixels Pillow can encode here; use a .npy path")
    z = np.asarray(z, np.float32).reshape(1, -1)
    c = None if c is None else np.asarray(c, np.float32).reshape(1, -1)
    generate = generator.make_generate_function(
        truncation_psi=truncation_psi, band_pixels=band_pixels, max_tile_width=tile, precision=precision,
        jit_compile=jit_compile)
    shape = (height, width, generator.img_channels)

    def render_into(raw_path):
        return _render_tiles(lambda sink: generate(z, c, rows, cols, sink=sink), raw_path, shape, progress)

    # Written under a temporary name and renamed when complete: an
    # interrupted render never leaves a partial image under `path`.
    if ext == ".npy":
        with atomic_write(path) as tmp:
            render_into(tmp)  # the memory map is closed when dropped, before the rename
        return path
    fd, scratch = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp.npy",
                                   dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    try:
        save_png(path, render_into(scratch))
    finally:
        os.remove(scratch)
    return path


def _render_tiles(generate, raw_path, shape, progress):
    """Runs `generate(sink)`, writing every uint8 tile into a memory-mapped `.npy` at `raw_path`."""
    out = np.lib.format.open_memmap(raw_path, mode="w+", dtype=np.uint8, shape=shape)
    done, total = [0], shape[0] * shape[1]

    def sink(row_start, col_start, tile_images):
        h, w = tile_images.shape[1:3]
        out[row_start : row_start + h, col_start : col_start + w] = to_uint8(tile_images[0])
        done[0] += h * w
        if progress is not None:
            progress(done[0], total)

    generate(sink)
    out.flush()
    return out

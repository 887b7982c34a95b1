"""Rendering images larger than memory allows untiled, written progressively."""

import os

import numpy as np

from keras_creps.rendering.coords import view_coords
from keras_creps.utils.images import to_pil
from keras_creps.utils.images import to_uint8

PNG_MAX_PIXELS = 1 << 28  # Pillow holds a PNG whole: 268 Mpx (805 MB of RGB)


def render_large_image(generator, z, path, height, width=None, c=None, rows=None, cols=None,
                       truncation_psi=1.0, tile=1024, band_pixels=1 << 18, progress=None):
    """Renders one `height x width` image tile by tile into `path`.

    Every tile is converted to uint8 and written into a memory-mapped `.npy`
    file (`[height, width, C]`) as soon as it is rendered, so the memory
    needed is one tile plus the line network's outputs, whatever the image
    size. For a `.png` path the finished array is then encoded with Pillow
    (up to `PNG_MAX_PIXELS`; larger images stay `.npy`). Tiles are
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
        tile: int. Tile width in pixels.
        band_pixels: int. Pixels per tile.
        progress: optional callable `(pixels_done, pixels_total)`.

    Returns:
        `path`.

    Example:
    ```python
    render_large_image(generator, z, "big.png", 8192, 8192)
    ```
    """
    width = height if width is None else width
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
    channels = generator.img_channels
    raw_path = path if ext == ".npy" else path + ".tmp.npy"
    out = np.lib.format.open_memmap(raw_path, mode="w+", dtype=np.uint8, shape=(height, width, channels))
    done = [0]

    def sink(row_start, col_start, tile_images):
        h, w = tile_images.shape[1:3]
        out[row_start : row_start + h, col_start : col_start + w] = to_uint8(tile_images[0])
        done[0] += h * w
        if progress is not None:
            progress(done[0], height * width)

    generate = generator.make_generate_function(
        truncation_psi=truncation_psi, band_pixels=band_pixels, max_tile_width=tile)
    generate(z, c, rows, cols, sink=sink)
    out.flush()
    if ext == ".png":
        to_pil(np.asarray(out)).save(path)
    if raw_path != path:
        os.remove(raw_path)
    return path

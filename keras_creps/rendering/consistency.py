"""Scale consistency: does a render at 2s agree with the render at s?"""

import numpy as np

from keras_creps.rendering.coords import axis_coords


def psnr(a, b, data_range=2.0):
    """Peak signal-to-noise ratio in dB for images in `[-1, 1]` (range 2)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range**2 / mse)


def _bilinear_corners(images, size):
    """Resamples `[N, M, M, C]` (corner-aligned) to `[N, size, size, C]` (corner-aligned)."""
    m = images.shape[1]
    t = np.linspace(0.0, m - 1.0, size)
    i0 = np.clip(np.floor(t).astype(int), 0, m - 2)
    f = (t - i0)[None, :, None, None]
    rows = images[:, i0] * (1 - f) + images[:, i0 + 1] * f
    f = (t - i0)[None, None, :, None]
    return rows[:, :, i0] * (1 - f) + rows[:, :, i0 + 1] * f


def scale_consistency(render, size, data_range=2.0):
    """PSNR between a render at `size` and one at `2 * size` brought back to `size`.

    - `centers`: pixel-centre grids nest, so the `2 * size` render is box
      down-sampled by 2 (each output pixel averages the 4 pixels around its
      centre).
    - `corners` (official): the `2 * size` render is bilinearly resampled at
      the `size` corner-aligned positions.

    Args:
        render: callable `(rows, cols) -> images [N, H, W, C]` (e.g.
            `lambda r, c: generator.synthesis(ws, r, c)` converted to NumPy).
        size: int. The smaller size.
        data_range: float. Peak-to-peak range of the images (2 for `[-1, 1]`).

    Returns:
        dict `{"centers": dB, "corners": dB}`.
    """
    out = {}
    small = np.asarray(render(axis_coords(size, align="centers"), axis_coords(size, align="centers")))
    big = np.asarray(render(axis_coords(2 * size, align="centers"), axis_coords(2 * size, align="centers")))
    n, _, _, c = big.shape
    boxed = big.reshape(n, size, 2, size, 2, c).mean(axis=(2, 4))
    out["centers"] = psnr(small, boxed, data_range)
    small = np.asarray(render(axis_coords(size), axis_coords(size)))
    big = np.asarray(render(axis_coords(2 * size), axis_coords(2 * size)))
    out["corners"] = psnr(small, _bilinear_corners(big, size), data_range)
    return out

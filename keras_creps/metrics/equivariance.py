"""Translation equivariance of a coordinate generator (EQ-T), as a PSNR in dB.

A CREPS generator renders the continuous image `I(row, col)` at any
coordinates, so moving the view is a change of coordinates. The question
EQ-T asks is whether that continuous image behaves like a proper image: is
the view shifted by `t` pixels the native render translated by `t` pixels?

Definition (per sample `n`, native resolution `R`, pixel spacing
`d = 1 / (R - 1)` of the official grid `linspace(0, 1, R)`):

1. `orig = render(rows, cols)` on the native grid;
2. draw `t = (t_row, t_col)` uniformly in `[-max_shift * R, max_shift * R]^2`
   pixels (rounded to integers for `integer=True`);
3. `moved = render(rows + t_row * d, cols + t_col * d)`: the view shifted by `t`;
4. `ref` = `orig` resampled at the fractional pixel positions `(y + t_row,
   x + t_col)`: a separable Lanczos filter (`a` lobes, taps normalised to sum
   1) for fractional shifts, the exact pixel for integer ones;
5. `mask` keeps the pixels whose filter taps all fall inside `orig`.

`EQ-T = 10 log10(2^2 / MSE)` with the MSE pooled over all samples, channels
and masked pixels (images in `[-1, 1]`, range 2).

With integer shifts, `ref` and `moved` are samples of the same function at
the same points, so a coordinate renderer scores at float32 precision (a
CREPS generator is exact here: infinite PSNR): the integer variant only
catches renderers that do not follow their coordinates (e.g. screen-space
noise). The fractional variant can fail
for a perfect coordinate renderer: the resampled native image equals the
shifted render only when the image is band-limited below the native Nyquist
frequency, so it measures aliasing, like StyleGAN3's EQ-T (fractional).
"""

import numpy as np

from keras_creps.metrics.generated_images import generate_function, sample_latents, sample_labels

__all__ = ["lanczos_translate", "translation_equivariance"]


def _kernel(x, a):
    """Lanczos kernel `sinc(x) sinc(x / a)` (zero outside `|x| < a`)."""
    return np.where(np.abs(x) < a, np.sinc(x) * np.sinc(x / a), 0.0)


def _resample_axis(images, shifts, axis, a):
    """`images` sampled at positions `i + shifts[n]` along `axis` (1 or 2); also the valid mask."""
    n, size = images.shape[0], images.shape[axis]
    positions = np.arange(size)[None, :] + np.asarray(shifts, np.float64)[:, None]      # [N, size]
    if a is None:
        start = np.rint(positions).astype(np.int64)
        taps = np.zeros(1, np.int64)
        weights = np.ones((n, size, 1))
    else:
        start = np.floor(positions).astype(np.int64)
        frac = positions - start
        taps = np.arange(1 - a, a + 1)
        weights = _kernel(taps[None, None, :] - frac[..., None], a)
        weights /= weights.sum(axis=-1, keepdims=True)
    index = start[..., None] + taps                                                    # [N, size, T]
    valid = (index.min(axis=-1) >= 0) & (index.max(axis=-1) <= size - 1)
    index = np.clip(index, 0, size - 1).reshape(n, -1)
    moved = np.moveaxis(images, axis, 1)                                               # [N, size, other, C]
    gathered = np.take_along_axis(moved, index[:, :, None, None], axis=1)
    gathered = gathered.reshape(n, size, len(taps), *moved.shape[2:])
    out = np.einsum("nst...,nst->ns...", gathered, weights)
    return np.moveaxis(out, 1, axis), valid


def lanczos_translate(images, shift_rows, shift_cols, a=3):
    """Images resampled at `(y + shift_rows[n], x + shift_cols[n])`, and where that is defined.

    Args:
        images: float array `[N, H, W, C]`.
        shift_rows, shift_cols: arrays `[N]` of pixel shifts.
        a: int or None. Lanczos lobes; None takes the exact pixel (integer
            shifts). Defaults to `3`.

    Returns:
        `(translated [N, H, W, C] float64, mask [N, H, W] bool)`: `mask` is
        True where every filter tap lies inside the image.

    Example:
    ```python
    out, mask = lanczos_translate(images, np.full(n, 0.5), np.zeros(n))   # half a pixel down
    ```
    """
    images = np.asarray(images, np.float64)
    out, valid_rows = _resample_axis(images, shift_rows, 1, a)
    out, valid_cols = _resample_axis(out, shift_cols, 2, a)
    return out, valid_rows[:, :, None] & valid_cols[:, None, :]


def translation_equivariance(generator, num, batch_size=16, seed=0, truncation_psi=1.0, labels=None,
                             max_shift=0.125, integer=False, lanczos_a=3, progress=None, jit_compile="auto"):
    """EQ-T of `generator` in dB over `num` seeded samples (see the module docstring).

    Args:
        generator: a `CREPSGenerator` (or see `generated_images`).
        num: int. Number of samples.
        batch_size: int. Samples per render. Defaults to `16`.
        seed: int. Seed of latents, labels and shifts. Defaults to `0`.
        truncation_psi: float. Defaults to `1.0`.
        labels: the dataset's labels `[M, c_dim]` or None.
        max_shift: float. Largest shift as a fraction of the image size.
            Defaults to `0.125` (StyleGAN3's).
        integer: bool. Whole-pixel shifts. Defaults to `False`.
        lanczos_a: int. Lanczos lobes of the fractional resampler. Defaults to `3`.
        progress: callable `(done, total)` or None.
        jit_compile: `"auto"`, True or False, for the renders (see
            `CREPSGenerator.make_generate_function`). Defaults to `"auto"`.

    Returns:
        float. PSNR in dB (`inf` when every masked pixel matches exactly).

    Example:
    ```python
    translation_equivariance(generator, num=256)                 # fractional EQ-T, dB
    translation_equivariance(generator, num=256, integer=True)   # inf for a CREPS generator
    ```
    """
    resolution = generator.resolution
    if not 0 < max_shift < 0.5:
        raise ValueError(f"`max_shift` must be in (0, 0.5) of the image. Received: max_shift={max_shift!r}")
    grid = np.linspace(0.0, 1.0, resolution)
    pixel = 1.0 / max(resolution - 1, 1)
    generate = generate_function(generator, truncation_psi, batch_size, jit_compile)
    z = sample_latents(num, generator.z_dim, seed)
    c = sample_labels(num, generator.c_dim, labels, seed)
    shifts = np.random.default_rng([int(seed), 2]).uniform(-max_shift * resolution, max_shift * resolution, (num, 2))
    if integer:
        shifts = np.rint(shifts)
    squared, count = 0.0, 0
    for start in range(0, num, batch_size):
        stop = min(start + batch_size, num)
        zb, cb, tb = z[start:stop], None if c is None else c[start:stop], shifts[start:stop]
        orig = generate(zb, cb)
        rows = (grid[None, :] + tb[:, :1] * pixel).astype(np.float32)
        cols = (grid[None, :] + tb[:, 1:] * pixel).astype(np.float32)
        moved = np.asarray(generate(zb, cb, rows, cols), np.float64)
        ref, mask = lanczos_translate(orig, tb[:, 0], tb[:, 1], a=None if integer else lanczos_a)
        squared += float(np.sum(((moved - ref) ** 2)[mask]))
        count += int(mask.sum()) * moved.shape[-1]
        if progress is not None:
            progress(stop, num)
    if count == 0:
        raise ValueError(f"No pixel stays inside the image after the shifts. Received: max_shift={max_shift!r}")
    mse = squared / count
    return float("inf") if mse == 0 else float(10.0 * np.log10(4.0 / mse))

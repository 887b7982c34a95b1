"""Seeded samples of a generator for metrics: latents, labels, uint8 image batches.

The samples of a metric are a function of `(seed, num, generator weights,
truncation_psi, label distribution)` only: latents are drawn in one stream
from `numpy.random.default_rng(seed)` and labels from a second, independent
stream, so the same call gives the same images whatever `batch_size` is.

A *generator* here is anything with `z_dim`, `c_dim`, `resolution`,
`img_channels` and `make_generate_function(truncation_psi=..., band_pixels=...)`
returning `generate(z, c=None, rows=None, cols=None) -> float32 [N, H, W, C]`
(a `CREPSGenerator`, or a wrapper around one).
"""

import numpy as np

from keras_creps.utils.images import to_uint8

__all__ = ["generate_function", "generated_batches", "sample_latents", "sample_labels"]

MAX_BAND_PIXELS = 1 << 17  # per-pixel network tile: large enough to be fast, small enough for any resolution

# One compiled render function, reused while the same generator is measured
# again (e.g. at every snapshot of a training run, or for several metrics).
_LAST_FUNCTION = {}


def generate_function(generator, truncation_psi=1.0, batch_size=32, jit_compile="auto"):
    """`generator.make_generate_function(...)` for batches of at most `batch_size` samples.

    Smaller batches are padded to `batch_size` (repeating the last sample)
    and cropped back, so every call has the same shapes and compiles once.
    The function is kept for the next call with the same generator and
    settings (only the most recent one, which holds a reference to its
    generator); compiled functions read the variables when called, so it
    stays valid while the generator's weights change.
    """
    band_pixels = int(min(MAX_BAND_PIXELS, max(1, batch_size) * generator.resolution**2))
    key = (id(generator), float(truncation_psi), int(batch_size), band_pixels, jit_compile)
    if _LAST_FUNCTION.get("key") == key and _LAST_FUNCTION.get("generator") is generator:
        return _LAST_FUNCTION["function"]
    generate = generator.make_generate_function(
        truncation_psi=truncation_psi, band_pixels=band_pixels, jit_compile=jit_compile)

    def padded(z, c=None, rows=None, cols=None):
        count = len(z)
        if count > batch_size:
            raise ValueError(f"At most {batch_size} samples per call. Received: {count} latents")
        z, c, rows, cols = (_pad_rows(x, batch_size) for x in (z, c, rows, cols))
        return np.asarray(generate(z, c, rows, cols))[:count]

    _LAST_FUNCTION.clear()
    _LAST_FUNCTION.update(key=key, generator=generator, function=padded)
    return padded


def _pad_rows(x, size):
    """Per-sample `x` (`[n, ...]`, `n <= size`) padded to `size` rows; None and shared 1-D coordinates as given."""
    if x is None or np.ndim(x) < 2:
        return x
    x = np.asarray(x)
    return x if len(x) >= size else np.concatenate([x, np.repeat(x[-1:], size - len(x), axis=0)])


def sample_latents(num, z_dim, seed=0):
    """`num` standard normal latents `[num, z_dim]` float32 from `default_rng(seed)`.

    The first `k` rows are the same for every `num >= k`.
    """
    return np.random.default_rng(seed).standard_normal((int(num), int(z_dim)), dtype=np.float64).astype(np.float32)


def sample_labels(num, c_dim, labels=None, seed=0):
    """Labels for `num` samples of a conditional generator, None when `c_dim == 0`.

    Args:
        num: int. Number of samples.
        c_dim: int. Label width of the generator.
        labels: array `[M, c_dim]` or None. The dataset's labels; rows are
            drawn from it uniformly with replacement, so classes come in the
            dataset's proportions. None draws one-hot classes uniformly.
        seed: int. The label stream is `default_rng([seed, 1])`, apart from
            the latents' stream.

    Returns:
        float32 `[num, c_dim]`, or None.
    """
    if not c_dim:
        return None
    rng = np.random.default_rng([int(seed), 1])
    if labels is None or len(labels) == 0:
        return np.eye(c_dim, dtype=np.float32)[rng.integers(0, c_dim, size=int(num))]
    labels = np.asarray(labels, np.float32)
    if labels.ndim != 2 or labels.shape[1] != c_dim:
        raise ValueError(
            f"The dataset's labels must be [M, {c_dim}] for a generator with c_dim={c_dim}. "
            f"Received: labels.shape={labels.shape}"
        )
    return labels[rng.integers(0, len(labels), size=int(num))]


def generated_batches(generator, num, batch_size=32, seed=0, truncation_psi=1.0, labels=None, progress=None,
                      jit_compile="auto"):
    """Yields uint8 `[B, R, R, C]` batches of `num` seeded samples at the native resolution.

    Images are rendered in `[-1, 1]` and converted to uint8 once, with
    `keras_creps.rendering.large_image.to_uint8` (`x * 127.5 + 128`, rounded
    and clipped, as StyleGAN saves images).

    Args:
        generator: a `CREPSGenerator` (the EMA generator of a run), or see
            the module docstring.
        num: int. Number of samples.
        batch_size: int. Samples per render call. Defaults to `32`.
        seed: int. Seed of the latents and labels. Defaults to `0`.
        truncation_psi: float. Defaults to `1.0`.
        labels: the dataset's labels `[M, c_dim]` or None (see `sample_labels`).
        progress: callable `(done, total)` or None.
        jit_compile: `"auto"`, True or False, for the renders (see
            `CREPSGenerator.make_generate_function`). Defaults to `"auto"`.

    Example:
    ```python
    for images in generated_batches(generator, 1000, seed=0):
        features.append(network(images))
    ```
    """
    generate = generate_function(generator, truncation_psi, batch_size, jit_compile)
    z = sample_latents(num, generator.z_dim, seed)
    c = sample_labels(num, generator.c_dim, labels, seed)
    for start in range(0, int(num), batch_size):
        stop = min(start + batch_size, int(num))
        images = generate(z[start:stop], None if c is None else c[start:stop])
        yield to_uint8(np.asarray(images, np.float32))
        if progress is not None:
            progress(stop, int(num))

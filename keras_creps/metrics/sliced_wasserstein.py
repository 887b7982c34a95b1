"""Sliced Wasserstein distance between image sets on Laplacian-pyramid patches.

The multi-scale statistical similarity of Progressive GAN (Karras et al.,
2018): every image is split into a Laplacian pyramid, random 7x7 patches
("descriptors") are cut from each level, and at each level the two sets of
descriptors are compared with the sliced Wasserstein distance, i.e. the mean
1-D Wasserstein-1 distance between their projections on random unit
directions. NumPy/SciPy only, independent of the Keras backend; the
descriptor extraction is separate so a real set's descriptors can be cached.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage

from keras_creps.utils.arguments import non_negative_int
from keras_creps.utils.arguments import positive_int
from keras_creps.metrics.frechet_distance import check_finite

# Binomial 5-tap low-pass filter, applied separably (the 5x5 kernel is
# the outer product of these taps).
_TAPS = np.array([1.0, 4.0, 6.0, 4.0, 1.0], dtype=np.float32) / 16.0
# Images per pyramid batch; bounds the pyramid's temporaries (~25 MB for
# 256 images of 64x64x3) without changing the result.
_IMAGE_BATCH = 256
# Projected values held per set at a time (64 MB in float32). Chunks of
# ~70 directions keep the BLAS product efficient (~30 GFLOP/s measured).
_PROJECTION_ELEMENTS = 2**24


def _validate_images(name, images):
    """Checks an NHWC batch: uint8, or finite floating point."""
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[0] < 1:
        raise ValueError(
            f"`{name}` must be a non-empty NHWC batch of images. Received: {name}.shape={array.shape}"
        )
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"`{name}` must be uint8 in [0, 255] or floating point in [-1, 1]. "
            f"Received: {name}.dtype={array.dtype}"
        )
    if array.dtype != np.uint8:
        check_finite(name, array)
    return array


def _pixel_scale(images):
    """float32 on the [0, 255] scale (floating inputs are taken in [-1, 1])."""
    if images.dtype == np.uint8:
        return images.astype(np.float32)
    return (images.astype(np.float32) + 1.0) * 127.5


def _blur(images, gain=1.0):
    """Separable 5-tap blur over H and W with mirrored borders."""
    taps = _TAPS * gain
    blurred = ndimage.correlate1d(images, taps, axis=1, mode="mirror")
    return ndimage.correlate1d(blurred, taps, axis=2, mode="mirror")


def _upsample(images, height, width):
    """Zero-interleave, blur with 4x the gain, crop to `height x width`."""
    n, h, w, c = images.shape
    spread = np.zeros((n, 2 * h, 2 * w, c), dtype=images.dtype)
    spread[:, ::2, ::2] = images
    return _blur(spread, gain=2.0)[:, :height, :width]


def _level_shapes(height, width, min_resolution):
    """`(height, width)` of each pyramid level, finest first."""
    shapes = []
    while min(height, width) >= min_resolution:
        shapes.append((height, width))
        height, width = (height + 1) // 2, (width + 1) // 2
    return shapes


def laplacian_pyramid(images, num_levels):
    """Laplacian pyramid of a float NHWC batch, finest level first.

    Each level but the last is `gaussian - upsample(downsample(gaussian))`;
    the last is the Gaussian (low-pass) level itself. An odd size `s` is
    downsampled to `ceil(s / 2)`, and upsampled back cropped to `s`.

    Args:
        images: float array `[N, H, W, C]`.
        num_levels: int. Number of levels.

    Returns:
        List of `num_levels` float32 arrays `[N, h_i, w_i, C]`.
    """
    gaussian = np.asarray(images, dtype=np.float32)
    levels = []
    for _ in range(num_levels - 1):
        coarser = _blur(gaussian)[:, ::2, ::2]
        levels.append(gaussian - _upsample(coarser, *gaussian.shape[1:3]))
        gaussian = coarser
    levels.append(gaussian)
    return levels


def _cut_patches(level, image_index, ys, xs, size):
    """`[K, C, size, size]` patches of `level` with top-left corners `(ys, xs)`."""
    # Indexing a strided window view copies each patch as one block: 8 ms of
    # CPU for 32k 7x7x3 patches, against 45 ms for per-pixel fancy indexing.
    windows = sliding_window_view(level, (size, size), axis=(1, 2))  # [N, h', w', C, s, s]
    return windows[image_index, ys, xs]


def _channel_sums(patches):
    """`[2, C]` float64 sums of values and of squares per channel of `[K, C, s, s]`."""
    # Channel-major copy of one image batch (19 MB for 256 images): the
    # float64 reductions then run over contiguous rows (~14 ms of CPU per
    # batch of 32k patches).
    by_channel = np.moveaxis(patches, 1, 0).reshape(patches.shape[1], -1)
    squares = np.einsum("ij,ij->i", by_channel, by_channel, dtype=np.float64)
    return np.stack([by_channel.sum(axis=1, dtype=np.float64), squares])


def _normalize(descriptors, sums):
    """In place: zero mean, unit std per channel; flattened to `[K, D]`.

    `sums` holds the `[2, C]` sums of values and squares over the set. In
    float64, `E[x^2] - E[x]^2` keeps ~13 significant digits on [0, 255]
    data, far more than the float32 descriptors hold.
    """
    count = descriptors.shape[0] * descriptors.shape[2] * descriptors.shape[3]
    mean = sums[0] / count
    std = np.sqrt(np.maximum(sums[1] / count - mean**2, 0.0))
    # A constant channel has nothing to normalise; it stays at zero.
    std = np.where(std > 1e-6 * np.maximum(np.abs(mean), 1.0), std, 1.0)
    # In place: on this machine writing a fresh 140 MB result costs ~0.45 s
    # (page faults), updating the existing array ~0.1 s.
    descriptors -= mean.astype(np.float32)[:, None, None]
    descriptors *= (1.0 / std).astype(np.float32)[:, None, None]
    return descriptors.reshape(descriptors.shape[0], -1)


def laplacian_pyramid_descriptors(
    images, min_resolution=16, num_descriptors_per_image=128, descriptor_size=7, seed=0
):
    """Random normalised Laplacian-pyramid patches of an image set.

    Levels are taken from the full resolution down while both sides are at
    least `min_resolution` (each level halves the size, rounding up). At
    every level, `num_descriptors_per_image` patch positions are drawn per
    image, uniformly among those where the patch fits, from
    `numpy.random.default_rng(seed)` (PCG64); the same seed and image size
    give the same positions, so equal sets give equal descriptors. Each
    level's descriptors are then normalised per channel by the mean and std
    of the whole set at that level, as in Progressive GAN: the descriptors,
    hence the distance, ignore any per-channel affine change of intensity
    (a global brightness or contrast change of one set is invisible).

    Args:
        images: array `[N, H, W, C]`: uint8 in `[0, 255]` or floating point
            in `[-1, 1]` (mapped to `[0, 255]`). `H, W >= min_resolution`.
        min_resolution: int. Smallest level size. Defaults to `16`.
        num_descriptors_per_image: int. Patches per image and level.
            Defaults to `128`.
        descriptor_size: int, odd, at most `min_resolution`. Patch side.
            Defaults to `7`.
        seed: int. Seed of the patch positions. Defaults to `0`.

    Returns:
        Dict `{height: float32 [N * num_descriptors_per_image,
        C * descriptor_size^2]}`, one entry per level, finest first, keyed
        by the level's height in pixels (64, 32, 16 for 64x64 images). Each
        row is a patch flattened in (channel, row, column) order; the rows
        of image `i` are `i * num_descriptors_per_image` onwards.

    Example:
    ```python
    real_descriptors = laplacian_pyramid_descriptors(real_images)  # cache
    ```

    References:
        - [Karras et al., 2018](https://arxiv.org/abs/1710.10196)
    """
    images = _validate_images("images", images)
    positive_int("min_resolution", min_resolution)
    positive_int("descriptor_size", descriptor_size)
    positive_int("num_descriptors_per_image", num_descriptors_per_image)
    non_negative_int("seed", seed)
    if descriptor_size % 2 == 0 or descriptor_size > min_resolution:
        raise ValueError(
            "`descriptor_size` must be odd and at most `min_resolution` "
            f"({min_resolution}). Received: descriptor_size={descriptor_size}"
        )
    num, height, width, channels = images.shape
    if min(height, width) < min_resolution:
        raise ValueError(
            f"Images must be at least min_resolution={min_resolution} pixels on each side. "
            f"Received: images.shape={images.shape}"
        )
    shapes = _level_shapes(height, width, min_resolution)
    rng = np.random.default_rng(seed)
    count = num * num_descriptors_per_image
    image_index = np.repeat(np.arange(num), num_descriptors_per_image)
    corners = [
        (rng.integers(0, h - descriptor_size + 1, count), rng.integers(0, w - descriptor_size + 1, count))
        for h, w in shapes
    ]
    outputs = [np.empty((count, channels, descriptor_size, descriptor_size), np.float32) for _ in shapes]
    sums = np.zeros((len(shapes), 2, channels))
    for start in range(0, num, _IMAGE_BATCH):
        stop = min(start + _IMAGE_BATCH, num)
        rows = slice(start * num_descriptors_per_image, stop * num_descriptors_per_image)
        pyramid = laplacian_pyramid(_pixel_scale(images[start:stop]), len(shapes))
        for i, (level, (ys, xs)) in enumerate(zip(pyramid, corners)):
            patches = _cut_patches(level, image_index[rows] - start, ys[rows], xs[rows], descriptor_size)
            outputs[i][rows] = patches
            sums[i] += _channel_sums(patches)
    return {h: _normalize(out, total) for (h, _), out, total in zip(shapes, outputs, sums)}


def _quantile_pairing(size_a, size_b):
    """Index pairs and weights matching the quantile functions of two samples.

    On `(0, 1]` the quantile function of a sorted sample of size `m` is the
    `ceil(t m)`-th value; both functions are constant between consecutive
    points of `{i / size_a} U {j / size_b}`, kept as integers (times
    `size_a * size_b`) so the pairing is exact.
    """
    ends = np.union1d(np.arange(1, size_a + 1) * size_b, np.arange(1, size_b + 1) * size_a)
    widths = np.diff(ends, prepend=0) / (size_a * size_b)
    return -(-ends // size_b) - 1, -(-ends // size_a) - 1, widths


def wasserstein_1d(projections_a, projections_b):
    """Per-row Wasserstein-1 distance between two sets of 1-D samples.

    Both inputs are sorted in place (and `projections_a` is then used as
    scratch space when the sizes are equal).

    Args:
        projections_a: float array `[P, M_a]`.
        projections_b: float array `[P, M_b]`.

    Returns:
        float64 array `[P]`: the integral over `t` in `(0, 1]` of the gap
        between the two quantile functions; for equal sizes, the mean
        absolute difference of the sorted rows.
    """
    size_a, size_b = projections_a.shape[1], projections_b.shape[1]
    projections_a.sort(axis=1)
    projections_b.sort(axis=1)
    if size_a == size_b:
        projections_a -= projections_b
        np.abs(projections_a, out=projections_a)
        return np.mean(projections_a, axis=1, dtype=np.float64)
    index_a, index_b, widths = _quantile_pairing(size_a, size_b)
    gaps = projections_a[:, index_a] - projections_b[:, index_b]
    return np.abs(gaps, out=gaps) @ widths


def _sliced_level(descriptors_a, descriptors_b, directions):
    """Mean 1-D Wasserstein-1 distance over `directions` `[P, D]`."""
    # Contiguous [D, M] copies: the projection is then a plain row-major
    # product, ~15% faster than multiplying by a transposed view.
    transposed_a = np.ascontiguousarray(descriptors_a.T)
    transposed_b = np.ascontiguousarray(descriptors_b.T)
    chunk = max(1, _PROJECTION_ELEMENTS // max(transposed_a.shape[1], transposed_b.shape[1]))
    if transposed_a.shape[1] != transposed_b.shape[1]:
        chunk = max(1, chunk // 2)  # room for the paired quantiles
    chunk = min(chunk, directions.shape[0])
    # Reused output buffers: projecting 70 directions of 238k descriptors
    # takes 0.06 s into an existing array, 0.17 s into a fresh one.
    buffer_a = np.empty((chunk, transposed_a.shape[1]), dtype=np.float32)
    buffer_b = np.empty((chunk, transposed_b.shape[1]), dtype=np.float32)
    total = 0.0
    for start in range(0, directions.shape[0], chunk):
        block = directions[start : start + chunk]
        projected_a = np.matmul(block, transposed_a, out=buffer_a[: len(block)])
        projected_b = np.matmul(block, transposed_b, out=buffer_b[: len(block)])
        total += wasserstein_1d(projected_a, projected_b).sum()
    return total / directions.shape[0]


def _validate_descriptors(descriptors_a, descriptors_b):
    levels_a = list(descriptors_a) if isinstance(descriptors_a, dict) else None
    levels_b = list(descriptors_b) if isinstance(descriptors_b, dict) else None
    if not levels_a or levels_a != levels_b:
        raise ValueError(
            "Descriptors must be dicts {resolution: [M, D] array} with the same levels. "
            f"Received: levels_a={levels_a}, levels_b={levels_b}"
        )
    for key in levels_a:
        shape_a, shape_b = np.shape(descriptors_a[key]), np.shape(descriptors_b[key])
        matrices = len(shape_a) == 2 and len(shape_b) == 2
        if not matrices or shape_a[1] != shape_b[1] or min(shape_a[0], shape_b[0]) < 1:
            raise ValueError(
                f"Level {key} descriptors must be [M, D] arrays with the same D. "
                f"Received: shapes={shape_a}, {shape_b}"
            )


def sliced_wasserstein_from_descriptors(
    descriptors_a, descriptors_b, num_projections=128, num_repeats=4, seed=0
):
    """Sliced Wasserstein distance per level between two descriptor sets.

    For each level and each of `num_repeats` repeats, `num_projections`
    directions are drawn uniformly on the unit sphere (normalised Gaussian
    vectors from `numpy.random.default_rng(seed)`, shared by both sets);
    both sets are projected on them and compared with `wasserstein_1d`. The
    level's distance is the mean over all directions and repeats.

    Args:
        descriptors_a: dict `{resolution: [M_a, D]}` from
            `laplacian_pyramid_descriptors`.
        descriptors_b: dict with the same keys, `[M_b, D]` arrays.
        num_projections: int. Directions per repeat. Defaults to `128`
            (Progressive GAN's setting; 512 agrees within 2 % and costs 4x).
        num_repeats: int. Number of direction draws. Defaults to `4`.
        seed: int. Seed of the directions. Defaults to `0`.

    Returns:
        Dict `{"levels": {resolution: float}, "mean": float}` of raw
        distances; Progressive GAN's tables (`SWDx1e3`) multiply them by
        1e3.

    References:
        - [Karras et al., 2018](https://arxiv.org/abs/1710.10196)
        - [Rabin et al., 2011](https://doi.org/10.1007/978-3-642-24785-9_37)
    """
    positive_int("num_projections", num_projections)
    positive_int("num_repeats", num_repeats)
    non_negative_int("seed", seed)
    _validate_descriptors(descriptors_a, descriptors_b)
    rng = np.random.default_rng(seed)
    levels = {}
    for key in descriptors_a:
        a = np.asarray(descriptors_a[key], dtype=np.float32)
        b = np.asarray(descriptors_b[key], dtype=np.float32)
        check_finite(f"descriptors_a[{key}]", a)
        check_finite(f"descriptors_b[{key}]", b)
        directions = rng.standard_normal((num_repeats * num_projections, a.shape[1]))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        levels[key] = float(_sliced_level(a, b, directions.astype(np.float32)))
    return {"levels": levels, "mean": float(np.mean(list(levels.values())))}


def sliced_wasserstein_distance(
    images_a,
    images_b,
    min_resolution=16,
    num_descriptors_per_image=128,
    descriptor_size=7,
    num_projections=128,
    num_repeats=4,
    seed=0,
):
    """Multi-scale sliced Wasserstein distance between two image sets.

    `laplacian_pyramid_descriptors` of both sets (same `seed`, so a set
    compared with itself gives exactly 0), then
    `sliced_wasserstein_from_descriptors`. The sets may differ in size but
    not in image shape.

    Cost for 1861 vs 1861 uint8 64x64x3 images (3 levels of 238k
    descriptors per set) on this project's 2-core CPU: descriptors ~4 s of
    CPU per set; distances ~14 s of CPU with the defaults, ~48 s with
    `num_projections=512`. Sorting the
    projections dominates: the cost is linear in the number of directions.

    Args:
        images_a: array `[N_a, H, W, C]`, uint8 in `[0, 255]` or floating
            point in `[-1, 1]`; `H, W >= min_resolution`, any size (an odd
            level size is halved rounding up).
        images_b: array `[N_b, H, W, C]`, same convention and shape.
        min_resolution: int. Smallest pyramid level. Defaults to `16`.
        num_descriptors_per_image: int. Patches per image and level.
            Defaults to `128`.
        descriptor_size: int, odd. Patch side. Defaults to `7`.
        num_projections: int. Directions per repeat. Defaults to `128`
            (Progressive GAN's setting; 512 agrees within 2 % and costs 4x).
        num_repeats: int. Direction draws. Defaults to `4`.
        seed: int. Seed of patch positions and directions. Defaults to `0`.

    Returns:
        Dict `{"levels": {height: float}, "mean": float}`, raw values (not
        multiplied by 1e3), levels finest first.

    Example:
    ```python
    result = sliced_wasserstein_distance(real_uint8, fake_uint8)
    result["levels"][16], result["mean"]
    ```

    References:
        - [Karras et al., 2018](https://arxiv.org/abs/1710.10196)
    """
    shape_a, shape_b = np.shape(images_a), np.shape(images_b)
    if len(shape_a) != 4 or tuple(shape_a[1:]) != tuple(shape_b[1:]):
        raise ValueError(
            "Both image sets must be NHWC with the same image shape. "
            f"Received: images_a.shape={shape_a}, images_b.shape={shape_b}"
        )
    options = dict(min_resolution=min_resolution, descriptor_size=descriptor_size, seed=seed)
    options["num_descriptors_per_image"] = num_descriptors_per_image
    descriptors_a = laplacian_pyramid_descriptors(images_a, **options)
    descriptors_b = laplacian_pyramid_descriptors(images_b, **options)
    return sliced_wasserstein_from_descriptors(
        descriptors_a, descriptors_b, num_projections=num_projections, num_repeats=num_repeats, seed=seed
    )

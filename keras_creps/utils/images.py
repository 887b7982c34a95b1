"""Image conversion and writing, done one way everywhere.

One rounding from network output to uint8 is used by every writer in the
package (sample grids during training, `recipes/generate.py`, metrics and
the SavedModel signatures): `clip(rint(x * 127.5 + 128), 0, 255)`. The
`+ 128` (not `+ 127.5`) is StyleGAN's convention, so our PNGs match the
official ones to the bit for the same floats; `rint` rounds half to even.
"""

import io
import math

import numpy as np

from keras_creps.utils.files import atomic_write


def to_uint8(images):
    """`[-1, 1]` floats -> uint8 with the package's one rounding; uint8 passes through.

    Example:
    ```python
    to_uint8(np.array([-1.0, 0.0, 1.0]))   # array([  0, 128, 255], dtype=uint8)
    ```
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint(images.astype(np.float32) * 127.5 + 128), 0, 255).astype(np.uint8)


def to_pil(image):
    """A uint8 `[H, W, C]` array as a Pillow image (grayscale when `C == 1`)."""
    from PIL import Image

    image = to_uint8(image)
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def image_grid(images, columns):
    """Tiles `[N, H, W, C]` images (uint8, or floats in `[-1, 1]`) into one uint8 image.

    Rows are filled left to right; a missing last-row cell stays black.

    Example:
    ```python
    grid = image_grid(generator(z), columns=8)   # [rows * H, 8 * W, C]
    ```
    """
    images = to_uint8(images)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"Expected images [N, H, W, C] with N >= 1. Received: shape={images.shape}")
    columns = max(1, min(int(columns), len(images)))
    count, height, width, channels = images.shape
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * height, columns * width, channels), np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * height:(r + 1) * height, c * width:(c + 1) * width] = image
    return grid


def png_bytes(image, compress_level=6):
    """PNG-encodes one image (a Pillow image, or a `[H, W, C]` uint8/float array)."""
    if isinstance(image, np.ndarray):
        image = to_pil(image)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=compress_level)
    return buffer.getvalue()


def save_png(path, image, compress_level=6):
    """Writes one image as a PNG atomically (complete under `path`, or absent).

    Example:
    ```python
    save_png("out/seed0000.png", generator(z)[0])
    ```
    """
    data = png_bytes(image, compress_level)
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path

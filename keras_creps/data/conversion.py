"""Turning any usable source image into a dataset image: flattened, converted, cropped and resized."""

import numpy as np

from keras_creps.data.inspection import pil_error_reason

__all__ = ["GRAY_SOURCE_MODES", "convert_image"]

SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")
GRAY_SOURCE_MODES = ("1", "L", "LA", *SIXTEEN_BIT_MODES)


def _flatten(image, channels, background):
    """A loaded image as L or RGB: 16-bit keeps its high byte, transparency goes onto `background`."""
    from PIL import Image

    mode = image.mode
    if mode in SIXTEEN_BIT_MODES:
        # `>>` on the decoded integers (uint16 or int32), never a wider copy.
        pixels = np.clip(np.asarray(image) >> 8, 0, 255).astype(np.uint8)
        image = Image.fromarray(pixels, "L")
    elif mode in ("LA", "RGBA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, background)
        image = Image.alpha_composite(canvas, rgba)
    return image.convert("L" if channels == 1 else "RGB")


def convert_image(files, name, *, channels, resolution, background):
    """File `name` of a `FileStore` as a Pillow image, or a reason string.

    The file's header must already have passed `read_header` (its size is
    within the limits). Transparency is composited onto `background`; the
    result is L (`channels=1`) or RGB. With `resolution`, it is
    center-cropped to a square and resized with Lanczos.

    Args:
        files: a `FileStore`.
        name: str. The file.
        channels: 1 or 3.
        resolution: int or None.
        background: tuple. RGB(A) colour under transparent pixels.

    Returns:
        A Pillow image, or a str naming why the file cannot be used.
    """
    from PIL import Image

    try:
        stream = files.open(name)
    except Exception as e:  # noqa: BLE001 - OSError, BadZipFile, unsupported ZIP compression, ...
        return f"unreadable: {e}"
    try:
        with stream, Image.open(stream) as image:
            if getattr(image, "n_frames", 1) > 1:
                return f"animated ({image.n_frames} frames)"
            image.load()
            image = _flatten(image, channels, background)
    except Exception as e:  # noqa: BLE001 - whatever a decoder raises, the file is bad
        return pil_error_reason(e)
    if resolution is None:
        return image
    width, height = image.size
    if width != height:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (resolution, resolution):
        image = image.resize((resolution, resolution), Image.LANCZOS)
    return image

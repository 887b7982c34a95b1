"""Judging image files with Pillow: the header first, the pixels only when the header passes.

`read_header` looks at a file's declared size, then opens it and reads only
its header (format, mode, size, frame count); `check_pixels` decodes it
fully. Both return `ImageFacts` whose `reason` names what is wrong, so every
excluded file can be reported.
"""

import dataclasses
import os

from keras_creps.data.memory_budget import MemoryBudget, parallel_map

__all__ = [
    "ImageFacts",
    "check_all_pixels",
    "check_pixels",
    "most_common_square_size",
    "read_all_headers",
    "read_header",
]

# Pillow modes the pipeline decodes (with TensorFlow) to 1 or 3 channels unchanged.
GRAY_MODES = ("1", "L", "LA")
COLOR_MODES = ("P", "RGB", "RGBA")
ALPHA_MODES = ("LA", "RGBA")
FORMATS = ("PNG", "JPEG", "WEBP")

# Decoded pixels plus a converted copy (P -> RGBA for the alpha check).
_DECODE_BYTES_PER_PIXEL = 8


@dataclasses.dataclass
class ImageFacts:
    """What inspecting one image found: `reason` is None for a usable image."""

    name: str
    width: int = 0
    height: int = 0
    mode: str = ""
    gray: bool = False
    reason: object = None


def pil_error_reason(error):
    """A short reason for an exception Pillow raised while opening or decoding a file."""
    from PIL import Image

    if isinstance(error, Image.UnidentifiedImageError):
        return "not an image"
    if isinstance(error, Image.DecompressionBombError):
        return f"too large: {error}"
    return f"truncated or corrupt: {error}"


def _open_stream(files, name):
    """`(stream, None)` or `(None, reason)`."""
    try:
        return files.open(name), None
    except Exception as e:  # noqa: BLE001 - OSError, BadZipFile, unsupported ZIP compression, ...
        return None, f"unreadable: {e}"


def read_header(files, name, limits, formats=FORMATS):
    """Checks one file's declared size and image header, without decoding pixels.

    Args:
        files: a `FileStore` (`FolderFiles` or `ZipFiles`).
        name: str. The file's name in `files`.
        limits: `ImageLimits`.
        formats: tuple of str or None. Pillow formats accepted; None: any
            format Pillow reads (the dataset tool converts them).

    Returns:
        An `ImageFacts`: size, mode and whether the mode is grayscale, or a
        `reason` (unreadable, empty, not a regular file, too large, not an
        image, not PNG/JPEG/WebP, animated).
    """
    from PIL import Image

    reason = files.check(name, limits)
    if reason is not None:
        return ImageFacts(name, reason=reason)
    stream, reason = _open_stream(files, name)
    if stream is None:
        return ImageFacts(name, reason=reason)
    try:
        with stream, Image.open(stream) as image:
            fmt, mode, (width, height) = image.format, image.mode, image.size
            frames = getattr(image, "n_frames", 1) if formats is None or fmt in formats else 1
    except Exception as e:  # noqa: BLE001 - whatever a decoder raises, the file is bad
        return ImageFacts(name, reason=pil_error_reason(e))
    if formats is not None and fmt not in formats:
        return ImageFacts(name, reason=f"{fmt} content, not PNG/JPEG/WebP")
    if frames > 1:
        return ImageFacts(name, reason=f"animated ({frames} frames)")
    reason = limits.size_problem(width, height, files.size(name))
    if reason is not None:
        return ImageFacts(name, width, height, mode, reason=reason)
    return ImageFacts(name, width, height, mode, gray=mode in GRAY_MODES)


def check_pixels(files, facts):
    """Decodes a file whose header passed `read_header`; `facts` with a reason when it fails.

    Unusable: truncated or corrupt data, a mode the pipeline does not decode,
    transparent pixels.
    """
    from PIL import Image

    name, mode = facts.name, facts.mode
    stream, reason = _open_stream(files, name)
    if stream is None:
        return dataclasses.replace(facts, reason=reason)
    try:
        with stream, Image.open(stream) as image:
            image.load()
            if mode not in GRAY_MODES + COLOR_MODES:
                reason = f"unsupported mode {mode} (convert it with recipes/dataset_tool.py)"
            elif mode in ALPHA_MODES or (mode == "P" and "transparency" in image.info):
                alpha = image.convert("RGBA").getchannel("A") if mode == "P" else image.getchannel("A")
                if alpha.getextrema()[0] < 255:
                    reason = f"transparent pixels (mode {mode}); flatten it with recipes/dataset_tool.py"
    except Exception as e:  # noqa: BLE001 - whatever a decoder raises, the file is bad
        reason = pil_error_reason(e)
    return dataclasses.replace(facts, reason=reason)


def _threads():
    return min(16, (os.cpu_count() or 1) * 2)


def read_all_headers(files, names, limits, formats=FORMATS):
    """`read_header` over `names`, in parallel threads, in order.

    Memory is budgeted by declared file size (a WebP header read loads the
    whole file), so large files are read a few at a time.
    """
    budget = MemoryBudget()

    def one(name):
        try:
            cost = min(files.size(name), limits.max_file_bytes)
        except OSError:
            cost = 0  # `read_header` names the problem
        with budget.reserve(cost):
            return read_header(files, name, limits, formats)

    return parallel_map(one, names, _threads())


def check_all_pixels(files, facts):
    """`check_pixels` over `facts` (headers that passed), in parallel threads, in order."""
    budget = MemoryBudget()

    def one(item):
        with budget.reserve(_DECODE_BYTES_PER_PIXEL * item.width * item.height):
            return check_pixels(files, item)

    return parallel_map(one, facts, _threads())


def most_common_square_size(facts):
    """The most common square size among `facts` without a reason (ties: the larger), or None."""
    sizes = {}
    for f in facts:
        if f.reason is None and f.width == f.height:
            sizes[f.width] = sizes.get(f.width, 0) + 1
    if not sizes:
        return None
    return max(sizes, key=lambda s: (sizes[s], s))

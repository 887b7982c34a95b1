"""Size limits checked before an image file is read or decoded.

A dataset file is judged in three steps, each cheap enough to run before the
next costs memory: its declared size (from `os.stat` or the ZIP directory),
then its image header (Pillow reads only the header: format, mode, size),
and only then its pixels. The limits below bound what the first two steps
let through, so a hostile file (a 1 GiB PNG deflated into a 1 MB ZIP, a
12000x12000 header) is named in the report instead of filling memory.
"""

import dataclasses

from keras_creps.utils.arguments import positive_int, power_of_two

__all__ = ["ImageLimits", "MAX_LABELS_FILE_BYTES"]

MIB = 1 << 20

# Without a target resolution: a side up to 16384 and 64 Mpx (8192^2, or a
# 50 Mpx photograph), which decodes to at most 256 MiB as RGBA.
DEFAULT_MAX_SIDE = 16384
DEFAULT_MAX_PIXELS = 1 << 26

# A file holds at most 8 bytes per pixel (16-bit RGBA stored without
# compression) plus metadata (ICC profiles, EXIF, text chunks).
BYTES_PER_PIXEL = 8
METADATA_BYTES = 16 * MIB

# DEFLATE cannot expand data more than ~1032:1, so a ZIP member declaring a
# larger ratio is a bzip2/LZMA bomb or a lying directory. Small members are
# exempt: whatever their ratio, they cannot fill memory.
MAX_COMPRESSION_RATIO = 1100
RATIO_CHECKED_ABOVE_BYTES = MIB

# Files listed in one source. Python's `zipfile` keeps a ZipInfo per member
# (about 0.4 KB each), so 2**21 members cost under 1 GB before any image is
# read; a larger dataset belongs in TFRecord shards.
DEFAULT_MAX_FILES = 1 << 21

# dataset.json: 64 MiB holds over a million labels.
MAX_LABELS_FILE_BYTES = 64 * MIB


@dataclasses.dataclass(frozen=True)
class ImageLimits:
    """The largest image files a dataset build reads and decodes.

    Build them with `ImageLimits.for_resolution`. Sources may be larger than
    the target (`recipes/dataset_tool.py` crops and resizes), up to 4x its
    side and 16x its pixels, but never less than the defaults: a side of
    16384 and 64 Mpx (2**26 pixels). The file size limit follows from the
    pixels: 8 bytes per pixel plus 16 MiB.

    Args:
        max_side: int. Largest width or height, in pixels.
        max_pixels: int. Largest width x height.
        max_file_bytes: int. Largest file (declared size: `os.stat` for a
            file, the ZIP directory for a member).
        max_compression_ratio: int. Largest declared size / stored size of a
            ZIP member above 1 MiB.
        max_files: int. Most files listed in one folder or ZIP (the ZIP's
            count is read from its end record, before its directory).

    Example:
    ```python
    limits = ImageLimits.for_resolution(256)
    limits.size_problem(12000, 12000)   # 'too large: 12000x12000 pixels, ...'
    ```
    """

    max_side: int = DEFAULT_MAX_SIDE
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = BYTES_PER_PIXEL * DEFAULT_MAX_PIXELS + METADATA_BYTES
    max_compression_ratio: int = MAX_COMPRESSION_RATIO
    max_files: int = DEFAULT_MAX_FILES

    def __post_init__(self):
        for field in dataclasses.fields(self):
            positive_int(field.name, getattr(self, field.name))

    @classmethod
    def for_resolution(cls, resolution=None, *, max_side=None, max_pixels=None, max_files=None):
        """The limits for a dataset of `resolution`^2 images (None: the defaults).

        `max_side`, `max_pixels` and `max_files` replace the derived values
        (the file size limit follows the pixels).
        """
        side, pixels = DEFAULT_MAX_SIDE, DEFAULT_MAX_PIXELS
        if resolution is not None:
            resolution = power_of_two("resolution", resolution)
            side = max(side, 4 * resolution)
            pixels = max(pixels, 16 * resolution * resolution)
        side = side if max_side is None else positive_int("max_side", max_side)
        pixels = pixels if max_pixels is None else positive_int("max_pixels", max_pixels)
        files = DEFAULT_MAX_FILES if max_files is None else positive_int("max_files", max_files)
        return cls(side, pixels, BYTES_PER_PIXEL * pixels + METADATA_BYTES, max_files=files)

    def file_problem(self, size, stored_size=None):
        """Why a file of `size` bytes (`stored_size` compressed in a ZIP) is refused, or None."""
        if size == 0:
            return "empty file"
        if size > self.max_file_bytes:
            return f"too large: a file of {size} bytes, the limit is {self.max_file_bytes}"
        if stored_size is not None and size > RATIO_CHECKED_ABOVE_BYTES:
            if size > self.max_compression_ratio * max(stored_size, 1):
                return (f"suspicious compression: {size} bytes stored in {stored_size}, more than "
                        f"{self.max_compression_ratio}:1")
        return None

    def size_problem(self, width, height, file_size=None):
        """Why an image whose header says `width` x `height` is refused before decoding, or None.

        With `file_size`, a file much larger than its pixels can fill (data
        hidden after a tiny header) is refused too.
        """
        if max(width, height) > self.max_side or width * height > self.max_pixels:
            return (f"too large: {width}x{height} pixels, the limit is a side of {self.max_side} "
                    f"and {self.max_pixels} pixels")
        if file_size is not None and file_size > BYTES_PER_PIXEL * width * height + METADATA_BYTES:
            return f"too large: a file of {file_size} bytes for {width}x{height} pixels"
        return None

"""Converting an image folder or ZIP into a StyleGAN ZIP or TFRecord shards."""

import os

from keras_creps.data.conversion import GRAY_SOURCE_MODES, convert_image
from keras_creps.data.inspection import most_common_square_size, read_all_headers
from keras_creps.data.labels import parse_labels
from keras_creps.data.limits import ImageLimits
from keras_creps.data.report import BadFileReport
from keras_creps.data.sinks import check_destination, tfrecord_sink, zip_sink
from keras_creps.data.sources.file_source import open_image_files
from keras_creps.data.sources.file_store import IMAGE_EXTENSIONS
from keras_creps.utils.arguments import positive_int, power_of_two

__all__ = ["LABEL_MODES", "write_dataset"]

LABEL_MODES = ("auto", "none", "json", "folders")


def _source_labels(files, mode):
    """`(kind, name -> label, c_dim, class_names)` or None, from `mode`."""
    if mode == "none":
        return None
    if mode == "folders":
        classes = sorted({n.split("/")[0] for n in files.names if "/" in n})
        if not classes:
            raise ValueError(f"labels='folders' but {files.path!r} has no class sub-folders")
        index = {c: i for i, c in enumerate(classes)}
        table = {n: index[n.split("/")[0]] for n in files.names if "/" in n}
        return "class", table, len(classes), classes
    parsed = parse_labels(files.read_labels_file(), f"dataset.json in {files.path!r}")
    if parsed is None and mode == "json":
        raise ValueError(f"labels='json' but {files.path!r} has no dataset.json with a 'labels' list")
    return parsed


def _check_arguments(source, dest, resolution, channels, max_images, shard_size, labels, background,
                     compress_level):
    """The checked arguments: `(resolution, background)`; a `ValueError` naming a bad one."""
    from PIL import ImageColor

    if resolution is not None:
        resolution = power_of_two("resolution", resolution)
    if channels not in (None, 1, 3):
        raise ValueError(f"`channels` must be 1, 3 or None. Received: channels={channels!r}")
    if max_images is not None:
        positive_int("max_images", max_images)
    positive_int("shard_size", shard_size)
    if labels not in LABEL_MODES:
        raise ValueError(f"`labels` must be one of {LABEL_MODES}. Received: labels={labels!r}")
    if isinstance(compress_level, bool) or not isinstance(compress_level, int) or not 0 <= compress_level <= 9:
        raise ValueError(f"`compress_level` must be in 0..9. Received: compress_level={compress_level!r}")
    try:
        background = ImageColor.getrgb(background) if isinstance(background, str) else tuple(background)
    except (ValueError, TypeError):
        raise ValueError(f"`background` is not a colour. Received: background={background!r}") from None
    if not dest:
        raise ValueError("`dest` must not be empty")
    if os.path.abspath(dest) == os.path.abspath(source):
        raise ValueError(f"`dest` must differ from `source`. Received: dest={dest!r}")
    return resolution, background


def _target(headers, channels, resolution, source):
    """`(channels, size)` of the output: from the arguments, else from the usable headers."""
    if channels is None:
        modes = [h.mode for h in headers if h.reason is None]
        channels = 1 if modes and all(m in GRAY_SOURCE_MODES for m in modes) else 3
    if resolution is not None:
        return channels, resolution
    size = most_common_square_size(headers)
    if size is None:
        raise ValueError(f"no square images in {source!r}; pass a resolution to crop and resize them")
    try:
        return channels, power_of_two("resolution", size)
    except ValueError:
        raise ValueError(
            f"images in {source!r} are {size}x{size}, not a power of two; pass a resolution to resize them"
        ) from None


def _write_images(sink, files, headers, label_table, labels, target, max_images, report):
    """Converts and adds the usable images in name order; returns how many were written."""
    channels, size, resolution, background = target
    label_kind, table = label_table
    written = 0
    for header in headers:
        name = header.name
        if max_images is not None and written >= max_images:
            break
        report.num_checked += 1
        if table is not None and name not in table:
            report.add_bad(name, "no class sub-folder" if labels == "folders" else "no label in dataset.json")
            continue
        if header.reason is not None:
            report.add_bad(name, header.reason)
            continue
        image = convert_image(files, name, channels=channels, resolution=resolution, background=background)
        if isinstance(image, str):
            report.add_bad(name, image)
            continue
        width, height = image.size
        if width != height:
            report.add_bad(name, f"not square ({width}x{height}); pass a resolution to crop and resize")
            continue
        if width != size:
            report.add_bad(name, f"wrong size {width}x{height}, the dataset is {size}x{size}")
            continue
        sink.add(written, image, table[name] if table is not None else None, label_kind)
        written += 1
    return written


def write_dataset(
    source,
    dest,
    *,
    resolution=None,
    channels=None,
    max_images=None,
    shard_size=1024,
    labels="auto",
    background="white",
    compress_level=0,
    limits=None,
):
    """Converts an image folder or ZIP into a StyleGAN ZIP or a directory of TFRecord shards.

    Images are read in sorted name order and written as PNG, named
    `00000/img00000000.png`, ... like the official tool. Every file's
    declared size, type and image header are checked before it is decoded
    (`keras_creps.data.limits`; only regular files are opened, ZIP member
    names are normalised). Files that cannot be used are skipped and named in
    the returned report: not regular, too large, unreadable, not an image,
    truncated or corrupt, animated, and - without `resolution` - not square
    or not the common size. Conversions: transparency is composited onto
    `background`; colour modes become RGB (or L with `channels=1`); 16-bit
    grayscale keeps its high byte. The destination is checked before any
    image is read; the output is written to a temporary name beside it and
    renamed when complete, with normal permissions.

    Args:
        source: str. An image folder (recursive) or a `.zip`.
        dest: str. A path ending in `.zip` (StyleGAN ZIP with `dataset.json`),
            or a directory (TFRecord shards plus `metadata.json`; it must not
            exist or be empty).
        resolution: int or None. Center-crop to a square and resize to this
            power of two with Lanczos; None keeps the images' common square
            size.
        channels: 1, 3 or None. None: 1 when every image is grayscale, else 3.
        max_images: int or None. Write at most this many images (the first
            usable ones in name order).
        shard_size: int. Images per TFRecord shard.
        labels: str. `"auto"` (the source's `dataset.json` if it has labels),
            `"json"` (require them), `"folders"` (class index = sorted
            top-level sub-folder name; images at the root are skipped) or
            `"none"`.
        background: str or tuple. Pillow colour under transparent pixels.
        compress_level: int. PNG compression level 0-9 (0 as the official
            tool: fastest to decode).
        limits: `ImageLimits` or None. Defaults to
            `ImageLimits.for_resolution(resolution)`.

    Returns:
        A dict: `num_images`, `resolution`, `channels`, `label_kind`, `c_dim`,
        `class_names`, `report` (a `BadFileReport`).

    Example:
    ```python
    result = write_dataset("raw_faces/", "faces64.zip", resolution=64)
    print(result["report"].summary())
    ```
    """
    source, dest = os.fspath(source), os.fspath(dest)
    resolution, background = _check_arguments(source, dest, resolution, channels, max_images, shard_size,
                                               labels, background, compress_level)
    check_destination(dest)
    limits = limits or ImageLimits.for_resolution(resolution)
    files = open_image_files(source, limits)
    if not files.names:
        raise ValueError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in {source!r}")
    label_kind, table, c_dim, class_names = _source_labels(files, labels) or (None, None, 0, None)
    headers = read_all_headers(files, files.names, limits, formats=None)
    report = BadFileReport(source)
    report.ignored = list(files.ignored)
    for name, reason in files.rejected:
        report.add_bad(name, reason)
    if all(header.reason is not None for header in headers):
        # Say why every file was refused, before asking for a size none of them has.
        for header in headers:
            report.num_checked += 1
            report.add_bad(header.name, header.reason)
        raise ValueError(f"no usable images in {source!r}.\n{report.summary()}")
    channels, size = _target(headers, channels, resolution, source)
    if dest.lower().endswith(".zip"):
        sink_context = zip_sink(dest, compress_level)
    else:
        sink_context = tfrecord_sink(dest, compress_level, shard_size)
    with sink_context as sink:
        target = (channels, size, resolution, background)
        written = _write_images(sink, files, headers, (label_kind, table), labels, target, max_images, report)
        if written == 0:
            raise ValueError(f"no usable images in {source!r}.\n{report.summary()}")
        meta = {
            "name": os.path.splitext(os.path.basename(os.path.normpath(dest)))[0],
            "num_images": written,
            "resolution": size,
            "channels": channels,
            "label_kind": label_kind,
            "c_dim": c_dim,
            "class_names": class_names,
            "skipped": report.bad_files,
        }
        sink.finish(meta)
    return {key: meta[key] for key in ("num_images", "resolution", "channels", "label_kind", "c_dim",
                                       "class_names")} | {"report": report}

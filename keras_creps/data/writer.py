"""Converting an image folder or ZIP into a StyleGAN ZIP or TFRecord shards."""

import io
import json
import os
import shutil
import tempfile
import zipfile

import numpy as np

from keras_creps.data import image_files, tfrecord_format
from keras_creps.data.report import BadFileReport

__all__ = ["write_dataset"]

LABEL_MODES = ("auto", "none", "json", "folders")
SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def _header(files, name):
    """`(mode, width, height)` from a file's header, or None when it cannot be opened."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(files.read(name))) as image:
            return image.mode, image.size[0], image.size[1]
    except Exception:  # noqa: BLE001 - such files are reported when converted
        return None


def _convert(data, *, channels, resolution, background):
    """A PIL image with `channels` channels and `resolution`^2 pixels, or a reason string."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if getattr(image, "n_frames", 1) > 1:
                return f"animated ({image.n_frames} frames)"
            image.load()
            mode = image.mode
            if mode in SIXTEEN_BIT_MODES:
                pixels = np.clip(np.asarray(image).astype(np.int64) >> 8, 0, 255).astype(np.uint8)
                image = Image.fromarray(pixels, "L")
            elif mode in ("LA", "RGBA", "PA") or (mode == "P" and "transparency" in image.info):
                rgba = image.convert("RGBA")
                canvas = Image.new("RGBA", rgba.size, background)
                image = Image.alpha_composite(canvas, rgba)
            image = image.convert("L" if channels == 1 else "RGB")
    except Exception as e:  # noqa: BLE001 - whatever a decoder raises, the file is bad
        return image_files.pil_error_reason(e)
    width, height = image.size
    if resolution is None:
        return image
    if width != height:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (resolution, resolution):
        image = image.resize((resolution, resolution), Image.LANCZOS)
    return image


def _png_bytes(image, compress_level):
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=compress_level)
    return buffer.getvalue()


def _source_labels(files, mode):
    """`(kind, name -> label, c_dim, class_names)` or None, from `mode`."""
    if mode not in LABEL_MODES:
        raise ValueError(f"`labels` must be one of {LABEL_MODES}. Received: labels={mode!r}")
    if mode == "none":
        return None
    if mode == "folders":
        classes = sorted({n.split("/")[0] for n in files.names if "/" in n})
        if not classes:
            raise ValueError(f"labels='folders' but {files.path!r} has no class sub-folders")
        index = {c: i for i, c in enumerate(classes)}
        table = {n: index[n.split("/")[0]] for n in files.names if "/" in n}
        return "class", table, len(classes), classes
    parsed = image_files.parse_labels(files.read_labels_file(), f"dataset.json in {files.path!r}")
    if parsed is None and mode == "json":
        raise ValueError(f"labels='json' but {files.path!r} has no dataset.json with a 'labels' list")
    return parsed


class _ZipSink:
    def __init__(self, dest, compress_level):
        self.dest = dest
        self.compress_level = compress_level
        directory = os.path.dirname(os.path.abspath(dest))
        os.makedirs(directory, exist_ok=True)
        handle, self.temp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=".tmp", dir=directory)
        os.close(handle)
        self.archive = zipfile.ZipFile(self.temp, "w", compression=zipfile.ZIP_STORED)
        self.entries = []

    def add(self, index, image, label, label_kind):
        name = image_files.archive_name(index)
        self.archive.writestr(name, _png_bytes(image, self.compress_level))
        if label_kind == "vector":
            label = [float(v) for v in label]
        self.entries.append([name, label] if label_kind else None)

    def finish(self, meta):
        labels = self.entries if meta["label_kind"] else None
        contents = {"labels": labels}
        if meta["class_names"]:
            contents["class_names"] = meta["class_names"]
        self.archive.writestr(image_files.LABELS_FILE, json.dumps(contents))
        self.archive.close()
        os.replace(self.temp, self.dest)

    def abort(self):
        self.archive.close()
        if os.path.exists(self.temp):
            os.remove(self.temp)


class _TFRecordSink:
    def __init__(self, dest, compress_level, shard_size):
        import tensorflow as tf

        self.tf = tf
        self.dest = os.path.abspath(dest)
        if os.path.isfile(self.dest) or (os.path.isdir(self.dest) and os.listdir(self.dest)):
            raise ValueError(f"`dest` {dest!r} exists and is not an empty directory")
        parent = os.path.dirname(self.dest)
        os.makedirs(parent, exist_ok=True)
        self.temp = tempfile.mkdtemp(prefix=f".{os.path.basename(self.dest)}.", suffix=".tmp", dir=parent)
        self.compress_level = compress_level
        self.shard_size = shard_size
        self.counts = []
        self.writer = None

    def add(self, index, image, label, label_kind):
        if self.writer is None or self.counts[-1] == self.shard_size:
            if self.writer is not None:
                self.writer.close()
            self.writer = self.tf.io.TFRecordWriter(os.path.join(self.temp, f"part-{len(self.counts):05d}"))
            self.counts.append(0)
        name = image_files.archive_name(index)
        self.writer.write(tfrecord_format.encode_example(_png_bytes(image, self.compress_level), name, label, label_kind))
        self.counts[-1] += 1

    def finish(self, meta):
        if self.writer is not None:
            self.writer.close()
        shards = []
        for i, count in enumerate(self.counts):
            file = tfrecord_format.shard_name(i, len(self.counts))
            os.replace(os.path.join(self.temp, f"part-{i:05d}"), os.path.join(self.temp, file))
            shards.append({"file": file, "num_images": count})
        contents = {
            "format": tfrecord_format.FORMAT_NAME,
            "version": tfrecord_format.FORMAT_VERSION,
            **meta,
            "shards": shards,
        }
        with open(os.path.join(self.temp, tfrecord_format.METADATA_FILE), "w") as f:
            json.dump(contents, f, indent=1)
        if os.path.isdir(self.dest):
            os.rmdir(self.dest)  # empty, checked above
        os.replace(self.temp, self.dest)

    def abort(self):
        if self.writer is not None:
            self.writer.close()
        shutil.rmtree(self.temp, ignore_errors=True)


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
):
    """Converts an image folder or ZIP into a StyleGAN ZIP or a directory of TFRecord shards.

    Images are read in sorted name order and written as PNG, named
    `00000/img00000000.png`, ... like the official tool. Files that cannot be
    used are skipped and named in the returned report: unreadable, not an
    image, truncated or corrupt, animated, and - without `resolution` - not
    square or not the common size. Conversions: transparency is composited
    onto `background`; colour modes become RGB (or L with `channels=1`);
    16-bit grayscale keeps its high byte. The output is written to a
    temporary name in the destination folder and renamed when complete.

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

    Returns:
        A dict: `num_images`, `resolution`, `channels`, `label_kind`, `c_dim`,
        `class_names`, `report` (a `BadFileReport`).

    Example:
    ```python
    result = write_dataset("raw_faces/", "faces64.zip", resolution=64)
    print(result["report"].summary())
    ```
    """
    from PIL import ImageColor

    source = os.fspath(source)
    dest = os.fspath(dest)
    if resolution is not None:
        from keras_creps.data.pipeline import check_resolution

        resolution = check_resolution(resolution)
    if channels not in (None, 1, 3):
        raise ValueError(f"`channels` must be 1, 3 or None. Received: channels={channels!r}")
    if max_images is not None and (not isinstance(max_images, int) or max_images < 1):
        raise ValueError(f"`max_images` must be a positive integer. Received: max_images={max_images!r}")
    if not isinstance(shard_size, int) or shard_size < 1:
        raise ValueError(f"`shard_size` must be a positive integer. Received: shard_size={shard_size!r}")
    if not isinstance(compress_level, int) or not 0 <= compress_level <= 9:
        raise ValueError(f"`compress_level` must be in 0..9. Received: compress_level={compress_level!r}")
    try:
        background = ImageColor.getrgb(background) if isinstance(background, str) else tuple(background)
    except ValueError:
        raise ValueError(f"`background` is not a colour. Received: background={background!r}") from None
    if not dest:
        raise ValueError("`dest` must not be empty")
    if os.path.abspath(dest) == os.path.abspath(source):
        raise ValueError(f"`dest` must differ from `source`. Received: dest={dest!r}")

    is_zip = dest.lower().endswith(".zip")
    if not is_zip and (os.path.isfile(dest) or (os.path.isdir(dest) and os.listdir(dest))):
        raise ValueError(f"`dest` {dest!r} exists and is not an empty directory")
    if is_zip and os.path.isdir(dest):
        raise ValueError(f"`dest` {dest!r} is a directory")

    files = image_files.ImageFiles(source)
    if not files.names:
        raise ValueError(f"no image files ({', '.join(image_files.IMAGE_EXTENSIONS)}) in {source!r}")
    label_table = _source_labels(files, labels)
    label_kind, table, c_dim, class_names = label_table if label_table else (None, {}, 0, None)

    # A quick header pass decides the channel count and, without `resolution`, the size.
    target_size = resolution
    if channels is None or resolution is None:
        headers = [_header(files, n) for n in files.names]
        if channels is None:
            modes = [h[0] for h in headers if h is not None]
            gray = ("1", "L", "LA", *SIXTEEN_BIT_MODES)
            channels = 1 if modes and all(m in gray for m in modes) else 3
        if resolution is None:
            sizes = {}
            for h in headers:
                if h is not None and h[1] == h[2]:
                    sizes[h[1]] = sizes.get(h[1], 0) + 1
            if sizes:
                size = max(sizes, key=lambda s: (sizes[s], s))
                if size < 4 or size & (size - 1):
                    raise ValueError(
                        f"images in {source!r} are {size}x{size}, not a power of two; pass a resolution to resize them"
                    )
                target_size = size
            else:
                raise ValueError(f"no square images in {source!r}; pass a resolution to crop and resize them")

    report = BadFileReport(source)
    report.ignored = list(files.ignored)
    if is_zip:
        sink = _ZipSink(dest, compress_level)
    else:
        sink = _TFRecordSink(dest, compress_level, shard_size)
    written = 0
    try:
        for name in files.names:
            if max_images is not None and written >= max_images:
                break
            report.num_checked += 1
            if label_kind and name not in table:
                report.add_bad(name, "no class sub-folder" if labels == "folders" else "no label in dataset.json")
                continue
            try:
                data = files.read(name)
            except OSError as e:
                report.add_bad(name, f"unreadable: {e}")
                continue
            image = _convert(data, channels=channels, resolution=resolution, background=background)
            if isinstance(image, str):
                report.add_bad(name, image)
                continue
            width, height = image.size
            if width != height:
                report.add_bad(name, f"not square ({width}x{height}); pass a resolution to crop and resize")
                continue
            if width != target_size:
                report.add_bad(name, f"wrong size {width}x{height}, the dataset is {target_size}x{target_size}")
                continue
            sink.add(written, image, table.get(name), label_kind)
            written += 1
        if written == 0:
            raise ValueError(f"no usable images in {source!r}.\n{report.summary()}")
        meta = {
            "name": os.path.splitext(os.path.basename(os.path.normpath(dest)))[0],
            "num_images": written,
            "resolution": target_size,
            "channels": channels,
            "label_kind": label_kind,
            "c_dim": c_dim,
            "class_names": class_names,
            "skipped": report.bad_files,
        }
        sink.finish(meta)
    except BaseException:
        sink.abort()
        raise
    return {
        "num_images": written,
        "resolution": target_size,
        "channels": channels,
        "label_kind": label_kind,
        "c_dim": c_dim,
        "class_names": class_names,
        "report": report,
    }

"""Image files in a folder or a StyleGAN dataset ZIP: listing, labels, inspection.

The StyleGAN ZIP format (written by the official `dataset_tool.py`) is a ZIP
of image files, by convention `00000/img00000000.png`, `00000/img00000001.png`,
... (a folder per 1000 images), plus an optional `dataset.json` at the root:
`{"labels": [["00000/img00000000.png", 6], ...]}` or `{"labels": null}`.
A label is either a class index (an int; the label vector is its one-hot of
size `max + 1` over the whole file) or a list of floats of one length.
An image folder follows the same layout rules.
"""

import concurrent.futures
import io
import json
import os
import threading
import zipfile

import numpy as np

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageFacts",
    "ImageFiles",
    "archive_name",
    "inspect_image",
    "parse_labels",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
LABELS_FILE = "dataset.json"

# Pillow modes the pipeline decodes (with TensorFlow) to 1 or 3 channels unchanged.
GRAY_MODES = ("1", "L", "LA")
COLOR_MODES = ("P", "RGB", "RGBA")
ALPHA_MODES = ("LA", "RGBA")
FORMATS = ("PNG", "JPEG", "WEBP")


def archive_name(index):
    """The official name of image `index` in a dataset archive: `'00012/img00012345.png'`."""
    digits = f"{index:08d}"
    return f"{digits[:5]}/img{digits}.png"


def _is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


class ImageFiles:
    """The image files of a folder (recursive) or a ZIP, in sorted order.

    Names are relative to the root with `/` separators, as in `dataset.json`.
    Bytes are read with `read(name)`; it is safe to call from several threads.

    Args:
        path: str. A directory or a `.zip` file.

    Example:
    ```python
    files = ImageFiles("faces.zip")
    data = files.read(files.names[0])
    ```
    """

    def __init__(self, path):
        path = os.fspath(path)
        self.path = path
        self.ignored = []
        if os.path.isdir(path):
            self.kind = "folder"
            all_names = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for file in files:
                    rel = os.path.relpath(os.path.join(root, file), path)
                    all_names.append(rel.replace(os.sep, "/"))
        elif os.path.isfile(path) and path.lower().endswith(".zip"):
            self.kind = "zip"
            try:
                with zipfile.ZipFile(path) as archive:
                    all_names = [n for n in archive.namelist() if not n.endswith("/")]
            except (zipfile.BadZipFile, OSError) as e:
                raise ValueError(f"{path!r} is not a readable ZIP file: {e}") from None
        elif not os.path.exists(path):
            raise ValueError(f"dataset source {path!r} does not exist")
        else:
            raise ValueError(f"dataset source {path!r} is neither a directory nor a .zip file")
        all_names.sort()
        self.names = [n for n in all_names if _is_image_name(n)]
        self.ignored = [n for n in all_names if not _is_image_name(n) and n != LABELS_FILE]
        self.has_labels_file = LABELS_FILE in all_names
        self._local = threading.local()

    def _archive(self):
        archive = getattr(self._local, "archive", None)
        if archive is None:
            archive = zipfile.ZipFile(self.path)
            self._local.archive = archive
        return archive

    def read(self, name):
        """The bytes of file `name` (relative, `/` separators)."""
        if self.kind == "folder":
            with open(os.path.join(self.path, *name.split("/")), "rb") as f:
                return f.read()
        return self._archive().read(name)

    def full_path(self, name):
        """An absolute path for a folder file (None for a ZIP member)."""
        if self.kind != "folder":
            return None
        return os.path.abspath(os.path.join(self.path, *name.split("/")))

    def read_labels_file(self):
        """The parsed `dataset.json` (a dict), or None when there is none."""
        if not self.has_labels_file:
            return None
        where = f"{LABELS_FILE} in {self.path!r}"
        try:
            return json.loads(self.read(LABELS_FILE).decode("utf-8"))
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise ValueError(f"{where} is not readable JSON: {e}") from None


def parse_labels(metadata, where):
    """Label table from a `dataset.json` dict.

    Returns `None` when the file has no labels (`"labels": null` or absent),
    else `(kind, table, c_dim, class_names)`: `kind` is `"class"` (int
    labels; `table` maps name -> int) or `"vector"` (`table` maps name ->
    float32 vector); `c_dim` is the label vector size (`max + 1` for
    classes, the vector length otherwise); `class_names` is a list from an
    optional `"class_names"` entry (written by our dataset tool) or None.
    """
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise ValueError(f"{where}: expected a JSON object with a 'labels' key, got {type(metadata).__name__}")  # noqa: TRY004
    entries = metadata.get("labels")
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise ValueError(f"{where}: 'labels' must be a list of [name, label] or null")  # noqa: TRY004
    table = {}
    kinds = set()
    for entry in entries:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError(f"{where}: bad labels entry {entry!r}; expected [relative_path, label]")
        name, label = entry
        if isinstance(label, bool):
            raise ValueError(f"{where}: bad label {label!r} for {name!r}")  # noqa: TRY004
        if isinstance(label, int):
            if label < 0:
                raise ValueError(f"{where}: negative class label {label} for {name!r}")
            kinds.add("class")
        elif isinstance(label, (list, tuple)) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in label
        ):
            kinds.add("vector")
            label = np.asarray(label, dtype=np.float32)
        else:
            raise ValueError(f"{where}: bad label {label!r} for {name!r}; expected an int or a list of numbers")
        table[name.replace("\\", "/")] = label
    if not table:
        return None
    if len(kinds) > 1:
        raise ValueError(f"{where}: labels mix class indices and vectors")
    kind = kinds.pop()
    if kind == "class":
        c_dim = max(table.values()) + 1
    else:
        lengths = {v.shape[0] for v in table.values()}
        if len(lengths) > 1:
            raise ValueError(f"{where}: label vectors have different lengths {sorted(lengths)}")
        c_dim = lengths.pop()
    class_names = metadata.get("class_names")
    if class_names is not None and (kind != "class" or len(class_names) < c_dim):
        class_names = None
    return kind, table, int(c_dim), class_names


class ImageFacts:
    """What inspecting one image found: `reason` is None for a usable image."""

    __slots__ = ("gray", "height", "mode", "name", "reason", "width")

    def __init__(self, name, width=0, height=0, mode="", gray=False, reason=None):
        self.name = name
        self.width = width
        self.height = height
        self.mode = mode
        self.gray = gray
        self.reason = reason


def pil_error_reason(error):
    """A short reason for an exception Pillow raised while opening or decoding a file."""
    from PIL import Image

    if isinstance(error, Image.UnidentifiedImageError):
        return "not an image"
    if isinstance(error, Image.DecompressionBombError):
        return f"too large: {error}"
    return f"truncated or corrupt: {error}"


def inspect_image(name, read):
    """Decodes one image fully with Pillow and says whether the pipeline can use it.

    Args:
        name: str. The file's name (for the facts).
        read: callable returning the file's bytes.

    Returns:
        An `ImageFacts`; `reason` names the problem for an unusable file
        (unreadable, not an image, truncated or corrupt, unsupported format
        or mode, animated, transparent pixels).
    """
    from PIL import Image

    try:
        data = read()
    except OSError as e:
        return ImageFacts(name, reason=f"unreadable: {e}")
    if not data:
        return ImageFacts(name, reason="empty file")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, mode = image.format, image.mode
            width, height = image.size
            if fmt not in FORMATS:
                return ImageFacts(name, reason=f"{fmt} content, not PNG/JPEG/WebP")
            if getattr(image, "n_frames", 1) > 1:
                return ImageFacts(name, reason=f"animated ({image.n_frames} frames)")
            image.load()
            if mode not in GRAY_MODES + COLOR_MODES:
                return ImageFacts(name, reason=f"unsupported mode {mode} (convert it with recipes/dataset_tool.py)")
            has_alpha = mode in ALPHA_MODES or (mode == "P" and "transparency" in image.info)
            if has_alpha:
                alpha = image.convert("RGBA").getchannel("A") if mode == "P" else image.getchannel("A")
                if alpha.getextrema()[0] < 255:
                    return ImageFacts(
                        name,
                        reason=f"transparent pixels (mode {mode}); flatten it with recipes/dataset_tool.py",
                    )
    except Exception as e:  # noqa: BLE001 - whatever a decoder raises, the file is bad
        return ImageFacts(name, reason=pil_error_reason(e))
    return ImageFacts(name, width, height, mode, gray=mode in GRAY_MODES)


def inspect_images(files, names, threads=None):
    """`inspect_image` over `names` of an `ImageFiles`, in parallel threads, in order."""
    threads = threads or min(16, (os.cpu_count() or 1) * 2)

    def one(name):
        return inspect_image(name, lambda: files.read(name))

    if len(names) < 8 or threads == 1:
        return [one(n) for n in names]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, names))

"""The files of a folder or a ZIP, named as in `dataset.json`: the part both stores share."""

import json

from keras_creps.data.labels import LABELS_FILE
from keras_creps.data.limits import MAX_LABELS_FILE_BYTES, ImageLimits

__all__ = ["IMAGE_EXTENSIONS", "FileStore", "too_many_files"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")

_LABELS_LIMITS = ImageLimits(max_file_bytes=MAX_LABELS_FILE_BYTES)


def too_many_files(what, limit):
    """The error for a folder or ZIP listing more than `limit` files; `what` says how many it has."""
    return ValueError(f"{what} (the limit is {limit} files: raise it with max_files, "
                      "or split the data into TFRecord shards)")


def is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


class FileStore:
    """Named files of a dataset; a subclass lists and reads them.

    Subclasses set `kind` and implement `check(name, limits)` (why a file
    must not be opened, from its metadata alone, or None), `size(name)`,
    `open(name)` (a binary stream) and `read(name, max_bytes)`. Reading is
    safe from several threads.

    Args:
        path: str. The folder or ZIP.
        all_names: list of str. Every file, relative with `/` separators.
        rejected: list of `(name, reason)`. Entries refused while listing.
    """

    kind = ""

    def __init__(self, path, all_names, rejected=()):
        self.path = path
        all_names = sorted(all_names)
        self.names = [n for n in all_names if is_image_name(n)]
        self.ignored = [n for n in all_names if not is_image_name(n) and n != LABELS_FILE]
        self.has_labels_file = LABELS_FILE in all_names
        self.rejected = list(rejected)

    def check(self, name, limits):
        raise NotImplementedError

    def size(self, name):
        raise NotImplementedError

    def open(self, name):
        raise NotImplementedError

    def read(self, name, max_bytes):
        raise NotImplementedError

    def read_labels_file(self):
        """The parsed `dataset.json` (a dict), or None when there is none."""
        if not self.has_labels_file:
            return None
        where = f"{LABELS_FILE} in {self.path!r}"
        reason = self.check(LABELS_FILE, _LABELS_LIMITS)
        if reason is not None:
            raise ValueError(f"{where} is unusable: {reason}")
        try:
            return json.loads(self.read(LABELS_FILE, MAX_LABELS_FILE_BYTES).decode("utf-8"))
        except Exception as e:  # noqa: BLE001 - OSError, BadZipFile, zlib/LZMA errors, bad JSON or UTF-8
            raise ValueError(f"{where} is not readable JSON: {e}") from None

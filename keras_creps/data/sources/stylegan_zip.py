"""StyleGAN dataset ZIPs: members with normalised names, sizes checked from the ZIP directory.

The official `dataset_tool.py` writes images as `00000/img00000000.png`,
`00000/img00000001.png`, ... (a folder per 1000 images) plus `dataset.json`
(see `keras_creps.data.labels`). Members are read through `zipfile`, which
never inflates a member beyond its declared size, so checking declared sizes
bounds what reading costs.
"""

import os
import stat
import struct
import threading
import zipfile

from keras_creps.data.labels import normalize_name
from keras_creps.data.sources.file_store import FileStore, too_many_files

__all__ = ["ZipFiles", "archive_name", "declared_member_count"]

_UNIX = 3  # ZipInfo.create_system: the high 16 bits of external_attr are a st_mode
_END = b"PK\x05\x06"  # end of central directory record (22 bytes + a comment of up to 64 KiB)
_END64_LOCATOR = b"PK\x06\x07"  # zip64 end record locator, 20 bytes before the end record
_END64 = b"PK\x06\x06"  # zip64 end record: the member count is a uint64 at byte 32


def declared_member_count(path):
    """The number of members a ZIP's end record declares, read without its directory; None if unreadable.

    `zipfile.ZipFile` builds a ZipInfo for every member as it opens, so a
    small file declaring millions of members costs gigabytes before any
    check could run; this reads at most the last 64 KiB.
    """
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        tail_start = max(0, size - (22 + 0xFFFF + 20))
        f.seek(tail_start)
        tail = f.read()
        at = tail.rfind(_END)
        if at < 0 or len(tail) < at + 22:
            return None
        count = struct.unpack_from("<H", tail, at + 10)[0]
        if count != 0xFFFF or at < 20 or tail[at - 20:at - 16] != _END64_LOCATOR:
            return count
        offset = struct.unpack_from("<Q", tail, at - 12)[0]
        if offset + 40 > size:
            return None
        f.seek(offset)
        record = f.read(40)
        return struct.unpack_from("<Q", record, 32)[0] if record[:4] == _END64 else None


def archive_name(index):
    """The official name of image `index` in a dataset archive: `'00012/img00012345.png'`."""
    digits = f"{index:08d}"
    return f"{digits[:5]}/img{digits}.png"


class ZipFiles(FileStore):
    """The members of a ZIP, named with `/` separators and no leading `./`.

    A member whose name collides with another after normalising (`a\\b.png`
    and `a/b.png`) is refused and listed in `rejected`.

    Args:
        path: str. The `.zip` file.
        max_files: int or None. Refuse a ZIP whose end record declares more
            members (checked before its directory is read).

    Example:
    ```python
    files = ZipFiles("faces.zip")
    with files.open(files.names[0]) as stream:
        header = stream.read(8)
    ```
    """

    kind = "zip"

    def __init__(self, path, max_files=None):
        try:
            count = declared_member_count(path)
        except OSError as e:
            raise ValueError(f"{path!r} is not a readable ZIP file: {e.strerror or e}") from None
        if max_files is not None and count is not None and count > max_files:
            raise too_many_files(f"{path!r} declares {count} members", max_files)
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise ValueError(f"{path!r} is not a readable ZIP file: {e}") from None
        self._members = {}
        rejected = []
        for info in infos:
            if info.is_dir():
                continue
            name = normalize_name(info.filename)
            if name in self._members:
                rejected.append((info.filename, f"duplicate member name (as {name!r})"))
                continue
            self._members[name] = info
        super().__init__(path, list(self._members), rejected)
        self._archives = {}  # OS thread id -> that thread's open ZipFile
        self._lock = threading.Lock()

    def _archive(self):
        # One open archive per OS thread, keyed by `threading.get_ident()`, not
        # kept in a `threading.local`: tf.data calls `read` from TensorFlow's
        # own threads, whose Python thread state (and so any threading.local)
        # is created anew on every call, so each image read re-parsed the
        # whole ZIP directory (seen with py-spy: a resumed demo run spent
        # minutes in ZipFile.__init__ while skipping 150k images).
        ident = threading.get_ident()
        archive = self._archives.get(ident)
        if archive is None:
            archive = zipfile.ZipFile(self.path)
            with self._lock:
                self._archives[ident] = archive
        return archive

    def check(self, name, limits):
        info = self._members[name]
        kind = stat.S_IFMT(info.external_attr >> 16)
        if info.create_system == _UNIX and kind not in (0, stat.S_IFREG):
            return "not a regular file (a link or special file in the ZIP)"
        if info.flag_bits & 0x1:
            return "encrypted"
        return limits.file_problem(info.file_size, info.compress_size)

    def size(self, name):
        return self._members[name].file_size

    def open(self, name):
        return self._archive().open(self._members[name])

    def read(self, name, max_bytes):
        info = self._members[name]
        if info.file_size > max_bytes:
            raise OSError(f"{name!r} declares {info.file_size} bytes, more than {max_bytes}")
        return self._archive().read(info)

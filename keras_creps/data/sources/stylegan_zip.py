"""StyleGAN dataset ZIPs: members with normalised names, sizes checked from the ZIP directory.

The official `dataset_tool.py` writes images as `00000/img00000000.png`,
`00000/img00000001.png`, ... (a folder per 1000 images) plus `dataset.json`
(see `keras_creps.data.labels`). Members are read through `zipfile`, which
never inflates a member beyond its declared size, so checking declared sizes
bounds what reading costs.
"""

import stat
import threading
import zipfile

from keras_creps.data.labels import normalize_name
from keras_creps.data.sources.file_store import FileStore

__all__ = ["ZipFiles", "archive_name"]

_UNIX = 3  # ZipInfo.create_system: the high 16 bits of external_attr are a st_mode


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

    Example:
    ```python
    files = ZipFiles("faces.zip")
    with files.open(files.names[0]) as stream:
        header = stream.read(8)
    ```
    """

    kind = "zip"

    def __init__(self, path):
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
        self._local = threading.local()

    def _archive(self):
        archive = getattr(self._local, "archive", None)
        if archive is None:
            archive = zipfile.ZipFile(self.path)
            self._local.archive = archive
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

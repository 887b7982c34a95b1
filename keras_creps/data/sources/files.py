"""Image folders: listing, and reading only regular files."""

import os
import stat

from keras_creps.data.sources.file_store import FileStore, too_many_files

__all__ = ["FolderFiles"]

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"))


def _not_regular(mode):
    """Why a file of `mode` is not read (reading a FIFO or a device blocks or never ends), or None."""
    if stat.S_ISREG(mode):
        return None
    kind = next((what for test, what in _KINDS if test(mode)), "not a regular file")
    return f"not a regular file ({kind})"


class FolderFiles(FileStore):
    """The files under a directory (recursive), in sorted order.

    Only regular files (or links to them) are ever opened: a FIFO, socket or
    device named `*.png` is refused from `os.stat` alone.

    Args:
        path: str. The directory.
        max_files: int or None. Refuse a directory tree listing more files
            (the walk stops at the first file over the limit).

    Example:
    ```python
    files = FolderFiles("faces/")
    files.check(files.names[0], ImageLimits())   # None: fine to open
    ```
    """

    kind = "folder"

    def __init__(self, path, max_files=None):
        all_names = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            if max_files is not None and len(all_names) + len(files) > max_files:
                raise too_many_files(f"{path!r} holds more than {max_files} files", max_files)
            for file in files:
                rel = os.path.relpath(os.path.join(root, file), path)
                all_names.append(rel.replace(os.sep, "/"))
        super().__init__(path, all_names)

    def _path(self, name):
        return os.path.join(self.path, *name.split("/"))

    def full_path(self, name):
        """The absolute path of file `name`."""
        return os.path.abspath(self._path(name))

    def check(self, name, limits):
        try:
            info = os.stat(self._path(name))
        except OSError as e:
            return f"unreadable: {e.strerror or e}"
        return _not_regular(info.st_mode) or limits.file_problem(info.st_size)

    def size(self, name):
        return os.stat(self._path(name)).st_size

    def open(self, name):
        # O_NONBLOCK and the fstat check make a file swapped for a FIFO after
        # `check` fail here instead of blocking.
        fd = os.open(self._path(name), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            reason = _not_regular(os.fstat(fd).st_mode)
            if reason is not None:
                raise OSError(reason)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def read(self, name, max_bytes):
        with self.open(name) as stream:
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise OSError(f"{name!r} is larger than {max_bytes} bytes")
        return data

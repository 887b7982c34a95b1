"""Atomic file writing: a file appears complete under its final name, or not at all."""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path):
    """Yields a temporary path beside `path`; moves it onto `path` on success.

    The temporary file is in the same directory (so `os.replace` is atomic)
    and starts with a dot and ends with `.tmp`; it is removed if the body
    raises, and `path` is then left as it was.

    Example:
    ```python
    with atomic_write("run/model.keras") as tmp:
        model.save(tmp)   # run/model.keras appears complete, or not at all
    ```
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    stem, ext = os.path.splitext(name)
    # Keep the extension last: Keras picks the format from it.
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{ext}", dir=directory)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; final files get the usual mode
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

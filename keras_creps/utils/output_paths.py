"""Checks that an output directory is usable before anything is computed for it.

A recipe that finds out only at its first write that `--outdir` is a file,
sits on a read-only disk, or cannot hold the result has wasted the work
before it and ends in a traceback. These helpers say so first, in one line
that names the directory, through `OutputPathError` (a `ValueError`).
"""

import contextlib
import os
import shutil
import tempfile

__all__ = ["OutputPathError", "check_free_space", "check_output_dir", "make_output_dir"]


class OutputPathError(ValueError):
    """An output directory that cannot be created, written or filled; the message is one line."""


def _reason(error):
    return error.strerror or type(error).__name__


def check_output_dir(path, name="output directory"):
    """Checks, without creating anything, that `path` can be made a writable directory.

    Either `path` is a directory this process can write into, or its nearest
    existing ancestor is one (so `make_output_dir` can create the rest).

    Args:
        path: str or path-like. The directory.
        name: str. How the message names it, e.g. `"--outdir"`.

    Returns:
        `path` as an absolute str.

    Raises:
        OutputPathError: with one line naming `path` and the problem.

    Example:
    ```python
    check_output_dir("out/run1", name="--outdir")   # before loading a model
    ```
    """
    shown = f"{name} {os.fspath(path)!r}"
    path = os.path.abspath(os.fspath(path))
    ancestor = path
    while not os.path.lexists(ancestor):
        parent = os.path.dirname(ancestor)
        if parent == ancestor:
            break
        ancestor = parent
    if not os.path.isdir(ancestor):
        where = "is" if ancestor == path else f"is inside {ancestor!r}, which is"
        raise OutputPathError(f"{shown} {where} an existing file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        where = "" if ancestor == path else f" (in {ancestor!r}, where it would be created)"
        raise OutputPathError(f"{shown} is not writable{where}")
    return path


def make_output_dir(path, name="output directory"):
    """Creates `path` if needed and proves it writable by making and removing a file in it.

    `os.access` is only a hint (it says yes to root on a read-only mount, or
    on network file systems with their own rules), so this one writes.

    Args:
        path: str or path-like. The directory.
        name: str. How the message names it, e.g. `"--outdir"`.

    Returns:
        `path` as an absolute str.

    Raises:
        OutputPathError: with one line naming `path` and the problem.

    Example:
    ```python
    outdir = make_output_dir(flags.outdir, name="--outdir")
    ```
    """
    shown = f"{name} {os.fspath(path)!r}"
    path = check_output_dir(path, name)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise OutputPathError(f"{shown} cannot be created: {_reason(error)}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=path)
    except OSError as error:
        raise OutputPathError(f"{shown} is not writable: {_reason(error)}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.remove(probe)
    return path


def check_free_space(path, needed_bytes, what="the output"):
    """Checks that the file system holding `path` has `needed_bytes` free.

    Args:
        path: str or path-like. A file or directory on that file system (the
            nearest existing ancestor is asked when it does not exist yet).
        needed_bytes: int. Bytes about to be written.
        what: str. What needs the space, for the message.

    Returns:
        The free bytes.

    Raises:
        OutputPathError: when fewer bytes are free, naming both amounts.

    Example:
    ```python
    check_free_space("out", 3 * 16384 * 16384, what="a 16384x16384 render")
    ```
    """
    existing = os.path.abspath(os.fspath(path))
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    try:
        free = shutil.disk_usage(existing).free
    except OSError as error:
        raise OutputPathError(f"cannot tell the free space of {existing!r}: {_reason(error)}") from None
    if needed_bytes > free:
        raise OutputPathError(
            f"{what} needs {_size(needed_bytes)} but only {_size(free)} is free on the disk holding {existing!r}")
    return free


def _size(count):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):.1f} {unit}"
    return f"{count} bytes"

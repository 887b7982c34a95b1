"""Where named presets live, and how a name or path becomes a model file.

Named presets are looked up in two places, in this order:

1. the installed presets package `keras_creps.saved_models` (the
   repository's `saved_models/` directory, shipped as package data by
   `pip install keras-creps`), found with `importlib.resources`;
2. the source checkout's `saved_models/` next to the `keras_creps` package
   (a clone used without installing, or an editable install made before the
   package data existed).

Only files are looked at here: no model is imported (models/presets.py
builds on this module, not the reverse).
"""

import importlib.resources
import os
from pathlib import Path

# The installed data package holding the named presets (None: do not look).
# A module attribute, so that tests can point it elsewhere.
PRESETS_PACKAGE = "keras_creps.saved_models"

# The source checkout's directory of named presets (may not exist).
SAVED_MODELS_DIR = Path(__file__).resolve().parents[2] / "saved_models"

__all__ = [
    "find_named",
    "installed_presets_dir",
    "is_preset_name",
    "list_presets",
    "resolve",
    "search_dirs",
]

CONFIG_FILE = "config.json"


def _is_preset(path):
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def installed_presets_dir():
    """The directory of the installed presets package, or None.

    None when the package is not installed (a plain source checkout) or is
    not a plain directory (e.g. inside a zip): HDF5 weights need a real file.

    Example:
    ```python
    installed_presets_dir()  # e.g. PosixPath(".../site-packages/keras_creps/saved_models")
    ```
    """
    if not PRESETS_PACKAGE:
        return None
    try:
        root = importlib.resources.files(PRESETS_PACKAGE)
    except (ImportError, TypeError):  # not installed, or not a package
        return None
    path = Path(str(root))
    return path if path.is_dir() else None


def search_dirs():
    """The existing directories searched for named presets, installed package first.

    Example:
    ```python
    search_dirs()  # [site-packages/keras_creps/saved_models, <clone>/saved_models]
    ```
    """
    found = []
    for directory in (installed_presets_dir(), Path(SAVED_MODELS_DIR) if SAVED_MODELS_DIR else None):
        if directory is None or not directory.is_dir():
            continue
        if not any(os.path.samefile(directory, seen) for seen in found):
            found.append(directory)
    return found


def list_presets(directory=None):
    """Names of the presets in `directory`, or in every `search_dirs()` directory.

    Args:
        directory: str, `Path` or None. Where to look. Defaults to the
            installed presets and the source checkout's `saved_models/`; a
            missing directory has no presets.

    Returns:
        A sorted list of names, each accepted by `from_preset` and
        `load_generator`.

    Example:
    ```python
    list_presets()  # e.g. ["creps_emoji_64"]
    ```
    """
    directories = search_dirs() if directory is None else [Path(directory)]
    names = set()
    for root in directories:
        if root.is_dir():
            names.update(p.name for p in root.iterdir() if not p.name.startswith(".") and _is_preset(p))
    return sorted(names)


def is_preset_name(text):
    """Whether `text` can name a preset: a relative path such as `creps_emoji_64` or `creps_emoji_64/discriminator`."""
    if not isinstance(text, str) or not text or os.path.isabs(text) or text.startswith("~"):
        return False
    parts = text.replace(os.sep, "/").split("/")
    return all(part and not part.startswith(".") for part in parts)


def find_named(name):
    """The path of preset `name` in the first search directory holding it, or None.

    Example:
    ```python
    find_named("creps_emoji_64")                 # the generator preset
    find_named("creps_emoji_64/discriminator")   # its discriminator sub-preset
    ```
    """
    if not is_preset_name(name):
        return None
    for directory in search_dirs():
        candidate = directory / name
        if candidate.exists():
            return candidate
    return None


def resolve(path):
    """An existing path for `path`: itself, or the named preset of that name.

    Raises:
        ValueError: `path` is not a non-empty str or path.
        FileNotFoundError: neither a path nor a named preset; the message
            lists the presets available and where they were looked for.
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ValueError(f"Expected a preset directory, preset name or .keras file. Received: {path!r}")
    candidate = Path(path).expanduser()
    if candidate.exists():
        return candidate
    named = find_named(os.fspath(path))
    if named is not None:
        return named
    available = ", ".join(list_presets()) or "none"
    where = ", ".join(str(d) for d in search_dirs()) or "no presets directory found"
    raise FileNotFoundError(
        f"No such file, directory or preset: {os.fspath(path)!r} (presets: {available}; looked in {where})"
    )

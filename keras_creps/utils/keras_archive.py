"""Checking a `.keras` file before Keras opens it.

`keras.saving.load_model` reports a cut-short or damaged archive as "File
not found", which sends a user looking for the wrong problem; this check
names the damage instead, and bounds what reading the archive may cost.
"""

import json
import os
import zipfile

# Members every `.keras` archive holds (Keras 3 writes the weights as .h5, or .npz).
_ARCHIVE_CONFIG = "config.json"
_ARCHIVE_WEIGHTS = ("model.weights.h5", "model.weights.npz")
_MAX_CONFIG_BYTES = 64 * 2**20  # configs of our models are a few hundred KB
_MAX_EXPANSION = 100  # deflate reaches ~1000x on zeros; real weights barely compress


def check_keras_archive(path):
    """Raises `ValueError` unless `path` is a complete `.keras` archive.

    Checks what a cut-short or damaged file breaks: the ZIP directory, the
    `config.json` and weights members, the JSON of the config and the CRC of
    every member. It does not build the model (`keras.saving.load_model`
    does; on a damaged file Keras says "File not found", which misleads).

    Example:
    ```python
    check_keras_archive("runs/00003-.../training-state-000040.keras")
    ```
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path!r} is not a file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if _ARCHIVE_CONFIG not in names:
                raise ValueError(f"it has no {_ARCHIVE_CONFIG}")
            if not names.intersection(_ARCHIVE_WEIGHTS):
                raise ValueError(f"it has no {' or '.join(_ARCHIVE_WEIGHTS)}")
            _check_member_sizes(archive)
            bad_member = archive.testzip()
            if bad_member is not None:
                raise ValueError(f"the member {bad_member} fails its checksum")
            json.loads(archive.read(_ARCHIVE_CONFIG))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, RuntimeError) as error:
        reason = str(error) or type(error).__name__
        raise ValueError(f"{path!r} is not a valid Keras archive ({reason}; truncated or corrupt).") from None


def _check_member_sizes(archive):
    """Bounds the reading that follows: Keras stores members uncompressed, a bomb expands."""
    for member in archive.infolist():
        if member.filename == _ARCHIVE_CONFIG and member.file_size > _MAX_CONFIG_BYTES:
            raise ValueError(f"its {_ARCHIVE_CONFIG} declares {member.file_size} bytes")
        if member.file_size > _MAX_EXPANSION * member.compress_size + 2**20:
            raise ValueError(f"the member {member.filename} would expand {member.compress_size} stored bytes "
                             f"to {member.file_size}")

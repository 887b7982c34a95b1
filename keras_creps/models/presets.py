"""Finding and loading CREPS networks: presets, `.keras` files and training runs.

The file format of presets lives in `keras_creps.utils.preset_io` (no model
imported there); this module adds what needs the network classes:
`load_generator` / `load_discriminator` accept a preset (a directory or a
name), a `.keras` file, a training run directory (its newest EMA snapshot)
or a directory holding one of these. `from_preset`, `save_to_preset`,
`list_presets` and `load_metadata` are re-exported from `preset_io`.

A generator preset may hold a `discriminator/` sub-preset (the discriminator
at the same point of training, for fine-tuning):
`CREPSDiscriminator.from_preset("<name>")` loads it.
"""

from pathlib import Path

import keras

from keras_creps.models.creps_discriminator import CREPSDiscriminator
from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.utils import preset_io
from keras_creps.utils import preset_paths
from keras_creps.utils.preset_io import SUB_PRESETS
from keras_creps.utils.preset_io import from_preset
from keras_creps.utils.preset_io import is_preset
from keras_creps.utils.preset_io import load_metadata
from keras_creps.utils.preset_io import save_to_preset
from keras_creps.utils.preset_paths import list_presets
from keras_creps.utils.keras_archive import check_keras_archive
from keras_creps.utils.run_dir import is_run_dir
from keras_creps.utils.run_dir import list_network_snapshots

__all__ = [
    "SUB_PRESETS",
    "from_preset",
    "is_preset",
    "list_presets",
    "load_discriminator",
    "load_generator",
    "load_metadata",
    "model_path",
    "newest_run_snapshot",
    "save_to_preset",
]


def __getattr__(name):
    # `SAVED_MODELS_DIR` moved to `keras_creps.utils.preset_paths` (set it there); still readable here.
    if name == "SAVED_MODELS_DIR":
        return preset_paths.SAVED_MODELS_DIR
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def newest_run_snapshot(path):
    """The newest `network-snapshot-<kimg>` of training run directory `path`, or None if `path` is no run.

    A run directory is recognised by its `training_options.json` or its
    network snapshots (`.keras` files or preset directories).

    Raises:
        ValueError: `path` is a run directory without any network snapshot yet.

    Example:
    ```python
    newest_run_snapshot("runs/00000-creps-demo-noto-emoji-64-64-batch16-gamma0.05")
    # -> Path(".../network-snapshot-000420.keras")
    ```
    """
    path = Path(path)
    if not is_run_dir(path):
        return None
    snapshots = list_network_snapshots(path)
    if not snapshots:
        raise ValueError(f"Training run {str(path)!r} has no network-snapshot-<kimg> yet (wait for the first snapshot).")
    return Path(snapshots[-1][1])


def _single_model_in(path):
    """The one preset or `.keras` file directly in directory `path` (a `ValueError` otherwise)."""
    found = sorted(
        p for p in path.iterdir()
        if not p.name.startswith(".") and (preset_io.is_preset(p) or (p.is_file() and p.suffix == ".keras"))
    )
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise ValueError(
            f"{str(path)!r} is not a preset and holds {len(found)} presets / .keras files "
            f"(found: {names}); pass one of them."
        )
    return found[0]


def model_path(path):
    """The preset directory or `.keras` file that `path` stands for.

    `path` may be a preset directory or `.keras` file; a training run
    directory (its newest `network-snapshot-<kimg>`); another directory
    holding exactly one preset or `.keras` file; or a named preset.

    Raises:
        FileNotFoundError: nothing exists at `path`.
        ValueError: `path` holds no single model.

    Example:
    ```python
    model_path("runs/00000-creps-demo-noto-emoji-64-64-batch16-gamma0.05")
    # -> PosixPath("runs/.../network-snapshot-000420.keras")
    ```
    """
    path = preset_paths.resolve(path)
    if path.is_dir() and not preset_io.is_preset(path):
        snapshot = newest_run_snapshot(path)
        path = snapshot if snapshot is not None else _single_model_in(path)
    if not path.is_dir() and path.suffix != ".keras":
        raise ValueError(f"{str(path)!r} is neither a preset directory nor a .keras file.")
    return path


def _load(path, cls):
    path = model_path(path)
    if path.is_dir():
        return preset_io.from_preset(path, cls=cls)
    check_keras_archive(path)  # Keras says "File not found" for a damaged file
    model = keras.saving.load_model(str(path))
    if not isinstance(model, cls):
        raise ValueError(  # noqa: TRY004 - a wrong file, not a wrong argument type
            f"{str(path)!r} holds a {type(model).__name__}, not a {cls.__name__}."
        )
    return model


def load_generator(path):
    """A `CREPSGenerator` from a preset, a `.keras` file, a training run or a directory holding one model.

    Args:
        path: str or `Path`. A preset directory; a `.keras` file; a
            training run directory (its newest `network-snapshot-<kimg>`, the
            EMA generator); a directory containing exactly one preset or
            `.keras` file; or a named preset (see `list_presets`).

    Returns:
        A `CREPSGenerator`.

    Raises:
        FileNotFoundError: nothing exists at `path`, or a preset misses a file.
        ValueError: `path` holds no single model, or not a generator.

    Example:
    ```python
    generator = load_generator("creps_emoji_64")              # named preset
    generator = load_generator("runs/00001/generator.keras")  # .keras
    generator = load_generator("runs/00003-creps-demo-noto-emoji-64-64-batch16-gamma0.05")  # newest snapshot
    ```
    """
    return _load(path, CREPSGenerator)


def load_discriminator(path):
    """A `CREPSDiscriminator`, found like `load_generator` finds a generator.

    A generator preset with a `discriminator/` sub-preset stands for that
    sub-preset.

    Example:
    ```python
    discriminator = load_discriminator("creps_emoji_64")   # creps_emoji_64/discriminator
    ```
    """
    return _load(path, CREPSDiscriminator)

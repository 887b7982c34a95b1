"""Presets: a CREPS network saved as a directory of plain files.

A preset is a directory in the layout keras-hub uses, readable on every
Keras backend:

```
<preset>/
  config.json         the model's Keras serialized config (class + constructor arguments)
  model.weights.h5    every variable, written by `model.save_weights`
  metadata.json       versions, backend, date, parameter count + the user's metadata
  README.md           a generated model card
```

Nothing in a preset is executable: the config names a registered
`keras_creps` class and its arguments, the weights are an HDF5 file of
arrays. A preset written on TensorFlow loads on JAX or PyTorch (and back)
with bit-identical variables.

Presets can live anywhere; the named ones (`list_presets()`), which
`from_preset("<name>")` and `load_generator("<name>")` find by name, are the
repository's `saved_models/` directory, installed as the data package
`keras_creps.saved_models` (see `keras_creps.models.preset_paths`).

A generator preset may hold a `discriminator/` sub-preset (the discriminator
at the same point of training, for fine-tuning):
`CREPSDiscriminator.from_preset("<name>")` loads it.
"""

import datetime
import json
import os
import shutil
import uuid
from pathlib import Path

import keras
import numpy as np

from keras_creps.models import preset_paths
from keras_creps.models.preset_card import AUTOMATIC_METADATA
from keras_creps.models.preset_card import model_card

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
README_FILE = "README.md"
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, README_FILE)
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)

# Sub-presets a preset may hold, by the class they load as: the shipped
# generator carries its discriminator in `discriminator/`.
SUB_PRESETS = {"CREPSDiscriminator": "discriminator"}

__all__ = [
    "SUB_PRESETS",
    "from_preset",
    "list_presets",
    "load_discriminator",
    "load_generator",
    "load_metadata",
    "model_path",
    "save_to_preset",
]


def is_preset(path):
    """Whether `path` is a directory holding a preset's `config.json`."""
    path = Path(path)
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def __getattr__(name):
    # `SAVED_MODELS_DIR` moved to `preset_paths` (set it there); still readable here.
    if name == "SAVED_MODELS_DIR":
        return preset_paths.SAVED_MODELS_DIR
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def list_presets(directory=None):
    """Names of the named presets (installed, then the source checkout's `saved_models/`).

    Args:
        directory: str, `Path` or None. Only look here. Defaults to the
            installed presets package and the source checkout's
            `saved_models/` (see `keras_creps.models.preset_paths`).

    Returns:
        A sorted list of names; each one is accepted by `from_preset` and
        `load_generator`.

    Example:
    ```python
    keras_creps.models.presets.list_presets()  # e.g. ["creps_emoji_64"]
    ```
    """
    return preset_paths.list_presets(directory)


def _resolve(path):
    return preset_paths.resolve(path)


def _json_value(key, value):
    """`value` as plain JSON types (NumPy scalars and arrays converted)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_value(f"{key}.{k}", v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(key, v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"Preset metadata must hold JSON values (str, numbers, bools, None, lists, dicts). "
        f"Received: metadata[{key!r}]={value!r} of type {type(value).__name__}"
    )


def _metadata(model, user_metadata):
    import keras_creps

    if user_metadata is None:
        user_metadata = {}
    if not isinstance(user_metadata, dict):
        raise TypeError(f"`metadata` must be a dict or None. Received: metadata={user_metadata!r}")
    metadata = {str(k): _json_value(str(k), v) for k, v in user_metadata.items() if k not in AUTOMATIC_METADATA}
    automatic = {
        "class_name": type(model).__name__,
        "keras_creps_version": keras_creps.__version__,
        "keras_version": keras.version(),
        "backend": keras.config.backend(),
        "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "parameter_count": int(model.count_params()),
    }
    return {**automatic, **metadata}


def _write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")


def _card_names(preset_dir):
    """(title, usage name) of the card: a sub-preset is shown and loaded through its parent."""
    parent = preset_dir.parent
    if preset_dir.name in SUB_PRESETS.values() and is_preset(parent):
        return f"{parent.name}/{preset_dir.name}", parent.name
    return preset_dir.name, preset_dir.name


def _check_target(preset_dir):
    if preset_dir.exists() and not preset_dir.is_dir():
        raise ValueError(f"Cannot save a preset to {str(preset_dir)!r}: it exists and is not a directory.")
    if preset_dir.is_dir() and any(preset_dir.iterdir()) and not is_preset(preset_dir):
        raise ValueError(
            f"Refusing to overwrite {str(preset_dir)!r}: it is a non-empty directory without "
            f"{CONFIG_FILE}, so not a preset. Choose a new or empty directory."
        )


def save_to_preset(model, preset_dir, metadata=None):
    """Saves `model` as a preset directory (config, weights, metadata, model card).

    The files are written into a temporary directory beside `preset_dir`,
    which then replaces it, so readers never see a half-written preset. An
    existing preset at `preset_dir` is replaced (files in it other than the
    four preset files are kept); an existing non-empty directory that is not
    a preset is refused.

    Args:
        model: a Keras model with `get_config` (e.g. `CREPSGenerator`,
            `CREPSDiscriminator`).
        preset_dir: str or `Path`. The preset directory to write.
        metadata: dict or None. JSON-serializable facts stored in
            `metadata.json` and shown in the model card, e.g.
            `{"description": ..., "training_data": "FFHQ 64x64",
            "kimg": 5000, "metrics": {"fid50k_full": 4.2}, "license": ...}`.
            `class_name`, `keras_creps_version`, `keras_version`, `backend`,
            `date_saved` and `parameter_count` are filled in automatically.
            Defaults to `None`.

    Returns:
        The preset directory, as a `Path`.

    Example:
    ```python
    generator = keras_creps.CREPSGenerator(resolution=16, z_dim=32, w_dim=32,
                                           channel_base=512, channel_max=64)
    save_to_preset(generator, "saved_models/tiny", metadata={"description": "untrained"})
    same = from_preset("saved_models/tiny")
    ```
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model. Received: model={model!r}")
    preset_dir = Path(preset_dir).expanduser().absolute()
    _check_target(preset_dir)
    metadata = _metadata(model, metadata)
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)  # presets hold networks, not training state

    preset_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = preset_dir.parent / f".{preset_dir.name}.{uuid.uuid4().hex}.tmp"
    staging.mkdir()  # usual permissions (umask), unlike tempfile.mkdtemp's 0700
    try:
        _write_json(staging / CONFIG_FILE, config)
        model.save_weights(str(staging / WEIGHTS_FILE))
        _write_json(staging / METADATA_FILE, metadata)
        title, usage = _card_names(preset_dir)
        (staging / README_FILE).write_text(model_card(title, config, metadata, usage), encoding="utf-8")
        if preset_dir.is_dir() and any(preset_dir.iterdir()):
            _check_target(preset_dir)  # still a preset
            for extra in preset_dir.iterdir():
                if extra.name not in PRESET_FILES:
                    os.replace(extra, staging / extra.name)
            old = preset_dir.parent / f".{preset_dir.name}.{uuid.uuid4().hex}.old"
            os.replace(preset_dir, old)
            os.replace(staging, preset_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, preset_dir)  # also replaces an empty directory
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return preset_dir


def _preset_dir(preset):
    preset_dir = _resolve(preset)
    if not preset_dir.is_dir():
        raise ValueError(f"A preset is a directory; {str(preset_dir)!r} is a file.")
    for name in REQUIRED_FILES:
        if not (preset_dir / name).is_file():
            raise FileNotFoundError(f"Preset {str(preset_dir)!r} has no {name} (expected {', '.join(REQUIRED_FILES)}).")
    return preset_dir


def load_metadata(preset):
    """The `metadata.json` of a preset (a path or a preset name), as a dict.

    Example:
    ```python
    load_metadata("saved_models/tiny")["keras_version"]
    ```
    """
    path = _resolve(preset) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"Preset {str(path.parent)!r} has no {METADATA_FILE}.")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _read_config(preset_dir):
    with open(preset_dir / CONFIG_FILE, encoding="utf-8") as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{str(preset_dir / CONFIG_FILE)!r} is not valid JSON: {e}") from None
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(
            f"{str(preset_dir / CONFIG_FILE)!r} is not a Keras serialized config "
            "(expected keys 'class_name' and 'config')."
        )
    return config


def _sub_preset(preset_dir, config, cls):
    """`(preset_dir, config)` of the `cls` sub-preset when `preset_dir` holds another class and one exists."""
    role = SUB_PRESETS.get(getattr(cls, "__name__", None))
    if cls is None or role is None or config["class_name"] == cls.__name__:
        return preset_dir, config
    sub_dir = preset_dir / role
    if not is_preset(sub_dir):
        return preset_dir, config  # the class check below names the mismatch
    return _preset_dir(sub_dir), _read_config(sub_dir)


def from_preset(preset, cls=None, load_weights=True):
    """Builds the model a preset describes and loads its weights.

    Args:
        preset: str or `Path`. A preset directory, or the name of a named
            preset (see `list_presets`), e.g. `"creps_emoji_64"`.
        cls: class or None. If given, the loaded model must be an instance
            of it (a `ValueError` otherwise). When the preset holds another
            class but has a sub-preset for `cls` (`SUB_PRESETS`: a
            `CREPSDiscriminator` in `discriminator/`), that one is loaded.
            Defaults to `None`.
        load_weights: bool. `False` returns the freshly initialised model
            the config describes. Defaults to `True`.

    Returns:
        The model, e.g. a `CREPSGenerator`.

    Example:
    ```python
    generator = from_preset("creps_emoji_64")
    discriminator = from_preset("creps_emoji_64", cls=keras_creps.CREPSDiscriminator)
    images = generator(np.random.randn(2, generator.z_dim), np.eye(generator.c_dim)[[0, 1]])
    ```
    """
    preset_dir = _preset_dir(preset)
    preset_dir, config = _sub_preset(preset_dir, _read_config(preset_dir), cls)
    import keras_creps  # noqa: F401 - registers the keras_creps classes for deserialization

    model = keras.saving.deserialize_keras_object(config)
    if cls is not None and not isinstance(model, cls):
        raise ValueError(
            f"Preset {str(preset_dir)!r} holds a {type(model).__name__}, not a {cls.__name__}."
        )
    if load_weights:
        model.load_weights(str(preset_dir / WEIGHTS_FILE))
    return model


def _single_model_in(path):
    """The one preset or `.keras` file directly in directory `path` (a `ValueError` otherwise)."""
    found = sorted(
        p for p in path.iterdir()
        if not p.name.startswith(".") and (is_preset(p) or (p.is_file() and p.suffix == ".keras"))
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
    path = _resolve(path)
    if path.is_dir() and not is_preset(path):
        snapshot = preset_paths.newest_run_snapshot(path)
        path = snapshot if snapshot is not None else _single_model_in(path)
    if not path.is_dir() and path.suffix != ".keras":
        raise ValueError(f"{str(path)!r} is neither a preset directory nor a .keras file.")
    return path


def _load(path, cls):
    path = model_path(path)
    if path.is_dir():
        return from_preset(path, cls=cls)
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
    from keras_creps.models.creps_generator import CREPSGenerator

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
    from keras_creps.models.creps_discriminator import CREPSDiscriminator

    return _load(path, CREPSDiscriminator)


class PresetMixin:
    """`from_preset` and `save_to_preset` for the CREPS networks.

    `CREPSGenerator` and `CREPSDiscriminator` inherit these two methods; they
    are thin wrappers around this module's `from_preset` and
    `save_to_preset`.
    """

    @classmethod
    def from_preset(cls, preset, load_weights=True):
        """Loads a network of this class saved with `save_to_preset`.

        Args:
            preset: str or `Path`. A preset directory (`config.json`,
                `model.weights.h5`, `metadata.json`), or the name of a named
                preset (installed, or in a clone's `saved_models/`). A
                discriminator is also found in the `discriminator/`
                sub-preset of a generator preset.
            load_weights: bool. `False` returns the model the config
                describes with fresh weights. Defaults to `True`.

        Example:
        ```python
        generator = keras_creps.CREPSGenerator.from_preset("creps_emoji_64")
        discriminator = keras_creps.CREPSDiscriminator.from_preset("creps_emoji_64")  # its discriminator/
        ```
        """
        return from_preset(preset, cls=cls, load_weights=load_weights)

    def save_to_preset(self, preset_dir, metadata=None):
        """Saves this network as a preset directory (see `keras_creps.models.presets`).

        Args:
            preset_dir: str or `Path`. Directory to write (atomically); an
                existing preset there is replaced, any other non-empty
                directory is refused.
            metadata: dict or None. JSON facts for `metadata.json` and the
                model card (`description`, `training_data`, `kimg`,
                `metrics`, `license`, ...). Defaults to `None`.

        Returns:
            The preset directory, as a `Path`.

        Example:
        ```python
        generator.save_to_preset("saved_models/tiny", metadata={"kimg": 100})
        ```
        """
        return save_to_preset(self, preset_dir, metadata=metadata)

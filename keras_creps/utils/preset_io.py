"""Preset files: a network saved as a directory of plain files, read and written.

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

This module knows files, not networks: it imports no model (keras-hub's
`preset_utils` pattern). The networks get `from_preset` / `save_to_preset`
from `keras_creps.models.creps_model.CREPSModel`, which calls these
functions; `keras_creps.models.presets` adds the loaders that know the
CREPS classes (`load_generator`, `load_discriminator`, `model_path`).
"""

import datetime
import json
import os
import shutil
import uuid
from pathlib import Path

import keras
import numpy as np

from keras_creps.utils import preset_paths
from keras_creps.utils.preset_card import AUTOMATIC_METADATA
from keras_creps.utils.preset_card import model_card
from keras_creps.utils.version import __version__

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
README_FILE = "README.md"
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, README_FILE)
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)

# Sub-presets a preset may hold, by the class they load as: the shipped
# generator carries its discriminator in `discriminator/`.
SUB_PRESETS = {"CREPSDiscriminator": "discriminator"}


def is_preset(path):
    """Whether `path` is a directory holding a preset's `config.json`."""
    path = Path(path)
    return path.is_dir() and (path / CONFIG_FILE).is_file()


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


def preset_metadata(model, user_metadata=None):
    """What `save_to_preset` writes to `metadata.json`: the facts it fills in, then `user_metadata`.

    Example:
    ```python
    card = model_card("my_gen", config, preset_metadata(generator, {"kimg": 100}))
    ```
    """
    if user_metadata is None:
        user_metadata = {}
    if not isinstance(user_metadata, dict):
        raise TypeError(f"`metadata` must be a dict or None. Received: metadata={user_metadata!r}")
    metadata = {str(k): _json_value(str(k), v) for k, v in user_metadata.items() if k not in AUTOMATIC_METADATA}
    automatic = {
        "class_name": type(model).__name__,
        "keras_creps_version": __version__,
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
    a preset is refused. The network loads trainable whatever
    `model.trainable` was (an EMA generator is saved for fine-tuning too).

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
    metadata = preset_metadata(model, metadata)
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)  # presets hold networks, not training state
    # A preset is a starting point: an EMA generator (trainable=False while it
    # trains) must load trainable, or fine-tuning it would update nothing.
    config.get("config", {}).pop("trainable", None)

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
    preset_dir = preset_paths.resolve(preset)
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
    path = preset_paths.resolve(preset) / METADATA_FILE
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
    # The config names a registered class (`keras_creps>CREPSGenerator`);
    # importing any keras_creps module has imported the package, whose
    # __init__ registers every network class.
    model = keras.saving.deserialize_keras_object(config)
    if cls is not None and not isinstance(model, cls):
        raise ValueError(
            f"Preset {str(preset_dir)!r} holds a {type(model).__name__}, not a {cls.__name__}."
        )
    if load_weights:
        model.load_weights(str(preset_dir / WEIGHTS_FILE))
    return model

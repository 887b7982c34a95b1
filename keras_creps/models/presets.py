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

Presets can live anywhere; the repository's `saved_models/` directory holds
the named ones (`list_presets()`), which `from_preset("<name>")` and
`load_generator("<name>")` find by name.
"""

import datetime
import json
import os
import shutil
import uuid
from pathlib import Path

import keras
import numpy as np

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
README_FILE = "README.md"
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, README_FILE)
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)

# Keys `save_to_preset` fills in itself; the user's metadata cannot override them.
AUTOMATIC_METADATA = (
    "class_name",
    "keras_creps_version",
    "keras_version",
    "backend",
    "date_saved",
    "parameter_count",
)

# The repository's directory of named presets (a module attribute, so that it
# can be pointed elsewhere, e.g. in tests).
SAVED_MODELS_DIR = Path(__file__).resolve().parents[2] / "saved_models"

__all__ = [
    "from_preset",
    "list_presets",
    "load_discriminator",
    "load_generator",
    "load_metadata",
    "save_to_preset",
]


def is_preset(path):
    """Whether `path` is a directory holding a preset's `config.json`."""
    path = Path(path)
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def list_presets(directory=None):
    """Names of the presets in `directory` (default: the repository's `saved_models/`).

    Args:
        directory: str, `Path` or None. Where to look. Defaults to
            `saved_models/` next to the `keras_creps` package; a missing
            directory has no presets.

    Returns:
        A sorted list of names; each one is accepted by `from_preset` and
        `load_generator`.

    Example:
    ```python
    keras_creps.models.presets.list_presets()  # e.g. ["creps_ffhq_64_demo"]
    ```
    """
    directory = Path(SAVED_MODELS_DIR if directory is None else directory)
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith(".") and is_preset(p))


def _resolve(path):
    """An existing path for `path`, or for the preset of that name in `saved_models/`."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ValueError(f"Expected a preset directory, preset name or .keras file. Received: {path!r}")
    candidate = Path(path).expanduser()
    if candidate.exists():
        return candidate
    name = str(path)
    if name and "/" not in name and os.sep not in name and not name.startswith("."):
        named = Path(SAVED_MODELS_DIR) / name
        if named.exists():
            return named
    available = ", ".join(list_presets()) or "none"
    raise FileNotFoundError(
        f"No such file, directory or preset: {str(path)!r} (presets in {SAVED_MODELS_DIR}: {available})"
    )


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


def _model_card(name, config, metadata):
    """The README.md text of a preset."""
    class_name = metadata["class_name"]
    arguments = config.get("config", {})
    lines = [f"# {name}", ""]
    description = metadata.get("description")
    kind = "generator" if "Generator" in class_name else "discriminator"
    lines += [description or f"A CREPS {kind} ({class_name}) saved as a keras-creps preset.", ""]

    facts = [("Model", f"`{class_name}`")]
    for key, label in (("resolution", "Resolution"), ("c_dim", "Classes (c_dim)"), ("z_dim", "z_dim"),
                       ("w_dim", "w_dim"), ("channel_base", "channel_base"), ("channel_max", "channel_max")):
        if key in arguments:
            facts.append((label, f"`{arguments[key]}`"))
    facts.append(("Parameters", f"{metadata['parameter_count']:,}"))
    for key, label in (("training_data", "Training data"), ("kimg", "Trained for (kimg)"),
                       ("license", "License")):
        if key in metadata:
            facts.append((label, str(metadata[key])))
    saved = (
        f"{metadata['date_saved']} with keras-creps {metadata['keras_creps_version']}, "
        f"Keras {metadata['keras_version']} ({metadata['backend']} backend)"
    )
    facts.append(("Saved", saved))
    lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in facts] + [""]

    metrics = metadata.get("metrics")
    if isinstance(metrics, dict) and metrics:
        lines += ["## Metrics", "", "| Metric | Value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in metrics.items()] + [""]

    shown = {"description", "training_data", "kimg", "license", "metrics", *AUTOMATIC_METADATA}
    others = {k: v for k, v in metadata.items() if k not in shown}
    if others:
        lines += ["## Other metadata", ""] + [f"- `{k}`: {json.dumps(v)}" for k, v in others.items()] + [""]

    lines += ["## Usage", "", "```python", "import keras_creps", "import numpy as np", ""]
    if kind == "generator":
        lines += [
            f'generator = keras_creps.CREPSGenerator.from_preset("{name}")',
            "generate = generator.make_generate_function(truncation_psi=0.7)",
            "images = generate(np.random.randn(4, generator.z_dim))  # [4, R, R, 3] in [-1, 1]",
        ]
    else:
        lines += [f'discriminator = keras_creps.CREPSDiscriminator.from_preset("{name}")']
    lines += [
        "```",
        "",
        f"or `python recipes/generate.py --network {name}` from the repository (a bare name is looked up "
        + "in `saved_models/`).",
        "",
        "## Files",
        "",
        f"- `{CONFIG_FILE}`: Keras serialized config (class and constructor arguments)",
        f"- `{WEIGHTS_FILE}`: the weights (`model.save_weights`), loadable on TensorFlow, JAX and PyTorch",
        f"- `{METADATA_FILE}`: versions, backend, date and the metadata above",
        f"- `{README_FILE}`: this card, generated by `save_to_preset` (re-saving rewrites it)",
        "",
    ]
    return "\n".join(lines)


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
        (staging / README_FILE).write_text(_model_card(preset_dir.name, config, metadata), encoding="utf-8")
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
    """The `metadata.json` of a preset (a path or a name in `saved_models/`), as a dict.

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


def from_preset(preset, cls=None, load_weights=True):
    """Builds the model a preset describes and loads its weights.

    Args:
        preset: str or `Path`. A preset directory, or the name of one in the
            repository's `saved_models/` (see `list_presets`).
        cls: class or None. If given, the loaded model must be an instance
            of it (a `ValueError` otherwise). Defaults to `None`.
        load_weights: bool. `False` returns the freshly initialised model
            the config describes. Defaults to `True`.

    Returns:
        The model, e.g. a `CREPSGenerator`.

    Example:
    ```python
    generator = from_preset("saved_models/tiny")
    images = generator(np.random.randn(2, generator.z_dim))
    ```
    """
    preset_dir = _preset_dir(preset)
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
    import keras_creps  # noqa: F401 - registers the keras_creps classes for deserialization

    model = keras.saving.deserialize_keras_object(config)
    if cls is not None and not isinstance(model, cls):
        raise ValueError(
            f"Preset {str(preset_dir)!r} holds a {type(model).__name__}, not a {cls.__name__}."
        )
    if load_weights:
        model.load_weights(str(preset_dir / WEIGHTS_FILE))
    return model


def _load(path, cls):
    path = _resolve(path)
    if path.is_dir() and not is_preset(path):
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
        path = found[0]
    if path.is_dir():
        return from_preset(path, cls=cls)
    if path.suffix != ".keras":
        raise ValueError(f"{str(path)!r} is neither a preset directory nor a .keras file.")
    model = keras.saving.load_model(str(path))
    if not isinstance(model, cls):
        raise ValueError(  # noqa: TRY004 - a wrong file, not a wrong argument type
            f"{str(path)!r} holds a {type(model).__name__}, not a {cls.__name__}."
        )
    return model


def load_generator(path):
    """A `CREPSGenerator` from a preset, a `.keras` file or a directory holding one of them.

    Args:
        path: str or `Path`. A preset directory; a `.keras` file; a
            directory containing exactly one preset or `.keras` file (e.g. a
            training run's `saved_models/<name>`); or the name of a preset in
            the repository's `saved_models/`.

    Returns:
        A `CREPSGenerator`.

    Raises:
        FileNotFoundError: nothing exists at `path`, or a preset misses a file.
        ValueError: `path` holds no single model, or not a generator.

    Example:
    ```python
    generator = load_generator("saved_models/tiny")          # preset
    generator = load_generator("runs/00001/generator.keras")  # .keras
    ```
    """
    from keras_creps.models.creps_generator import CREPSGenerator

    return _load(path, CREPSGenerator)


def load_discriminator(path):
    """A `CREPSDiscriminator`, found like `load_generator` finds a generator.

    Example:
    ```python
    discriminator = load_discriminator("saved_models/tiny_discriminator")
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
                `model.weights.h5`, `metadata.json`), or the name of one in
                the repository's `saved_models/`.
            load_weights: bool. `False` returns the model the config
                describes with fresh weights. Defaults to `True`.

        Example:
        ```python
        generator = keras_creps.CREPSGenerator.from_preset("saved_models/tiny")
        discriminator = keras_creps.CREPSDiscriminator.from_preset("saved_models/tiny_discriminator")
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

"""Which generator a command line names, and what else its files say about it.

A recipe's `--network` may be a preset name, a preset directory, a `.keras`
file, a training run directory (its newest EMA snapshot) or a directory
holding one of these (`presets.model_path` resolves all of them). Without
one, the newest preset or `.keras` file of the presets directories is taken;
when there is none either, the caller may fall back on a randomly
initialised generator (`random_init_generator`). Errors are one line
(`NetworkPathError`) naming the argument as the caller spells it.
"""

import dataclasses
import json
import os

from keras_creps.models import presets
from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.utils import preset_paths
from keras_creps.utils.preset_io import METADATA_FILE
from keras_creps.utils.preset_io import WEIGHTS_FILE
from keras_creps.utils.random_seed import set_random_seed
from keras_creps.utils.run_dir import OPTIONS_FILE

__all__ = [
    "NetworkChoice",
    "NetworkPathError",
    "choose_network",
    "class_names_of",
    "lookup_dirs",
    "network_label",
    "newest_saved_model",
    "random_init_generator",
]


class NetworkPathError(ValueError):
    """A network argument that names nothing loadable; the message is one line."""


@dataclasses.dataclass(frozen=True)
class NetworkChoice:
    """The model file a network argument stands for.

    Attributes:
        path: str or None. The preset directory or `.keras` file to load;
            None when nothing was named and nothing was found (the caller
            decides whether a random initialisation will do).
        note: str or None. One line saying why this path was taken when it is
            not the argument itself (the newest in a directory, a run's newest
            snapshot).
    """

    path: str = None
    note: str = None


def lookup_dirs(saved_models=None):
    """The directories searched for named presets and the default network.

    Args:
        saved_models: str or None. One directory to use instead of the
            installed presets and the clone's `saved_models/`.

    Returns:
        A list of str.

    Example:
    ```python
    lookup_dirs()              # ["<site-packages>/keras_creps/saved_models", "<clone>/saved_models"]
    lookup_dirs("my_models")   # ["my_models"]
    ```
    """
    return [saved_models] if saved_models else [str(d) for d in preset_paths.search_dirs()]


def newest_saved_model(directories):
    """The newest preset or `.keras` file directly in any of `directories`, or None.

    A preset's age is its weights file's modification time; missing
    directories are skipped.

    Args:
        directories: iterable of str or path-like.

    Returns:
        str (a preset directory or `.keras` file) or None.

    Example:
    ```python
    newest_saved_model(lookup_dirs())   # e.g. ".../saved_models/creps_emoji_64"
    ```
    """
    candidates = []
    for directory in map(os.fspath, directories):
        if not os.path.isdir(directory):
            continue
        candidates += [os.path.join(directory, n, WEIGHTS_FILE) for n in presets.list_presets(directory)]
        candidates += [os.path.join(directory, n) for n in os.listdir(directory)
                       if n.endswith(".keras") and not n.startswith(".") and os.path.isfile(os.path.join(directory, n))]
    if not candidates:
        return None
    newest = max(candidates, key=os.path.getmtime)
    return os.path.dirname(newest) if newest.endswith(WEIGHTS_FILE) else newest


def choose_network(network, saved_models=None, name="--network"):
    """The model file `network` stands for, or the newest saved one when `network` is None.

    Args:
        network: str or None. A preset name, preset directory, `.keras` file,
            training run directory (its newest EMA snapshot) or directory
            holding one model; None takes the newest in `lookup_dirs`.
        saved_models: str or None. Where names and the default are looked
            up (see `lookup_dirs`). A name is looked up only there when given.
        name: str. How messages name the argument, e.g. `"--network"`.

    Returns:
        A `NetworkChoice`; its `path` is None when `network` is None and no
        saved model exists.

    Raises:
        NetworkPathError: `network` names nothing, or no single model.

    Example:
    ```python
    choice = choose_network("runs/00003-creps-demo-noto-emoji-64-64-batch16-gamma0.05")
    choice.path   # ".../network-snapshot-000420.keras"
    choice.note   # "using .../network-snapshot-000420.keras (the newest EMA snapshot of run runs/00003-...)"
    ```
    """
    if network is None:
        directories = lookup_dirs(saved_models)
        path = newest_saved_model(directories)
        note = None if path is None else f"using {path} (the newest in {', '.join(directories)})"
        return NetworkChoice(path, note)
    path = network
    if not os.path.exists(path) and saved_models:
        path = os.path.join(saved_models, path)  # names only here
    try:
        resolved = presets.model_path(path)
    except FileNotFoundError:
        where = ", ".join(lookup_dirs(saved_models)) or "no presets directory"
        raise NetworkPathError(f"{name} {network!r}: no such file, directory or preset (looked in {where})") from None
    except ValueError as error:
        raise NetworkPathError(f"{name} {network!r}: {error}") from None
    note = None
    if os.path.basename(resolved).startswith("network-snapshot-") and os.path.isdir(path) \
            and os.path.abspath(path) != os.path.abspath(resolved):
        note = f"using {resolved} (the newest EMA snapshot of run {path})"
    return NetworkChoice(str(resolved), note)


def network_label(path):
    """A short name for file names: the preset directory's or `.keras` file's name without `.keras`.

    Example:
    ```python
    network_label("saved_models/creps_emoji_64/")       # "creps_emoji_64"
    network_label("runs/0003/network-snapshot-000420.keras")   # "network-snapshot-000420"
    ```
    """
    return os.path.basename(os.path.normpath(path)).removesuffix(".keras")


def random_init_generator(resolution, seed=0):
    """A small randomly initialised `CREPSGenerator`: a stand-in when no trained one exists.

    Its images are noise; it only lets a pipeline run end to end. Keras's
    global random seed is set to `seed` first, so every call gives the same
    weights.

    Args:
        resolution: int. A power of two >= 4.
        seed: int. Defaults to `0`.

    Returns:
        A `CREPSGenerator` (z_dim 128, w_dim 128, unconditional).

    Example:
    ```python
    generator = random_init_generator(64)
    ```
    """
    set_random_seed(seed)
    return CREPSGenerator(resolution=resolution, z_dim=128, w_dim=128, channel_base=8192, channel_max=256)


def class_names_of(path, c_dim):
    """Class names of the generator at `path`, or None when unknown.

    Read from the preset's `metadata.json` (`class_names`), else from the
    `training_options.json` of the run beside a snapshot
    (`resolved.dataset.class_names`); used only when there is one name per
    class.

    Args:
        path: str or None. A preset directory or `.keras` file.
        c_dim: int. The generator's number of classes (0: unconditional).

    Returns:
        A list of `c_dim` str, or None.

    Example:
    ```python
    class_names_of("saved_models/creps_emoji_64", 9)   # ["Smileys & Emotion", ...]
    ```
    """
    if path is None or not c_dim:
        return None
    sources = [(os.path.join(path, METADATA_FILE), ("class_names",)),
               (os.path.join(os.path.dirname(os.path.abspath(path)), OPTIONS_FILE),
                ("resolved", "dataset", "class_names"))]
    for file, keys in sources:
        try:
            with open(file, encoding="utf-8") as f:
                value = json.load(f)
            for key in keys:
                value = value[key]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(value, list) and len(value) == c_dim:
            return [str(v) for v in value]
    return None

"""Resuming a run: which training state, which options, and what the state keeps.

`find_training_state` turns `--resume` (a `training-state-<kimg>.keras` file
or a run directory) into the newest intact state, after clearing what
interrupted writes left in that run directory; `inherit_run_options` takes
the options the command line leaves out from the run's
`training_options.json`; `load_training_state` loads the `CREPSGAN`.
"""

import json
import os
import sys
import types

import keras

from keras_creps.training.gan import CREPSGAN
from keras_creps.training.run_errors import InputError
from keras_creps.training.run_errors import one_line
from keras_creps.utils import run_dir
from keras_creps.utils.keras_archive import check_keras_archive

__all__ = [
    "NOT_INHERITED",
    "clear_stale_temporaries",
    "find_training_state",
    "inherit_run_options",
    "load_training_state",
    "note_kept_settings",
    "resume_folder",
]

# Options that describe an invocation, not the run: never taken from a resumed run's options.
NOT_INHERITED = frozenset({"resume", "resume_g", "resume_d", "resume_g_ema", "dry_run"})


def _stderr(line):
    print(line, file=sys.stderr)


def resume_folder(path):
    """The run directory `--resume=path` names: the path itself, or the folder of a state file.

    Example:
    ```python
    resume_folder("runs/00003-x/training-state-000420.keras")   # ".../runs/00003-x"
    ```
    """
    return path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))


def clear_stale_temporaries(folder, log=print):
    """Removes what interrupted writes left in run directory `folder` (nothing elsewhere, nor while in use).

    Args:
        folder: str. A directory; one that is no run directory is left alone.
        log: callable taking one line. Defaults to `print`.

    Returns:
        The list of removed file names.

    Example:
    ```python
    clear_stale_temporaries("runs/00003-creps-demo-noto-emoji-64-64-batch16-gamma0.05")
    ```
    """
    if not (run_dir.list_training_states(folder) or run_dir.is_run_dir(folder)):
        return []  # not a run directory: its hidden files are none of our business
    if run_dir.run_dir_in_use(folder):
        log(f"note: a run is still writing into {folder}; its temporary files are left alone")
        return []
    removed = run_dir.remove_stale_temporaries(folder)
    if removed:
        log(f"removed {len(removed)} stale temporary file(s) of interrupted writes from {folder}: "
            f"{', '.join(removed)}")
    return removed


def find_training_state(path, log=print, warn=_stderr):
    """The training state `--resume=path` names: the file itself, or the newest intact one of a run directory.

    Stale temporaries of interrupted writes in that directory are removed
    first, and each newer state that is damaged is named in a warning line.

    Args:
        path: str. A `training-state-<kimg>.keras` file or a run directory.
        log: callable taking one line (notes). Defaults to `print`.
        warn: callable taking one line (skipped states). Defaults to
            printing to stderr.

    Returns:
        str, the state file to load.

    Raises:
        InputError: nothing there can be resumed.

    Example:
    ```python
    state = find_training_state("runs/00003-creps-demo-noto-emoji-64-64-batch16-gamma0.05")
    ```
    """
    clear_stale_temporaries(resume_folder(path), log=log)
    if not os.path.isdir(path):
        if not path.endswith(".keras"):
            raise InputError(f"bad --resume={path!r}: expected a training-state-<kimg>.keras file or a run directory")
        try:
            check_keras_archive(path)
        except ValueError as error:
            raise InputError(f"bad --resume={path!r}: {one_line(error)}") from None
        return path
    try:
        state, broken = run_dir.newest_intact_training_state(path)
    except ValueError:
        raise InputError(f"bad --resume={path!r}: the directory holds no training-state-<kimg>.keras") from None
    if state is None:
        raise InputError(f"bad --resume={path!r}: no intact training state (the newest: {one_line(broken[0][1])})")
    for damaged, reason in broken:
        warn(f"warning: skipping {os.path.basename(damaged)}: {one_line(reason)} "
             f"Resuming from {os.path.basename(state)}.")
    return state


def inherit_run_options(opts, option_names, log=print):
    """`opts` with every option not given on the command line taken from the resumed run's options.

    `--resume <run dir or state>` continues a run as it was started: the
    `training_options.json` beside the state supplies the options the
    command line leaves out (`cond`, `cfg`, `batch`, `gamma`, ...); options
    given explicitly win, and `NOT_INHERITED` ones are never taken. Without
    such a file nothing changes.

    Args:
        opts: namespace of the run options, with `resume` and `given` (the
            names set on the command line).
        option_names: iterable of str. The options that may be inherited.
        log: callable taking one line. Defaults to `print`.

    Returns:
        A new namespace (or `opts` itself when there is no options file).

    Raises:
        InputError: the options file is unreadable.

    Example:
    ```python
    opts = inherit_run_options(opts, OPTION_NAMES)
    ```
    """
    path = os.path.join(resume_folder(opts.resume), run_dir.OPTIONS_FILE)
    if not os.path.isfile(path):
        return opts
    try:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f).get("options", {})
        if not isinstance(saved, dict):
            raise ValueError("its 'options' is not an object")
    except (OSError, ValueError, AttributeError) as error:
        raise InputError(f"bad --resume={opts.resume!r}: {path} is unreadable ({one_line(error)})") from None
    taken = {name: saved[name] for name in option_names
             if name in saved and name not in opts.given and name not in NOT_INHERITED
             and saved[name] != getattr(opts, name)}
    if taken:
        log(f"options of the resumed run ({path}), unless given on the command line: "
            + " ".join(f"--{name}={value}" for name, value in sorted(taken.items())))
    return types.SimpleNamespace(**{**vars(opts), **taken})


def load_training_state(state_path, run_eagerly=False):
    """The `CREPSGAN` saved in training state `state_path`, ready to `fit` on.

    Args:
        state_path: str. A `training-state-<kimg>.keras` file.
        run_eagerly: bool. Run the training step op by op. Defaults to
            `False`.

    Raises:
        InputError: the file cannot be loaded or holds no `CREPSGAN`.

    Example:
    ```python
    gan = load_training_state(find_training_state("runs/00003-x"))
    ```
    """
    try:
        gan = keras.saving.load_model(state_path)
    except Exception as error:  # noqa: BLE001 - any unreadable file is one input error
        raise InputError(f"bad --resume={state_path!r}: could not be loaded ({type(error).__name__}: "
                         f"{one_line(error)})") from None
    if not isinstance(gan, CREPSGAN):
        raise InputError(
            f"bad --resume={state_path!r}: holds a {type(gan).__name__}, not a CREPSGAN training state "
            "(use --resume_g/--resume_d for networks)"
        )
    if run_eagerly:
        gan.run_eagerly = True
    return gan


def note_kept_settings(opts, gan, log=print):
    """Says which options a resumed state overrides: it keeps its own compile settings.

    Args:
        opts: namespace with `gamma`, `pl_weight`, `seed` and `target`.
        gan: the resumed `CREPSGAN`.
        log: callable taking one line. Defaults to `print`.

    Returns:
        dict of the differing settings (the state's values).
    """
    compile_config = gan.get_compile_config() or {}
    saved = {"gamma": compile_config.get("r1_gamma"), "pl_weight": compile_config.get("pl_weight"),
             "seed": compile_config.get("seed"), "target": compile_config.get("ada_target")}
    differ = {k: v for k, v in saved.items() if v is not None and v != getattr(opts, k)}
    if differ:
        log(f"note: resuming keeps the state's settings {differ} (flags ignored)")
    return differ

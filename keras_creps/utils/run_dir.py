"""Run directories: numbered names, the snapshots and training states in them, their files.

A training run writes everything into one directory,
`<outdir>/<NNNNN>-<description>`, as the StyleGAN family does:

    training_options.json                 the options of the run
    stats.jsonl                           one JSON line per tick
    network-snapshot-<kimg>.keras         EMA generator (or a preset directory of that name)
    training-state-<kimg>.keras + .json   the whole `CREPSGAN`, to resume training

`<kimg>` is `kimg_tag(seen_images)`, so names sort in training order. Files
are written through `keras_creps.utils.files.atomic_write`: a kill mid-write
leaves a hidden temporary (`.<stem>.<random>.tmp<ext>`) and never a partial
file under a final name; `remove_stale_temporaries` clears those
temporaries, and `newest_intact_training_state` skips states that were
damaged some other way (a copy cut short, a full disk, bit rot).

This module imports nothing but the standard library and other
`keras_creps.utils` modules, so every part of the package may read run
directories (the model loaders resolve a run to its newest snapshot) and
readers need not load Keras to list them.

Example:
```python
run_dir = next_run_dir("runs", "creps-faces-64-batch32-gamma10")   # runs/00003-creps-...
...
state, broken = newest_intact_training_state(run_dir)
for path, reason in broken:
    print(f"warning: skipping {path}: {reason}")
```
"""

import contextlib
import json
import math
import os
import re
import shutil

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from keras_creps.utils.files import atomic_write
from keras_creps.utils.keras_archive import check_keras_archive

__all__ = [
    "NETWORK_PREFIX",
    "OPTIONS_FILE",
    "STATE_PREFIX",
    "append_json_line",
    "check_keras_archive",
    "check_training_state",
    "hold_run_dir",
    "is_run_dir",
    "kimg_tag",
    "latest_network_snapshot",
    "latest_training_state",
    "list_network_snapshots",
    "list_stale_temporaries",
    "list_training_states",
    "newest_intact_training_state",
    "next_run_dir",
    "remove_stale_temporaries",
    "run_dir_in_use",
    "write_json",
]

STATE_PREFIX = "training-state-"
NETWORK_PREFIX = "network-snapshot-"
OPTIONS_FILE = "training_options.json"

_TAG = r"(\d{6}(?:\.\d{3})?)"
_STATE_PATTERN = re.compile(rf"^training-state-{_TAG}\.keras$")
_SNAPSHOT_PATTERN = re.compile(rf"^network-snapshot-{_TAG}(\.keras)?$")
# What an interrupted write leaves: `atomic_write`'s `.<stem>.<mkstemp 8 chars>.tmp<ext>`
# files, and `save_to_preset`'s `.<name>.<uuid hex>.tmp` staging and `.old` directories.
_TEMPORARY_PATTERNS = (
    re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$"),
    re.compile(r"^\..+\.[0-9a-f]{32}\.(tmp|old)$"),
)


# --------------------------------------------------------------------------- names


def kimg_tag(seen_images):
    """The file name tag of a snapshot: `"000012"` at 12000 images, `"000000.032"` at 32.

    Whole kimg give the official six digits; other counts add three decimals,
    so tags sort in training order as strings.

    Example:
    ```python
    kimg_tag(12000)  # "000012"
    kimg_tag(32)     # "000000.032"
    ```
    """
    seen_images = int(seen_images)
    if seen_images % 1000 == 0:
        return f"{seen_images // 1000:06d}"
    return f"{seen_images // 1000:06d}.{seen_images % 1000:03d}"


def next_run_dir(outdir, description):
    """Creates and returns `<outdir>/<next 5-digit id>-<description>`.

    The id is one more than the highest id in `outdir` (0 in an empty or new
    one); characters other than letters, digits and `._+-` in `description`
    become `_`. Two processes starting at once get different ids.

    Args:
        outdir: str. Where run directories are created (created if missing).
        description: str. The name after the id.

    Returns:
        The path of the new, empty directory.

    Raises:
        ValueError: `outdir` is not a directory that can be written.

    Example:
    ```python
    next_run_dir("runs", "creps-faces-64-batch32-gamma10")  # "runs/00000-creps-faces-64-batch32-gamma10"
    ```
    """
    outdir = os.fspath(outdir)
    description = re.sub(r"[^A-Za-z0-9._+-]", "_", description)
    try:
        os.makedirs(outdir, exist_ok=True)
        ids = [int(m.group(1)) for name in os.listdir(outdir) if (m := re.match(r"^(\d+)-", name))]
    except OSError as error:
        raise ValueError(f"Cannot create run directories in {outdir!r}: {error.strerror or error}. "
                         f"Received: outdir={outdir!r}") from None
    run_id = max(ids, default=-1) + 1
    while True:
        path = os.path.join(outdir, f"{run_id:05d}-{description}")
        try:
            os.makedirs(path)
            return path
        except FileExistsError:  # another process took this id
            run_id += 1
        except OSError as error:
            raise ValueError(f"Cannot create {path!r}: {error.strerror or error}. Received: outdir={outdir!r}") \
                from None


def is_run_dir(path):
    """Whether `path` is a training run directory (options file or network snapshots)."""
    return os.path.isdir(path) and (os.path.isfile(os.path.join(path, OPTIONS_FILE))
                                    or bool(list_network_snapshots(path)))


# --------------------------------------------------------------------------- listings


def list_training_states(run_dir):
    """`[(seen_images, path), ...]` of the training states in `run_dir`, oldest first.

    Lists names only; `newest_intact_training_state` also checks the files.
    """
    run_dir = os.fspath(run_dir)
    found = []
    for name in os.listdir(run_dir):
        match = _STATE_PATTERN.match(name)
        if match:
            whole, _, frac = match.group(1).partition(".")
            found.append((int(whole) * 1000 + int(frac or 0), os.path.join(run_dir, name)))
    return sorted(found)


def latest_training_state(run_dir):
    """The path of the newest `training-state-<kimg>.keras` in `run_dir` (by name, unchecked).

    Raises:
        ValueError: `run_dir` holds no training state.

    Example:
    ```python
    gan = keras.saving.load_model(latest_training_state("runs/00003-creps-faces-64-batch32-gamma10"))
    ```
    """
    states = list_training_states(run_dir)
    if not states:
        raise ValueError(f"No {STATE_PREFIX}<kimg>.keras in {os.fspath(run_dir)!r}.")
    return states[-1][1]


def list_network_snapshots(run_dir):
    """`[(tag, path), ...]` of the `network-snapshot-<kimg>` files or preset directories, oldest first."""
    found = []
    for name in os.listdir(run_dir):
        match = _SNAPSHOT_PATTERN.match(name)
        path = os.path.join(run_dir, name)
        if match and (os.path.isfile(path) if match.group(2) else os.path.isdir(path)):
            found.append((match.group(1), path))
    return sorted(found)  # six-digit tags sort in training order


def latest_network_snapshot(run_dir):
    """The newest network snapshot of `run_dir`; `ValueError` if it holds none."""
    snapshots = list_network_snapshots(run_dir)
    if not snapshots:
        raise ValueError(f"No {NETWORK_PREFIX}<kimg> snapshot in {os.fspath(run_dir)!r}.")
    return snapshots[-1][1]


# --------------------------------------------------------------------------- integrity


def check_training_state(path):
    """Raises `ValueError` unless `path` and its `.json` record (when present) are intact.

    The record beside a state (`training-state-<kimg>.json`) is optional, as
    a state copied alone still resumes; when present it must be a JSON object.
    """
    check_keras_archive(path)
    record = os.fspath(path)[: -len(".keras")] + ".json"
    if os.path.exists(record):
        try:
            with open(record, encoding="utf-8") as f:
                if not isinstance(json.load(f), dict):
                    raise ValueError("not a JSON object")
        except (OSError, ValueError) as error:
            raise ValueError(f"its record {record!r} is broken ({' '.join(str(error).split())}).") from None


def newest_intact_training_state(run_dir):
    """The newest training state of `run_dir` that passes `check_training_state`.

    Returns:
        `(path, broken)`: the state's path, or None when no state is intact,
        and `[(path, reason), ...]` of the newer states skipped (all states,
        newest first, when none is intact).

    Raises:
        ValueError: `run_dir` holds no training state at all.

    Example:
    ```python
    path, broken = newest_intact_training_state("runs/00003-creps-faces-64-batch32-gamma10")
    ```
    """
    states = list_training_states(run_dir)
    if not states:
        raise ValueError(f"No {STATE_PREFIX}<kimg>.keras in {os.fspath(run_dir)!r}.")
    broken = []
    for _, path in reversed(states):
        try:
            check_training_state(path)
        except ValueError as error:
            broken.append((path, str(error)))
            continue
        return path, broken
    return None, broken


# --------------------------------------------------------------------------- in use, temporaries


@contextlib.contextmanager
def hold_run_dir(run_dir):
    """Marks `run_dir` as in use by this process while the block runs.

    An advisory lock on the directory (released by the system when the
    process dies, `kill -9` included), which `run_dir_in_use` tests: a run
    resumed from a directory that another process still writes must not
    take that process's temporaries for stale ones.

    Example:
    ```python
    with hold_run_dir(run_dir):
        gan.fit(...)
    ```
    """
    if fcntl is None:  # no advisory locks (Windows): nothing is marked
        yield
        return
    fd = os.open(os.fspath(run_dir), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def run_dir_in_use(run_dir):
    """Whether a process holds `run_dir` with `hold_run_dir` now (False where locks are missing)."""
    if fcntl is None:
        return False
    fd = os.open(os.fspath(run_dir), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the test lock
    return False


def list_stale_temporaries(run_dir):
    """Paths of the temporaries that interrupted atomic writes left in `run_dir`, sorted.

    A write in progress looks the same: check `run_dir_in_use` first.
    """
    run_dir = os.fspath(run_dir)
    names = [name for name in os.listdir(run_dir) if any(p.match(name) for p in _TEMPORARY_PATTERNS)]
    return [os.path.join(run_dir, name) for name in sorted(names)]


def remove_stale_temporaries(run_dir):
    """Removes what `list_stale_temporaries` lists; returns the names removed.

    Removes nothing while `run_dir_in_use(run_dir)`: those temporaries may
    be writes in progress.

    Example:
    ```python
    removed = remove_stale_temporaries("runs/00003-creps-faces-64-batch32-gamma10")
    if removed:
        print(f"removed stale temporaries: {', '.join(removed)}")
    ```
    """
    if run_dir_in_use(run_dir):
        return []
    removed = []
    for path in list_stale_temporaries(run_dir):
        with contextlib.suppress(FileNotFoundError):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            removed.append(os.path.basename(path))
    return removed


# --------------------------------------------------------------------------- JSON files


def write_json(path, data):
    """Writes `data` as indented JSON, atomically (complete under `path`, or absent)."""
    text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def append_json_line(path, record):
    """Appends `record` as one JSON line to `path` with a single unbuffered write.

    The line reaches the operating system at once, so it survives a crash
    of the process; non-finite numbers become `null` (strict JSON).

    Example:
    ```python
    append_json_line("runs/00000-demo/stats.jsonl", {"Progress/kimg": {"num": 1, "mean": 4.0}})
    ```
    """

    def finite(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        return value

    data = (json.dumps(finite(record), allow_nan=False) + "\n").encode("utf-8")
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)

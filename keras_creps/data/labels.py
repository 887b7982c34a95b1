"""Labels of image-file datasets: `dataset.json` and member names.

A StyleGAN dataset (a folder or ZIP, as written by the official
`dataset_tool.py`) may hold a `dataset.json` at its root:
`{"labels": [["00000/img00000000.png", 6], ...]}` or `{"labels": null}`.
A label is either a class index (an int; the label vector is its one-hot of
size `max + 1` over the whole file) or a list of floats of one length. Names
are relative to the root with `/` separators; `normalize_name` makes names
written on other systems (`00000\\img00000000.png`, `./00000/...`) match.
"""

import numpy as np

__all__ = ["LABELS_FILE", "normalize_name", "parse_labels"]

LABELS_FILE = "dataset.json"


def normalize_name(name):
    """`name` with `/` separators and no leading `./` or `/`: `'.\\a\\b.png'` -> `'a/b.png'`."""
    name = name.replace("\\", "/")
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    return name


def _label_kind(label, name, where):
    """`("class", int)` or `("vector", float32 array)` for one `dataset.json` label."""
    if isinstance(label, bool):
        raise ValueError(f"{where}: bad label {label!r} for {name!r}")  # noqa: TRY004
    if isinstance(label, int):
        if label < 0:
            raise ValueError(f"{where}: negative class label {label} for {name!r}")
        return "class", label
    if isinstance(label, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in label
    ):
        return "vector", np.asarray(label, dtype=np.float32)
    raise ValueError(f"{where}: bad label {label!r} for {name!r}; expected an int or a list of numbers")


def parse_labels(metadata, where):
    """Label table from a `dataset.json` dict.

    Args:
        metadata: dict or None. The parsed file.
        where: str. Names the file in error messages.

    Returns:
        `None` when the file has no labels (`"labels": null` or absent),
        else `(kind, table, c_dim, class_names)`: `kind` is `"class"` (int
        labels; `table` maps name -> int) or `"vector"` (`table` maps name ->
        float32 vector); `c_dim` is the label vector size (`max + 1` for
        classes, the vector length otherwise); `class_names` is a list from an
        optional `"class_names"` entry (written by our dataset tool) or None.
        Names in `table` are normalised (`normalize_name`).

    Example:
    ```python
    parse_labels({"labels": [["a.png", 2], ["b.png", 0]]}, "dataset.json")
    # ('class', {'a.png': 2, 'b.png': 0}, 3, None)
    ```
    """
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise ValueError(f"{where}: expected a JSON object with a 'labels' key, got {type(metadata).__name__}")  # noqa: TRY004
    entries = metadata.get("labels")
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise ValueError(f"{where}: 'labels' must be a list of [name, label] or null")  # noqa: TRY004
    table = {}
    kinds = set()
    for entry in entries:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError(f"{where}: bad labels entry {entry!r}; expected [relative_path, label]")
        kind, label = _label_kind(entry[1], entry[0], where)
        kinds.add(kind)
        table[normalize_name(entry[0])] = label
    if not table:
        return None
    if len(kinds) > 1:
        raise ValueError(f"{where}: labels mix class indices and vectors")
    kind = kinds.pop()
    if kind == "class":
        c_dim = max(table.values()) + 1
    else:
        lengths = {v.shape[0] for v in table.values()}
        if len(lengths) > 1:
            raise ValueError(f"{where}: label vectors have different lengths {sorted(lengths)}")
        c_dim = lengths.pop()
    class_names = metadata.get("class_names")
    if class_names is not None and (kind != "class" or len(class_names) < c_dim):
        class_names = None
    return kind, table, int(c_dim), class_names

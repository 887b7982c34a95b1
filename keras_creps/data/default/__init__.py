"""The built-in training set: Noto Color Emoji at 64x64, one class per Unicode emoji group.

`recipes/train.py` trains on it when no `--data` is given, so a first run needs
no download. The file is a StyleGAN dataset ZIP (`00000/img00000000.png`, ...,
and `dataset.json` with `labels`; the extra key `class_names` repeats
`DEFAULT_CLASS_NAMES`). See `README.md` beside this file for the contents,
licence and how to rebuild it with `recipes/make_emoji_dataset.py`.
"""

import os

__all__ = ["DEFAULT_CLASS_NAMES", "default_dataset_path"]

DEFAULT_DATASET_FILENAME = "noto-emoji-64.zip"

DEFAULT_CLASS_NAMES = (
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
)
"""Names of the labels of the default dataset, in label order (label `i` is `DEFAULT_CLASS_NAMES[i]`)."""


def default_dataset_path():
    """Returns the absolute path of the built-in emoji dataset ZIP.

    The ZIP ships inside the package (package data), so this needs no network.
    It holds 1861 RGB images of 64x64 pixels with integer labels indexing
    `DEFAULT_CLASS_NAMES`.

    Returns:
        str. Path of `noto-emoji-64.zip` in this package folder.

    Raises:
        FileNotFoundError: if the file is missing, i.e. the package was
            installed without its package data.

    Example:
    ```python
    import json
    import zipfile

    from keras_creps.data.default import DEFAULT_CLASS_NAMES, default_dataset_path

    with zipfile.ZipFile(default_dataset_path()) as archive:
        labels = json.loads(archive.read("dataset.json"))["labels"]
    name, label = labels[0]  # "00000/img00000000.png", 0
    print(DEFAULT_CLASS_NAMES[label])  # "Smileys & Emotion"
    ```
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), DEFAULT_DATASET_FILENAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"The default dataset {path!r} is missing: keras_creps was installed without its package data "
            "(keras_creps/data/default/*.zip). Reinstall it, or rebuild the file with recipes/make_emoji_dataset.py."
        )
    return path

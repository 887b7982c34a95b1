"""The two ways a training run's set-up can refuse its options, each a one-line message.

`recipes/train.py` exits with status 2 for an `OptionError` (a bad option
value) and 1 for an `InputError` (data, `--resume*` or `--outdir` that
cannot be used). The option names in the messages are the recipe's flags:
the run options of this package are those flags, read once into one object.
"""

__all__ = ["InputError", "OptionError", "one_line"]


class OptionError(ValueError):
    """A bad option value; the message is one line naming it."""


class InputError(ValueError):
    """An unusable input or output path (data, `--resume*`, `--outdir`); the message is one line."""


def one_line(error):
    """The text of `error` (or any object) with every run of whitespace made one space.

    Example:
    ```python
    one_line(ValueError("no such\\n  file"))   # "no such file"
    ```
    """
    return " ".join(str(error).split())

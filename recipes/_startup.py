"""Quiet start-up for the recipes: TensorFlow's native log lines only with `--verbosity 0` or more.

Importing TensorFlow prints lines from its C++ side that say nothing about
the task at hand: CUDA probing on a machine without a GPU
(`cudart_stub.cc ... Could not find cuda drivers`, `failed call to cuInit`),
the CPU feature guard, the oneDNN notice, and absl's banner
`WARNING: All log messages before absl::InitializeLog() is called are
written to STDERR`. `quiet_startup` hides them unless the user asked for
more output with absl's `--verbosity` / `-v` (0 = INFO or higher).

Two mechanisms are needed, both before TensorFlow is imported:

- `TF_CPP_MIN_LOG_LEVEL=3` (unless the user set it) silences TensorFlow's
  own C++ logging, which reads the variable once, at its first message.
  That holds for the whole run: its later C++ warnings are hidden too (its
  errors reach Python as exceptions); `-v 0` shows everything;
- the absl lines logged while the shared libraries load ignore every
  environment variable, so `import tensorflow` runs with file descriptor 2
  captured, and the captured text is written back without the absl INFO and
  WARNING lines and the banner. Errors, fatal lines and anything else
  (Python warnings, tracebacks) are kept.

This module lives in `recipes/` and imports only the standard library, absl
and `_lean_keras`:
`keras_creps/__init__.py` imports Keras, which on the TensorFlow backend
imports TensorFlow, so a helper inside the package would run too late.

Example:
```python
def main(argv):
    quiet_startup()                     # first line of a recipe's main
    from keras_creps.data import make_dataset
```
"""

import contextlib
import os
import re
import sys
import tempfile

from _lean_keras import configured_backend
from _lean_keras import keep_jax_out_of_keras

__all__ = ["is_startup_noise", "quiet_startup", "stderr_filtered"]

QUIET_TF_CPP_MIN_LOG_LEVEL = "3"

# absl's prefix: severity + MMDD, hh:mm:ss.micros (before absl is set up: 00:00:<epoch seconds>), thread, file:line].
_ABSL_LINE = re.compile(r"^[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\s:]+:\d+\] ")
_ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def is_startup_noise(line):
    """Whether one captured stderr line is absl start-up chatter (INFO/WARNING or its banner).

    Example:
    ```python
    is_startup_noise("I0000 00:00:1.5  42 cudart_stub.cc:31] Could not find cuda drivers")  # True
    is_startup_noise("E0000 00:00:1.5  42 cuda_dnn.cc:8] Could not create cudnn handle")    # False
    ```
    """
    line = line.rstrip("\r\n")
    return line.strip() == _ABSL_BANNER or bool(_ABSL_LINE.match(line))


@contextlib.contextmanager
def stderr_filtered(keep=lambda line: not is_startup_noise(line)):
    """Captures file descriptor 2 inside the block; on exit writes back the lines `keep` accepts.

    Native libraries write to the descriptor, not to `sys.stderr`, so this
    is the only place their lines can be caught. Without a usable descriptor
    2 the block runs unfiltered.

    Args:
        keep: callable `line -> bool`. Defaults to dropping
            `is_startup_noise` lines.

    Example:
    ```python
    with stderr_filtered():
        import tensorflow
    ```
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = "".join(line for line in text.splitlines(keepends=True) if keep(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def _absl_verbosity():
    """`--verbosity` as given on the command line, else -1 (WARNING).

    Only a value the user typed counts: `absl.app.run` raises an unset
    verbosity to 0 (INFO) by itself.
    """
    from absl import flags

    if flags.FLAGS.is_parsed() and "verbosity" in flags.FLAGS and flags.FLAGS["verbosity"].present:
        return flags.FLAGS.verbosity
    return -1


def quiet_startup(verbosity=None, import_tensorflow=None):
    """Hides TensorFlow's native start-up lines unless `verbosity >= 0`; call before TensorFlow loads.

    First of all it keeps JAX out of Keras' import on the other backends
    (`_lean_keras.keep_jax_out_of_keras`), at any verbosity.

    Sets absl's Python logging to `verbosity` (WARNING by default, where
    absl's `app.run` would show INFO), sets `TF_CPP_MIN_LOG_LEVEL=3` unless
    it is already set (a user's value wins), and imports TensorFlow with the
    absl start-up lines filtered out of stderr (see `stderr_filtered`). With
    `verbosity >= 0` (absl INFO or more: `--verbosity 0`, `-v 1`) nothing is
    changed and every line shows. Once TensorFlow is imported, the filter
    has nothing left to catch.

    Args:
        verbosity: int or None. absl verbosity; None reads `--verbosity`
            / `-v` when given on the command line, else -1 (WARNING).
        import_tensorflow: bool or None. Import TensorFlow now, filtered.
            None: when Keras' backend (`KERAS_BACKEND`, else keras.json, as
            `_lean_keras.configured_backend` reads it) is TensorFlow;
            recipes that use `tf.data` on every backend pass True. False
            only sets the variable.

    Returns:
        bool. Whether the start-up lines are hidden.

    Example:
    ```python
    def main(argv):
        quiet_startup(import_tensorflow=True)   # tf.data below, whatever the backend
        ...
    ```
    """
    # Whatever the verbosity: ~115 MB less on TensorFlow and PyTorch, and it must precede any Keras import.
    keep_jax_out_of_keras()
    if verbosity is None:
        verbosity = _absl_verbosity()
    if not isinstance(verbosity, int) or isinstance(verbosity, bool):
        raise ValueError(f"`verbosity` must be an int. Received: verbosity={verbosity!r}")
    if verbosity >= 0:
        return False
    from absl import logging

    # `absl.app.run` raised an unset verbosity to INFO; Python-side INFO lines are chatter too.
    logging.set_verbosity(verbosity)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_CPP_MIN_LOG_LEVEL)
    if import_tensorflow is None:
        import_tensorflow = configured_backend() == "tensorflow"
    if import_tensorflow and "tensorflow" not in sys.modules:
        with stderr_filtered():
            import tensorflow  # noqa: F401 - imported here so its start-up lines pass the filter
    return True


def use_dataset_image_limits():
    """Turns off Pillow's own decompression-bomb check in a recipe that reads datasets.

    `keras_creps.data` checks every file's declared size and image header
    against its `ImageLimits` before a pixel is decoded, so Pillow's check
    (a warning above 89 Mpx, an error above 179 Mpx) only printed two
    warning lines before our one-line refusal, and refused images that
    `--max_pixels` allows. Library users keep Pillow's default.
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None

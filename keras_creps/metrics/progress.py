"""A plain-text progress line for long metric computations (feature extraction, sampling)."""

import sys
import time

from keras_creps.utils.durations import format_duration

__all__ = ["TextProgress", "make_progress"]


class TextProgress:
    """A callable `(done, total)` that prints `label: done/total, images/s, ETA` to a stream.

    On a terminal the line is rewritten in place at most every `interval`
    seconds; elsewhere (a log file, a pipe) a new line is printed at most
    every `log_interval` seconds, so logs stay short. The last call
    (`done >= total`) always prints and ends the line.

    Args:
        label: str. What is being counted, e.g. `"real features"`.
        stream: file object. Defaults to `sys.stderr`.
        interval: float. Seconds between updates on a terminal. Defaults to `0.5`.
        log_interval: float. Seconds between lines elsewhere. Defaults to `30`.

    Example:
    ```python
    progress = TextProgress("generated images")
    for done in range(0, 5001, 100):
        progress(done, 5000)   # generated images: 2500/5000 (50%)  41.2 img/s  ETA 1m 01s
    ```
    """

    def __init__(self, label, stream=None, interval=0.5, log_interval=30.0):
        self.label = label
        self.stream = stream
        self.interval = float(interval)
        self.log_interval = float(log_interval)
        self._start = time.monotonic()  # made right before the work it follows
        self._last = None
        self._finished = False

    def _out(self):
        return self.stream if self.stream is not None else sys.stderr

    def __call__(self, done, total):
        now = time.monotonic()
        finished = total is not None and done >= total
        tty = getattr(self._out(), "isatty", lambda: False)()
        wait = self.interval if tty else self.log_interval
        if self._finished or (not finished and self._last is not None and now - self._last < wait):
            return
        elapsed = now - self._start
        rate = done / elapsed if elapsed > 0 else 0.0
        text = f"{self.label}: {done}/{total}" if total else f"{self.label}: {done}"
        if total:
            text += f" ({100.0 * done / total:.0f}%)"
        text += f"  {rate:.1f} img/s"
        if finished:
            text += f"  done in {format_duration(elapsed)}"
        elif total and rate > 0:
            text += f"  ETA {format_duration((total - done) / rate)}"
        out = self._out()
        out.write(("\r" + text.ljust(72) if tty else text) + ("\n" if finished or not tty else ""))
        out.flush()
        self._last = now
        self._finished = finished


def make_progress(progress, label):
    """The progress callable for `progress` (True, False/None or a callable), labelled `label`.

    `True` gives a `TextProgress` on stderr; a callable is used as given
    (it receives `(done, total)`); `False` and None give None (silent).
    """
    if progress is True:
        return TextProgress(label)
    if progress is False or progress is None:
        return None
    if callable(progress):
        return progress
    raise ValueError(f"`progress` must be True, False or a callable (done, total). Received: progress={progress!r}")

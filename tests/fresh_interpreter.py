"""`run_snippet`: a test's code in a new Python process, for settings that must precede a runtime's start."""

import os
import subprocess
import sys


def run_snippet(backend, script, unset=(), **env):
    """Runs `script` with `KERAS_BACKEND=backend`; it must exit 0 and print `ok` last.

    Args:
        backend: the Keras backend of the new process.
        script: Python source; `print('ok')` is appended.
        unset: names of environment variables the new process must not inherit.
        **env: environment variables to set for it.
    """
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    environ.update(env, KERAS_BACKEND=backend)
    proc = subprocess.run([sys.executable, "-c", f"{script}\nprint('ok')\n"], env=environ, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-2000:]

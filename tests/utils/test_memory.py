"""keras_creps.utils.memory: the process's own memory, not its parent's."""

import os
import subprocess
import sys

import numpy as np
import pytest

from keras_creps.utils import memory

MIB = 1 << 20


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def test_current_and_peak_are_consistent():
    now, peak = memory.current_rss_bytes(), memory.peak_rss_bytes()
    if now is None:
        pytest.skip("no /proc/self/statm on this platform")
    assert 10 * MIB < now <= peak
    assert memory.describe_memory().startswith("memory ")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="VmHWM is read from /proc (Linux)")
def test_a_child_reports_its_own_peak_not_its_parents():
    held = np.ones(600 * MIB, np.uint8)  # the parent's resident memory grows by 600 MiB
    # The child loads memory.py alone (no keras import), so its own peak is a few MiB.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('memory', {memory.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(module.peak_rss_bytes())\n"
    )
    child_peak = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout)
    assert held.sum() == 600 * MIB
    assert child_peak < 200 * MIB, f"the child reported {child_peak / MIB:.0f} MiB: its parent's peak"

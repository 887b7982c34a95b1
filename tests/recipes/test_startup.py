"""recipes/_startup.py: the quiet start-up of the recipes (environment, stderr filter, end to end)."""

import os
import subprocess
import sys

import keras
import pytest
from absl import logging

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "recipes"))

import _startup

BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
CUDA_STUB = ("I0000 00:00:1796084374.771163    8390 cudart_stub.cc:31] Could not find cuda drivers on your "
             "machine, GPU will not be used.")


@pytest.fixture
def absl_verbosity():
    before = logging.get_verbosity()
    yield
    logging.set_verbosity(before)


def test_sets_the_log_level_unless_the_user_did(monkeypatch, absl_verbosity):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert _startup.quiet_startup(verbosity=-1, import_tensorflow=False) is True
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3" and logging.get_verbosity() == logging.WARNING
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    assert _startup.quiet_startup(verbosity=-1, import_tensorflow=False) is True
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_verbosity_zero_or_more_changes_nothing(monkeypatch, absl_verbosity):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    logging.set_verbosity(logging.INFO)
    assert _startup.quiet_startup(verbosity=1, import_tensorflow=False) is False
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ and logging.get_verbosity() == logging.INFO
    with pytest.raises(ValueError, match="verbosity='1'"):
        _startup.quiet_startup(verbosity="1")


def test_noise_lines():
    assert _startup.is_startup_noise(BANNER + "\n") and _startup.is_startup_noise(CUDA_STUB)
    assert _startup.is_startup_noise("W0314 12:00:01.250000   77 port.cc:9] oneDNN custom operations are on.")
    # Errors and anything that is not absl's format stay.
    assert not _startup.is_startup_noise("E0000 00:00:1796084378.999210  8390 cuda_platform.cc:52] failed cuInit")
    assert not _startup.is_startup_noise("Traceback (most recent call last):")
    assert not _startup.is_startup_noise("UserWarning: I0000 00:00:1.5 looks odd")


def test_stderr_filter_keeps_what_matters(capfd):
    with _startup.stderr_filtered():
        os.write(2, f"{BANNER}\n{CUDA_STUB}\nreal problem\n".encode())
    assert capfd.readouterr().err == "real problem\n"
    with pytest.raises(ImportError), _startup.stderr_filtered():
        os.write(2, b"why it failed\n")
        raise ImportError("no module")
    assert capfd.readouterr().err == "why it failed\n"


@pytest.mark.skipif(keras.config.backend() != "tensorflow",
                    reason="the start-up does not depend on the Keras backend; run on TensorFlow only")
def test_a_recipe_starts_quietly_and_verbosity_brings_the_lines_back(tmp_path):
    script = os.path.join(ROOT, "recipes", "dataset_tool.py")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}

    def stderr(*flags):
        # The tool loads TensorFlow, then finds no source: one line, exit 1 (an unusable data path).
        argv = [sys.executable, script, "--source", str(tmp_path / "missing"), "--dest", str(tmp_path / "x.zip")]
        proc = subprocess.run([*argv, *flags], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 1, proc.stderr
        return proc.stderr

    message = f"dataset_tool.py: dataset source {str(tmp_path / 'missing')!r} does not exist\n"
    assert stderr() == message
    loud = stderr("--verbosity", "1")
    assert loud.endswith(message)
    noise = loud[: -len(message)]
    if not noise:
        pytest.skip("this TensorFlow build prints nothing at start-up: nothing to bring back")
    assert any(_startup.is_startup_noise(line) for line in noise.splitlines()), noise

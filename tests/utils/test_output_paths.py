import os

import pytest

from keras_creps.utils import output_paths
from keras_creps.utils.output_paths import OutputPathError
from keras_creps.utils.output_paths import check_free_space
from keras_creps.utils.output_paths import check_output_dir
from keras_creps.utils.output_paths import make_output_dir


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def test_new_and_existing_directories(tmp_path):
    target = tmp_path / "a" / "b"
    assert check_output_dir(target) == str(target)
    assert not (tmp_path / "a").exists()  # checking creates nothing
    assert make_output_dir(target) == str(target)
    assert target.is_dir() and os.listdir(target) == []  # the write probe is gone
    assert make_output_dir(target) == str(target)  # existing is fine


def test_a_file_in_the_way_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputPathError, match=r"^--outdir '.*file' is an existing file, not a directory$"):
        check_output_dir(blocker, name="--outdir")
    with pytest.raises(OutputPathError, match=r"is inside '.*file', which is an existing file") as info:
        make_output_dir(blocker / "sub" / "deeper", name="--outdir")
    assert "\n" not in str(info.value) and str(blocker / "sub" / "deeper") in str(info.value)
    assert blocker.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only directories")
def test_read_only_parent(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(OutputPathError, match="is not writable"):
        check_output_dir(locked / "out")


def test_a_failing_write_probe_is_one_line(tmp_path, monkeypatch):
    # What a read-only mount does even to root: creating a file fails although access() said yes.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(output_paths.tempfile, "mkstemp", refuse)
    with pytest.raises(OutputPathError, match=r"^out '.*' is not writable: Read-only file system$"):
        make_output_dir(tmp_path / "new", name="out")


def test_free_space(tmp_path, monkeypatch):
    assert check_free_space(tmp_path / "not" / "yet", 1) > 0  # asks the nearest existing directory
    usage = output_paths.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(output_paths.shutil, "disk_usage", lambda path: usage._replace(free=3 << 20))
    assert check_free_space(tmp_path, 3 << 20) == 3 << 20
    with pytest.raises(OutputPathError, match=r"^a big render needs 2\.0 GiB but only 3\.0 MiB is free on the disk"):
        check_free_space(tmp_path, 2 << 30, what="a big render")

"""Run directories: numbering, listings, integrity of training states, stale temporaries, JSON files."""

import json
import os
import subprocess
import sys
import textwrap
import uuid
import zipfile

import pytest

from keras_creps.utils import run_dir as rd
from keras_creps.utils import files

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def fake_keras(path, weights=b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8):
    """A structurally complete `.keras` archive (stored members, as Keras writes them)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3"}))
        archive.writestr("config.json", json.dumps({"class_name": "CREPSGAN", "config": {}}))
        archive.writestr("model.weights.h5", weights)
    return str(path)


def make_state(folder, tag, record=True):
    path = fake_keras(folder / f"training-state-{tag}.keras")
    if record:
        (folder / f"training-state-{tag}.json").write_text(json.dumps({"step": 1}))
    return path


def truncate(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


class TestNames:
    def test_kimg_tags_sort_in_training_order(self):
        counts = [0, 4, 32, 999, 1000, 1004, 12000, 123456]
        tags = [rd.kimg_tag(n) for n in counts]
        assert tags[:3] == ["000000", "000000.004", "000000.032"] and tags[-2] == "000012"
        assert sorted(tags) == tags

    def test_next_run_dir_numbers_and_sanitizes(self, tmp_path):
        (tmp_path / "00004-old").mkdir()
        (tmp_path / "notes.txt").write_text("")
        first = rd.next_run_dir(tmp_path, "creps-my data")
        second = rd.next_run_dir(tmp_path, "creps-my data")
        assert os.path.basename(first) == "00005-creps-my_data" and os.path.basename(second)[:6] == "00006-"
        assert os.path.isdir(first) and not os.listdir(first)
        assert os.path.basename(rd.next_run_dir(tmp_path / "new" / "deep", "x")) == "00000-x"

    def test_next_run_dir_in_a_file_is_a_value_error(self, tmp_path):
        (tmp_path / "file").write_text("")
        with pytest.raises(ValueError, match="Cannot create run directories in .*file"):
            rd.next_run_dir(tmp_path / "file", "x")
        with pytest.raises(ValueError, match="Cannot create run directories"):
            rd.next_run_dir(tmp_path / "file" / "below", "x")

    def test_listings(self, tmp_path):
        for tag in ("000000.500", "000012", "000002"):
            make_state(tmp_path, tag)
        (tmp_path / "training-state-000099.keras.tmp").write_bytes(b"")
        (tmp_path / "network-snapshot-000002.keras").write_bytes(b"")
        (tmp_path / "network-snapshot-000004").mkdir()
        (tmp_path / "network-snapshot-000009").write_bytes(b"")  # a preset is a directory
        assert [n for n, _ in rd.list_training_states(tmp_path)] == [500, 2000, 12000]
        assert rd.latest_training_state(tmp_path).endswith("training-state-000012.keras")
        assert [tag for tag, _ in rd.list_network_snapshots(tmp_path)] == ["000002", "000004"]
        assert rd.latest_network_snapshot(tmp_path).endswith("network-snapshot-000004")
        assert rd.is_run_dir(tmp_path) and not rd.is_run_dir(tmp_path / "network-snapshot-000004")
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(ValueError, match="No training-state"):
            rd.latest_training_state(empty)
        with pytest.raises(ValueError, match="No network-snapshot"):
            rd.latest_network_snapshot(empty)


class TestIntegrity:
    def test_intact_and_damaged_archives(self, tmp_path):
        good = fake_keras(tmp_path / "good.keras")
        rd.check_keras_archive(good)
        cut = fake_keras(tmp_path / "cut.keras")
        truncate(cut)
        flipped = tmp_path / "flipped.keras"
        data = bytearray(open(good, "rb").read())
        data[data.index(bytes(range(256)))] ^= 0xFF  # inside the weights member
        flipped.write_bytes(bytes(data))
        no_config = tmp_path / "no_config.keras"
        with zipfile.ZipFile(no_config, "w") as archive:
            archive.writestr("model.weights.h5", b"weights")
        bad_json = tmp_path / "bad_json.keras"
        with zipfile.ZipFile(bad_json, "w") as archive:
            archive.writestr("config.json", "{not json")
            archive.writestr("model.weights.h5", b"weights")
        cases = {cut: "File is not a zip file", flipped: "model.weights.h5 fails its checksum",
                 no_config: "has no config.json", bad_json: "Expecting property name"}
        for path, reason in cases.items():
            with pytest.raises(ValueError) as raised:
                rd.check_keras_archive(path)
            message = str(raised.value)
            assert message.startswith(f"{str(path)!r} is not a valid Keras archive (") and reason in message
            assert "\n" not in message
        with pytest.raises(ValueError, match="is not a file"):
            rd.check_keras_archive(tmp_path)

    def test_bombs_are_refused_before_reading_under_a_memory_limit(self, tmp_path):
        # 300 MB of zeros deflate to ~300 KB: reading them would need far more than the budget.
        for name, member in (("config_bomb.keras", "config.json"), ("weights_bomb.keras", "model.weights.h5")):
            with zipfile.ZipFile(tmp_path / name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("config.json" if member != "config.json" else "metadata.json", "{}")
                with archive.open(member, "w") as f:
                    for _ in range(300):
                        f.write(bytes(2**20))
                if member != "model.weights.h5":
                    archive.writestr("model.weights.h5", b"weights")
        result = run_limited(f"""
            for name in ("config_bomb.keras", "weights_bomb.keras"):
                try:
                    run_dir.check_keras_archive({str(tmp_path)!r} + "/" + name)
                    print(name, "accepted")
                except ValueError as error:
                    print(name, error)
            """)
        assert result.returncode == 0, result.stderr[-2000:]
        lines = result.stdout.strip().splitlines()
        assert "config_bomb.keras" in lines[0] and "config.json declares 314572800 bytes" in lines[0]
        assert "weights_bomb.keras" in lines[1] and "would expand" in lines[1] and "to 314572800" in lines[1]

    def test_newest_intact_state_skips_damaged_ones(self, tmp_path):
        old = make_state(tmp_path, "000004")
        middle = make_state(tmp_path, "000008")
        newest = make_state(tmp_path, "000012")
        assert rd.newest_intact_training_state(tmp_path) == (newest, [])
        truncate(newest)
        (tmp_path / "training-state-000008.json").write_text('{"step": ')  # a record cut short
        state, broken = rd.newest_intact_training_state(tmp_path)
        assert state == old and [path for path, _ in broken] == [newest, middle]
        assert "not a valid Keras archive" in broken[0][1] and "record" in broken[1][1]
        os.remove(tmp_path / "training-state-000004.json")  # a state copied without its record still resumes
        assert rd.newest_intact_training_state(tmp_path)[0] == old
        truncate(old)
        state, broken = rd.newest_intact_training_state(tmp_path)
        assert state is None and len(broken) == 3

    def test_no_state_at_all(self, tmp_path):
        with pytest.raises(ValueError, match="No training-state"):
            rd.newest_intact_training_state(tmp_path)


class TestTemporaries:
    def interrupted_write(self, path, monkeypatch):
        """What a kill during `atomic_write` leaves: its temporary, under the name it really uses."""

        def refuse(victim):
            raise OSError("killed before the clean-up")

        with monkeypatch.context() as patch:
            patch.setattr(files.os, "remove", refuse)
            with pytest.raises(KeyboardInterrupt), files.atomic_write(path) as tmp:
                with open(tmp, "wb") as f:
                    f.write(b"half")
                raise KeyboardInterrupt
        return os.path.basename(tmp)

    def test_stale_temporaries_are_removed(self, tmp_path, monkeypatch):
        make_state(tmp_path, "000004")
        left = [self.interrupted_write(tmp_path / name, monkeypatch)
                for name in ("training-state-000008.keras", "fakes000008.png", "training_options.json")]
        staging = tmp_path / f".network-snapshot-000008.{uuid.uuid4().hex}.tmp"  # save_to_preset's staging
        staging.mkdir()
        (staging / "config.json").write_text("{}")
        keep = [".keep", ".notes.tmp", "training-state-000004.keras", "training-state-000004.json"]
        for name in keep[:2]:
            (tmp_path / name).write_text("mine")
        expected = sorted([*left, staging.name])
        assert [os.path.basename(p) for p in rd.list_stale_temporaries(tmp_path)] == expected
        assert rd.remove_stale_temporaries(tmp_path) == expected
        assert sorted(os.listdir(tmp_path)) == sorted(keep)
        assert rd.remove_stale_temporaries(tmp_path) == []

    def test_a_directory_in_use_keeps_its_temporaries(self, tmp_path, monkeypatch):
        name = self.interrupted_write(tmp_path / "training-state-000008.keras", monkeypatch)
        assert not rd.run_dir_in_use(tmp_path)
        with rd.hold_run_dir(tmp_path):
            assert rd.run_dir_in_use(tmp_path)
            assert rd.remove_stale_temporaries(tmp_path) == [] and os.listdir(tmp_path) == [name]
        assert not rd.run_dir_in_use(tmp_path)
        assert rd.remove_stale_temporaries(tmp_path) == [name]


class TestJsonFiles:
    def test_write_json_is_atomic_and_sorted(self, tmp_path):
        path = tmp_path / "training_options.json"
        rd.write_json(path, {"b": 1, "a": {"path": tmp_path}})
        assert json.loads(path.read_text()) == {"a": {"path": str(tmp_path)}, "b": 1}
        assert os.listdir(tmp_path) == ["training_options.json"]

    def test_json_lines_are_appended_whole_and_strict(self, tmp_path):
        path = tmp_path / "stats.jsonl"
        rd.append_json_line(path, {"Loss/G/loss": {"num": 2, "mean": float("nan")}, "timestamp": 1.5})
        rd.append_json_line(path, {"timestamp": 2.5})
        text = path.read_text()
        assert text == '{"Loss/G/loss": {"num": 2, "mean": null}, "timestamp": 1.5}\n{"timestamp": 2.5}\n'


def run_limited(code, budget=128 * 2**20):
    """Runs `code` (with `run_dir` imported) in a fresh Python whose address space may grow by `budget` bytes.

    The limit is set after the imports (Keras and its backend reserve much
    address space), so it bounds what the code itself allocates.
    """
    script = textwrap.dedent("""
        import resource
        from keras_creps.utils import run_dir

        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (size + {budget}, size + {budget}))
        """).format(budget=budget) + textwrap.dedent(code)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)

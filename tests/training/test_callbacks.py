"""Training callbacks driven by hand (no `fit`): schedules, files, atomic writes, NaN handling.

The run-directory helpers they use are tested in `test_run_dir.py`.
"""

import glob
import io
import json
import os
import pathlib

import keras
import numpy as np
import pytest
from PIL import Image
from test_case import TestCase, to_numpy

from keras_creps import CREPSGAN, CREPSDiscriminator, CREPSGenerator
from keras_creps.training import callbacks as cb

R = 8
BATCH = 4


def tiny_gan(c_dim=0):
    keras.utils.set_random_seed(0)
    generator = CREPSGenerator(R, z_dim=32, c_dim=c_dim, w_dim=32, channel_base=256, channel_max=32,
                               biline_channels=8, rank=2, mapping_layers=2)
    discriminator = CREPSDiscriminator(R, c_dim=c_dim, channel_base=256, channel_max=32, mapping_layers=2)
    gan = CREPSGAN(generator, discriminator)
    gan.compile(r1_gamma=1.0)
    return gan


@pytest.fixture(scope="module")
def gan():
    return tiny_gan()


def drive(callbacks, gan, steps, logs=None, start=0):
    """Plays `fit`'s callback events for `steps` steps, advancing the GAN's counters like a real step."""
    for callback in callbacks:
        callback.set_model(gan)
        callback.on_train_begin()
    for i in range(steps):
        gan.step.assign(start + i + 1)
        gan.seen_images.assign((start + i + 1) * BATCH)
        step_logs = {"g_loss": 0.5, "d_loss": 1.0, "kimg": (start + i + 1) * BATCH / 1000}
        step_logs.update((logs or {}).get(start + i + 1, {}))
        for callback in callbacks:
            callback.on_train_batch_end(i, step_logs)
        if gan.stop_training:
            break
    for callback in callbacks:
        callback.on_train_end()


def reset(gan):
    gan.step.assign(0)
    gan.seen_images.assign(0)
    gan.stop_training = False


class TestFiles(TestCase):
    def test_names_of_the_former_module_still_import(self):
        # The run-directory helpers moved to `run_dir` (tested there); the old names are the same objects.
        from keras_creps.utils import run_dir
        from keras_creps.training.callbacks import _summary_writer, _TrainingClock, _variable_value, _write_json

        for name in ("kimg_tag", "list_training_states", "latest_training_state", "append_json_line",
                     "STATE_PREFIX", "NETWORK_PREFIX"):
            assert getattr(cb, name) is getattr(run_dir, name)
        assert (_TrainingClock, _summary_writer, _variable_value, _write_json) == (
            cb.TrainingClock, cb.summary_writer, cb.variable_value, run_dir.write_json)

    def test_image_grid(self):
        images = np.linspace(-1, 1, 5 * 4 * 4 * 3).reshape(5, 4, 4, 3)
        grid = cb.image_grid(images, columns=2)
        assert grid.shape == (12, 8, 3) and grid.dtype == np.uint8
        np.testing.assert_array_equal(grid[8:, 4:], 0)  # empty last cell
        assert grid[0, 0, 0] == 0 and grid[11, 3, 2] == 255
        with pytest.raises(ValueError, match="shape"):
            cb.image_grid(np.zeros((4, 4, 3)), 2)

    def test_atomic_write_leaves_nothing_on_failure(self, tmp_path):
        final = tmp_path / "model.keras"
        final.write_bytes(b"old")
        with pytest.raises(RuntimeError), cb.atomic_write(final) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"partial")
            raise RuntimeError("disk full")
        assert final.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.keras"]
        with cb.atomic_write(final) as tmp:
            assert tmp.endswith(".keras") and os.path.basename(tmp).startswith(".")
            with open(tmp, "wb") as f:
                f.write(b"new")
        assert final.read_bytes() == b"new" and os.listdir(tmp_path) == ["model.keras"]

class TestSnapshots(TestCase):
    def test_schedule_files_and_pruning(self, gan, tmp_path):
        reset(gan)
        snaps = cb.SnapshotCallback(tmp_path, every_steps=2, keep_states=2, info={"dataset": "toy"})
        drive([snaps], gan, 7)  # snapshots at steps 2, 4, 6 and 7 (end)
        assert [r["step"] for r in snaps.snapshots] == [2, 4, 6, 7]
        names = sorted(os.listdir(tmp_path))
        assert [n for n in names if n.startswith("network")] == [
            f"network-snapshot-000000.{k:03d}.keras" for k in (8, 16, 24, 28)]
        assert [n for n in names if n.startswith("training")] == [
            f"training-state-000000.{k:03d}.{e}" for k in (24, 28) for e in ("json", "keras")]
        record = json.loads((tmp_path / "training-state-000000.028.json").read_text())
        assert record["step"] == 7 and record["kimg"] == 0.028 and record["info"] == {"dataset": "toy"}
        assert snaps.last_state_path == str(tmp_path / "training-state-000000.028.keras")
        state = keras.saving.load_model(snaps.last_state_path)
        assert int(to_numpy(state.step.value)) == 7
        generator = keras.saving.load_model(snaps.last_generator_path)
        z = np.random.RandomState(0).randn(2, 32).astype("float32")
        self.assert_all_close(generator(z), gan.generator_ema(z))

    def test_every_kimg_and_batch_from_logs(self, gan, tmp_path):
        reset(gan)
        snaps = cb.SnapshotCallback(tmp_path, every_kimg=0.01, at_end=False)  # batch read from the logged kimg
        drive([snaps], gan, 6)
        # 4 images a step: crosses 10 and 20 images at steps 3 and 5.
        assert [r["step"] for r in snaps.snapshots] == [3, 5]

    def test_preset_format(self, gan, tmp_path):
        from keras_creps.models.presets import load_generator

        reset(gan)
        snaps = cb.SnapshotCallback(tmp_path, every_steps=1, save_state=False, generator_format="preset")
        drive([snaps], gan, 1)
        assert os.listdir(tmp_path) == ["network-snapshot-000000.004"]
        assert isinstance(load_generator(str(tmp_path / "network-snapshot-000000.004")), CREPSGenerator)

    def test_failed_save_leaves_no_final_file(self, gan, tmp_path, monkeypatch):
        reset(gan)
        snaps = cb.SnapshotCallback(tmp_path, every_steps=1, save_generator=False)
        drive([snaps], gan, 1)
        good = snaps.last_state_path
        before = pathlib.Path(good).read_bytes()

        def crash(path, *args, **kwargs):
            with open(path, "wb") as f:
                f.write(b"half a zip")
            raise OSError("killed mid-write")

        monkeypatch.setattr(gan, "save", crash)
        with pytest.raises(OSError, match="killed mid-write"):
            drive([snaps], gan, 1, start=1)
        assert sorted(os.listdir(tmp_path)) == ["training-state-000000.004.json", "training-state-000000.004.keras"]
        assert pathlib.Path(good).read_bytes() == before

    def test_no_snapshot_after_non_finite_logs(self, gan, tmp_path):
        reset(gan)
        snaps = cb.SnapshotCallback(tmp_path, every_steps=1)
        drive([snaps], gan, 4, logs={3: {"r1_penalty": float("nan")}})  # no guard: the callback checks itself
        assert [r["step"] for r in snaps.snapshots] == [1, 2] and snaps.poisoned == ["r1_penalty"]

    def test_guard_stops_first_and_names_terms(self, gan, tmp_path):
        reset(gan)
        stream = io.StringIO()
        snaps = cb.SnapshotCallback(tmp_path, every_steps=1)
        guard = cb.NonFiniteGuard(snapshots=snaps, batch_size=BATCH, stream=stream)
        drive([guard, snaps], gan, 10, logs={4: {"r1_penalty": float("nan"), "d_loss": float("inf")}})
        assert gan.stop_training and guard.triggered and guard.terms == ["d_loss", "r1_penalty"]
        expected = ("d_loss, r1_penalty went non-finite at step 4 (kimg 0.016); the last good snapshot is "
                    f"{tmp_path / 'training-state-000000.012.keras'}")
        assert guard.message == expected and stream.getvalue().strip() == expected
        assert [r["step"] for r in snaps.snapshots] == [1, 2, 3]

    def test_bad_arguments(self, tmp_path):
        with pytest.raises(ValueError, match="either `every_steps` or `every_kimg`"):
            cb.SnapshotCallback(tmp_path, every_kimg=1, every_steps=1)
        with pytest.raises(ValueError, match="every_steps=0"):
            cb.SnapshotCallback(tmp_path, every_steps=0)
        with pytest.raises(ValueError, match="keep_states=0"):
            cb.SnapshotCallback(tmp_path, every_steps=1, keep_states=0)
        with pytest.raises(ValueError, match="generator_format='pkl'"):
            cb.SnapshotCallback(tmp_path, every_steps=1, generator_format="pkl")


class TestSamplesAndLogs(TestCase):
    def test_sample_grid_and_reals(self, gan, tmp_path):
        reset(gan)
        reals = np.random.RandomState(0).randint(0, 256, (10, R, R, 3)).astype(np.uint8)
        grids = cb.SampleGridCallback(tmp_path, every_steps=2, batch_size=BATCH, columns=4, rows=2, reals=reals,
                                      log_dir=tmp_path / "tb")
        drive([grids], gan, 2)
        assert sorted(os.listdir(tmp_path)) == ["fakes000000.008.png", "fakes000000.png", "reals.png", "tb"]
        assert Image.open(tmp_path / "reals.png").size == (4 * R, 3 * R)
        first = np.asarray(Image.open(tmp_path / "fakes000000.png"))
        assert first.shape == (2 * R, 4 * R, 3)
        # Fixed latents: an unchanged generator renders the same grid.
        np.testing.assert_array_equal(first, np.asarray(Image.open(tmp_path / "fakes000000.008.png")))
        tags = event_tags(tmp_path / "tb")
        assert {"fakes", "reals"} <= tags

    def test_conditional_grid_has_a_row_per_class(self, tmp_path):
        gan = tiny_gan(c_dim=3)
        grids = cb.SampleGridCallback(tmp_path, every_steps=1, columns=5, at_end=False)
        grids.set_model(gan)
        grids.on_train_begin()
        assert Image.open(tmp_path / "fakes000000.png").size == (5 * R, 3 * R)

    def test_tensorboard_scalars_and_progress(self, gan, tmp_path):
        reset(gan)
        stream = io.StringIO()
        board = cb.TensorBoardLogger(tmp_path, every_steps=2, batch_size=BATCH)
        progress = cb.KimgProgress(0.04, every_steps=5, batch_size=BATCH, stream=stream)
        drive([board, progress], gan, 10)
        assert {"Loss/g_loss", "Loss/d_loss", "Progress/kimg", "Timing/sec_per_kimg"} <= event_tags(tmp_path)
        lines = [line for line in stream.getvalue().strip().splitlines() if line.startswith("tick")]
        assert len(lines) == 2 and lines[1].startswith("tick 2")
        assert "kimg 0.040/0.04" in lines[1] and "step 10" in lines[1] and "sec/kimg" in lines[1]
        assert "g_loss 0.5" in lines[1]


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def play_progress(progress, gan, durations, gaps=None):
    """Plays `fit`'s events with a fake clock: step `i` lasts `durations[i]`, then `gaps[i]` pass."""
    clock = progress.clock
    progress.set_model(gan)
    progress.on_train_begin()
    progress.on_epoch_begin(0)
    for i, seconds in enumerate(durations):
        progress.on_train_batch_begin(i)
        clock.now += seconds
        gan.step.assign(i + 1)
        gan.seen_images.assign((i + 1) * BATCH)
        progress.on_train_batch_end(i, {"g_loss": 0.5, "d_loss": 1.0, "r1_penalty": 0.25, "augment_p": 0.125,
                                        "kimg": (i + 1) * BATCH / 1000})
        clock.now += (gaps or {}).get(i, 0.0)
    progress.on_train_end()


class TestProgress(TestCase):
    def test_first_step_steady_speed_and_timed_lines(self, gan, tmp_path):
        # Lazy regularization every 4 (G) and 16 (D) steps: variants compile at step
        # indices 0 (both), 1 (none) and 4 (G only); the steady speed leaves those out.
        reset(gan)
        assert gan.phases_for_step(0) == (True, True) and gan.phases_for_step(4) == (True, False)
        stream = io.StringIO()
        progress = cb.KimgProgress(1, every_steps=10, batch_size=BATCH, stream=stream, interval=30,
                                   stats_path=tmp_path / "stats.jsonl", clock=FakeClock())
        durations = [90.0 if i == 0 else 20.0 if i in (1, 4) else 2.0 for i in range(20)]
        play_progress(progress, gan, durations, gaps={4: 1.0})  # e.g. a snapshot after step 5
        lines = stream.getvalue().splitlines()
        assert lines[0].startswith("step 1: ") and lines[0].endswith("...")
        assert lines[1].startswith("step 1 took 90.0 s") and "memory" in lines[1]
        # Steps 2..5 (2 compiling) took 44 s for 16 images; the line comes at step 5, not 4.
        timed = [line for line in lines if line.startswith("... ")]
        assert timed[0].startswith("... kimg 0.020/1    step 5    time 2m 14s    images/s 0.364"), timed
        assert "g_loss 0.5" in timed[0] and "augment_p 0.125" in timed[0]
        steady = [line for line in lines if line.startswith("steady speed")]
        # 16 steps of 2 s, 4 images each (indices 2, 3 and 5..18): printed at step 19.
        assert steady == [line for line in lines if "steady" in line] and len(steady) == 1
        assert steady[0].startswith("steady speed: 2 s/step, 500 s/kimg, 2 images/s (mean of 16 steps after "
                                    "compilation); eta 7m 42s")
        ticks = [line for line in lines if line.startswith("tick")]
        assert len(ticks) == 2 and ticks[0].startswith("tick 1       kimg 0.040/1    step 10    time 2m 25s    "
                                                       "sec/kimg 3625.00    eta 58m 00s    g_loss 0.5")
        records = [json.loads(line) for line in (tmp_path / "stats.jsonl").read_text().splitlines()]
        assert [r["Progress/tick"]["mean"] for r in records] == [1, 2]
        first = records[0]
        assert first["Progress/kimg"] == {"num": 1, "mean": 0.04} and first["Progress/step"]["mean"] == 10
        assert first["Timing/sec_per_tick"]["mean"] == 145.0 and first["Timing/maintenance_sec"]["mean"] == 1.0
        assert first["Timing/sec_per_kimg"]["mean"] == 3625.0 and first["Timing/total_sec"]["mean"] == 145.0
        assert first["Loss/G/loss"] == {"num": 10, "mean": 0.5} and first["Loss/r1_penalty"]["mean"] == 0.25
        assert first["Progress/augment"] == {"num": 1, "mean": 0.125}
        assert first["Resources/peak_rss_gb"]["mean"] > 0 and "kimg" not in first and "Logs/kimg" not in first
        assert records[1]["Timing/total_sec"]["mean"] == 165.0 and first["timestamp"] > 1.6e9

    def test_interval_zero_and_bad_values(self, gan):
        reset(gan)
        stream = io.StringIO()
        progress = cb.KimgProgress(1, every_steps=5, batch_size=BATCH, stream=stream, interval=0,
                                   clock=FakeClock())
        play_progress(progress, gan, [100.0] * 5)
        assert not [line for line in stream.getvalue().splitlines() if line.startswith("...")]
        with pytest.raises(ValueError, match="interval=-1"):
            cb.KimgProgress(1, every_steps=5, interval=-1)


def event_tags(log_dir):
    import tensorflow as tf

    cb.summary_writer(log_dir).flush()
    tags = set()
    for path in glob.glob(os.path.join(str(log_dir), "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags

"""MetricsCallback driven by hand (no `fit`): schedule, JSON lines, snapshot names, TensorBoard tags."""

import glob
import io
import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_creps import CREPSGAN, CREPSDiscriminator, CREPSGenerator
from keras_creps.training import callbacks as cb
from keras_creps.training.callbacks import MetricsCallback
from keras_creps.utils.run_dir import is_run_dir, latest_network_snapshot

R = 16
BATCH = 4


@pytest.fixture(scope="module")
def gan():
    keras.utils.set_random_seed(0)
    generator = CREPSGenerator(R, z_dim=32, w_dim=32, channel_base=256, channel_max=32, biline_channels=8, rank=2,
                               mapping_layers=2)
    discriminator = CREPSDiscriminator(R, channel_base=256, channel_max=32, mapping_layers=2)
    gan = CREPSGAN(generator, discriminator)
    gan.compile(r1_gamma=1.0)
    return gan


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("reals")
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (R, R, 3), dtype=np.uint8)).save(root / f"img{i:02d}.png")
    return str(root)


def drive(callbacks, gan, steps, logs=None):
    """Plays `fit`'s callback events for `steps` steps, advancing the GAN's counters like a real step."""
    gan.step.assign(0)
    gan.seen_images.assign(0)
    for callback in callbacks:
        callback.set_model(gan)
        callback.on_train_begin()
    for i in range(steps):
        gan.step.assign(i + 1)
        gan.seen_images.assign((i + 1) * BATCH)
        step_logs = dict({"g_loss": 0.5, "kimg": (i + 1) * BATCH / 1000}, **(logs or {}).get(i + 1, {}))
        for callback in callbacks:
            callback.on_train_batch_end(i, step_logs)
    for callback in callbacks:
        callback.on_train_end()


def event_tags(log_dir):
    import tensorflow as tf

    tags = set()
    for path in glob.glob(os.path.join(str(log_dir), "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_metrics_follow_the_snapshots(gan, data, tmp_path):
    snapshots = cb.SnapshotCallback(tmp_path, every_steps=2, batch_size=BATCH, save_state=False)
    stream = io.StringIO()
    metrics = MetricsCallback(["swd_full", "eqt_int"], tmp_path, every_steps=2, batch_size=BATCH, data=data,
                              num_gen=4, render_batch=4, cache_dir=str(tmp_path / "cache"), stream=stream)
    drive([snapshots, metrics], gan, 5)  # steps 2, 4 and 5 (end)
    for name in ("swd_full", "eqt_int"):
        lines = [json.loads(line) for line in (tmp_path / f"metric-{name}.jsonl").read_text().splitlines()]
        assert [line["step"] for line in lines] == [2, 4, 5]
        assert [line["kimg"] for line in lines] == [0.008, 0.016, 0.02]
        assert [line["snapshot"] for line in lines] == [
            f"network-snapshot-000000.{k:03d}.keras" for k in (8, 16, 20)]
        assert all(line["metric"] == name and name in line["results"] and line["num_gen"] == 4 for line in lines)
    assert {"Metrics/swd_full", "Metrics/swd_full_16"} <= event_tags(tmp_path)
    assert "Metrics/eqt_int" not in event_tags(tmp_path)  # exact (inf): not plotted
    assert len(stream.getvalue().splitlines()) == 6 and "swd_full" in stream.getvalue()
    assert is_run_dir(tmp_path) and latest_network_snapshot(tmp_path).endswith("network-snapshot-000000.020.keras")


def test_no_metrics_after_non_finite_logs(gan, tmp_path):
    metrics = MetricsCallback(["eqt_int"], tmp_path, every_steps=2, batch_size=BATCH, num_gen=4, render_batch=4)
    drive([metrics], gan, 4, logs={3: {"g_loss": float("nan")}})
    lines = (tmp_path / "metric-eqt_int.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [2]
    assert json.loads(lines[0])["snapshot"] is None  # no snapshot callback wrote a network


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="valid metrics"):
        MetricsCallback(["fid"], tmp_path, every_steps=1)
    with pytest.raises(ValueError, match="pass `data`"):
        MetricsCallback(["swd_full"], tmp_path, every_steps=1)
    with pytest.raises(ValueError, match="non-empty list"):
        MetricsCallback("swd_full", tmp_path, every_steps=1)
    with pytest.raises(ValueError, match="No network-snapshot"):
        latest_network_snapshot(tmp_path)

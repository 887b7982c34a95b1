"""Named metrics (`keras_creps.metrics.protocols`) on a tiny generator and a tiny image folder."""

import io
import json
import math
import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_creps import CREPSGenerator
from keras_creps.metrics import protocols
from keras_creps.metrics.feature_network import FeatureNetwork
from keras_creps.metrics.generated_images import generated_batches, sample_labels
from keras_creps.metrics.progress import TextProgress
from keras_creps.metrics.real_statistics import RealSet, resolve_cache_dir
from keras_creps.training.configs import network_kwargs

R = 16
NUM_REAL = 20
NUM_GEN = 8


class StubNetwork(FeatureNetwork):
    """A cheap deterministic feature network: a fixed projection of 4x4 block means."""

    name = "stub"
    feature_dim = 12

    def __init__(self, metric_suffix=""):
        super().__init__(batch_size=16)
        self.metric_suffix = metric_suffix
        self.projection = np.random.default_rng(0).standard_normal((4 * 4 * 3, self.feature_dim))
        self.images_seen = 0

    def __call__(self, images, progress=None):
        self.images_seen += len(images)
        return super().__call__(images, progress=progress)

    def _extract(self, images):
        b, h, w, c = images.shape
        blocks = images.reshape(b, 4, h // 4, 4, w // 4, c).mean(axis=(2, 4)) / 255.0
        return blocks.reshape(b, -1) @ self.projection

    def cache_key(self):
        return f"stub{self.metric_suffix}-v1"


class ScreenNoise:
    """A renderer that is not translation equivariant: noise fixed to the pixel grid, not to coordinates."""

    def __init__(self, generator, amplitude=0.3):
        self.generator = generator
        self.amplitude = amplitude
        for name in ("z_dim", "c_dim", "resolution", "img_channels"):
            setattr(self, name, getattr(generator, name))

    def make_generate_function(self, **kwargs):
        generate = self.generator.make_generate_function(**kwargs)

        def noisy(z, c=None, rows=None, cols=None):
            images = generate(z, c, rows, cols)
            return images + self.amplitude * np.random.default_rng(7).standard_normal(images.shape[1:])

        return noisy


@pytest.fixture(scope="module")
def generator():
    keras.utils.set_random_seed(0)
    return CREPSGenerator(**network_kwargs("tiny", R)[0])


@pytest.fixture()
def image_folder(tmp_path):
    folder = tmp_path / "reals"
    folder.mkdir()
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:R, 0:R] / R
    for i in range(NUM_REAL):
        phase = rng.uniform(0, 2 * np.pi, 3)
        image = 127.5 + 120 * np.sin(2 * np.pi * (x + y * (i % 3))[..., None] + phase) * rng.uniform(0.5, 1)
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"img{i:03d}.png")
    return str(folder)


def calc(name, generator, folder, tmp_path, **kwargs):
    kwargs = dict(dict(num_gen=NUM_GEN, batch_size=4, progress=False, cache_dir=str(tmp_path / "cache")), **kwargs)
    return protocols.calc_metric(name, generator, data=folder, **kwargs)


class TestRegistry:
    def test_names(self):
        names = protocols.list_metrics()
        for name in ("fid50k_full", "kid50k_full", "pr50k3_full", "fid50k_full_keras", "kid50k_full_keras",
                     "pr50k3_full_keras", "swd_full", "scale_consistency", "eqt", "eqt_int"):
            assert name in names and protocols.is_valid_metric(name)
        assert protocols.get_metric("fid50k_full").num_gen == 50000
        assert protocols.get_metric("fid50k_full_keras").fn is protocols.get_metric("fid50k_full").fn
        with pytest.raises(ValueError, match="valid metrics: fid50k_full, .*swd_full"):
            protocols.get_metric("fid")

    def test_name_follows_the_network(self):
        assert protocols.metric_name_for_network("fid50k_full", StubNetwork("_keras")) == "fid50k_full_keras"
        assert protocols.metric_name_for_network("pr50k3_full_keras", StubNetwork("")) == "pr50k3_full"
        assert protocols.metric_name_for_network("swd_full", StubNetwork("_keras")) == "swd_full"


class TestFeatureMetrics:
    def test_names_keys_and_record(self, generator, image_folder, tmp_path):
        network = StubNetwork()
        record = calc("fid50k_full", generator, image_folder, tmp_path, feature_net=network, snapshot="g.keras")
        assert list(record["results"]) == ["fid50k_full"] and record["results"]["fid50k_full"] > 0
        assert record["metric"] == "fid50k_full" and record["num_gen"] == NUM_GEN and record["snapshot"] == "g.keras"
        assert record["feature_network"] == "stub" and record["feature_network_key"] == "stub-v1"
        assert record["total_time"] > 0 and record["num_real"] is None
        record = calc("kid50k_full", generator, image_folder, tmp_path, feature_net=network)
        assert list(record["results"]) == ["kid50k_full"] and math.isfinite(record["results"]["kid50k_full"])
        keras_net = StubNetwork("_keras")
        record = calc("pr50k3_full_keras", generator, image_folder, tmp_path, feature_net=keras_net)
        assert sorted(record["results"]) == ["pr50k3_full_keras_precision", "pr50k3_full_keras_recall"]
        assert all(0 <= v <= 1 for v in record["results"].values())

    def test_network_must_match_the_name(self, generator, image_folder, tmp_path):
        with pytest.raises(ValueError, match="reported as `fid50k_full_keras`"):
            calc("fid50k_full", generator, image_folder, tmp_path, feature_net=StubNetwork("_keras"))
        with pytest.raises(ValueError, match="pass `data`"):
            protocols.calc_metric("kid50k_full", generator, feature_net=StubNetwork())

    def test_real_statistics_are_cached(self, generator, image_folder, tmp_path):
        network = StubNetwork()
        first = calc("fid50k_full", generator, image_folder, tmp_path, feature_net=network)
        assert network.images_seen == NUM_REAL + NUM_GEN
        second = calc("fid50k_full", generator, image_folder, tmp_path, feature_net=network)
        assert network.images_seen == NUM_REAL + 2 * NUM_GEN  # reals read from the cache
        assert second["results"] == first["results"]
        calc("kid50k_full", generator, image_folder, tmp_path, feature_net=network)
        calc("pr50k3_full", generator, image_folder, tmp_path, feature_net=network)  # shares KID's features
        assert network.images_seen == 2 * NUM_REAL + 4 * NUM_GEN
        entries = sorted(name.split("-")[1] for name in os.listdir(tmp_path / "cache"))
        assert entries == ["features", "fid_stats"]

    def test_cache_follows_the_dataset_files(self, generator, image_folder, tmp_path):
        network = StubNetwork()
        calc("fid50k_full", generator, image_folder, tmp_path, feature_net=network)
        path = os.path.join(image_folder, "img000.png")
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**10))
        calc("fid50k_full", generator, image_folder, tmp_path, feature_net=network)
        assert network.images_seen == 2 * (NUM_REAL + NUM_GEN)  # a touched dataset is measured again
        calc("fid50k_full", generator, image_folder, tmp_path, feature_net=network, num_real=10)
        assert network.images_seen == 2 * (NUM_REAL + NUM_GEN) + 10 + NUM_GEN

    def test_cache_dir_from_environment(self, monkeypatch, tmp_path):
        monkeypatch.setenv("KERAS_CREPS_CACHE", str(tmp_path / "root"))
        assert resolve_cache_dir() == str(tmp_path / "root" / "metrics")
        assert resolve_cache_dir(tmp_path / "mine") == str(tmp_path / "mine")
        monkeypatch.delenv("KERAS_CREPS_CACHE")
        assert resolve_cache_dir() == os.path.expanduser(os.path.join("~", ".cache", "keras_creps", "metrics"))


class TestImageMetrics:
    def test_swd_is_reproducible_and_cached(self, generator, image_folder, tmp_path):
        first = calc("swd_full", generator, image_folder, tmp_path)
        assert sorted(first["results"]) == ["swd_full", "swd_full_16"] and first["feature_network"] is None
        assert first["results"]["swd_full"] > 0
        assert len(os.listdir(tmp_path / "cache")) == 1
        again = calc("swd_full", generator, image_folder, tmp_path)
        assert again["results"] == first["results"]
        other = calc("swd_full", generator, image_folder, tmp_path, seed=1)
        assert other["results"] != first["results"]
        # By default as many samples as real images.
        assert calc("swd_full", generator, image_folder, tmp_path, num_gen=None)["num_gen"] == NUM_REAL

    def test_scale_consistency(self, generator, tmp_path):
        record = protocols.calc_metric("scale_consistency", generator, num_gen=6, batch_size=4, progress=False)
        results = record["results"]
        assert sorted(results) == ["scale_consistency_centers", "scale_consistency_corners"]
        assert all(math.isfinite(v) and v > 0 for v in results.values())
        # Pooled over samples: the batch size does not change the value.
        again = protocols.calc_metric("scale_consistency", generator, num_gen=6, batch_size=6, progress=False)
        for key, value in results.items():
            assert again["results"][key] == pytest.approx(value, abs=1e-3)

    def test_translation_equivariance_can_fail(self, generator):
        clean_int = protocols.calc_metric("eqt_int", generator, num_gen=8, batch_size=4, progress=False)
        clean = protocols.calc_metric("eqt", generator, num_gen=8, batch_size=4, progress=False)
        noisy = ScreenNoise(generator)
        noisy_int = protocols.calc_metric("eqt_int", noisy, num_gen=8, batch_size=4, progress=False)
        noisy_frac = protocols.calc_metric("eqt", noisy, num_gen=8, batch_size=4, progress=False)
        # A coordinate renderer: whole-pixel shifts are exact crops.
        assert clean_int["results"]["eqt_int"] > 60
        assert noisy_int["results"]["eqt_int"] < 20
        assert noisy_frac["results"]["eqt"] < clean["results"]["eqt"] < clean_int["results"]["eqt_int"]

    @pytest.mark.parametrize("metric", ["scale_consistency", "eqt_int"])
    def test_jit_compile_reaches_the_renders(self, generator, metric):
        recorder = JitRecorder(generator)
        plain = protocols.calc_metric(metric, recorder, num_gen=4, batch_size=4, progress=False, jit_compile=False)
        assert recorder.asked == [False]
        default = protocols.calc_metric(metric, generator, num_gen=4, batch_size=4, progress=False)
        for key, value in default["results"].items():
            assert plain["results"][key] == pytest.approx(value, abs=0.05), key

    def test_jit_compile_reaches_generated_images(self, generator):
        recorder = JitRecorder(generator)
        batches = list(generated_batches(recorder, 4, batch_size=4, jit_compile=False))
        assert recorder.asked == [False] and batches[0].shape == (4, R, R, 3)


class JitRecorder(ScreenNoise):
    """The generator's own renders, recording the `jit_compile` each render function was made with."""

    def __init__(self, generator):
        super().__init__(generator, amplitude=0.0)
        self.asked = []

    def make_generate_function(self, **kwargs):
        self.asked.append(kwargs.get("jit_compile"))
        return self.generator.make_generate_function(**kwargs)


class TestPieces:
    def test_samples_are_seeded(self, generator):
        a = np.concatenate(list(generated_batches(generator, 5, batch_size=2, seed=3)))
        b = np.concatenate(list(generated_batches(generator, 5, batch_size=4, seed=3)))
        c = np.concatenate(list(generated_batches(generator, 5, batch_size=4, seed=4)))
        assert a.dtype == np.uint8 and a.shape == (5, R, R, 3)
        assert np.abs(a.astype(int) - b).max() <= 1 and np.any(a != c)

    def test_labels_follow_the_dataset(self):
        labels = np.eye(3, dtype=np.float32)[[2, 2, 2, 0]]
        drawn = sample_labels(4000, 3, labels, seed=0)
        assert drawn.shape == (4000, 3) and drawn[:, 1].sum() == 0
        assert abs(drawn[:, 2].mean() - 0.75) < 0.03
        assert sample_labels(4, 0) is None
        assert sample_labels(6, 3).sum() == 6  # uniform one-hot without a dataset

    def test_labels_of_a_folder_dataset_are_cached(self, image_folder, tmp_path):
        with open(os.path.join(image_folder, "dataset.json"), "w") as f:
            json.dump({"labels": [[f"img{i:03d}.png", i % 2] for i in range(NUM_REAL)]}, f)
        reals = RealSet(image_folder, R, 3, cache_dir=tmp_path / "cache")
        labels = reals.labels(2)
        assert labels.shape == (NUM_REAL, 2) and labels.sum() == NUM_REAL
        assert os.listdir(tmp_path / "cache")[0].startswith("reals-labels-")
        with pytest.raises(ValueError, match="c_dim is 3"):
            reals.labels(3)

    def test_report_metric_appends_lines(self, tmp_path):
        path = tmp_path / "run" / "metric-eqt.jsonl"
        record = {"results": {"eqt": float("inf")}, "metric": "eqt"}
        protocols.report_metric(record, path, kimg=1.5)
        protocols.report_metric(record, path, kimg=3.0)
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert [line["kimg"] for line in lines] == [1.5, 3.0] and lines[0]["results"]["eqt"] == float("inf")
        assert "timestamp" in lines[0]

    def test_text_progress(self):
        stream = io.StringIO()
        progress = TextProgress("real features", stream=stream, log_interval=0)
        progress(50, 100)
        progress(100, 100)
        progress(100, 100)
        lines = stream.getvalue().splitlines()
        assert len(lines) == 2 and lines[0].startswith("real features: 50/100 (50%)") and "img/s" in lines[0]
        assert "ETA" in lines[0] and "done in" in lines[1]

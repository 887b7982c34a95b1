"""Presets: round trips, metadata, atomic writes, clear errors, loading on another backend."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

import keras_creps
from keras_creps import CREPSDiscriminator
from keras_creps import CREPSGenerator
from keras_creps.utils import preset_paths
from keras_creps.models import presets
from keras_creps.models.presets import from_preset
from keras_creps.models.presets import list_presets
from keras_creps.models.presets import load_discriminator
from keras_creps.models.presets import load_generator
from keras_creps.models.presets import load_metadata
from keras_creps.models.presets import save_to_preset
from keras_creps.utils.images import to_uint8

TINY_G = {"resolution": 8, "z_dim": 8, "w_dim": 8, "c_dim": 2, "channel_base": 64, "channel_max": 16,
          "biline_channels": 4, "mapping_layers": 1}
TINY_D = {"resolution": 8, "c_dim": 2, "channel_base": 64, "channel_max": 16, "mapping_layers": 1}
PRESET_FILES = ["README.md", "config.json", "metadata.json", "model.weights.h5"]


def tiny_generator(seed=0):
    keras.utils.set_random_seed(seed)
    return CREPSGenerator(**TINY_G)


def inputs(seed=0):
    rng = np.random.RandomState(seed)
    z = rng.randn(3, TINY_G["z_dim"]).astype("float32")
    c = np.eye(2, dtype="float32")[[0, 1, 1]]
    return z, c


_COMPILED = {}


def forward(model, *args, **kwargs):
    """`model(*args, **kwargs)` as NumPy. On JAX, through one `jax.jit` per
    architecture (much cheaper than compiling every eager op of a first call);
    models of the same config share it, each with its own variables."""
    if keras.config.backend() != "jax":
        return to_numpy(model(*args, **kwargs))
    import jax

    config = {k: v for k, v in model.get_config().items() if k != "name"}
    key = (type(model).__name__, json.dumps(config, sort_keys=True), json.dumps(kwargs, sort_keys=True))
    if key not in _COMPILED:
        _COMPILED[key] = jax.jit(lambda tv, ntv, *a: model.stateless_call(tv, ntv, *a, **kwargs)[0])
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    return to_numpy(_COMPILED[key](trainable, non_trainable, *args))


def render(generator):
    z, c = inputs()
    return forward(generator, z, c, truncation_psi=0.7)


def assert_same_weights(a, b):
    assert [v.path for v in a.weights] == [v.path for v in b.weights]
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(to_numpy(x), to_numpy(y), err_msg=x.path)


def leftovers(parent):
    return [p.name for p in Path(parent).iterdir() if p.name.startswith(".")]


class TestRoundTrip(TestCase):
    def test_generator_bitwise(self, tmp_path):
        generator = tiny_generator()
        # Move w_avg away from its initial zeros: non-trainable state must survive too.
        generator.mapping.w_avg.assign(np.full(TINY_G["w_dim"], 0.25, "float32"))
        path = generator.save_to_preset(tmp_path / "g")
        assert sorted(os.listdir(path)) == PRESET_FILES
        restored = CREPSGenerator.from_preset(path)
        assert type(restored) is CREPSGenerator
        assert restored.get_config() == generator.get_config()
        assert_same_weights(restored, generator)
        np.testing.assert_array_equal(render(restored), render(generator))

    def test_an_ema_generator_loads_trainable(self, tmp_path):
        # The shipped preset is an EMA generator, which is not trainable while
        # it trains; a preset loads trainable, so fine-tuning updates it.
        generator = tiny_generator()
        count = len(generator.trainable_variables)
        generator.trainable = False
        generator.save_to_preset(tmp_path / "g")
        restored = CREPSGenerator.from_preset(tmp_path / "g")
        assert restored.trainable and len(restored.trainable_variables) == count > 0
        assert_same_weights(restored, generator)

    def test_discriminator_bitwise(self, tmp_path):
        keras.utils.set_random_seed(3)
        discriminator = CREPSDiscriminator(**TINY_D)
        discriminator.save_to_preset(tmp_path / "d", metadata={"description": "tiny D"})
        restored = CREPSDiscriminator.from_preset(tmp_path / "d")
        images = np.random.RandomState(0).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
        c = np.eye(2, dtype="float32")
        assert restored.get_config() == discriminator.get_config()
        np.testing.assert_array_equal(forward(restored, images, c), forward(discriminator, images, c))
        assert_same_weights(load_discriminator(tmp_path / "d"), discriminator)
        assert "CREPSDiscriminator.from_preset" in (tmp_path / "d" / "README.md").read_text()

    def test_config_is_keras_serialized_and_loads_without_weights(self, tmp_path):
        tiny_generator().save_to_preset(tmp_path / "g")
        config = json.loads((tmp_path / "g" / "config.json").read_text())
        assert config["class_name"] == "CREPSGenerator"
        assert config["registered_name"] == "keras_creps>CREPSGenerator"
        assert config["config"]["resolution"] == TINY_G["resolution"]
        fresh = from_preset(tmp_path / "g", load_weights=False)
        assert fresh.get_config()["z_dim"] == TINY_G["z_dim"]

    def test_wrong_class(self, tmp_path):
        CREPSDiscriminator(**TINY_D).save_to_preset(tmp_path / "d")
        with pytest.raises(ValueError, match="holds a CREPSDiscriminator, not a CREPSGenerator"):
            CREPSGenerator.from_preset(tmp_path / "d")
        with pytest.raises(ValueError, match="not a CREPSGenerator"):
            load_generator(tmp_path / "d")


class TestMetadata(TestCase):
    def test_round_trip(self, tmp_path):
        user = {
            "description": "A tiny test generator.",
            "training_data": "emoji 8x8 (tests)",
            "kimg": np.int64(12),
            "metrics": {"fid50k_full": np.float32(12.5), "eq_t": [1, 2]},
            "license": "Apache-2.0",
            "backend": "not overridable",
        }
        save_to_preset(tiny_generator(), tmp_path / "g", metadata=user)
        metadata = load_metadata(tmp_path / "g")
        assert metadata["backend"] == keras.config.backend()
        assert metadata["keras_version"] == keras.version()
        assert metadata["keras_creps_version"] == keras_creps.__version__
        assert metadata["class_name"] == "CREPSGenerator"
        assert metadata["parameter_count"] == tiny_generator().count_params()
        assert "T" in metadata["date_saved"]
        assert metadata["kimg"] == 12 and metadata["metrics"] == {"fid50k_full": 12.5, "eq_t": [1, 2]}
        assert metadata["license"] == "Apache-2.0" and metadata["training_data"] == "emoji 8x8 (tests)"
        card = (tmp_path / "g" / "README.md").read_text()
        for text in ("# g", "A tiny test generator.", "emoji 8x8 (tests)", "| fid50k_full | 12.5 |",
                     "Apache-2.0", 'CREPSGenerator.from_preset("g")'):
            assert text in card

    def test_bad_metadata(self, tmp_path):
        with pytest.raises(ValueError, match=r"metadata\['bad'\]"):
            save_to_preset(tiny_generator(), tmp_path / "g", metadata={"bad": object()})
        with pytest.raises(TypeError, match="must be a dict"):
            save_to_preset(tiny_generator(), tmp_path / "g", metadata=["not", "a", "dict"])
        assert not (tmp_path / "g").exists() and leftovers(tmp_path) == []


class TestAtomicWrites(TestCase):
    def test_replaces_a_preset_and_keeps_other_files(self, tmp_path):
        save_to_preset(tiny_generator(0), tmp_path / "g")
        (tmp_path / "g" / "samples.png").write_bytes(b"png")
        second = tiny_generator(1)
        save_to_preset(second, tmp_path / "g", metadata={"kimg": 2})
        assert sorted(os.listdir(tmp_path / "g")) == sorted(PRESET_FILES + ["samples.png"])
        assert load_metadata(tmp_path / "g")["kimg"] == 2
        assert_same_weights(from_preset(tmp_path / "g"), second)
        assert leftovers(tmp_path) == []

    def test_refuses_a_non_preset_directory(self, tmp_path):
        target = tmp_path / "photos"
        target.mkdir()
        (target / "holiday.jpg").write_bytes(b"jpg")
        with pytest.raises(ValueError, match="Refusing to overwrite .*photos"):
            save_to_preset(tiny_generator(), target)
        assert os.listdir(target) == ["holiday.jpg"]
        (tmp_path / "file").write_text("x")
        with pytest.raises(ValueError, match="is not a directory"):
            save_to_preset(tiny_generator(), tmp_path / "file")
        assert leftovers(tmp_path) == []

    def test_empty_directory_and_new_parents(self, tmp_path):
        (tmp_path / "empty").mkdir()
        save_to_preset(tiny_generator(), tmp_path / "empty")
        save_to_preset(tiny_generator(), tmp_path / "a" / "b" / "g")
        assert list_presets(tmp_path) == ["empty"] and list_presets(tmp_path / "a" / "b") == ["g"]

    def test_failed_write_leaves_nothing(self, tmp_path, monkeypatch):
        def broken(*args, **kwargs):
            raise OSError("disk full")

        generator = tiny_generator()
        save_to_preset(generator, tmp_path / "g", metadata={"kimg": 1})
        monkeypatch.setattr(generator, "save_weights", broken)
        with pytest.raises(OSError, match="disk full"):
            save_to_preset(generator, tmp_path / "g", metadata={"kimg": 2})
        assert load_metadata(tmp_path / "g")["kimg"] == 1  # the old preset is untouched
        assert leftovers(tmp_path) == []


class TestErrors(TestCase):
    @pytest.mark.parametrize("missing", ["config.json", "model.weights.h5"])
    def test_missing_file_is_named(self, tmp_path, missing):
        save_to_preset(tiny_generator(), tmp_path / "g")
        (tmp_path / "g" / missing).unlink()
        with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'g'}.* has no {missing}"):
            from_preset(tmp_path / "g")

    @pytest.mark.parametrize("bad", ["", "  ", None, 3])
    def test_not_a_path(self, bad):
        with pytest.raises(ValueError, match="Expected a preset directory"):
            load_generator(bad)

    def test_nothing_there(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="nowhere"):
            from_preset(tmp_path / "nowhere")
        with pytest.raises(FileNotFoundError, match="nowhere"):
            load_generator(str(tmp_path / "nowhere"))

    def test_bad_config(self, tmp_path):
        save_to_preset(tiny_generator(), tmp_path / "g")
        (tmp_path / "g" / "config.json").write_text("{not json")
        with pytest.raises(ValueError, match="config.json.* is not valid JSON"):
            from_preset(tmp_path / "g")
        (tmp_path / "g" / "config.json").write_text('{"resolution": 8}')
        with pytest.raises(ValueError, match="not a Keras serialized config"):
            from_preset(tmp_path / "g")


class TestLoadGenerator(TestCase):
    def test_keras_file_preset_and_run_directories(self, tmp_path):
        generator = tiny_generator()
        expected = render(generator)
        (tmp_path / "run1").mkdir()
        generator.save(tmp_path / "run1" / "generator.keras")
        generator.save_to_preset(tmp_path / "run2" / "preset")
        for path in (tmp_path / "run1" / "generator.keras", tmp_path / "run1",
                     tmp_path / "run2" / "preset", tmp_path / "run2"):
            loaded = load_generator(path)
            assert isinstance(loaded, CREPSGenerator), path
            np.testing.assert_array_equal(render(loaded), expected)

    def test_ambiguous_or_empty_directories(self, tmp_path):
        generator = tiny_generator()
        (tmp_path / "two").mkdir()
        generator.save(tmp_path / "two" / "a.keras")
        generator.save_to_preset(tmp_path / "two" / "b")
        with pytest.raises(ValueError, match=r"holds 2 presets / .keras files \(found: a.keras, b\)"):
            load_generator(tmp_path / "two")
        (tmp_path / "none").mkdir()
        (tmp_path / "none" / "notes.txt").write_text("x")
        with pytest.raises(ValueError, match="holds 0 presets"):
            load_generator(tmp_path / "none")
        with pytest.raises(ValueError, match="neither a preset directory nor a .keras file"):
            load_generator(tmp_path / "none" / "notes.txt")

    def test_names_in_saved_models(self, tmp_path, monkeypatch):
        monkeypatch.setattr(preset_paths, "SAVED_MODELS_DIR", tmp_path)
        monkeypatch.setattr(preset_paths, "PRESETS_PACKAGE", None)  # only the source layout
        generator = tiny_generator()
        generator.save_to_preset(tmp_path / "demo")
        CREPSDiscriminator(**TINY_D).save_to_preset(tmp_path / "demo_d")
        generator.save(tmp_path / "old.keras")
        (tmp_path / ".demo.1234.tmp").mkdir()  # an interrupted write is not a preset
        assert list_presets() == ["demo", "demo_d"]
        expected = render(generator)
        np.testing.assert_array_equal(render(CREPSGenerator.from_preset("demo")), expected)
        np.testing.assert_array_equal(render(load_generator("demo")), expected)
        np.testing.assert_array_equal(render(load_generator("old.keras")), expected)
        with pytest.raises(FileNotFoundError, match=r"'nope'.*demo, demo_d"):
            load_generator("nope")

    def test_default_saved_models_dir(self):
        source = Path(keras_creps.__file__).resolve().parents[1] / "saved_models"
        assert preset_paths.SAVED_MODELS_DIR == source
        assert presets.SAVED_MODELS_DIR == source  # still readable where it used to live
        assert preset_paths.PRESETS_PACKAGE == "keras_creps.saved_models"
        assert isinstance(list_presets(), list)



def test_the_demo_preset_renders_in_bfloat16_within_40_db_of_float32():
    # The trained weights, not random ones: a trained network's activations
    # are what rounding meets in use. 8 seeds, one per class, native size and 4x.
    generator = load_generator("creps_emoji_64")
    z = np.random.default_rng(0).standard_normal((8, generator.z_dim)).astype("float32")
    c = np.eye(generator.c_dim, dtype="float32")[np.arange(8) % generator.c_dim]
    grid = np.linspace(0, 1, 256, dtype="float32")
    for rows in (None, grid):
        exact = generator.make_generate_function(truncation_psi=0.7)(z, c, rows=rows, cols=rows)
        rounded = generator.make_generate_function(truncation_psi=0.7, precision="bfloat16")(z, c, rows=rows, cols=rows)
        mse = np.mean((to_uint8(rounded).astype(np.float64) - to_uint8(exact)) ** 2)
        psnr = 10 * np.log10(255.0**2 / max(mse, 1e-12))
        assert 40.0 <= psnr < 80.0, psnr  # rounded (not bit-equal), and by little

SAVE_ON_TENSORFLOW = textwrap.dedent(
    """
    import sys
    import keras
    import numpy as np
    from keras_creps import CREPSGenerator

    keras.utils.set_random_seed(5)
    generator = CREPSGenerator(**{kwargs!r})
    generator.save_to_preset(sys.argv[1], metadata={{"description": "saved on TensorFlow"}})
    z = np.random.RandomState(0).randn(3, generator.z_dim).astype("float32")
    c = np.eye(2, dtype="float32")[[0, 1, 1]]
    np.savez(sys.argv[2], images=keras.ops.convert_to_numpy(generator(z, c, truncation_psi=0.7)),
             **{{v.path: keras.ops.convert_to_numpy(v) for v in generator.weights}})
    """
)


def test_preset_saved_on_tensorflow_loads_here(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    script = SAVE_ON_TENSORFLOW.format(kwargs=TINY_G)
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "g"), str(tmp_path / "ref.npz")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert load_metadata(tmp_path / "g")["backend"] == "tensorflow"
    reference = dict(np.load(tmp_path / "ref.npz"))
    generator = load_generator(tmp_path / "g")
    for v in generator.weights:  # every variable bit for bit
        np.testing.assert_array_equal(to_numpy(v), reference[v.path], err_msg=v.path)
    images = render(generator)
    if keras.config.backend() == "tensorflow":
        np.testing.assert_array_equal(images, reference["images"])
    else:  # same weights, another backend's kernels: float32 rounding only
        np.testing.assert_allclose(images, reference["images"], rtol=0, atol=1e-5)


class TestSubPresets(TestCase):
    def test_discriminator_in_a_generator_preset(self, tmp_path, monkeypatch):
        monkeypatch.setattr(preset_paths, "SAVED_MODELS_DIR", tmp_path)
        monkeypatch.setattr(preset_paths, "PRESETS_PACKAGE", None)
        generator = tiny_generator()
        keras.utils.set_random_seed(4)
        discriminator = CREPSDiscriminator(**TINY_D)
        generator.save_to_preset(tmp_path / "demo", metadata={"discriminator": {"kimg": 1}})
        discriminator.save_to_preset(tmp_path / "demo" / "discriminator")
        for loaded in (CREPSDiscriminator.from_preset("demo"), load_discriminator("demo"),
                       CREPSDiscriminator.from_preset(tmp_path / "demo"), load_discriminator("demo/discriminator")):
            assert type(loaded) is CREPSDiscriminator
            assert_same_weights(loaded, discriminator)
        assert_same_weights(CREPSGenerator.from_preset("demo"), generator)  # the top level is still the generator
        assert list_presets() == ["demo"]  # sub-presets are not named presets of their own
        # The discriminator's card is titled and used through its parent.
        card = (tmp_path / "demo" / "discriminator" / "README.md").read_text()
        assert card.startswith("# demo/discriminator") and 'CREPSDiscriminator.from_preset("demo")' in card
        assert "`discriminator/`" in (tmp_path / "demo" / "README.md").read_text()
        # Re-saving the generator keeps the sub-preset.
        generator.save_to_preset(tmp_path / "demo")
        assert_same_weights(load_discriminator("demo"), discriminator)

    def test_generator_preset_without_discriminator(self, tmp_path):
        tiny_generator().save_to_preset(tmp_path / "g")
        with pytest.raises(ValueError, match="holds a CREPSGenerator, not a CREPSDiscriminator"):
            CREPSDiscriminator.from_preset(tmp_path / "g")


class TestRunDirectories(TestCase):
    def test_newest_snapshot_of_a_run(self, tmp_path):
        run = tmp_path / "00003-creps-tiny"
        run.mkdir()
        (run / "training_options.json").write_text("{}")
        with pytest.raises(ValueError, match="has no network-snapshot-<kimg> yet"):
            load_generator(run)
        old, new = tiny_generator(0), tiny_generator(1)
        old.save(run / "network-snapshot-000000.008.keras")
        new.save(run / "network-snapshot-000001.keras")
        new.save(run / "training-state-000001.keras")  # stands in for a state; never picked as a network
        assert presets.model_path(run) == run / "network-snapshot-000001.keras"
        np.testing.assert_array_equal(render(load_generator(run)), render(new))
        # Snapshots written as preset directories are found too.
        preset_run = tmp_path / "00004-creps-tiny"
        new.save_to_preset(preset_run / "network-snapshot-000002")
        old.save_to_preset(preset_run / "network-snapshot-000000.500")
        assert presets.model_path(preset_run) == preset_run / "network-snapshot-000002"


class TestNamedPresetLookup(TestCase):
    def test_installed_package_first_then_source(self, tmp_path, monkeypatch):
        package = f"presets_pkg_{os.getpid()}"
        (tmp_path / "site" / package).mkdir(parents=True)
        (tmp_path / "site" / package / "__init__.py").write_text("")
        monkeypatch.syspath_prepend(str(tmp_path / "site"))
        monkeypatch.setattr(preset_paths, "PRESETS_PACKAGE", package)
        monkeypatch.setattr(preset_paths, "SAVED_MODELS_DIR", tmp_path / "source")
        installed, source = tiny_generator(0), tiny_generator(1)
        installed.save_to_preset(tmp_path / "site" / package / "demo")
        source.save_to_preset(tmp_path / "source" / "demo")
        source.save_to_preset(tmp_path / "source" / "only_in_source")
        assert preset_paths.installed_presets_dir() == tmp_path / "site" / package
        assert list_presets() == ["demo", "only_in_source"]
        assert_same_weights(CREPSGenerator.from_preset("demo"), installed)
        assert_same_weights(load_generator("only_in_source"), source)
        with pytest.raises(FileNotFoundError, match=r"'nope' \(presets: demo, only_in_source; looked in .*site"):
            from_preset("nope")

    def test_missing_package_is_skipped(self, monkeypatch):
        monkeypatch.setattr(preset_paths, "PRESETS_PACKAGE", "no_such_presets_package_here")
        assert preset_paths.installed_presets_dir() is None

    @pytest.mark.parametrize("name, ok", [("demo", True), ("demo/discriminator", True), ("../demo", False),
                                          (".hidden", False), ("/abs", False), ("~/x", False), ("", False)])
    def test_preset_names(self, name, ok):
        assert preset_paths.is_preset_name(name) is ok


def test_pyproject_packages_every_subpackage():
    import tomllib

    root = Path(keras_creps.__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(root).parts) for p in (root / "keras_creps").rglob("__init__.py")}
    assert set(config["packages"]) == on_disk | {"keras_creps.saved_models"}
    assert config["package-dir"] == {"keras_creps.saved_models": "saved_models"}
    assert (root / "saved_models" / "__init__.py").is_file()
    assert not any("images" in pattern for pattern in config["package-data"]["keras_creps.saved_models"])


INSTALLED_CHECK = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np
    import keras_creps
    from keras_creps.models import presets
    from keras_creps.utils import preset_paths

    def checksum(model):
        return float(sum(np.abs(keras.ops.convert_to_numpy(v)).sum() for v in model.weights))

    generator = keras_creps.CREPSGenerator.from_preset("tiny")
    discriminator = keras_creps.CREPSDiscriminator.from_preset("tiny")
    print(json.dumps({"package": keras_creps.__file__, "dirs": [str(d) for d in preset_paths.search_dirs()],
                      "presets": presets.list_presets(), "resolved": str(preset_paths.resolve("tiny")),
                      "g": checksum(generator), "d": checksum(discriminator)}))
    """
)


def _copy_source_tree(root, dest):
    """The files a build needs: pyproject.toml, README.md, keras_creps/ and saved_models/__init__.py + README.md."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, dest / name)
    shutil.copytree(root / "keras_creps", dest / "keras_creps", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "saved_models").mkdir()
    for name in ("__init__.py", "README.md"):
        shutil.copy(root / "saved_models" / name, dest / "saved_models" / name)


def test_named_presets_resolve_from_an_installed_package(tmp_path):
    """pip-installs a copy of the repository holding a tiny preset and loads it by name from elsewhere."""
    root = Path(keras_creps.__file__).resolve().parents[1]
    source = tmp_path / "src"
    _copy_source_tree(root, source)
    generator = tiny_generator(6)
    keras.utils.set_random_seed(7)
    discriminator = CREPSDiscriminator(**TINY_D)
    generator.save_to_preset(source / "saved_models" / "tiny")
    discriminator.save_to_preset(source / "saved_models" / "tiny" / "discriminator")
    (source / "saved_models" / "tiny" / "images").mkdir()
    (source / "saved_models" / "tiny" / "images" / "grid.png").write_bytes(b"png")
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "--disable-pip-version-check", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    installed = target / "keras_creps" / "saved_models" / "tiny"
    assert sorted(os.listdir(installed)) == sorted(PRESET_FILES + ["discriminator"])  # no images/
    assert sorted(os.listdir(installed / "discriminator")) == PRESET_FILES

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", INSTALLED_CHECK], capture_output=True, text=True, env=env,
                          cwd=elsewhere, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["package"] == str(target / "keras_creps" / "__init__.py")
    assert found["dirs"] == [str(target / "keras_creps" / "saved_models")]  # no source checkout next to it
    assert found["presets"] == ["tiny"] and found["resolved"] == str(installed)

    def checksum(model):
        return float(sum(np.abs(to_numpy(v)).sum() for v in model.weights))

    np.testing.assert_allclose(found["g"], checksum(generator), rtol=1e-6)
    np.testing.assert_allclose(found["d"], checksum(discriminator), rtol=1e-6)

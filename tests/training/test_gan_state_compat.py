"""Saved training states stay loadable: `.keras` files written by earlier code resume exactly.

`tests/fixtures/gan_state_v1.keras` (and `gan_state_v1_loss_scaling.keras`)
were written by `write_fixtures()` with the code of commit d391db3, before
`CREPSGAN` was split into phases, optimizer, random streams and compile
settings. The run directories of `recipes/train.py` hold such files
(`training-state-*.keras`) and are resumed from them, so the current code
must:

- load them and write them back with the same weight file layout (every
  variable under the same path, same values) and the same compile config;
- continue training from them as the code that wrote them did:
  `gan_state_v1.json` holds, per backend, the logs of the next step and a
  digest of every variable after it (one number each), computed with that
  code.

Regenerate (only when the format changes on purpose, with the old code):
`KERAS_BACKEND=<backend> python tests/training/test_gan_state_compat.py`
once per backend (the first run, on TensorFlow, also writes the files).
"""

import io
import json
import os
import sys
import zipfile

import h5py
import keras
import numpy as np
import pytest
from test_case import FIXTURES
from test_case import TestCase
from test_case import to_numpy

from keras_creps import CREPSDiscriminator
from keras_creps import CREPSGAN
from keras_creps import CREPSGenerator
from keras_creps.augment import AugmentPipeline

R = 8
BATCH = 4
C_DIM = 2
STATES = {
    # Conditional, ADA, R1 and path length every step: the layout of a real run.
    "gan_state_v1.keras": dict(),
    # With the two dynamic loss scales in the optimizer's variables.
    "gan_state_v1_loss_scaling.keras": dict(loss_scaling=True),
}
EXPECTED = FIXTURES / "gan_state_v1.json"


def toy_data(count=8):
    rng = np.random.RandomState(0)
    images = rng.uniform(-1, 1, (count, R, R, 3)).astype("float32")
    labels = np.eye(C_DIM, dtype="float32")[rng.randint(C_DIM, size=count)]
    return images, labels


def fit_step(gan):
    images, labels = toy_data()
    history = gan.fit(images, labels, batch_size=BATCH, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)
    return {name: float(values[-1]) for name, values in history.history.items()}


def digest(gan):
    """One number per model and optimizer variable, in order: a fixed random projection of its values."""
    numbers = []
    for index, variable in enumerate(gan.variables + gan.optimizer.variables):
        if variable.path.endswith("seed_generator_state"):
            # The augmentation's own SeedGenerator: seeded afresh in every
            # process (the step passes explicit seeds), not saved.
            numbers.append(0.0)
            continue
        values = np.asarray(to_numpy(variable.value), "float64").reshape(-1)
        weights = np.random.RandomState(index).uniform(0.5, 1.5, values.shape)
        numbers.append(float(f"{np.dot(values, weights):.9g}"))
    return numbers


def weight_file(path):
    """`{dataset path: array}` of the weights inside a `.keras` file."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    arrays = {}
    with h5py.File(io.BytesIO(data), "r") as weights:
        weights.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset)
                           else None)
    return arrays


def saved_config(path):
    """`config.json` of a `.keras` file without Keras' `shared_object_id`s (ids of objects in memory)."""

    def strip(item):
        if isinstance(item, dict):
            return {key: strip(value) for key, value in item.items() if key != "shared_object_id"}
        if isinstance(item, list):
            return [strip(value) for value in item]
        return item

    with zipfile.ZipFile(path) as archive:
        return strip(json.loads(archive.read("config.json")))


def deflate(path):
    """Rewrites a `.keras` archive with compressed members (Keras writes them stored): a third of the size."""
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members:
            archive.writestr(name, data)


def write_fixtures():
    """Writes the two states (2 steps of training each) and this backend's expected next step."""
    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    for name, compile_kwargs in STATES.items():
        path = FIXTURES / name
        if not path.exists():
            keras.utils.set_random_seed(0)
            generator = CREPSGenerator(R, z_dim=4, c_dim=C_DIM, w_dim=4, channel_base=32, channel_max=4,
                                       biline_channels=4, rank=1, mapping_layers=1, name="generator")
            discriminator = CREPSDiscriminator(R, c_dim=C_DIM, channel_base=32, channel_max=4, mapping_layers=1,
                                               name="discriminator")
            gan = CREPSGAN(generator, discriminator, augment=AugmentPipeline("bgc", p=0.2))
            gan.compile(r1_gamma=1.0, g_reg_interval=1, d_reg_interval=1, ada_interval=1, ada_kimg=0.1,
                        **compile_kwargs)
            fit_step(gan)
            fit_step(gan)
            gan.save(path)
            deflate(path)
        gan = keras.saving.load_model(path)
        logs = fit_step(gan)
        expected.setdefault(name, {})[keras.config.backend()] = {"logs": logs, "digest": digest(gan)}
    EXPECTED.write_text(json.dumps(expected, sort_keys=True) + "\n")


@pytest.mark.parametrize("name", sorted(STATES))
class TestSavedStates(TestCase):
    def test_load_and_save_keep_the_layout(self, name, tmp_path):
        path = FIXTURES / name
        gan = keras.saving.load_model(path)
        assert isinstance(gan, CREPSGAN) and isinstance(gan.augment, AugmentPipeline)
        assert gan.optimizer.loss_scaling == (name == "gan_state_v1_loss_scaling.keras")
        assert int(to_numpy(gan.step.value)) == 2
        resaved = tmp_path / "state.keras"
        gan.save(resaved)
        before, after = weight_file(path), weight_file(resaved)
        assert sorted(after) == sorted(before)
        for key, values in before.items():
            np.testing.assert_array_equal(after[key], values, err_msg=key)
        old_config, new_config = saved_config(path), saved_config(resaved)
        old_compile, new_compile = old_config["compile_config"], new_config["compile_config"]
        for optimizer in ("generator_optimizer", "discriminator_optimizer"):
            # On PyTorch a deserialized Adam is Keras' torch subclass, which
            # serializes with its own module name (with any version of the code).
            old_optimizer, new_optimizer = old_compile.pop(optimizer), new_compile.pop(optimizer)
            assert new_optimizer["class_name"] == old_optimizer["class_name"]
            assert new_optimizer["config"] == old_optimizer["config"]
        assert new_compile == old_compile
        assert new_config["config"] == old_config["config"]
        assert new_config["registered_name"] == old_config["registered_name"] == "keras_creps>CREPSGAN"

    def test_training_continues_as_before(self, name):
        expected = json.loads(EXPECTED.read_text())[name].get(keras.config.backend())
        if expected is None:
            pytest.skip(f"no expected step for {keras.config.backend()}")
        gan = keras.saving.load_model(FIXTURES / name)
        logs = fit_step(gan)
        assert sorted(logs) == sorted(expected["logs"])
        for key, number in expected["logs"].items():
            np.testing.assert_allclose(logs[key], number, rtol=1e-5, atol=1e-7, err_msg=key)
        got = digest(gan)
        assert len(got) == len(expected["digest"])
        np.testing.assert_allclose(got, expected["digest"], rtol=1e-5, atol=1e-6)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    write_fixtures()

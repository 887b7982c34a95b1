"""Shared test helpers, in the manner of keras-hub's `TestCase`."""

import json
import os
import pathlib

import keras
import numpy as np
import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def load_fixture(name):
    """Returns `(arrays, meta)` for `tests/fixtures/<name>.npz`."""
    arrays = dict(np.load(FIXTURES / f"{name}.npz", allow_pickle=False))
    meta = json.loads(str(arrays.pop("meta")))
    return arrays, meta


def nchw_to_nhwc(x):
    return np.transpose(np.asarray(x), (0, 2, 3, 1))


def to_numpy(x):
    if isinstance(x, (tuple, list)):
        return type(x)(to_numpy(v) for v in x)
    if x is None:
        return None
    return keras.ops.convert_to_numpy(x)


def max_rel_error(actual, expected):
    """`max|actual - expected| / max|expected|`: the parity measure of the fixtures README."""
    actual = np.asarray(to_numpy(actual), dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    scale = max(np.max(np.abs(expected)), 1e-30)
    return float(np.max(np.abs(actual - expected)) / scale)


class TestCase:
    """Base class for the suite; pytest collects `test_*` methods of subclasses."""

    backend = keras.config.backend()

    def assert_close_to_reference(self, actual, expected, tol=1e-4, label=""):
        err = max_rel_error(actual, expected)
        record_error(label or "unnamed", err)
        assert err <= tol, f"{label}: max abs diff / max|ref| = {err:.3g} > {tol:g}"

    def assert_all_close(self, actual, expected, atol=1e-6, rtol=1e-6):
        np.testing.assert_allclose(to_numpy(actual), to_numpy(expected), atol=atol, rtol=rtol)

    def run_layer_test(self, cls, init_kwargs, call_args, expected_output_shape, call_kwargs=None):
        """Checks a layer end to end.

        - config round trip: `cls.from_config(layer.get_config())` gives the same config,
          and the serialized config survives JSON (what `.keras` files and presets store);
        - eager call has `expected_output_shape` and agrees with `compute_output_shape`;
        - a layer rebuilt from the serialized config, with the same weights,
          gives the same outputs;
        - a symbolic call (KerasTensors) has the same output shape.
        """
        call_kwargs = call_kwargs or {}
        layer = cls(**init_kwargs)
        config = layer.get_config()
        clone = cls.from_config(config)
        assert clone.get_config() == config
        serialized = keras.saving.serialize_keras_object(layer)
        from_json = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
        assert from_json.get_config() == config

        outputs = layer(*call_args, **call_kwargs)
        got = keras.tree.map_structure(lambda t: tuple(t.shape), outputs)
        assert got == expected_output_shape, f"{got} != {expected_output_shape}"
        shapes = [tuple(np.shape(a)) for a in call_args]
        computed = layer.compute_output_shape(*shapes)
        computed = keras.tree.map_shape_structure(tuple, computed)
        assert computed == expected_output_shape, f"compute_output_shape {computed} != {expected_output_shape}"

        revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
        revived(*call_args, **call_kwargs)
        revived.set_weights(layer.get_weights())
        keras.tree.map_structure(
            lambda a, b: np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-6, atol=1e-6),
            outputs,
            revived(*call_args, **call_kwargs),
        )

        symbolic_args = [keras.KerasTensor(np.shape(a), dtype="float32") for a in call_args]
        symbolic = layer.compute_output_spec(*symbolic_args, **call_kwargs)
        sym_shapes = keras.tree.map_structure(lambda t: tuple(t.shape), symbolic)
        assert sym_shapes == expected_output_shape, f"symbolic {sym_shapes} != {expected_output_shape}"
        return layer, outputs

    def run_model_saving_test(self, model, call, tmp_path):
        """Saves `model` to `.keras`, reloads it and checks `call(model)` is unchanged."""
        expected = to_numpy(call(model))
        path = os.path.join(str(tmp_path), "model.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
        actual = to_numpy(call(restored))
        keras.tree.map_structure(lambda a, b: np.testing.assert_array_equal(a, b), actual, expected)
        return restored


_ERRORS = {}


def record_error(label, err):
    """Keeps the largest parity error per label; printed at the end of the run."""
    key = f"{keras.config.backend()}:{label}"
    _ERRORS[key] = max(err, _ERRORS.get(key, 0.0))


def recorded_errors():
    return dict(_ERRORS)


slow = pytest.mark.slow

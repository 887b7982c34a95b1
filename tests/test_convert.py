"""Official generator state-dict import: errors name the offending key and shapes."""

import numpy as np
import pytest
from test_case import TestCase
from test_case import load_fixture
from test_case import to_numpy

from keras_creps.convert import generator_from_official
from keras_creps.convert import official_generator_kwargs


def tiny_state():
    arrays, meta = load_fixture("creps_tiny")
    return {k[2:]: v for k, v in arrays.items() if k.startswith("G/")}, meta["G_kwargs"]


class TestGeneratorFromOfficial(TestCase):
    def test_weights_are_copied_unscaled(self):
        state, kwargs = tiny_state()
        g = generator_from_official(state, **kwargs)
        np.testing.assert_array_equal(to_numpy(g.mapping.dense_layers[0].kernel), state["mapping.fc0.weight"].T)
        np.testing.assert_array_equal(
            to_numpy(g.synthesis.biline_input.freqs).reshape(1, -1), state["synthesis.b4.input.freqs"])
        np.testing.assert_array_equal(to_numpy(g.mapping.w_avg), state["mapping.w_avg"])

    def test_unused_official_weights_are_optional(self):
        state, kwargs = tiny_state()
        reduced = {k: v for k, v in state.items()
                   if not k.startswith(("synthesis.b4.tores.", "synthesis.decoder_8.")) and k != "synthesis.b4.input.coords"}
        full = to_numpy(generator_from_official(state, **kwargs).synthesis.decoder_img.kernel)
        np.testing.assert_array_equal(to_numpy(generator_from_official(reduced, **kwargs).synthesis.decoder_img.kernel), full)

    def test_missing_weight(self):
        state, kwargs = tiny_state()
        del state["synthesis.b16.fc1.affine.bias"]
        with pytest.raises(ValueError, match=r"missing 'synthesis.b16.fc1.affine.bias' \(expected official shape \(32,\)\)"):
            generator_from_official(state, **kwargs)

    def test_misshaped_weight(self):
        state, kwargs = tiny_state()
        state["synthesis.b8.fc0.weight"] = np.zeros((64, 63), "float32")
        with pytest.raises(ValueError, match=r"'synthesis.b8.fc0.weight' has shape \(64, 63\), expected \(64, 64\)"):
            generator_from_official(state, **kwargs)

    def test_unknown_weight(self):
        state, kwargs = tiny_state()
        state["synthesis.b32.fc0.weight"] = np.zeros((8, 8), "float32")
        with pytest.raises(ValueError, match="synthesis.b32.fc0.weight"):
            generator_from_official(state, **kwargs)

    def test_torch_tensors_are_accepted(self):
        torch = pytest.importorskip("torch")
        state, kwargs = tiny_state()
        g = generator_from_official({k: torch.from_numpy(v) for k, v in state.items()}, **kwargs)
        np.testing.assert_array_equal(to_numpy(g.synthesis.line_blocks[1].fc0.bias), state["synthesis.b8.fc0.bias"])

    def test_kwargs_translation(self):
        _, kwargs = tiny_state()
        out = official_generator_kwargs(kwargs)
        assert out["resolution"] == 16 and out["mapping_layers"] == 2 and out["biline_channels"] == 8
        assert official_generator_kwargs(dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3))["channel_base"] == 32768
        with pytest.raises(ValueError, match="img_resolution"):
            official_generator_kwargs(dict(z_dim=8, c_dim=0, w_dim=8, img_channels=3))
        with pytest.raises(ValueError, match="magnitude_ema_beta"):
            official_generator_kwargs(dict(kwargs, magnitude_ema_beta=0.5))
        with pytest.raises(ValueError, match="activation='relu'"):
            official_generator_kwargs(dict(kwargs, mapping_kwargs=dict(num_layers=2, activation="relu")))

    @pytest.mark.parametrize("name, value", [("channel_max", 10**12), ("img_resolution", 1 << 20),
                                             ("z_dim", -1), ("w_dim", 8.0), ("c_dim", True)])
    def test_absurd_sizes_are_refused_before_building(self, name, value):
        _, kwargs = tiny_state()
        ours = {"img_resolution": "resolution"}.get(name, name)
        with pytest.raises(ValueError, match=f"kwarg {ours} must be an integer in .*Received: {ours}="):
            official_generator_kwargs(dict(kwargs, **{name: value}))

    def test_messages_about_file_values_are_bounded(self):
        _, kwargs = tiny_state()
        for bad in ({"x" * 10**6: 1}, {f"k{i}": i for i in range(10**5)}):
            with pytest.raises(ValueError, match="Unsupported official generator kwargs") as info:
                official_generator_kwargs(dict(kwargs, **bad))
            assert len(str(info.value)) < 400
        with pytest.raises(ValueError, match="architecture=") as info:
            official_generator_kwargs(dict(kwargs, architecture="y" * 10**6))
        assert len(str(info.value)) < 400

import numpy as np
import pytest
from test_case import TestCase
from test_case import to_numpy

from keras_creps.layers.biline_input import BilineInput


class TestBilineInput(TestCase):
    def _inputs(self, h=5, w=7):
        rng = np.random.default_rng(0)
        wv = rng.normal(size=(2, 16)).astype("float32")
        rows = np.tile(np.linspace(0, 1, h, dtype="float32"), (2, 1))
        cols = np.tile(np.linspace(0, 1, w, dtype="float32"), (2, 1))
        return wv, rows, cols

    def test_layer_basics(self):
        self.run_layer_test(
            BilineInput, dict(channels=6, rank=4, bandwidth=3.0), self._inputs(), ((2, 5, 4, 6), (2, 7, 4, 6))
        )

    def test_matches_reference_formula(self):
        wv, rows, cols = self._inputs()
        layer = BilineInput(channels=6, rank=4)
        row_lines, col_lines = to_numpy(layer(wv, rows, cols))
        freqs = to_numpy(layer.freqs)  # [C/2, D]
        amp = to_numpy(layer.amplitude)  # [C, 2D]
        a_k, a_b = layer.affine.get_weights()
        styles = (wv @ (a_k / np.sqrt(16)) + a_b).reshape(2, 6, 8)
        weight = amp[None] * styles  # [N, C, 2D]
        for coords, got, slots in ((rows, row_lines, slice(0, 4)), (cols, col_lines, slice(4, 8))):
            phase = coords[:, :, None, None] * freqs.T[None, None] * 2 * np.pi  # [N, L, D, C/2]
            feats = np.concatenate([np.sin(phase), np.cos(phase)], axis=-1)  # [N, L, D, C]
            ref = feats * np.transpose(weight[:, :, slots], (0, 2, 1))[:, None] / np.sqrt(6)
            np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)

    def test_coordinates_are_independent(self):
        wv, rows, cols = self._inputs(h=9)
        layer = BilineInput(channels=4, rank=2)
        full_rows, _ = to_numpy(layer(wv, rows, cols))
        part_rows, _ = to_numpy(layer(wv, rows[:, 3:6], cols))
        np.testing.assert_allclose(part_rows, full_rows[:, 3:6], rtol=1e-6, atol=1e-6)

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="channels=5"):
            BilineInput(channels=5)
        with pytest.raises(ValueError, match="bandwidth=0"):
            BilineInput(channels=4, bandwidth=0)

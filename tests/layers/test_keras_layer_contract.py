"""Every public layer against Keras' own layer checks (`run_layer_test`).

Keras runs these checks on its built-in layers: build from shapes (for a
multi-input layer, `build(<arg>_shape, ...)` with the call's argument names),
the expected weight counts, eager and symbolic calls with matching shapes,
the serialization round trip, one `fit` step through the layer and the
output dtypes under mixed precision. Keras ships them only as
`keras.src.testing.TestCase` (no public export, as of Keras 3.15), so this
test file, not the library, imports from `keras.src`.
"""

import pytest
from keras.src.testing import TestCase as KerasTestCase

from keras_creps import layers

N = 2


class LayerContractTest(KerasTestCase):
    def test_equalized_dense(self):
        self.run_layer_test(
            layers.EqualizedDense, {"units": 4, "activation": "lrelu"}, input_shape=(N, 3),
            expected_output_shape=(N, 4), expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=0)

    def test_equalized_dense_on_feature_maps(self):
        self.run_layer_test(
            layers.EqualizedDense, {"units": 5, "use_bias": False}, input_shape=(N, 4, 6, 3),
            expected_output_shape=(N, 4, 6, 5), expected_num_trainable_weights=1)

    def test_equalized_conv2d(self):
        self.run_layer_test(
            layers.EqualizedConv2D, {"filters": 4, "kernel_size": 3, "down": 2, "activation": "lrelu"},
            input_shape=(N, 8, 8, 3), expected_output_shape=(N, 4, 4, 4), expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=0)

    def test_modulated_dense(self):
        # affine kernel + bias, the modulated kernel and its bias.
        self.run_layer_test(
            layers.ModulatedDense, {"units": 4},
            input_shape={"x_shape": (N, 5, 7, 3), "w_shape": (N, 6)},
            expected_output_shape=(N, 5, 7, 4), expected_num_trainable_weights=4,
            expected_num_non_trainable_weights=0, run_training_check=False)

    def test_biline_input(self):
        # affine kernel + bias and the amplitudes; the frequencies are fixed.
        self.run_layer_test(
            layers.BilineInput, {"channels": 4, "rank": 2},
            input_shape={"w_shape": (N, 6), "rows_shape": (N, 5), "cols_shape": (N, 7)},
            expected_output_shape=((N, 5, 2, 4), (N, 7, 2, 4)), expected_num_trainable_weights=3,
            expected_num_non_trainable_weights=1, run_training_check=False)

    def test_biline_fusion(self):
        self.run_layer_test(
            layers.BilineFusion, {},
            input_shape={"row_lines_shape": (N, 5, 2, 4), "col_lines_shape": (N, 7, 2, 4)},
            expected_output_shape=(N, 5, 7, 4), expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0, run_training_check=False)

    def test_biline_fusion_pointwise(self):
        self.run_layer_test(
            layers.BilineFusion, {"pointwise": True},
            input_shape={"row_lines_shape": (N, 9, 2, 4), "col_lines_shape": (N, 9, 2, 4)},
            expected_output_shape=(N, 9, 4), run_training_check=False)

    def test_pixel_decoder(self):
        self.run_layer_test(
            layers.PixelDecoder, {"channels": 4}, input_shape=(N, 5, 7, 4),
            expected_output_shape=(N, 5, 7, 4), expected_num_trainable_weights=8,
            expected_num_non_trainable_weights=0)

    def test_synthesis_block(self):
        # fc0, fc1 and tores, four weights each.
        self.run_layer_test(
            layers.SynthesisBlock, {"channels": 4, "tores_channels": 3},
            input_shape={"x_shape": (N, 5, 2, 6), "ws_shape": (N, 3, 8)},
            expected_output_shape=((N, 5, 2, 4), (N, 5, 2, 3)), expected_num_trainable_weights=12,
            run_training_check=False)

    def test_mapping_network(self):
        # two layers of kernel + bias, the label embedding's kernel + bias; w_avg is tracked, not trained.
        self.run_layer_test(
            layers.MappingNetwork, {"z_dim": 4, "c_dim": 3, "w_dim": 8, "num_ws": 5, "num_layers": 2},
            input_shape={"z_shape": (N, 4), "c_shape": (N, 3)},
            expected_output_shape=(N, 5, 8), expected_num_trainable_weights=6,
            expected_num_non_trainable_weights=1, run_training_check=False)

    def test_blur(self):
        self.run_layer_test(
            layers.Blur, {"padding": 1, "down": 2}, input_shape=(N, 8, 8, 3),
            expected_output_shape=(N, 4, 4, 3), expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0)

    def test_minibatch_std(self):
        self.run_layer_test(
            layers.MinibatchStd, {"group_size": 2}, input_shape=(N, 4, 4, 6),
            expected_output_shape=(N, 4, 4, 7), expected_num_trainable_weights=0)

    def test_discriminator_block(self):
        # fromrgb, conv0, conv1 (kernel + bias each) and the bias-free skip.
        self.run_layer_test(
            layers.DiscriminatorBlock, {"tmp_channels": 4, "out_channels": 8, "from_rgb": True},
            input_shape=(N, 8, 8, 3), expected_output_shape=(N, 4, 4, 8), expected_num_trainable_weights=7,
            expected_num_non_trainable_weights=0)

    def test_discriminator_epilogue(self):
        # conv, fc and out, kernel + bias each.
        self.run_layer_test(
            layers.DiscriminatorEpilogue, {"channels": 8, "mbstd_group_size": 2}, input_shape=(N, 4, 4, 8),
            expected_output_shape=(N, 1), expected_num_trainable_weights=6,
            expected_num_non_trainable_weights=0)

    def test_discriminator_epilogue_with_labels(self):
        self.run_layer_test(
            layers.DiscriminatorEpilogue, {"channels": 8, "cmap_dim": 5, "mbstd_group_size": 2},
            input_shape={"inputs_shape": (N, 4, 4, 8), "cmap_shape": (N, 5)},
            expected_output_shape=(N, 1), expected_num_trainable_weights=6, run_training_check=False)


def test_every_public_layer_is_checked():
    checked = {name.removeprefix("test_").split("_on_")[0].split("_with_")[0].removesuffix("_pointwise")
               for name in dir(LayerContractTest) if name.startswith("test_")}
    snake = {"".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_").replace("2_d", "2d")
             for name in layers.__all__ if name[0].isupper()}
    assert snake <= checked, sorted(snake - checked)


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

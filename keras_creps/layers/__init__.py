"""Keras layers of CREPS; each file holds one concept."""

from keras_creps.layers.bias_act import bias_act
from keras_creps.layers.biline_fusion import BilineFusion
from keras_creps.layers.biline_input import BilineInput
from keras_creps.layers.blur import Blur
from keras_creps.layers.discriminator_block import DiscriminatorBlock
from keras_creps.layers.discriminator_epilogue import DiscriminatorEpilogue
from keras_creps.layers.equalized_conv2d import EqualizedConv2D
from keras_creps.layers.equalized_dense import EqualizedDense
from keras_creps.layers.mapping_network import MappingNetwork
from keras_creps.layers.minibatch_std import MinibatchStd
from keras_creps.layers.modulated_dense import ModulatedDense
from keras_creps.layers.pixel_decoder import PixelDecoder
from keras_creps.layers.synthesis_block import SynthesisBlock

__all__ = [
    "Blur",
    "BilineFusion",
    "BilineInput",
    "DiscriminatorBlock",
    "DiscriminatorEpilogue",
    "EqualizedConv2D",
    "EqualizedDense",
    "MappingNetwork",
    "MinibatchStd",
    "ModulatedDense",
    "PixelDecoder",
    "SynthesisBlock",
    "bias_act",
]

"""keras-creps: CREPS (Column-Row Entangled Pixel Synthesis) in Keras 3.

Public API:
    CREPSGenerator       mapping + synthesis; renders any size, crop or point set
    CREPSSynthesis       the synthesis network alone (`generator.synthesis`)
    CREPSDiscriminator   StyleGAN2 residual discriminator
    CREPSGAN             training with `fit`: losses, lazy R1, path length, EMA
    convert              official weight import (`generator_from_official`, ...)
    layers               the building blocks as Keras layers
"""

from keras_creps import layers
from keras_creps.models.creps_discriminator import CREPSDiscriminator
from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.models.creps_synthesis import CREPSSynthesis
from keras_creps.training.gan import CREPSGAN

from keras_creps.utils.version import __version__  # noqa: F401 - public

__all__ = ["CREPSDiscriminator", "CREPSGAN", "CREPSGenerator", "CREPSSynthesis", "layers"]

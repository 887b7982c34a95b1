"""keras-creps: CREPS (Column-Row Entangled Pixel Synthesis) in Keras 3."""

from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.models.creps_synthesis import CREPSSynthesis

__version__ = "0.1.0"

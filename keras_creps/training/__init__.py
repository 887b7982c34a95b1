"""Training: the GAN model, losses, regularizers and schedules."""

from keras_creps.training.gan import CREPSGAN
from keras_creps.training.gan import GANOptimizer
from keras_creps.training.losses import discriminator_logistic_loss
from keras_creps.training.losses import generator_logistic_loss
from keras_creps.training.losses import path_length_penalty
from keras_creps.training.losses import path_lengths
from keras_creps.training.losses import r1_penalty
from keras_creps.training.schedules import adjust_optimizer_for_lazy_regularization
from keras_creps.training.schedules import default_adam
from keras_creps.training.schedules import ema_beta

__all__ = [
    "CREPSGAN",
    "GANOptimizer",
    "adjust_optimizer_for_lazy_regularization",
    "default_adam",
    "discriminator_logistic_loss",
    "ema_beta",
    "generator_logistic_loss",
    "path_length_penalty",
    "path_lengths",
    "r1_penalty",
]

"""Adaptive discriminator augmentation (ADA)."""

from keras_creps.augment.adaptive import AdaptiveAugment  # noqa: F401
from keras_creps.augment.pipeline import AugmentPipeline  # noqa: F401

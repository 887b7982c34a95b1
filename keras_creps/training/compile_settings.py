"""`CompileSettings`: everything `CREPSGAN.compile` configures, in one place."""

import dataclasses
import math

import keras

from keras_creps.augment.adaptive import check_ada_settings
from keras_creps.training.gan_optimizer import check_loss_scale_settings
from keras_creps.training.gan_optimizer import optimizer_pair
from keras_creps.training.random_streams import check_seed
from keras_creps.utils.arguments import positive_int

_OPTIMIZERS = ("generator_optimizer", "discriminator_optimizer")


def _non_negative(name, value):
    if not isinstance(value, (int, float)) or value < 0 or math.isnan(value):
        raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def _positive_or_none(name, value):
    if value is not None and (not isinstance(value, (int, float)) or value <= 0):
        raise ValueError(f"`{name}` must be None or > 0. Received: {name}={value!r}")
    return None if value is None else float(value)


@dataclasses.dataclass(frozen=True)
class CompileSettings:
    """The training settings of a `CREPSGAN`: `compile`'s arguments, validated.

    Each field is the `CREPSGAN.compile` argument of the same name (see
    there for its meaning and default). `from_arguments` validates them;
    `resolve` turns them into the settings the GAN trains with (optimizers
    built and adjusted for lazy regularization, `loss_scaling` decided);
    `get_config` is what a saved training state stores, and `compile`
    called with it recreates the same settings.

    Example:
    ```python
    settings = CompileSettings.from_arguments({"r1_gamma": 1.0, ...})  # every field
    settings = settings.resolve(computes_in_float16=False)
    gan.compile(**CompileSettings.from_config(settings.get_config()))
    ```
    """

    generator_optimizer: object
    discriminator_optimizer: object
    r1_gamma: float
    pl_weight: float
    pl_decay: float
    pl_batch_shrink: int
    g_reg_interval: int
    d_reg_interval: int
    ema_kimg: object  # float or None
    ema_rampup: object  # float or None
    style_mixing_prob: float
    seed: int
    adjust_for_lazy_regularization: bool
    loss_scaling: object  # "auto" or bool
    initial_loss_scale: float
    loss_scale_growth_steps: int
    ada_target: object  # float or None
    ada_interval: int
    ada_kimg: float
    jit_compile: object  # passed to keras.Model.compile

    @classmethod
    def names(cls):
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def from_arguments(cls, arguments):
        """Validates and normalises the fields' values in `arguments` (a dict with every field)."""
        values = {name: arguments[name] for name in cls.names()}
        for name in ("r1_gamma", "pl_weight"):
            values[name] = _non_negative(name, values[name])
        pl_decay = values["pl_decay"]
        if not isinstance(pl_decay, (int, float)) or not 0 < pl_decay <= 1:
            raise ValueError(f"`pl_decay` must be in (0, 1]. Received: pl_decay={pl_decay!r}")
        values["pl_decay"] = float(pl_decay)
        for name in ("ema_kimg", "ema_rampup"):
            values[name] = _positive_or_none(name, values[name])
        mixing = values["style_mixing_prob"]
        if not isinstance(mixing, (int, float)) or not 0 <= mixing <= 1:
            raise ValueError(f"`style_mixing_prob` must be in [0, 1]. Received: style_mixing_prob={mixing!r}")
        values["style_mixing_prob"] = float(mixing)
        if values["loss_scaling"] not in ("auto", True, False):
            raise ValueError(
                f"`loss_scaling` must be 'auto', True or False. Received: loss_scaling={values['loss_scaling']!r}"
            )
        check_seed(values["seed"])
        values["ada_target"], values["ada_interval"], values["ada_kimg"] = check_ada_settings(
            values["ada_target"], values["ada_interval"], values["ada_kimg"], "ada_"
        )
        for name in ("pl_batch_shrink", "g_reg_interval", "d_reg_interval"):
            values[name] = positive_int(name, values[name])
        values["initial_loss_scale"], values["loss_scale_growth_steps"] = check_loss_scale_settings(
            values["initial_loss_scale"], values["loss_scale_growth_steps"]
        )
        return cls(**values)

    def resolve(self, computes_in_float16):
        """The settings to train with: optimizers ready, `loss_scaling` a bool.

        Missing optimizers become `default_adam()`; with
        `adjust_for_lazy_regularization`, an optimizer whose network has a
        regularizer (weight > 0) is adjusted for its interval (and the flag
        becomes False: the adjusted optimizers are the ones to save).
        `loss_scaling="auto"` becomes `computes_in_float16`.
        """
        adjust = self.adjust_for_lazy_regularization
        g_opt, d_opt = optimizer_pair(
            self.generator_optimizer,
            self.discriminator_optimizer,
            g_reg_interval=self.g_reg_interval if adjust and self.pl_weight > 0 else None,
            d_reg_interval=self.d_reg_interval if adjust and self.r1_gamma > 0 else None,
        )
        loss_scaling = computes_in_float16 if self.loss_scaling == "auto" else self.loss_scaling
        return dataclasses.replace(
            self, generator_optimizer=g_opt, discriminator_optimizer=d_opt,
            adjust_for_lazy_regularization=False, loss_scaling=bool(loss_scaling),
        )

    def get_config(self):
        """The settings as JSON-friendly `compile` arguments (optimizers serialized)."""
        # Not dataclasses.asdict: it would deep-copy the optimizers.
        config = {name: getattr(self, name) for name in self.names()}
        for name in _OPTIMIZERS:
            config[name] = keras.saving.serialize_keras_object(config[name])
        return config

    @staticmethod
    def from_config(config):
        """`compile` keyword arguments from `get_config()`'s dict (optimizers deserialized)."""
        config = dict(config)
        for name in _OPTIMIZERS:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return config

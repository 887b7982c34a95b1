"""CompileSettings: one list of `CREPSGAN.compile`'s settings, validated, resolved and serialized."""

import inspect

import keras
import pytest
from test_case import TestCase

from keras_creps import CREPSGAN
from keras_creps.training.compile_settings import CompileSettings


def compile_defaults(**overrides):
    """`CREPSGAN.compile`'s keyword arguments with their defaults (the settings only)."""
    parameters = inspect.signature(CREPSGAN.compile).parameters
    arguments = {name: p.default for name, p in parameters.items() if name in CompileSettings.names()}
    arguments.update(overrides)
    return arguments


class TestCompileSettings(TestCase):
    def test_fields_are_compiles_keyword_arguments(self):
        parameters = inspect.signature(CREPSGAN.compile).parameters
        keywords = [name for name in parameters if name not in ("self", "steps_per_execution", "kwargs")]
        assert list(CompileSettings.names()) == keywords

    def test_from_arguments_normalises(self):
        settings = CompileSettings.from_arguments(compile_defaults(r1_gamma=1, pl_weight=0, ema_kimg=5, ada_kimg=1))
        assert settings.r1_gamma == 1.0 and isinstance(settings.r1_gamma, float)
        assert isinstance(settings.pl_weight, float) and isinstance(settings.ema_kimg, float)
        assert settings.ada_kimg == 1.0 and settings.initial_loss_scale == 2.0**15
        assert settings.loss_scaling == "auto" and settings.generator_optimizer is None

    @pytest.mark.parametrize(
        "overrides, match",
        [
            ({"r1_gamma": -1.0}, "r1_gamma=-1.0"),
            ({"pl_decay": 2}, "pl_decay=2"),
            ({"ema_rampup": 0}, "ema_rampup=0"),
            ({"seed": 2**31}, "seed=2147483648"),
            ({"pl_batch_shrink": 0}, "pl_batch_shrink"),
            ({"initial_loss_scale": 0.5}, "initial_loss_scale=0.5"),
            ({"ada_interval": 0}, "ada_interval=0"),
        ],
    )
    def test_rejects_bad_values(self, overrides, match):
        with pytest.raises(ValueError, match=match):
            CompileSettings.from_arguments(compile_defaults(**overrides))

    def test_resolve_adjusts_only_regularized_networks(self):
        settings = CompileSettings.from_arguments(compile_defaults(pl_weight=0.0)).resolve(computes_in_float16=True)
        g, d = settings.generator_optimizer, settings.discriminator_optimizer
        assert float(g.learning_rate) == pytest.approx(0.002) and g.beta_2 == pytest.approx(0.99)
        assert float(d.learning_rate) == pytest.approx(0.002 * 16 / 17)
        assert settings.loss_scaling is True and settings.adjust_for_lazy_regularization is False
        assert CompileSettings.from_arguments(compile_defaults()).resolve(False).loss_scaling is False

    def test_config_round_trip_recreates_the_settings(self):
        settings = CompileSettings.from_arguments(compile_defaults(seed=3, ada_target=None)).resolve(False)
        config = settings.get_config()
        assert list(config) == list(CompileSettings.names())
        assert config["generator_optimizer"]["class_name"] == "Adam"
        arguments = CompileSettings.from_config(config)
        assert isinstance(arguments["discriminator_optimizer"], keras.optimizers.Adam)
        again = CompileSettings.from_arguments(arguments).resolve(False)
        assert again.get_config() == config

"""`CREPSGAN`: the StyleGAN2 training procedure of CREPS as a `keras.Model`.

The model: its networks, training state, settings (`compile`), inference
and saving. The training step is `GANTrainStep` (`gan_step.py`), built on
the phases (`phases.py`), the optimizer pair (`gan_optimizer.py`), the seeds
(`random_streams.py`) and the settings (`compile_settings.py`).
"""

import keras

from keras_creps.augment.adaptive import AdaptiveAugment
from keras_creps.models.creps_discriminator import CREPSDiscriminator
from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.training.compile_settings import CompileSettings
from keras_creps.training.gan_optimizer import GANOptimizer
from keras_creps.training.gan_step import LOG_NAMES
from keras_creps.training.gan_step import GANTrainStep
from keras_creps.training.random_streams import RandomStreams
from keras_creps.utils.tensorflow_unloaded import tensorflow_unloaded

__all__ = ["CREPSGAN", "GANOptimizer", "LOG_NAMES"]


def _setting(name):
    """A read-only attribute for `compile_settings.<name>`."""
    return property(lambda self: getattr(self.compile_settings, name), doc=f"`compile({name}=...)`.")


def _check_networks(generator, discriminator, generator_ema, augment):
    """Validates `CREPSGAN`'s arguments."""
    if not isinstance(generator, CREPSGenerator):
        raise ValueError(f"`generator` must be a CREPSGenerator. Received: generator={generator!r}")
    if not isinstance(discriminator, CREPSDiscriminator):
        raise ValueError(f"`discriminator` must be a CREPSDiscriminator. Received: discriminator={discriminator!r}")
    for attr in ("resolution", "img_channels", "c_dim"):
        g_value, d_value = getattr(generator, attr), getattr(discriminator, attr)
        if g_value != d_value:
            raise ValueError(
                f"The generator and the discriminator disagree on `{attr}`: "
                f"generator.{attr}={g_value}, discriminator.{attr}={d_value}"
            )
    if generator_ema is not None and (
        not isinstance(generator_ema, CREPSGenerator) or len(generator_ema.weights) != len(generator.weights)
    ):
        raise ValueError(
            "`generator_ema` must be a CREPSGenerator with the generator's config. "
            f"Received: generator_ema={generator_ema!r}"
        )
    if augment is not None and not isinstance(getattr(augment, "p", None), keras.Variable):
        raise ValueError(f"`augment` must be None or an AugmentPipeline. Received: augment={augment!r}")


@keras.saving.register_keras_serializable(package="keras_creps")
class CREPSGAN(GANTrainStep, keras.Model):
    """Trains a `CREPSGenerator` against a `CREPSDiscriminator` with `fit`.

    The StyleGAN2 procedure used by CREPS: non-saturating logistic loss,
    lazy R1 on real images (every `d_reg_interval` steps), lazy path-length
    regularization (every `g_reg_interval` steps), and an exponential moving
    average of the generator (`generator_ema`, the network to sample from).
    One `train_step` runs the phases `Gmain`, `Greg` (when due), `Dmain`,
    `Dreg` (when due), each with its own latents and its own optimizer step,
    then updates the EMA, in that order, on TensorFlow, JAX and PyTorch.

    All training state is in Keras variables: the weights of G, D and the
    EMA generator (with `w_avg`), both optimizers (through `GANOptimizer`),
    `pl_mean`, the `step` counter and `seen_images`. Random draws are a
    function of `(seed, step)`, so saving the model to `.keras` and loading
    it resumes training exactly. Logged values (losses, penalties, real and
    fake scores and their signs) are Keras metrics, averaged over the epoch
    in `fit`'s progress bar.

    With `augment` (ADA), D sees augmented images wherever it runs, as in the
    official loss: in `Gmain` (G's gradients pass through the augmentation),
    `Dmain` and `Dreg` (R1 w.r.t. the reals before augmentation), each call
    with its own seed stream. `p` adapts by default (`compile(ada_target)`,
    `keras_creps.augment.AdaptiveAugment` in `self.ada`) and is logged as
    `augment_p` (only with `augment`); it is saved with the training state.

    The step needs a static batch size (`drop_remainder=True`) and
    `steps_per_execution=1` (which phases run is decided per step).

    Args:
        generator: a `CREPSGenerator`.
        discriminator: a `CREPSDiscriminator` with the generator's
            resolution, channels and `c_dim`.
        generator_ema: optional `CREPSGenerator` with the generator's config;
            defaults to a copy of `generator`.
        augment: optional `keras_creps.augment.AugmentPipeline` (or any
            layer with a float32 scalar variable `p` and
            `call(images, seed=None)`) applied to every image D sees.
        **kwargs: passed to `keras.Model`.

    Example:
    ```python
    generator = keras_creps.CREPSGenerator(32, z_dim=64, w_dim=64, channel_base=2048,
                                           channel_max=64, mapping_layers=2)
    discriminator = keras_creps.CREPSDiscriminator(32, channel_base=2048, channel_max=64)
    gan = keras_creps.CREPSGAN(generator, discriminator)
    gan.compile(r1_gamma=1.0)
    gan.fit(dataset, epochs=1, steps_per_epoch=100)  # (images, labels) batches
    images = gan.generator_ema(z)
    # ADA: p starts at 0 and adapts so that E[sign(D(augmented reals))] = 0.6.
    gan = keras_creps.CREPSGAN(generator, discriminator, augment=AugmentPipeline("bgc"))
    ```

    References:
        - [Karras et al., 2020](https://arxiv.org/abs/2006.06676) (ADA)
    """

    def __init__(self, generator, discriminator, generator_ema=None, augment=None, **kwargs):
        super().__init__(**kwargs)
        _check_networks(generator, discriminator, generator_ema, augment)
        # D is built before the EMA copy of G: both draw initial weights
        # from the global seed, in this order since the first release.
        if not discriminator.built:
            discriminator.build()
        if generator_ema is None:
            with tensorflow_unloaded():  # Keras' serializer would import all of it
                config = generator.get_config()
            config["name"] = "generator_ema"
            generator_ema = CREPSGenerator.from_config(config)
            generator_ema.set_weights(generator.get_weights())
        generator_ema.trainable = False
        # A model deserialized with `trainable=False` builds trainable
        # variables that the layer flag alone does not switch off.
        for variable in generator_ema.variables:
            variable.trainable = False
        self.generator = generator
        self.discriminator = discriminator
        self.generator_ema = generator_ema
        self.augment = augment
        # The controller of `augment.p`; configured by `compile`.
        self.ada = None if augment is None else AdaptiveAugment(name="ada")

        self.step = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False,
            aggregation="only_first_replica", name="step",
        )
        self.seen_images = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False,
            aggregation="only_first_replica", name="seen_images",
        )
        self.pl_mean = self.add_weight(
            shape=(), dtype="float32", initializer="zeros", trainable=False,
            aggregation="mean", name="pl_mean",
        )
        self._trackers = {name: keras.metrics.Mean(name=name) for name in LOG_NAMES}
        # Set by `compile`.
        self.compile_settings = None
        self.random_streams = None
        self._active_plan = (True, True)
        self._train_variants = None
        self._host_step = 0
        self.built = True

    # === Compilation ===

    def compile(
        self,
        generator_optimizer=None,
        discriminator_optimizer=None,
        *,
        r1_gamma=10.0,
        pl_weight=2.0,
        pl_decay=0.01,
        pl_batch_shrink=2,
        g_reg_interval=4,
        d_reg_interval=16,
        ema_kimg=None,
        ema_rampup=0.05,
        style_mixing_prob=0.0,
        seed=0,
        adjust_for_lazy_regularization=True,
        loss_scaling="auto",
        initial_loss_scale=2.0**15,
        loss_scale_growth_steps=2000,
        ada_target=0.6,
        ada_interval=4,
        ada_kimg=500.0,
        jit_compile="auto",
        steps_per_execution=1,
        **kwargs,
    ):
        """Configures training; the settings are kept in `self.compile_settings`.

        Args:
            generator_optimizer, discriminator_optimizer: Keras optimizers;
                default Adam(0.002, betas (0, 0.99), eps 1e-8) as in the paper.
            r1_gamma: float >= 0. R1 weight `gamma` (0 disables R1).
            pl_weight: float >= 0. Path-length weight (0 disables it).
            pl_decay: float in (0, 1]. Decay of `pl_mean`.
            pl_batch_shrink: int. Path length uses `batch // pl_batch_shrink`.
            g_reg_interval, d_reg_interval: ints >= 1. Lazy regularization
                intervals (4 and 16); the penalties are scaled by them.
            ema_kimg: float or None. EMA half-life in kimg; defaults to
                `batch * 10 / 32` (the official setting).
            ema_rampup: float or None. EMA ramp-up (0.05; None disables it,
                as for fine-tuning).
            style_mixing_prob: float in [0, 1]. 0 for CREPS.
            seed: int. Seed of every random draw of the training step.
            adjust_for_lazy_regularization: bool. Rescale the optimizers'
                learning rate and betas by `interval / (interval + 1)`.
            loss_scaling: `"auto"`, True or False. Dynamic loss scaling
                (see `GANOptimizer`); `"auto"` turns it on when either
                network computes in float16 (the `mixed_float16` policy).
                The R1 and path-length input gradients are not scaled: at
                float16 they agree with float32 to about 1 % and 2-4 %
                (the forward pass's rounding), with or without scaling.
            initial_loss_scale, loss_scale_growth_steps: the dynamic loss
                scale's start (2**15) and how many finite updates in a row
                double it (2000); see `GANOptimizer`.
            ada_target: float in [0, 1] or None. With `augment`: the target
                mean of `sign(D(augmented reals))` that `p` adapts to (0.6);
                None keeps `p` at the pipeline's value (fixed augmentation).
            ada_interval: int >= 1. Steps between adjustments of `p` (4).
            ada_kimg: float > 0. kimg for `p` to move by 1 (500).
            jit_compile: passed to `keras.Model.compile`.
            steps_per_execution: must be 1.
        """
        arguments = dict(locals())  # first: exactly the arguments
        if kwargs.get("loss") is not None or kwargs.get("metrics") is not None:
            raise ValueError(
                "CREPSGAN computes its own losses and metrics. Received: "
                f"loss={kwargs.get('loss')!r}, metrics={kwargs.get('metrics')!r}"
            )
        kwargs.pop("loss", None)
        kwargs.pop("metrics", None)
        if steps_per_execution != 1:
            raise ValueError(
                "CREPSGAN decides per step which regularization phases run, so it needs "
                f"steps_per_execution=1. Received: steps_per_execution={steps_per_execution!r}"
            )
        settings = CompileSettings.from_arguments(arguments)
        if self.ada is not None:
            self.ada.configure(settings.ada_target, settings.ada_interval, settings.ada_kimg)
        float16 = any(net.dtype_policy.compute_dtype == "float16" for net in (self.generator, self.discriminator))
        settings = settings.resolve(computes_in_float16=float16)
        optimizer = GANOptimizer(
            settings.generator_optimizer, settings.discriminator_optimizer, loss_scaling=settings.loss_scaling,
            initial_loss_scale=settings.initial_loss_scale, loss_scale_growth_steps=settings.loss_scale_growth_steps,
        )
        optimizer.set_generator_variables(self.generator.trainable_variables)
        super().compile(optimizer=optimizer, jit_compile=jit_compile, steps_per_execution=1, **kwargs)
        # Build now so that a loaded model finds every optimizer variable.
        optimizer.build(self.trainable_variables)
        self.compile_settings = settings
        self.random_streams = RandomStreams(settings.seed)
        self._train_variants = None

    # The step's settings, readable as attributes (callbacks read the
    # regularization weights and intervals).
    r1_gamma = _setting("r1_gamma")
    pl_weight = _setting("pl_weight")
    pl_decay = _setting("pl_decay")
    pl_batch_shrink = _setting("pl_batch_shrink")
    g_reg_interval = _setting("g_reg_interval")
    d_reg_interval = _setting("d_reg_interval")
    ema_kimg = _setting("ema_kimg")
    ema_rampup = _setting("ema_rampup")
    style_mixing_prob = _setting("style_mixing_prob")
    seed = _setting("seed")

    def get_compile_config(self):
        return None if self.compile_settings is None else self.compile_settings.get_config()

    def compile_from_config(self, config):
        self.compile(**CompileSettings.from_config(config))

    @property
    def generator_optimizer(self):
        return self.optimizer.generator_optimizer

    @property
    def discriminator_optimizer(self):
        return self.optimizer.discriminator_optimizer

    @property
    def metrics(self):
        return list(self._trackers.values())

    # === Inference and serialization ===

    def call(self, z, c=None, truncation_psi=1.0):
        """Images of the EMA generator at its native resolution."""
        return self.generator_ema(z, c, truncation_psi=truncation_psi)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "generator_ema": keras.saving.serialize_keras_object(self.generator_ema),
                "augment": None if self.augment is None else keras.saving.serialize_keras_object(self.augment),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator", "generator_ema", "augment"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

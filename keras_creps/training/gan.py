"""`CREPSGAN`: the StyleGAN2 training procedure of CREPS as a `keras.Model`."""

import math

import keras
from keras import ops

from keras_creps.augment.adaptive import AdaptiveAugment
from keras_creps.augment.adaptive import check_ada_settings
from keras_creps.utils.arguments import positive_int
from keras_creps.models.creps_discriminator import CREPSDiscriminator
from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.training import gradients
from keras_creps.training.losses import discriminator_logistic_loss
from keras_creps.training.losses import generator_logistic_loss
from keras_creps.training.losses import path_length_penalty
from keras_creps.training.losses import path_lengths
from keras_creps.training.losses import r1_penalty
from keras_creps.training.schedules import adjust_optimizer_for_lazy_regularization
from keras_creps.training.schedules import default_adam
from keras_creps.training.schedules import ema_beta

# Random streams of one training step; each phase draws from its own. New
# streams go at the end, so that existing draws keep their values.
_STREAMS = (
    "g_main", "g_reg", "g_reg_noise", "d_main", "mixing", "labels", "mixing_z", "mixing_p",
    "augment_g_main", "augment_d_fake", "augment_d_real", "augment_d_reg",
)
_STREAMS_PER_STEP = 16

LOG_NAMES = (
    "g_loss",
    "d_loss",
    "g_reg",
    "d_reg",
    "pl_penalty",
    "r1_penalty",
    "scores_real",
    "scores_fake",
    "signs_real",
    "signs_fake",
)


class _DrawnSeed(keras.random.SeedGenerator):
    """A fixed seed tensor in the shape of a `SeedGenerator` (no state).

    The training step derives every random draw from `(seed, step, stream)`,
    so the random state is a function of the step counter: nothing to
    thread through JAX's stateless step, identical on every replica, and
    restored exactly by a checkpoint.
    """

    def __init__(self, value):  # No super().__init__: there is no state.
        self._value = value

    def next(self, ordered=True):
        return self._value


@keras.saving.register_keras_serializable(package="keras_creps")
class GANOptimizer(keras.optimizers.MultiOptimizer):
    """The generator's and the discriminator's optimizers as one optimizer.

    Keras trainers (JAX in particular, keras-team/keras#19358) thread only
    `model.optimizer`'s variables through a compiled step. This wrapper makes
    both optimizers' variables `model.optimizer.variables`, so they are
    carried through the step, saved with the model and restored from it.
    `CREPSGAN` applies each one to its own network in its own phases.

    Args:
        generator_optimizer: a `keras.optimizers.Optimizer` for G.
        discriminator_optimizer: a `keras.optimizers.Optimizer` for D.
        loss_scaling: bool. Keep one dynamic loss scale per network (for
            `mixed_float16`): `CREPSGAN` multiplies each phase's loss by it,
            divides the gradients by it and skips the update of a phase
            whose gradients are not finite.
        initial_loss_scale: float. Starting scale (2**15).
        loss_scale_growth_steps: int. The scale doubles after this many
            finite updates in a row and halves on a non-finite one.
        name: string.
    """

    def __init__(
        self,
        generator_optimizer,
        discriminator_optimizer,
        loss_scaling=False,
        initial_loss_scale=2.0**15,
        loss_scale_growth_steps=2000,
        name="gan_optimizer",
        **kwargs,
    ):
        for arg, opt in (
            ("generator_optimizer", generator_optimizer),
            ("discriminator_optimizer", discriminator_optimizer),
        ):
            if not isinstance(opt, keras.optimizers.Optimizer):
                raise ValueError(f"`{arg}` must be a keras Optimizer. Received: {arg}={opt!r}")
            if isinstance(opt, keras.optimizers.LossScaleOptimizer):
                raise ValueError(
                    f"`{arg}` must not be a LossScaleOptimizer: Keras' MultiOptimizer cannot hold one. "
                    "CREPSGAN scales losses itself (`compile(loss_scaling=...)`); pass the inner "
                    f"optimizer. Received: {arg}={opt!r}"
                )
        if generator_optimizer is discriminator_optimizer:
            raise ValueError("The generator and the discriminator need two different optimizer objects.")
        if not isinstance(loss_scaling, bool):
            raise ValueError(f"`loss_scaling` must be a bool. Received: loss_scaling={loss_scaling!r}")
        if not isinstance(initial_loss_scale, (int, float)) or not 1 <= initial_loss_scale <= 2.0**24:
            raise ValueError(
                f"`initial_loss_scale` must be in [1, 2**24]. Received: initial_loss_scale={initial_loss_scale!r}"
            )
        growth_steps = positive_int("loss_scale_growth_steps", loss_scale_growth_steps)
        super().__init__(self._select, name=name, **kwargs)
        self.loss_scaling = loss_scaling
        self.initial_loss_scale = float(initial_loss_scale)
        self.loss_scale_growth_steps = growth_steps
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self._inner_optimizers = [generator_optimizer, discriminator_optimizer]
        self._generator_keys = set()
        self._loss_scales = {}

    def build(self, var_list):
        super().build(var_list)
        if self.loss_scaling and not self._loss_scales:
            for which in ("generator", "discriminator"):
                scale = self.add_variable(
                    shape=(), dtype="float32", initializer=keras.initializers.Constant(self.initial_loss_scale),
                    aggregation="only_first_replica", name=f"{which}_loss_scale",
                )
                good_steps = self.add_variable(
                    shape=(), dtype="int32", initializer="zeros",
                    aggregation="only_first_replica", name=f"{which}_finite_steps",
                )
                self._loss_scales[which] = (scale, good_steps)

    def loss_scale(self, which):
        """The dynamic loss-scale variable of `"generator"` or `"discriminator"`, or None."""
        return self._loss_scales[which][0] if self._loss_scales else None

    def updated_loss_scale(self, which, finite):
        """`(variable, new value)` pairs of the loss-scale state after a step.

        The scale doubles after `loss_scale_growth_steps` finite steps in a
        row and halves (down to 1) on a step with non-finite gradients.
        """
        scale, good_steps = self._loss_scales[which]
        count = ops.where(finite, good_steps.value + 1, 0)
        grow = count >= self.loss_scale_growth_steps
        new_scale = ops.where(finite, ops.where(grow, scale.value * 2.0, scale.value), scale.value * 0.5)
        new_scale = ops.clip(new_scale, 1.0, 2.0**24)
        return [(scale, new_scale), (good_steps, ops.where(grow, 0, count))]

    def set_generator_variables(self, variables):
        """Names the variables that belong to the generator (the rest are D's)."""
        self._generator_keys = {self._var_key(v) for v in variables}

    def _select(self, variable):
        if self._var_key(variable) in self._generator_keys:
            return self.generator_optimizer
        return self.discriminator_optimizer

    def get_config(self):
        return {
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "discriminator_optimizer": keras.saving.serialize_keras_object(self.discriminator_optimizer),
            "loss_scaling": self.loss_scaling,
            "initial_loss_scale": self.initial_loss_scale,
            "loss_scale_growth_steps": self.loss_scale_growth_steps,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key], custom_objects=custom_objects)
        return cls(**config)


@keras.saving.register_keras_serializable(package="keras_creps")
class CREPSGAN(keras.Model):
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
        if not isinstance(generator, CREPSGenerator):
            raise ValueError(f"`generator` must be a CREPSGenerator. Received: generator={generator!r}")
        if not isinstance(discriminator, CREPSDiscriminator):
            raise ValueError(
                f"`discriminator` must be a CREPSDiscriminator. Received: discriminator={discriminator!r}"
            )
        for attr in ("resolution", "img_channels", "c_dim"):
            g_value, d_value = getattr(generator, attr), getattr(discriminator, attr)
            if g_value != d_value:
                raise ValueError(
                    f"The generator and the discriminator disagree on `{attr}`: "
                    f"generator.{attr}={g_value}, discriminator.{attr}={d_value}"
                )
        if not discriminator.built:
            discriminator.build()
        if generator_ema is None:
            config = generator.get_config()
            config["name"] = "generator_ema"
            generator_ema = CREPSGenerator.from_config(config)
            generator_ema.set_weights(generator.get_weights())
        elif not isinstance(generator_ema, CREPSGenerator) or len(generator_ema.weights) != len(generator.weights):
            raise ValueError(
                "`generator_ema` must be a CREPSGenerator with the generator's config. "
                f"Received: generator_ema={generator_ema!r}"
            )
        generator_ema.trainable = False
        # A model deserialized with `trainable=False` builds trainable
        # variables that the layer flag alone does not switch off.
        for variable in generator_ema.variables:
            variable.trainable = False
        if augment is not None and not isinstance(getattr(augment, "p", None), keras.Variable):
            raise ValueError(f"`augment` must be None or an AugmentPipeline. Received: augment={augment!r}")
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
        """Configures training.

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
        for name, value in (("r1_gamma", r1_gamma), ("pl_weight", pl_weight)):
            if not isinstance(value, (int, float)) or value < 0 or math.isnan(value):
                raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
        if not isinstance(pl_decay, (int, float)) or not 0 < pl_decay <= 1:
            raise ValueError(f"`pl_decay` must be in (0, 1]. Received: pl_decay={pl_decay!r}")
        if ema_kimg is not None and (not isinstance(ema_kimg, (int, float)) or ema_kimg <= 0):
            raise ValueError(f"`ema_kimg` must be None or > 0. Received: ema_kimg={ema_kimg!r}")
        if ema_rampup is not None and (not isinstance(ema_rampup, (int, float)) or ema_rampup <= 0):
            raise ValueError(f"`ema_rampup` must be None or > 0. Received: ema_rampup={ema_rampup!r}")
        if not isinstance(style_mixing_prob, (int, float)) or not 0 <= style_mixing_prob <= 1:
            raise ValueError(
                f"`style_mixing_prob` must be in [0, 1]. Received: style_mixing_prob={style_mixing_prob!r}"
            )
        if loss_scaling not in ("auto", True, False):
            raise ValueError(f"`loss_scaling` must be 'auto', True or False. Received: loss_scaling={loss_scaling!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
            raise ValueError(f"`seed` must be an int in [0, 2**31). Received: seed={seed!r}")
        ada_target, ada_interval, ada_kimg = check_ada_settings(ada_target, ada_interval, ada_kimg, "ada_")
        if self.ada is not None:
            self.ada.configure(ada_target, ada_interval, ada_kimg)
        self.r1_gamma = float(r1_gamma)
        self.pl_weight = float(pl_weight)
        self.pl_decay = float(pl_decay)
        self.pl_batch_shrink = positive_int("pl_batch_shrink", pl_batch_shrink)
        self.g_reg_interval = positive_int("g_reg_interval", g_reg_interval)
        self.d_reg_interval = positive_int("d_reg_interval", d_reg_interval)
        self.ema_kimg = None if ema_kimg is None else float(ema_kimg)
        self.ema_rampup = None if ema_rampup is None else float(ema_rampup)
        self.style_mixing_prob = float(style_mixing_prob)
        self.seed = seed

        g_opt = generator_optimizer if generator_optimizer is not None else default_adam()
        d_opt = discriminator_optimizer if discriminator_optimizer is not None else default_adam()
        if adjust_for_lazy_regularization:
            if self.pl_weight > 0:
                g_opt = adjust_optimizer_for_lazy_regularization(g_opt, self.g_reg_interval)
            if self.r1_gamma > 0:
                d_opt = adjust_optimizer_for_lazy_regularization(d_opt, self.d_reg_interval)
        if loss_scaling == "auto":
            loss_scaling = self._computes_in_float16()
        optimizer = GANOptimizer(
            g_opt, d_opt, loss_scaling=bool(loss_scaling), initial_loss_scale=initial_loss_scale,
            loss_scale_growth_steps=loss_scale_growth_steps,
        )
        optimizer.set_generator_variables(self.generator.trainable_variables)
        super().compile(optimizer=optimizer, jit_compile=jit_compile, steps_per_execution=1, **kwargs)
        # Build now so that a loaded model finds every optimizer variable.
        optimizer.build(self.trainable_variables)
        self._compile_settings = {
            "generator_optimizer": keras.saving.serialize_keras_object(g_opt),
            "discriminator_optimizer": keras.saving.serialize_keras_object(d_opt),
            "r1_gamma": self.r1_gamma,
            "pl_weight": self.pl_weight,
            "pl_decay": self.pl_decay,
            "pl_batch_shrink": self.pl_batch_shrink,
            "g_reg_interval": self.g_reg_interval,
            "d_reg_interval": self.d_reg_interval,
            "ema_kimg": self.ema_kimg,
            "ema_rampup": self.ema_rampup,
            "style_mixing_prob": self.style_mixing_prob,
            "seed": self.seed,
            # The saved optimizers are already adjusted.
            "adjust_for_lazy_regularization": False,
            "loss_scaling": bool(loss_scaling),
            "initial_loss_scale": optimizer.initial_loss_scale,
            "loss_scale_growth_steps": optimizer.loss_scale_growth_steps,
            "ada_target": ada_target,
            "ada_interval": ada_interval,
            "ada_kimg": ada_kimg,
            "jit_compile": jit_compile,
        }
        self._train_variants = None

    def get_compile_config(self):
        return dict(getattr(self, "_compile_settings", None) or {}) or None

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    @property
    def generator_optimizer(self):
        return self.optimizer.generator_optimizer

    @property
    def discriminator_optimizer(self):
        return self.optimizer.discriminator_optimizer

    @property
    def metrics(self):
        return list(self._trackers.values())

    # === Phase scheduling ===

    def phases_for_step(self, step):
        """`(run_greg, run_dreg)` for a step index (lazy regularization)."""
        run_greg = self.pl_weight > 0 and step % self.g_reg_interval == 0
        run_dreg = self.r1_gamma > 0 and step % self.d_reg_interval == 0
        return (bool(run_greg), bool(run_dreg))

    def make_train_function(self, force=False):
        # One compiled step per combination of phases, chosen on the host:
        # conditionals around optimizer updates cannot be compiled under
        # tf.distribute, and straight-line steps compile best anyway.
        if self._train_variants is None or force:
            variants = {}
            for plan in sorted({self.phases_for_step(s) for s in range(self.g_reg_interval * self.d_reg_interval)}):
                # A distinct step function per plan: JAX caches compiled
                # functions by the function object.
                self.__dict__["train_step"] = self._plan_train_step(plan)
                try:
                    super().make_train_function(force=True)
                finally:
                    del self.__dict__["train_step"]
                variants[plan] = self.train_function
            self._train_variants = variants

            def train_function(*args):
                plan = self.phases_for_step(self._host_step)
                self._active_plan = plan
                outputs = self._train_variants[plan](*args)
                self._host_step += 1
                return outputs

            self.train_function = train_function
        # `Variable.numpy()`: a mirrored tf.Variable has no `__array__`.
        self._host_step = int(self.step.numpy())
        return self.train_function

    def _plan_train_step(self, plan):
        def train_step(*args):
            self._active_plan = plan
            return gradients.get().train_step(self, *args)

        return train_step

    def train_step(self, *args):
        return gradients.get().train_step(self, *args)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras' TensorFlow trainer reduces a distributed input batch to build
        # the model symbolically; under MultiWorkerMirroredStrategy that
        # reduction fails (keras-team/keras#20585). Nothing is left to build:
        # the networks are built in __init__ and the optimizer in compile.
        if all(layer.built for layer in self._flatten_layers()) and self.optimizer.built:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    # === The step ===

    def _seed(self, stream):
        index = ops.cast(self.step, "int32") * _STREAMS_PER_STEP + _STREAMS.index(stream)
        from keras.src.backend import random_seed_dtype

        dtype = random_seed_dtype()
        value = ops.stack([ops.convert_to_tensor(self.seed, "int32"), index])
        return _DrawnSeed(ops.cast(value, dtype))

    def _unpack(self, data):
        if isinstance(data, dict):
            images, labels = data["images"], data.get("labels")
        elif isinstance(data, (tuple, list)):
            images = data[0]
            labels = data[1] if len(data) > 1 else None
        else:
            images, labels = data, None
        if images.shape[0] is None:
            raise ValueError(
                "CREPSGAN needs a static batch size; batch the dataset with drop_remainder=True. "
                f"Received: images.shape={tuple(images.shape)}"
            )
        expected = (self.generator.resolution, self.generator.resolution, self.generator.img_channels)
        if tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"CREPSGAN expects images [N, {expected[0]}, {expected[1]}, {expected[2]}] "
                f"(NHWC, in [-1, 1]). Received: images.shape={tuple(images.shape)}"
            )
        images = ops.cast(images, "float32")
        c_dim = self.generator.c_dim
        if c_dim == 0:
            return images, None
        if labels is None or labels.shape[-1] != c_dim:
            raise ValueError(
                f"The generator is conditional (c_dim={c_dim}); the data must yield "
                f"(images, labels [N, {c_dim}]). Received: labels="
                f"{None if labels is None else tuple(labels.shape)}"
            )
        return images, ops.cast(labels, "float32")

    def _map(self, z, c, stream_suffix=""):
        """Mapping with optional style mixing (one cutoff per batch)."""
        ws = self.generator.mapping(z, c)  # [N, num_ws, w_dim]
        if self.style_mixing_prob <= 0:
            return ws, ws
        num_ws = self.generator.num_ws
        z2 = keras.random.normal(ops.shape(z), seed=self._seed("mixing_z"))
        ws2 = self.generator.mapping(z2, c)
        cutoff = keras.random.randint((), 1, num_ws, seed=self._seed("mixing"))
        mix = keras.random.uniform((), seed=self._seed("mixing_p")) < self.style_mixing_prob
        cutoff = ops.where(mix, cutoff, num_ws)
        keep = ops.reshape(ops.arange(num_ws) < cutoff, (1, num_ws, 1))
        return ops.where(keep, ws, ws2), ws

    def _computes_in_float16(self, network=None):
        networks = [network] if network is not None else [self.generator, self.discriminator]
        return any(net.dtype_policy.compute_dtype == "float16" for net in networks)

    def _update(self, which, loss_fn, variables, state):
        """Differentiates the closure `loss_fn` and applies one optimizer step.

        `which` names the network ("generator" or "discriminator") whose
        optimizer (and loss scale) the phase uses. Returns the closure's
        auxiliary outputs.
        """
        backend = gradients.get()
        optimizer = getattr(self, f"{which}_optimizer")
        scale = self.optimizer.loss_scale(which)
        if scale is None:
            _, aux, grads = backend.value_and_grad(loss_fn, variables, state)
            # As in the official loop: non-finite entries become finite.
            grads = [ops.nan_to_num(g, nan=0.0, posinf=1e5, neginf=-1e5) for g in grads]
            optimizer.apply(grads, variables)
            return aux

        # Dynamic loss scaling. A step with non-finite gradients is undone
        # rather than skipped: an update inside a conditional cannot compile
        # under tf.distribute, and a select compiles everywhere.
        scale = ops.copy(scale.value)

        def scaled_loss():
            loss, aux = loss_fn()
            return loss * scale, aux

        _, aux, grads = backend.value_and_grad(scaled_loss, variables, state)
        finite = ops.all(ops.stack([ops.all(ops.isfinite(g)) for g in grads]))
        # All replicas take the same decision.
        finite = backend.replica_mean(ops.cast(finite, "float32")) >= 1.0
        grads = [ops.where(finite, g / scale, ops.zeros_like(g)) for g in grads]
        kept = list(variables) + list(optimizer.variables)
        before = [ops.copy(v.value) for v in kept]
        optimizer.apply(grads, variables)
        backend.assign(
            [(v, ops.where(finite, v.value, old)) for v, old in zip(kept, before)]
            + self.optimizer.updated_loss_scale(which, finite)
        )
        return aux

    def _track(self, name, values):
        self._trackers[name].update_state(ops.cast(values, "float32"))

    def generic_train_step(self, data):
        """One iteration; backend independent (see `gradients` for the rest)."""
        backend = gradients.get()
        real, real_c = self._unpack(data)
        run_greg, run_dreg = self._active_plan
        local = real.shape[0]
        replicas = backend.num_replicas()
        batch = local * replicas
        z_dim = self.generator.z_dim
        g_vars = list(self.generator_optimizer._trainable_variables)
        d_vars = list(self.discriminator_optimizer._trainable_variables)
        # Every variable the phase closures read or write (JAX maps them into
        # the differentiated function's scope).
        state = (
            self.generator.variables
            + self.discriminator.variables
            + [self.pl_mean, self.step, self.seen_images]
            + (self.augment.variables if self.augment is not None else [])
        )

        gen_c = None
        if real_c is not None:
            order = keras.random.shuffle(ops.arange(local), seed=self._seed("labels"))
            gen_c = ops.take(real_c, order, axis=0)

        # Gmain: maximise D(G(z)).
        z = backend.replica_slice(keras.random.normal((batch, z_dim), seed=self._seed("g_main")))
        augment_fake = self._augmenter("augment_g_main")

        def g_main():
            ws, _ = self._map(z, gen_c)
            images = self.generator.synthesis(ws, self._grid, self._grid)
            logits = ops.cast(self.discriminator(augment_fake(images), gen_c), "float32")
            losses = generator_logistic_loss(logits)
            return ops.sum(losses) / batch, (losses, logits)

        g_losses, fake_logits = self._update("generator", g_main, g_vars, state)
        self._track("g_loss", g_losses)
        self._track("scores_fake", fake_logits)
        self._track("signs_fake", ops.sign(fake_logits))

        # Greg: path-length regularization, lazily.
        if run_greg:
            pl_batch = batch // self.pl_batch_shrink
            if pl_batch < replicas or pl_batch % replicas:
                raise ValueError(
                    f"Path length runs on batch // pl_batch_shrink = {pl_batch} images, which must be a "
                    f"positive multiple of the {replicas} replicas. Received: batch={batch}, "
                    f"pl_batch_shrink={self.pl_batch_shrink}"
                )
            res = self.generator.resolution
            channels = self.generator.img_channels
            z_pl = backend.replica_slice(keras.random.normal((pl_batch, z_dim), seed=self._seed("g_reg")))
            noise = keras.random.normal((pl_batch, res, res, channels), seed=self._seed("g_reg_noise"))
            noise = backend.replica_slice(noise / float(res))  # / sqrt(H * W)
            c_pl = None if gen_c is None else gen_c[: pl_batch // replicas]
            weight = self.pl_weight * self.g_reg_interval

            def g_reg():
                ws, _ = self._map(z_pl, c_pl)
                lengths = path_lengths(self.generator, ws, noise, self._grid, self._grid)
                penalty, new_mean = path_length_penalty(lengths, self.pl_mean.value, self.pl_decay)
                self.pl_mean.assign(ops.stop_gradient(new_mean))
                return ops.sum(penalty) * weight / pl_batch, penalty

            pl_penalty = self._update("generator", g_reg, g_vars, state)
            self._track("pl_penalty", pl_penalty)
            self._track("g_reg", pl_penalty * self.pl_weight)

        # Dmain: minimise D(G(z)), maximise D(x); updates w_avg.
        z = backend.replica_slice(keras.random.normal((batch, z_dim), seed=self._seed("d_main")))
        ws, ws_unmixed = self._map(z, gen_c)
        if self.generator.mapping.w_avg is not None:
            self.generator.mapping.update_w_avg(ws_unmixed)
        fake = ops.stop_gradient(self.generator.synthesis(ws, self._grid, self._grid))
        augment_fake, augment_real = self._augmenter("augment_d_fake"), self._augmenter("augment_d_real")

        def d_main():
            fake_logits = ops.cast(self.discriminator(augment_fake(fake), gen_c), "float32")
            real_logits = ops.cast(self.discriminator(augment_real(real), real_c), "float32")
            fake_term, real_term = discriminator_logistic_loss(real_logits, fake_logits)
            loss = (ops.sum(fake_term) + ops.sum(real_term)) / batch
            return loss, (fake_term + real_term, real_logits, fake_logits)

        d_losses, real_logits, fake_logits = self._update("discriminator", d_main, d_vars, state)
        self._track("d_loss", d_losses)
        self._track("scores_real", real_logits)
        self._track("signs_real", ops.sign(real_logits))
        self._track("scores_fake", fake_logits)
        self._track("signs_fake", ops.sign(fake_logits))

        # Dreg: R1, lazily; w.r.t. the reals before augmentation.
        real_signs = [ops.sign(real_logits)]
        if run_dreg:
            weight = self.r1_gamma / 2 * self.d_reg_interval
            augment_real = self._augmenter("augment_d_reg")

            def d_reg():
                penalty, logits = r1_penalty(lambda x, c: self.discriminator(augment_real(x), c), real, real_c)
                return ops.sum(penalty) * weight / batch, (penalty, ops.cast(logits, "float32"))

            r1, r1_logits = self._update("discriminator", d_reg, d_vars, state)
            self._track("r1_penalty", r1)
            self._track("d_reg", r1 * (self.r1_gamma / 2))
            real_signs.append(ops.sign(r1_logits))

        # ADA: the official statistic also counts Dreg's reals.
        if self.augment is not None and self.ada.adaptive:
            sign_sum = backend.replica_mean(sum(ops.sum(s) for s in real_signs)) * replicas
            sign_count = sum(math.prod(s.shape) for s in real_signs) * replicas
            backend.assign(self.ada.updates(self.augment.p, sign_sum, sign_count, self.step.value, batch))

        # EMA of the generator (buffers such as w_avg are copied).
        ema_kimg = self.ema_kimg if self.ema_kimg is not None else batch * 10 / 32
        beta = ema_beta(batch, self.seen_images.value, ema_kimg, self.ema_rampup)
        trainable = {id(v) for v in self.generator.trainable_variables}
        updates = []
        for ema, source in zip(self.generator_ema.variables, self.generator.variables):
            if id(source) in trainable:
                updates.append((ema, source.value + beta * (ema.value - source.value)))
            else:
                updates.append((ema, source.value))
        backend.assign(updates)

        self.step.assign_add(1)
        self.seen_images.assign_add(batch)
        self.optimizer.iterations.assign_add(1)
        logs = {name: tracker.result() for name, tracker in self._trackers.items()}
        logs["pl_mean"] = self.pl_mean.value
        if self.optimizer.loss_scaling:
            logs["g_loss_scale"] = self.optimizer.loss_scale("generator").value
            logs["d_loss_scale"] = self.optimizer.loss_scale("discriminator").value
        if self.augment is not None:
            logs["augment_p"] = self.augment.p.value
        logs["kimg"] = ops.cast(self.seen_images.value, "float32") / 1000.0
        return logs

    def _augmenter(self, stream):
        """`images -> augmented images` with this call's seed; the identity without `augment`."""
        if self.augment is None:
            return lambda images: images
        seed, backend = self._seed(stream), gradients.get()
        if backend.num_replicas() > 1:
            # The pipeline draws per image of the local batch: one seed per replica
            # keeps the replicas' augmentations independent.
            replica = backend.replica_slice(ops.arange(backend.num_replicas()))[0]
            offset = ops.cast(ops.stack([replica * 1000003, ops.zeros_like(replica)]), seed.next().dtype)
            seed = _DrawnSeed(seed.next() + offset)
        return lambda images: self.augment(images, seed=seed)

    @property
    def _grid(self):
        from keras_creps.models.creps_generator import native_coords

        return native_coords(self.generator.resolution)

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

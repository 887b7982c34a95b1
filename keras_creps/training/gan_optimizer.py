"""The optimizer pair of the GAN: one optimizer per network, lazy regularization, loss scaling."""

import keras
from keras import ops

from keras_creps.training import gradients
from keras_creps.utils.arguments import positive_int

NETWORKS = ("generator", "discriminator")


def default_adam(learning_rate=0.002):
    """Adam with the StyleGAN2/CREPS settings: betas (0, 0.99), eps 1e-8."""
    return keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.99, epsilon=1e-8)


def lazy_regularization_ratio(interval):
    """`interval / (interval + 1)`, or 1 without lazy regularization."""
    if interval is None:
        return 1.0
    return interval / (interval + 1)


def adjust_optimizer_for_lazy_regularization(optimizer, interval):
    """A copy of an Adam-like optimizer with `lr * r` and `beta_i ** r`.

    With lazy regularization the optimizer runs `interval + 1` updates per
    `interval` minibatches, so the official code rescales the learning rate
    and the moment decays by `r = interval / (interval + 1)`.

    Example:
    ```python
    g_opt = adjust_optimizer_for_lazy_regularization(
        keras.optimizers.Adam(0.002, beta_1=0.0, beta_2=0.99, epsilon=1e-8), 4)
    # g_opt.learning_rate == 0.0016, beta_2 == 0.99 ** 0.8
    ```
    """
    ratio = lazy_regularization_ratio(interval)
    config = optimizer.get_config()
    lr = config.get("learning_rate")
    if not isinstance(lr, (int, float)):
        raise ValueError(
            "Lazy regularization rescales the learning rate, which needs a constant "
            f"learning rate. Received: learning_rate={lr!r}; pass "
            "`adjust_for_lazy_regularization=False` and set it yourself."
        )
    config["learning_rate"] = lr * ratio
    for key in ("beta_1", "beta_2"):
        if key in config and isinstance(config[key], (int, float)):
            config[key] = config[key] ** ratio
    return optimizer.__class__.from_config(config)


def check_loss_scale_settings(initial_loss_scale, loss_scale_growth_steps):
    """Returns `(float initial scale, int growth steps)` or raises `ValueError`."""
    if not isinstance(initial_loss_scale, (int, float)) or not 1 <= initial_loss_scale <= 2.0**24:
        raise ValueError(
            f"`initial_loss_scale` must be in [1, 2**24]. Received: initial_loss_scale={initial_loss_scale!r}"
        )
    return float(initial_loss_scale), positive_int("loss_scale_growth_steps", loss_scale_growth_steps)


class NetworkOptimizerMap(keras.optimizers.OptimizerMap):
    """G's optimizer for the generator's variables, D's for all others.

    Variables are told apart by identity (`set_generator_variables`), not
    by path: a network loaded from a preset may have any name.
    """

    def __init__(self, generator_optimizer, discriminator_optimizer):
        super().__init__(discriminator_optimizer, {"generator": generator_optimizer})
        self.generator_ids = frozenset()
        self.partition = {name: [] for name in NETWORKS}

    def __call__(self, variable):
        return self["generator"] if id(variable) in self.generator_ids else self.default_optimizer

    def split(self, variables):
        """Records which of `variables` each network's optimizer updates (in order)."""
        self.partition = {
            "generator": [v for v in variables if id(v) in self.generator_ids],
            "discriminator": [v for v in variables if id(v) not in self.generator_ids],
        }


@keras.saving.register_keras_serializable(package="keras_creps")
class GANOptimizer(keras.optimizers.MultiOptimizer):
    """The generator's and the discriminator's optimizers as one optimizer.

    Keras trainers (JAX in particular, keras-team/keras#19358) thread only
    `model.optimizer`'s variables through a compiled step. This wrapper makes
    both optimizers' variables `model.optimizer.variables`, so they are
    carried through the step, saved with the model and restored from it.
    `CREPSGAN` applies each one to its own network in its own phases
    (`update`).

    Args:
        generator_optimizer: a `keras.optimizers.Optimizer` for G.
        discriminator_optimizer: a `keras.optimizers.Optimizer` for D.
        loss_scaling: bool. Keep one dynamic loss scale per network (for
            `mixed_float16`): `update` multiplies each phase's loss by it,
            divides the gradients by it and undoes the update of a phase
            whose gradients are not finite.
        initial_loss_scale: float. Starting scale (2**15).
        loss_scale_growth_steps: int. The scale doubles after this many
            finite updates in a row and halves on a non-finite one.
        name: string.

    Example:
    ```python
    optimizer = GANOptimizer(default_adam(), default_adam())
    optimizer.set_generator_variables(generator.trainable_variables)
    optimizer.build(gan.trainable_variables)
    aux = optimizer.update("generator", g_loss_fn, state_variables)
    ```
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
        initial_loss_scale, growth_steps = check_loss_scale_settings(initial_loss_scale, loss_scale_growth_steps)
        factors = [opt.loss_scale_factor for opt in (generator_optimizer, discriminator_optimizer)]
        networks = NetworkOptimizerMap(generator_optimizer, discriminator_optimizer)
        super().__init__(networks, name=name, **kwargs)
        self._networks = networks
        # MultiOptimizer hands its own loss_scale_factor to the optimizers it
        # holds; the step applies them directly, so they keep their own.
        generator_optimizer.loss_scale_factor, discriminator_optimizer.loss_scale_factor = factors
        self.loss_scaling = loss_scaling
        self.initial_loss_scale = initial_loss_scale
        self.loss_scale_growth_steps = growth_steps
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self._loss_scales = {}

    def build(self, var_list):
        if not self.built:
            self._networks.split(var_list)
        super().build(var_list)
        if self.loss_scaling and not self._loss_scales:
            for which in NETWORKS:
                scale = self.add_variable(
                    shape=(), dtype="float32", initializer=keras.initializers.Constant(self.initial_loss_scale),
                    aggregation="only_first_replica", name=f"{which}_loss_scale",
                )
                good_steps = self.add_variable(
                    shape=(), dtype="int32", initializer="zeros",
                    aggregation="only_first_replica", name=f"{which}_finite_steps",
                )
                self._loss_scales[which] = (scale, good_steps)

    def set_generator_variables(self, variables):
        """Names the variables that belong to the generator (the rest are D's)."""
        self._networks.generator_ids = frozenset(id(v) for v in variables)

    def network_variables(self, which):
        """The trainable variables that `which` ("generator" or "discriminator") optimizer updates."""
        return list(self._networks.partition[which])

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

    def update(self, which, loss_fn, state_variables):
        """Differentiates `loss_fn` and applies one step of `which` network's optimizer.

        Args:
            which: `"generator"` or `"discriminator"`.
            loss_fn: `() -> (loss, aux)`, reading the networks' variables.
            state_variables: every variable `loss_fn` reads (JAX maps them
                into the differentiated function's scope).

        Returns:
            `aux`.
        """
        backend = gradients.get()
        optimizer = getattr(self, f"{which}_optimizer")
        variables = self.network_variables(which)
        scale = self.loss_scale(which)
        if scale is None:
            _, aux, grads = backend.value_and_grad(loss_fn, variables, state_variables)
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

        _, aux, grads = backend.value_and_grad(scaled_loss, variables, state_variables)
        finite = ops.all(ops.stack([ops.all(ops.isfinite(g)) for g in grads]))
        # All replicas take the same decision.
        finite = backend.replica_mean(ops.cast(finite, "float32")) >= 1.0
        grads = [ops.where(finite, g / scale, ops.zeros_like(g)) for g in grads]
        kept = list(variables) + list(optimizer.variables)
        before = [ops.copy(v.value) for v in kept]
        optimizer.apply(grads, variables)
        backend.assign(
            [(v, ops.where(finite, v.value, old)) for v, old in zip(kept, before)]
            + self.updated_loss_scale(which, finite)
        )
        return aux

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


def optimizer_pair(generator_optimizer, discriminator_optimizer, g_reg_interval=None, d_reg_interval=None):
    """The two optimizers for `GANOptimizer`: defaults filled in, adjusted for lazy regularization.

    Args:
        generator_optimizer, discriminator_optimizer: Keras optimizers or
            None (`default_adam()`).
        g_reg_interval, d_reg_interval: int or None. The interval of the
            network's lazy regularizer; None leaves its optimizer as it is.

    Returns:
        `(generator optimizer, discriminator optimizer)`.
    """
    pair = []
    for optimizer, interval in ((generator_optimizer, g_reg_interval), (discriminator_optimizer, d_reg_interval)):
        optimizer = default_adam() if optimizer is None else optimizer
        if interval is not None:
            optimizer = adjust_optimizer_for_lazy_regularization(optimizer, interval)
        pair.append(optimizer)
    return tuple(pair)

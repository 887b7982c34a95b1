"""The training step of `CREPSGAN`: the four phases composed into Keras' `train_step`.

`GANTrainStep` is the half of `CREPSGAN` that Keras' trainers call, kept
apart from the model's construction, settings and saving (`gan.py`) as
Keras keeps its `Trainer` apart from `Layer`: which phases a step runs
(lazy regularization), one compiled step per combination of phases, and
the step itself, written once for every backend (`gradients.get()` holds
what differs). The phases' maths is in `phases`, the updates in
`GANOptimizer.update`, the seeds in `RandomStreams`.
"""

import math
import typing

import keras
from keras import ops

from keras_creps.training import gradients
from keras_creps.training import phases
from keras_creps.training.losses import path_length_noise
from keras_creps.training.schedules import ema_beta

# The step's logged values that are averaged over an epoch (Keras metrics).
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


class _StepInputs(typing.NamedTuple):
    """What every phase of one step shares."""

    real: object  # [local N, R, R, C] float32
    real_c: object  # [local N, c_dim] or None
    gen_c: object  # labels for G's images: the reals' labels, shuffled; or None
    batch: int  # global batch size
    replicas: int
    mixing: object  # phases.StyleMixing or None
    state: list  # every variable the phases read or write


class GANTrainStep:
    """Keras' training-step interface for `CREPSGAN` (a mixin; see the module docstring).

    Expects of the model: `generator`, `discriminator`, `generator_ema`,
    `augment`, `ada`, the variables `step`, `seen_images` and `pl_mean`,
    `optimizer` (a `GANOptimizer`), `random_streams`, the compile settings
    as attributes and `_trackers` (a Keras `Mean` per name in `LOG_NAMES`).
    """

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
                # Keras compiles `self.train_step` and takes no static
                # argument for it, and its JAX trainer jits the bound method,
                # which JAX caches by function: a method that reads the plan
                # from `self` would reuse the first variant's trace. So each
                # variant is compiled from its own function object, installed
                # on the instance for the duration of Keras' compilation.
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
        # An override of a private Keras trainer method (and a call of the
        # private `_flatten_layers`), as Keras has no public hook here: its
        # TensorFlow trainer reduces a distributed input batch to build the
        # model symbolically, and under MultiWorkerMirroredStrategy that
        # reduction fails (keras-team/keras#20585). Nothing is left to build:
        # the networks are built in __init__ and the optimizer in compile.
        if all(layer.built for layer in self._flatten_layers()) and self.optimizer.built:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    # === The step ===

    def generic_train_step(self, data):
        """One iteration: Gmain, Greg (when due), Dmain, Dreg (when due), ADA, EMA.

        Backend independent; `gradients.get().train_step` calls it with the
        backend's conventions. Which regularization phases run is fixed per
        compiled variant of the step (`make_train_function`).
        """
        run_greg, run_dreg = self._active_plan
        inputs = self._step_inputs(data)
        self._g_main(inputs)
        if run_greg:
            self._g_reg(inputs)
        real_signs = [ops.sign(self._d_main(inputs))]
        if run_dreg:
            real_signs.append(ops.sign(self._d_reg(inputs)))
        self._adapt_augmentation(real_signs, inputs)
        self._update_ema(inputs.batch)
        self.step.assign_add(1)
        self.seen_images.assign_add(inputs.batch)
        self.optimizer.iterations.assign_add(1)
        return self._logs()

    def _step_inputs(self, data):
        backend = gradients.get()
        real, real_c = self._unpack(data)
        replicas = backend.num_replicas()
        gen_c = None
        if real_c is not None:
            order = keras.random.shuffle(ops.arange(real.shape[0]), seed=self._seed("labels"))
            gen_c = ops.take(real_c, order, axis=0)
        mixing = None
        if self.style_mixing_prob > 0:
            mixing = phases.StyleMixing(
                self.style_mixing_prob, self._seed("mixing_z"), self._seed("mixing"), self._seed("mixing_p")
            )
        # Every variable the phases read or write (JAX maps them into the
        # differentiated function's scope).
        state = (
            self.generator.variables
            + self.discriminator.variables
            + [self.pl_mean, self.step, self.seen_images]
            + (self.augment.variables if self.augment is not None else [])
        )
        return _StepInputs(real, real_c, gen_c, real.shape[0] * replicas, replicas, mixing, state)

    def _g_main(self, inputs):
        """Gmain: G learns to raise D's scores of its images."""
        z = self._latents("g_main", inputs.batch)
        augment = self._augmenter("augment_g_main")
        losses, logits = self.optimizer.update("generator", lambda: phases.g_main(
            self.generator, self.discriminator, z, inputs.gen_c, inputs.batch, inputs.mixing, augment
        ), inputs.state)
        self._track(g_loss=losses, scores_fake=logits, signs_fake=ops.sign(logits))

    def _g_reg(self, inputs):
        """Greg: the path-length penalty on `batch // pl_batch_shrink` latents."""
        pl_batch, replicas = inputs.batch // self.pl_batch_shrink, inputs.replicas
        if pl_batch < replicas or pl_batch % replicas:
            raise ValueError(
                f"Path length runs on batch // pl_batch_shrink = {pl_batch} images, which must be a "
                f"positive multiple of the {replicas} replicas. Received: batch={inputs.batch}, "
                f"pl_batch_shrink={self.pl_batch_shrink}"
            )
        res, channels = self.generator.resolution, self.generator.img_channels
        z = self._latents("g_reg", pl_batch)
        noise = gradients.get().replica_slice(
            path_length_noise((pl_batch, res, res, channels), self._seed("g_reg_noise"))
        )
        c = None if inputs.gen_c is None else inputs.gen_c[: pl_batch // replicas]
        weight = self.pl_weight * self.g_reg_interval
        pl_mean = self.pl_mean.value
        penalty, new_mean = self.optimizer.update("generator", lambda: phases.g_reg(
            self.generator, z, c, noise, pl_mean, self.pl_decay, weight, pl_batch, inputs.mixing
        ), inputs.state)
        self.pl_mean.assign(new_mean)
        self._track(pl_penalty=penalty, g_reg=penalty * self.pl_weight)

    def _d_main(self, inputs):
        """Dmain: D learns to score reals above G's images; returns the real logits."""
        z = self._latents("d_main", inputs.batch)
        fake = phases.generate_for_d_main(self.generator, z, inputs.gen_c, inputs.mixing)
        augment_fake, augment_real = self._augmenter("augment_d_fake"), self._augmenter("augment_d_real")
        losses, real_logits, fake_logits = self.optimizer.update("discriminator", lambda: phases.d_main(
            self.discriminator, fake, inputs.gen_c, inputs.real, inputs.real_c, inputs.batch, augment_fake,
            augment_real,
        ), inputs.state)
        self._track(d_loss=losses, scores_real=real_logits, signs_real=ops.sign(real_logits),
                    scores_fake=fake_logits, signs_fake=ops.sign(fake_logits))
        return real_logits

    def _d_reg(self, inputs):
        """Dreg: R1 on the reals (before augmentation); returns D's logits of them."""
        weight = self.r1_gamma / 2 * self.d_reg_interval
        augment = self._augmenter("augment_d_reg")
        penalty, logits = self.optimizer.update("discriminator", lambda: phases.d_reg(
            self.discriminator, inputs.real, inputs.real_c, weight, inputs.batch, augment
        ), inputs.state)
        self._track(r1_penalty=penalty, d_reg=penalty * (self.r1_gamma / 2))
        return logits

    def _adapt_augmentation(self, real_signs, inputs):
        """ADA: moves `p` by the signs of D's real scores (Dmain's and Dreg's, as the official code)."""
        if self.augment is None or not self.ada.adaptive:
            return
        backend, replicas = gradients.get(), inputs.replicas
        sign_sum = backend.replica_mean(sum(ops.sum(s) for s in real_signs)) * replicas
        sign_count = sum(math.prod(s.shape) for s in real_signs) * replicas
        backend.assign(self.ada.updates(self.augment.p, sign_sum, sign_count, self.step.value, inputs.batch))

    def _update_ema(self, batch):
        """EMA of the generator's trainable variables; its other variables (`w_avg`) are copied."""
        ema_kimg = self.ema_kimg if self.ema_kimg is not None else batch * 10 / 32
        beta = ema_beta(batch, self.seen_images.value, ema_kimg, self.ema_rampup)
        trainable = {id(v) for v in self.generator.trainable_variables}
        updates = []
        for ema, source in zip(self.generator_ema.variables, self.generator.variables):
            if id(source) in trainable:
                updates.append((ema, source.value + beta * (ema.value - source.value)))
            else:
                updates.append((ema, source.value))
        gradients.get().assign(updates)

    def _logs(self):
        logs = {name: tracker.result() for name, tracker in self._trackers.items()}
        logs["pl_mean"] = self.pl_mean.value
        if self.optimizer.loss_scaling:
            logs["g_loss_scale"] = self.optimizer.loss_scale("generator").value
            logs["d_loss_scale"] = self.optimizer.loss_scale("discriminator").value
        if self.augment is not None:
            logs["augment_p"] = self.augment.p.value
        logs["kimg"] = ops.cast(self.seen_images.value, "float32") / 1000.0
        return logs

    def _track(self, **values):
        for name, value in values.items():
            self._trackers[name].update_state(ops.cast(value, "float32"))

    def _seed(self, stream):
        return self.random_streams.seed(stream, self.step)

    def _latents(self, stream, count):
        """This replica's share of `count` latents drawn from `stream`."""
        z = keras.random.normal((count, self.generator.z_dim), seed=self._seed(stream))
        return gradients.get().replica_slice(z)

    def _augmenter(self, stream):
        """`images -> augmented images` with this call's seed; the identity without `augment`."""
        if self.augment is None:
            return lambda images: images
        seed, backend = self._seed(stream), gradients.get()
        if backend.num_replicas() > 1:
            # The pipeline draws per image of the local batch: one seed per replica
            # keeps the replicas' augmentations independent.
            replica = backend.replica_slice(ops.arange(backend.num_replicas()))[0]
            seed = self.random_streams.replica_seed(seed, replica)
        return lambda images: self.augment(images, seed=seed)

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

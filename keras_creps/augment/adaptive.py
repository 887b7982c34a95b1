"""The adaptive augmentation probability of ADA (Karras et al., 2020).

ADA measures how confidently the discriminator recognises the (augmented)
training images, `r_t = E[sign(D(x_real))]`, and moves the augmentation
probability `p` towards keeping `r_t` at a target. `AdaptiveAugment` holds
the rule's settings and its running statistics in Keras variables, so that a
model that owns it carries them through JAX's stateless step and saves and
restores them with a `.keras` file.
"""

import math

import keras
from keras import ops


def check_ada_settings(target, interval, kimg, prefix=""):
    """Validates ADA settings; `prefix` is prepended to the names in errors.

    Returns:
        `(target, interval, kimg)` as `(float or None, int, float)`.
    """
    if target is not None:
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 <= target <= 1:
            raise ValueError(f"`{prefix}target` must be None or in [0, 1]. Received: {prefix}target={target!r}")
        target = float(target)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValueError(f"`{prefix}interval` must be an int >= 1. Received: {prefix}interval={interval!r}")
    if (
        isinstance(kimg, bool)
        or not isinstance(kimg, (int, float))
        or not math.isfinite(kimg)
        or kimg <= 0
    ):
        raise ValueError(f"`{prefix}kimg` must be a finite number > 0. Received: {prefix}kimg={kimg!r}")
    return target, interval, float(kimg)


@keras.saving.register_keras_serializable(package="keras_creps")
class AdaptiveAugment(keras.layers.Layer):
    """Adjusts an augmentation probability `p` from the discriminator's signs.

    The heuristic of ADA (as in the official `training_loop.py`): over the
    last `interval` training steps, take the mean sign of the discriminator's
    outputs on real images; every `interval` steps move `p` by
    `sign(mean - target) * batch * interval / (kimg * 1000)` and clamp it
    below at 0 (not above: a pipeline treats `p > 1` as 1). `kimg` is thus
    how many thousand real images it takes `p` to travel a distance of 1.

    The running sum and count of the signs are non-trainable variables, and
    `updates` returns new values instead of branching, so the rule runs
    inside a compiled step, identically on every backend, and resumes
    exactly from a checkpoint taken between two adjustments.

    Args:
        target: float in [0, 1] or None. The target mean sign (0.6 in the
            paper). None keeps `p` fixed.
        interval: int >= 1. Steps between adjustments (4).
        kimg: float > 0. Adjustment speed (500).
        **kwargs: passed to `keras.layers.Layer`.

    Example:
    ```python
    pipeline = keras_creps.augment.AugmentPipeline("bgc")
    ada = keras_creps.augment.AdaptiveAugment(target=0.6, interval=4, kimg=500)
    # In a training step, with the global sum and count of sign(D(augmented reals)):
    for variable, value in ada.updates(pipeline.p, sign_sum, sign_count, step, batch):
        variable.assign(value)
    ```

    References:
        - [Karras et al., 2020](https://arxiv.org/abs/2006.06676)
    """

    def __init__(self, target=0.6, interval=4, kimg=500.0, **kwargs):
        super().__init__(**kwargs)
        self.target, self.interval, self.kimg = check_ada_settings(target, interval, kimg)
        # Statistics since the last adjustment (reset at each adjustment).
        self.sign_sum = self.add_weight(
            shape=(), dtype="float32", initializer="zeros", trainable=False,
            aggregation="only_first_replica", name="sign_sum",
        )
        self.sign_count = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False,
            aggregation="only_first_replica", name="sign_count",
        )
        self.built = True

    @property
    def adaptive(self):
        """Whether `p` is adjusted (a target is set)."""
        return self.target is not None

    def configure(self, target=0.6, interval=4, kimg=500.0, prefix=""):
        """Changes the settings (the statistics are kept); see the class args."""
        self.target, self.interval, self.kimg = check_ada_settings(target, interval, kimg, prefix)

    def adjustment(self, batch):
        """How far `p` moves per adjustment for a global batch size `batch`."""
        return batch * self.interval / (self.kimg * 1000)

    def updates(self, p, sign_sum, sign_count, step, batch):
        """New values of `p` and the statistics after one training step.

        Args:
            p: the augmentation probability, a float32 scalar variable.
            sign_sum: float tensor. Sum of `sign(D(real))` over this step's
                real images on all replicas (the same value on each).
            sign_count: int. How many signs `sign_sum` adds up.
            step: int tensor. Index of this step (0 for the first); the
                adjustment follows steps `interval - 1`, `2 * interval - 1`,
                ... (the official loop counts the step before testing).
            batch: int. Global batch size.

        Returns:
            `[(variable, new value)]` for `p`, `sign_sum` and `sign_count`;
            empty when `target` is None.
        """
        if not self.adaptive:
            return []
        total = self.sign_sum.value + ops.cast(sign_sum, "float32")
        count = self.sign_count.value + sign_count
        due = (ops.cast(step, "int32") + 1) % self.interval == 0
        mean = total / ops.cast(ops.maximum(count, 1), "float32")
        adjusted = ops.maximum(p.value + ops.sign(mean - self.target) * self.adjustment(batch), 0.0)
        return [
            (p, ops.where(due, adjusted, p.value)),
            (self.sign_sum, ops.where(due, 0.0, total)),
            (self.sign_count, ops.where(due, 0, count)),
        ]

    def get_config(self):
        config = super().get_config()
        config.update({"target": self.target, "interval": self.interval, "kimg": self.kimg})
        return config

"""Step-dependent training constants: EMA decay, lazy regularization."""

import keras
from keras import ops


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


def default_adam(learning_rate=0.002):
    """Adam with the StyleGAN2/CREPS settings: betas (0, 0.99), eps 1e-8."""
    return keras.optimizers.Adam(learning_rate, beta_1=0.0, beta_2=0.99, epsilon=1e-8)


def ema_beta(batch_size, seen_images, ema_kimg, ema_rampup):
    """EMA decay per step: `0.5 ** (batch / ema_nimg)` with ramp-up.

    `ema_nimg = ema_kimg * 1000`, capped at `seen_images * ema_rampup` when
    ramp-up is on (so the first step copies the weights).
    """
    ema_nimg = ops.convert_to_tensor(ema_kimg * 1000.0, "float32")
    if ema_rampup is not None:
        ema_nimg = ops.minimum(ema_nimg, ops.cast(seen_images, "float32") * ema_rampup)
    return ops.power(0.5, batch_size / ops.maximum(ema_nimg, 1e-8))

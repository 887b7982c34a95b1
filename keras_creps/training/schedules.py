"""Step-dependent training constants: EMA decay, lazy regularization."""

from keras import ops

# The lazy-regularization adjustment of the optimizers lives with the
# optimizer pair; these names stay importable from here.
from keras_creps.training.gan_optimizer import adjust_optimizer_for_lazy_regularization  # noqa: F401
from keras_creps.training.gan_optimizer import default_adam  # noqa: F401
from keras_creps.training.gan_optimizer import lazy_regularization_ratio  # noqa: F401


def ema_beta(batch_size, seen_images, ema_kimg, ema_rampup):
    """EMA decay per step: `0.5 ** (batch / ema_nimg)` with ramp-up.

    `ema_nimg = ema_kimg * 1000`, capped at `seen_images * ema_rampup` when
    ramp-up is on (so the first step copies the weights).

    Example:
    ```python
    beta = ema_beta(32, seen_images=64000, ema_kimg=10.0, ema_rampup=0.05)
    # ema_nimg = min(10000, 3200) = 3200; beta = 0.5 ** (32 / 3200)
    ```
    """
    ema_nimg = ops.convert_to_tensor(ema_kimg * 1000.0, "float32")
    if ema_rampup is not None:
        ema_nimg = ops.minimum(ema_nimg, ops.cast(seen_images, "float32") * ema_rampup)
    return ops.power(0.5, batch_size / ops.maximum(ema_nimg, 1e-8))

"""The arithmetic of one training step: what the training rows' GFLOP/s and ceilings are computed from.

A step of `CREPSGAN` runs Gmain and Dmain on every batch, Greg on every
`g_reg_interval`-th and Dreg on every `d_reg_interval`-th. With `G` and `D`
the forward MACs per image of the two networks (`creps_macs`), a backward
pass costing twice its forward (input and weight gradients), one giving
input gradients only costing once, the phases cost per image:

- Gmain: G forward and backward, D forward and input gradients: `3G + 2D`;
- Dmain: G forward, D forward and backward on the fakes and the reals:
  `G + 6D`;
- Greg: `9G` per path-length image (`batch // pl_batch_shrink` of them):
  the forward pass, the input gradient and the weight gradient through it;
- Dreg: `7D` per real: R1's input gradient and its weight gradient.

The factors were read off XLA's cost analysis of our JAX phases at 64^2,
`small` configuration, batch 16 (2026-12-03; XLA leaves out the taps of
'same' convolutions that fall on padding, 2.6 % of the discriminator):
Gmain 0.99 x `3G + 2D`, Dmain 5.84 `D` besides the generator's forward
pass, Greg 8.7 `G`, Dreg 6.8 `D`. The official implementation runs the same
phases on the same networks (its R1 by a double backward), so one count
serves both, and the average step of `train_small_64_b16` is 1.30 TMAC
(1.28 by XLA's count).

Divided by this machine's matrix-product rate in the same run, it gives the
step time no implementation can beat on this CPU: the ceiling of a speed-up
over the official code.
"""

__all__ = ["training_step_macs"]


def training_step_macs(gan, batch):
    """MACs of `gan`'s average training step on `batch` images, per phase and `"total"`.

    Args:
        gan: a compiled `CREPSGAN` (its regularization intervals and weights
            choose the phases).
        batch: int. The global batch size.

    Example:
    ```python
    macs = training_step_macs(gan, 16)
    print(f"{2 * macs['total'] / 1e12:.2f} TFLOP per step")
    ```
    """
    # Here, not at the top: `benchmark.py` imports this module before Keras may load (see _startup.py).
    from keras_creps.models.creps_macs import creps_discriminator_macs
    from keras_creps.models.creps_macs import creps_generator_macs

    g = creps_generator_macs(gan.generator.get_config())["total"]
    d = creps_discriminator_macs(gan.discriminator.get_config())["total"]
    parts = {"Gmain": batch * (3 * g + 2 * d), "Dmain": batch * (g + 6 * d)}
    if gan.pl_weight > 0:
        parts["Greg"] = (batch // gan.pl_batch_shrink) * 9 * g / gan.g_reg_interval
    if gan.r1_gamma > 0:
        parts["Dreg"] = batch * 7 * d / gan.d_reg_interval
    parts["total"] = sum(parts.values())
    return parts

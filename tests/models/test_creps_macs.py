import keras
import numpy as np
import pytest

from keras_creps.models.creps_discriminator import CREPSDiscriminator
from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.models.creps_macs import creps_discriminator_macs
from keras_creps.models.creps_macs import creps_generator_macs

D_TINY = dict(resolution=16, channel_base=512, channel_max=64)
G_TINY = dict(resolution=16, z_dim=32, w_dim=32, mapping_layers=2, channel_base=512, channel_max=64,
              biline_channels=8, rank=2)


def _macs_from_kernels(discriminator):
    """MACs per image read off the built discriminator's kernels: each conv's taps x its output pixels."""
    total = 0
    for weight in discriminator.weights:
        parts = weight.path.split("/")
        if parts[-1] != "kernel":
            continue
        shape = tuple(weight.shape)
        if len(shape) == 2:  # dense: [in, out]
            total += shape[0] * shape[1]
            continue
        block, layer = parts[-3], parts[-2]
        res = int(block[1:])
        out_res = res // 2 if layer in ("conv1", "skip") else res
        total += out_res * out_res * int(np.prod(shape))
    return total


@pytest.mark.parametrize("extra", [{}, dict(c_dim=4, mapping_layers=2), dict(mbstd_num_channels=2)])
def test_discriminator_macs_match_its_kernels(extra):
    config = dict(D_TINY, **extra)
    macs = creps_discriminator_macs(config)
    discriminator = CREPSDiscriminator(**config)
    assert macs["total"] == _macs_from_kernels(discriminator)
    assert macs["total"] == sum(v for k, v in macs.items() if k != "total")


def test_discriminator_macs_of_the_training_benchmark():
    # The `small` configuration at 64^2 (recipes/benchmark.py's train_small_64_b16).
    macs = creps_discriminator_macs(dict(resolution=64, channel_base=16384, channel_max=512))
    assert macs["b64"] == 64 * 64 * 9 * 256 * 256 + 32 * 32 * 10 * 256 * 512
    assert macs["total"] == 7_854_957_056


def _xla_macs(model, inputs):
    """Half of XLA's flop count of the jitted forward pass per image."""
    import jax

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    forward = jax.jit(lambda t, x: model.stateless_call(t, non_trainable, x)[0])
    cost = forward.lower(trainable, inputs).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return cost["flops"] / 2 / inputs.shape[0]


@pytest.mark.skipif(keras.config.backend() != "jax", reason="XLA's cost analysis is read through JAX")
def test_counts_agree_with_xla_cost_analysis():
    # XLA counts element-wise work too and leaves out the taps that fall on
    # a 'same' convolution's zero padding, so the two agree to a few percent.
    discriminator = CREPSDiscriminator(**D_TINY)
    images = np.zeros((2, 16, 16, 3), "float32")
    assert _xla_macs(discriminator, images) == pytest.approx(creps_discriminator_macs(D_TINY)["total"], rel=0.1)
    generator = CREPSGenerator(**G_TINY)
    z = np.zeros((2, 32), "float32")
    assert _xla_macs(generator, z) == pytest.approx(creps_generator_macs(G_TINY)["total"], rel=0.1)

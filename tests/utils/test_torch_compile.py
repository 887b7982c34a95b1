import keras
import numpy as np
import pytest

from keras_creps.utils.torch_compile import compile_separately

pytestmark = pytest.mark.skipif(keras.config.backend() != "torch", reason="torch.compile is PyTorch's")


def made_with(double):
    return lambda x: x * 2.0 if double else x + 1.0  # a bool is a guarded constant of the graph


def test_closures_of_one_code_compile_once_each():
    import torch

    x = torch.arange(6.0)
    closures = [made_with(True), made_with(False)]
    assert closures[0].__code__ is closures[1].__code__
    with torch._dynamo.config.patch(error_on_recompile=True):
        doubled, shifted = (compile_separately(fn, dynamic=True) for fn in closures)
        np.testing.assert_array_equal(doubled(x).numpy(), x.numpy() * 2.0)
        np.testing.assert_array_equal(shifted(x).numpy(), x.numpy() + 1.0)
        np.testing.assert_array_equal(doubled(x[:4]).numpy(), x[:4].numpy() * 2.0)  # dynamic shapes
        # The same closures compiled as they are share one code object: the second is a recompile.
        shared = [torch.compile(fn, dynamic=True) for fn in closures]
        shared[0](x)
        with pytest.raises(Exception, match="[Rr]ecompil"):
            shared[1](x)

"""PyTorch gradients: `torch.autograd.grad(create_graph=True)`; one device."""

import gc

import torch
from keras.ops import convert_to_tensor

from keras_creps.layers.fused_bias_act import compiled_bias_act
from keras_creps.training.gradients.single_device import assign  # noqa: F401
from keras_creps.training.gradients.single_device import num_replicas  # noqa: F401
from keras_creps.training.gradients.single_device import replica_mean  # noqa: F401
from keras_creps.training.gradients.single_device import replica_slice  # noqa: F401
from keras_creps.training.gradients.squared_gradient import by_double_backward


def input_gradient(fn, x):
    x = convert_to_tensor(x)
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    y = fn(x)
    (grad,) = torch.autograd.grad(y.sum(), [x], create_graph=True)
    return y, grad


squared_input_gradient = by_double_backward(input_gradient)


def value_and_grad(fn, variables, state_variables=None):
    del state_variables
    loss, aux = fn()
    values = [v.value for v in variables]
    grads = torch.autograd.grad(loss, values, allow_unused=True)
    grads = [torch.zeros_like(v) if g is None else g for g, v in zip(grads, values)]
    _free_forward_garbage()
    return loss, aux, grads


def _free_forward_garbage():
    """Frees what the forward pass left in reference cycles, now rather than at Python's next collection.

    On PyTorch, a Keras layer called with more than one argument (the
    discriminator with images and labels, every modulated layer with
    features and a latent) leaves its arguments in a reference cycle: the
    garbage found after a training step was `torch.utils._pytree`'s
    recursive `tree_flatten` helpers, whose closure cells held the layers'
    inputs. Those activations of the whole batch outlive the call until
    Python's cycle collector runs, and it counts Python objects, not bytes:
    a phase's activations were still held while the next phase computed
    its own. `train_small_64_b16` in float32, 21 steps (peak RSS read after
    each phase, 2026-12-04): the held memory came in 642 MB steps (1 to 3
    of them between phases) and the peak grew from 3.7 to 5.8 GB;
    collecting the two young generations here kept it at 3.76 GB and took
    the step from 10.5 to 10.0 s (median). The young generations are where
    those cycles are; a collection of them took 1-6 ms, a full one 160 ms.
    """
    gc.collect(1)


def train_step(gan, data):
    with compiled_bias_act():  # the step's large element-wise chains as compiled loops
        return gan.generic_train_step(data)

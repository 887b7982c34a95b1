"""PyTorch gradients: `torch.autograd.grad(create_graph=True)`; one device."""

import torch
from keras.ops import convert_to_tensor

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
    return loss, aux, grads


def train_step(gan, data):
    return gan.generic_train_step(data)

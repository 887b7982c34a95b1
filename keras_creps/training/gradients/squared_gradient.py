"""What every backend's `squared_input_gradient` shares: the per-sample sum, and the plain route.

`squared_input_gradient(fn, x)` returns `(y, s)` with `s[n]` the sum of
squares of `d sum(y) / d x[n]` (R1's penalty before its weight), in float32
and differentiable w.r.t. the weights `fn` reads. TensorFlow and PyTorch
differentiate the input gradient itself a second time (`by_double_backward`);
JAX takes another route to the same numbers (see `gradients/jax.py`).
"""

from keras import ops


def per_sample_square_sum(grad):
    """`[N, ...] -> [N]`: the sum of squares over every axis but the first, in float32."""
    grad = ops.cast(grad, "float32")
    return ops.sum(ops.square(grad), axis=tuple(range(1, len(grad.shape))))


def by_double_backward(input_gradient):
    """`squared_input_gradient` for a backend whose `input_gradient` stays differentiable."""

    def squared_input_gradient(fn, x):
        y, grad = input_gradient(fn, x)
        return y, per_sample_square_sum(grad)

    return squared_input_gradient

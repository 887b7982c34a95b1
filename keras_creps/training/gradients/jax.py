"""JAX gradients: `jax.grad` over stateless scopes; the step is stateless.

Keras' JAX trainer passes the model state into the jitted step as four lists
of values (trainable, non-trainable, optimizer, metrics variables) and expects
them back. `train_step` maps every variable to its value in one
`StatelessScope`, runs the same step code as the other backends (optimizer
`apply`, EMA and counter assignments are recorded by the scope) and returns
the recorded values, so no optimizer, EMA or RNG state is dropped as long as
it lives in one of those four lists (see `CREPSGAN` and `GANOptimizer`).
"""

import jax
import keras

from keras_creps.training.gradients.single_device import assign  # noqa: F401
from keras_creps.training.gradients.single_device import num_replicas  # noqa: F401
from keras_creps.training.gradients.single_device import replica_mean  # noqa: F401
from keras_creps.training.gradients.single_device import replica_slice  # noqa: F401
from keras_creps.training.gradients.squared_gradient import per_sample_square_sum


def input_gradient(fn, x):
    y, pullback = jax.vjp(fn, jax.numpy.asarray(x))
    (grad,) = pullback(jax.numpy.ones_like(y))
    return y, grad


def squared_input_gradient(fn, x):
    """R1's `(y, sum of squares of d sum(y) / d x per sample)`, differentiated without a double backward.

    The weight gradient of `sum(g^2)`, `g = d sum(y) / d x`, equals
    `2 d/dw [d sum(y)/d x . v]` at `v = g` held fixed, and the bracket is a
    forward-mode derivative (`jax.jvp`) of `fn` in the direction `v`. The
    penalty's value comes from `g`; its weight gradient comes from the
    jvp term, which adds zero to the value. So the weights are
    differentiated through `fn` and its forward-mode derivative, whose
    convolutions have the forward pass's shapes, instead of through the
    backward pass: there XLA:CPU met the weight gradient of each strided
    convolution's input gradient as a reversed, batch-last convolution it
    runs with its own loops. The `small` discriminator's R1 step at 64^2,
    batch 16 (jitted value and gradient, 2026-12-02): 62.6-63.9 s by the
    double backward, 10.1-10.2 s this way, equal to 5e-6 of the largest
    weight gradient.

    The penalty per sample is exact; only the sum over samples has the
    exact weight gradient (the minibatch-std layer ties samples together),
    which is all the R1 loss uses.
    """
    x = jax.numpy.asarray(x)
    _, grad = input_gradient(fn, x)
    direction = jax.lax.stop_gradient(grad)

    def total(images):
        y = fn(images)
        return jax.numpy.sum(y), y

    _, tangent, y = jax.jvp(total, (x,), (direction,), has_aux=True)
    surrogate = 2.0 * tangent.astype("float32")
    squares = jax.lax.stop_gradient(per_sample_square_sum(direction))
    # Every sample gets an equal share of the surrogate, which is zero in value.
    share = (surrogate - jax.lax.stop_gradient(surrogate)) / x.shape[0]
    return y, squares + share


def value_and_grad(fn, variables, state_variables):
    """`jax.value_and_grad` of `fn` w.r.t. `variables`.

    `state_variables` lists every variable `fn` may read or assign; their
    assignments inside `fn` are replayed into the enclosing scope.
    """
    ids = {id(v) for v in variables}
    others = [v for v in state_variables if id(v) not in ids]
    # `Variable.value` is the value in the enclosing StatelessScope.
    other_values = [v.value for v in others]

    def loss_fn(values):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            loss, aux = fn()
            updates = [scope.get_current_value(v) for v in others]
        return loss, (aux, updates)

    (loss, (aux, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        [v.value for v in variables]
    )
    for variable, old, new in zip(others, other_values, updates):
        if new is not old:
            variable.assign(new)
    return loss, aux, grads


def train_step(gan, state, data):
    groups = (
        gan.trainable_variables,
        gan.non_trainable_variables,
        gan.optimizer.variables,
        gan.metrics_variables,
    )
    mapping = []
    for variables, values in zip(groups, state):  # trainable, non-trainable, optimizer, metrics
        mapping.extend(zip(variables, values))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = gan.generic_train_step(data)
        new_state = tuple(
            [scope.get_current_value(v) for v in variables] for variables in groups
        )
    return logs, new_state

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


def input_gradient(fn, x):
    y, pullback = jax.vjp(fn, jax.numpy.asarray(x))
    (grad,) = pullback(jax.numpy.ones_like(y))
    return y, grad


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

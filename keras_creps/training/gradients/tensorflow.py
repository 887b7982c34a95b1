"""TensorFlow gradients: nested `tf.GradientTape`s; `tf.distribute` plumbing."""

import tensorflow as tf

from keras_creps.layers.fused_bias_act import compiled_bias_act
from keras_creps.training.gradients.squared_gradient import by_double_backward


def _replica_context():
    """The replica context of a multi-replica strategy, else `None`."""
    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return None
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def num_replicas():
    context = _replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def replica_slice(x):
    """This replica's contiguous share of a global batch `x` (axis 0)."""
    context = _replica_context()
    if context is None:
        return x
    n = context.num_replicas_in_sync
    size = x.shape[0] // n
    start = context.replica_id_in_sync_group * size
    return x[start : start + size]


def replica_mean(x):
    """Mean of `x` over replicas (differentiable); identity on one device."""
    context = _replica_context()
    if context is None:
        return x
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, x)


def assign(pairs):
    """Assigns `(keras.Variable, value)` pairs with values equal on every replica.

    In a replica context a mirrored variable can only be written through the
    strategy, so the values are handed to `merge_call` and written per device.
    """
    pairs = list(pairs)
    context = _replica_context()
    if context is None:
        for variable, value in pairs:
            variable.assign(value)
        return

    def merge(strategy, values):
        for (variable, _), value in zip(pairs, values):
            strategy.extended.update(
                variable.value, lambda var, v: var.assign(v), args=(value,), group=False
            )

    context.merge_call(merge, args=([value for _, value in pairs],))


def input_gradient(fn, x):
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        total = tf.reduce_sum(y)
    return y, tape.gradient(total, x)


squared_input_gradient = by_double_backward(input_gradient)


def value_and_grad(fn, variables, state_variables=None):
    del state_variables  # Variables keep their assignments on TensorFlow.
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        for variable in variables:
            tape.watch(variable.value)
        loss, aux = fn()
    grads = tape.gradient(loss, [v.value for v in variables])
    grads = [tf.zeros_like(v.value) if g is None else g for g, v in zip(grads, variables)]
    return loss, aux, grads


def _multi_worker():
    """Whether the step runs under a MultiWorkerMirroredStrategy with several workers."""
    strategy = tf.distribute.get_strategy()
    # TensorFlow's private `_in_multi_worker_mode` (more than one worker):
    # the strategy has no public query for it.
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.extended._in_multi_worker_mode()
    )


def train_step(gan, data):
    with compiled_bias_act():  # traced here: the step's element-wise chains as XLA programs
        logs = gan.generic_train_step(data)
    # Read variables into tensors: with `run_eagerly=True` Keras passes the
    # outputs through a `tf.experimental.Optional`, which cannot hold a
    # variable (`Variable.value` is the variable itself on TensorFlow).
    logs = {name: tf.identity(value) for name, value in logs.items()}
    if _multi_worker():
        # Across workers Keras reduces the step's outputs with
        # `strategy.reduce(MEAN, value, axis=0)`, which needs an axis 0.
        logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs

"""The backend-specific half of training: gradients and replica plumbing.

Keras 3 has no backend-neutral gradient op, so everything that needs one
lives here, written once per backend (`tensorflow.py`, `jax.py`, `torch.py`)
behind the same small set of functions. `get()` returns the module for the
active backend; nothing else in `keras_creps.training` imports a backend.

Every module provides:

- `input_gradient(fn, x)` -> `(y, d sum(y) / d x)`, differentiable again
  (the gradient is part of the graph, as R1 and path length need).
- `squared_input_gradient(fn, x)` -> `(y, per-sample sum of squares of
  d sum(y) / d x)` in float32, R1's penalty: its sum over samples is
  differentiable w.r.t. the weights `fn` reads (`squared_gradient.py`).
- `value_and_grad(fn, variables, state_variables)` -> `(loss, aux, grads)`
  for a loss closure that reads the models' variables; variables assigned
  inside `fn` (e.g. `pl_mean`) keep their new values.
- `train_step(gan, *args)`: runs `gan.generic_train_step(data)` with the
  backend's calling convention (JAX: stateless, state in and out).
- `num_replicas()`, `replica_slice(x)`, `replica_mean(x)`,
  `assign(variable, value)`: data-parallel helpers (identity on one device).
"""

import importlib

import keras

_MODULES = {
    "tensorflow": "keras_creps.training.gradients.tensorflow",
    "jax": "keras_creps.training.gradients.jax",
    "torch": "keras_creps.training.gradients.torch",
}


def get():
    """Returns the gradient module of the active Keras backend."""
    backend = keras.config.backend()
    if backend not in _MODULES:
        raise ValueError(
            f"keras_creps training supports the backends {sorted(_MODULES)}. "
            f"Received: keras.config.backend()={backend!r}"
        )
    return importlib.import_module(_MODULES[backend])

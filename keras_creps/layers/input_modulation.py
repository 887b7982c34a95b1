"""A scope in which `ModulatedDense` scales its inputs by the styles instead of its kernel.

StyleGAN2's modulation can be applied on either side of the product. With
styles `s [N, I]`, kernel `W [I, O]` and demodulation coefficients
`d[n, o] = 1 / sqrt(sum_i (W[i, o] * s[n, i])^2 + 1e-8)`:

    y = x @ (W * s[:, :, None] * d[:, None, :])     # modulated kernel [N, I, O]
    y = ((x * s[:, None, :]) @ W) * d[:, None, :]   # modulated inputs [N, P, I]

The two are equal up to float32 rounding. `ModulatedDense` makes the
per-sample kernel by default: for the per-pixel layers (thousands of
positions, 64-128 channels) the kernel is far smaller than the inputs, and
in training autodiff keeps the inputs anyway.

The kernel depends only on `w` and the weights, so a compiler that orders a
whole network (XLA) is free to compute every layer's kernel as soon as `w`
is known, and it does: in the line network of the paper generator at
256^2, batch 1, XLA:CPU held 9 modulated [1024, 1024] kernels at once
(36 MB of the program's 75 MB of temporaries, read off JAX's buffer
assignment, 2026-12-04). Scaled inputs depend on the previous layer, so
they exist one layer at a time: the same program needed 52 MB, and the
render's peak fell from +290-296 to +264-270 MB above the imports (two
alternating pairs, `make_generate_function` on JAX, same speed: 0.81-0.93
against 0.82-0.84 s per image). TensorFlow's XLA kept its 75 MB either way
(it materialised the squared kernels for the demodulation sums instead), and
PyTorch runs layers in order, so `make_generate_function` enters this scope
for the line network on JAX only.

The scope is read when a layer's `call` runs its Python code: at trace time
under `jax.jit` or `tf.function` (enter it inside the traced function) and at
every call in eager mode.
"""

import functools

from keras_creps.utils.arguments import boolean
from keras_creps.utils.thread_setting import ThreadSetting

__all__ = ["modulate_inputs", "modulates_inputs"]

_setting = ThreadSetting(False, check=functools.partial(boolean, "enabled"))


def modulates_inputs():
    """Whether `ModulatedDense` scales its inputs (not its kernel) in this thread."""
    return _setting.value()


def modulate_inputs(enabled=True):
    """Has `ModulatedDense` scale its inputs by the styles inside the `with` block.

    Args:
        enabled: bool. `True` scales the inputs; `False` restores the
            default, a per-sample modulated kernel. Defaults to `True`.

    Example:
    ```python
    with modulate_inputs():
        row_lines, col_lines = generator.synthesis.line_network(ws, rows, cols)
    ```
    """
    return _setting.scope(enabled)

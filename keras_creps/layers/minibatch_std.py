"""Minibatch standard deviation: a batch statistic appended as extra channels."""

import keras
from keras import ops

from keras_creps.utils.arguments import positive_int


def minibatch_group_size(batch_size, group_size):
    """The largest `g <= group_size` that divides `batch_size`.

    This equals the official `min(group_size, N)` whenever that divides `N`
    (the only case the official code accepts), and extends it to any `N`.

    Args:
        batch_size: int, or a scalar integer tensor for a dynamic batch.
        group_size: int or None. `None` means the whole batch.

    Returns:
        An int, or a scalar integer tensor if `batch_size` is a tensor.
    """
    if group_size is None:
        return batch_size
    if isinstance(batch_size, int):
        return max(g for g in range(1, min(group_size, batch_size) + 1) if batch_size % g == 0)
    candidates = ops.arange(1, group_size + 1, dtype="int32")  # [group_size]
    batch_size = ops.cast(batch_size, "int32")
    divides = ops.logical_and(
        ops.equal(ops.mod(batch_size, candidates), 0),
        ops.less_equal(candidates, batch_size),
    )
    return ops.max(ops.where(divides, candidates, ops.ones_like(candidates)))


@keras.saving.register_keras_serializable(package="keras_creps")
class MinibatchStd(keras.layers.Layer):
    """Appends the minibatch standard deviation as `num_channels` new channels.

    The batch of `N` samples is split into `N / G` groups of `G` samples,
    where `G` is the largest number `<= group_size` that divides `N`. As in
    the official implementation the groups are **strided**: group `j` holds
    samples `j, j + N/G, j + 2N/G, ...`. The channels are split into
    `num_channels` consecutive slices. For every group and slice the layer
    computes `sqrt(var + 1e-8)` (biased variance over the group) at every
    pixel and channel, averages it over the slice's channels and all pixels,
    and appends the result, constant over the image, as the last channel(s)
    of every sample in the group.

    The batch size is taken from the static shape when it is known (always
    the case in eager mode, in JAX and in fixed-batch training); otherwise the
    group size is computed inside the graph.

    Args:
        group_size: int or None. Maximum group size; `None` uses the whole
            batch as one group. Defaults to `4`.
        num_channels: int. Number of statistic channels (channel slices).
            Defaults to `1`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        inputs: tensor `[N, H, W, C]`, with `C` divisible by `num_channels`.

    Example:
    ```python
    mbstd = MinibatchStd(group_size=4)
    y = mbstd(np.random.randn(8, 4, 4, 64).astype("float32"))  # [8, 4, 4, 65]
    ```

    References:
        - [Karras et al., 2018](https://arxiv.org/abs/1710.10196)
    """

    def __init__(self, group_size=4, num_channels=1, **kwargs):
        super().__init__(**kwargs)
        self.group_size = None if group_size is None else positive_int("group_size", group_size)
        self.num_channels = positive_int("num_channels", num_channels)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and channels % self.num_channels != 0:
            raise ValueError(
                f"The channel count must be divisible by num_channels={self.num_channels}. "
                f"Received: input_shape={input_shape}"
            )

    def call(self, inputs):
        x = inputs
        batch, height, width, channels = x.shape
        if batch is None:
            batch = ops.shape(x)[0]
        if height is None or width is None:
            height, width = ops.shape(x)[1], ops.shape(x)[2]
        groups = minibatch_group_size(batch, self.group_size)
        slices = self.num_channels
        per_slice = channels // slices
        y = ops.reshape(x, (groups, -1, height, width, slices, per_slice))  # [G, n, H, W, F, c]
        y = y - ops.mean(y, axis=0)  # [G, n, H, W, F, c]
        y = ops.mean(ops.square(y), axis=0)  # [n, H, W, F, c]
        y = ops.sqrt(y + 1e-8)  # [n, H, W, F, c]
        y = ops.mean(y, axis=(1, 2, 4))  # [n, F]
        y = ops.reshape(y, (1, -1, 1, 1, slices))  # [1, n, 1, 1, F]
        y = ops.broadcast_to(y, (groups, ops.shape(y)[1], height, width, slices))  # [G, n, H, W, F]
        y = ops.reshape(y, (-1, height, width, slices))  # [N, H, W, F]
        return ops.concatenate([x, ops.cast(y, x.dtype)], axis=-1)  # [N, H, W, C + F]

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        channels = None if channels is None else channels + self.num_channels
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        config = super().get_config()
        config.update({"group_size": self.group_size, "num_channels": self.num_channels})
        return config

"""StyleGAN mapping network: z (and an optional class label) -> w."""

import keras
from keras import ops

from keras_creps.utils.arguments import non_negative_int
from keras_creps.utils.arguments import positive_float
from keras_creps.utils.arguments import positive_int
from keras_creps.layers.bias_act import normalize_2nd_moment
from keras_creps.layers.equalized_dense import EqualizedDense
from keras_creps.layers.host_initializers import HostConstant


@keras.saving.register_keras_serializable(package="keras_creps")
class MappingNetwork(keras.layers.Layer):
    """Maps latents `z` (and labels `c`) to intermediate latents `w`.

    `z` is normalised to unit second moment; a label, if `c_dim > 0`, is
    embedded by a linear `EqualizedDense` (`embed`), normalised the same way
    and concatenated after `z`. Then `num_layers` leaky-ReLU layers with
    learning-rate multiplier `lr_multiplier` (0.01) produce `w`, which is
    broadcast to `num_ws` copies (`[N, num_ws, w_dim]`) unless `num_ws` is
    `None` (`[N, w_dim]`, e.g. the discriminator's label mapping).

    `w_avg` is a non-trainable variable holding the running mean of `w`
    (updated during training with `update_w_avg`); truncation pulls `w`
    towards it: `w_avg + psi * (w - w_avg)`, on the first
    `truncation_cutoff` copies only if a cutoff is given.

    Args:
        z_dim: int. Latent size, 0 for none.
        c_dim: int. Label size, 0 for unconditional.
        w_dim: int. Intermediate latent size.
        num_ws: int or None. Number of `w` copies to output.
        num_layers: int. Number of mapping layers. Defaults to `8`.
        embed_features: int or None. Label embedding size; `None` = `w_dim`.
        layer_features: int or None. Hidden layer size; `None` = `w_dim`.
        lr_multiplier: float. Learning-rate multiplier of the mapping layers.
            Defaults to `0.01`.
        w_avg_beta: float or None. Decay of the `w_avg` running mean; `None`
            disables `w_avg` (and truncation). Defaults to `0.998`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`.

    Call arguments:
        z: tensor `[N, z_dim]` (ignored when `z_dim == 0`).
        c: tensor `[N, c_dim]` or None.
        truncation_psi: float or scalar tensor. Defaults to `1.0`.
        truncation_cutoff: int or None. Defaults to `None` (all copies).

    Example:
    ```python
    mapping = MappingNetwork(z_dim=512, c_dim=0, w_dim=512, num_ws=15)
    ws = mapping(np.random.randn(4, 512).astype("float32"), truncation_psi=0.7)
    ```
    """

    def __init__(
        self,
        z_dim,
        c_dim,
        w_dim,
        num_ws,
        num_layers=8,
        embed_features=None,
        layer_features=None,
        lr_multiplier=0.01,
        w_avg_beta=0.998,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.z_dim = non_negative_int("z_dim", z_dim)
        self.c_dim = non_negative_int("c_dim", c_dim)
        if z_dim == 0 and c_dim == 0:
            raise ValueError("At least one of `z_dim` and `c_dim` must be positive. Received: z_dim=0, c_dim=0")
        self.w_dim = positive_int("w_dim", w_dim)
        self.num_ws = None if num_ws is None else positive_int("num_ws", num_ws)
        self.num_layers = positive_int("num_layers", num_layers)
        self.embed_features = None if embed_features is None else positive_int("embed_features", embed_features)
        self.layer_features = None if layer_features is None else positive_int("layer_features", layer_features)
        self.lr_multiplier = positive_float("lr_multiplier", lr_multiplier)
        if w_avg_beta is not None and not 0 <= w_avg_beta < 1:
            raise ValueError(f"`w_avg_beta` must be None or in [0, 1). Received: w_avg_beta={w_avg_beta!r}")
        self.w_avg_beta = None if w_avg_beta is None else float(w_avg_beta)

        embed = 0 if c_dim == 0 else (self.embed_features or self.w_dim)
        hidden = self.layer_features or self.w_dim
        self._input_features = self.z_dim + embed
        self.embed = None
        if self.c_dim > 0:
            self.embed = EqualizedDense(embed, name="embed", dtype=self.dtype_policy)
        widths = [hidden] * (self.num_layers - 1) + [self.w_dim]
        self.dense_layers = [
            EqualizedDense(
                units,
                activation="lrelu",
                lr_multiplier=self.lr_multiplier,
                name=f"fc{i}",
                dtype=self.dtype_policy,
            )
            for i, units in enumerate(widths)
        ]

    def build(self, z_shape=None, c_shape=None):
        if self.embed is not None:
            self.embed.build((None, self.c_dim))
        shape = (None, self._input_features)
        for layer in self.dense_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.w_avg = None
        if self.w_avg_beta is not None:
            self.w_avg = self.add_weight(
                name="w_avg", shape=(self.w_dim,), initializer=HostConstant(0.0), trainable=False,
                # Replicas update it from their share of the batch; the mean
                # of their updates is the update of the whole batch.
                aggregation="mean",
            )

    def embed_inputs(self, z, c=None):
        """Normalised `[z, embed(c)]` fed to the first mapping layer."""
        parts = []
        if self.z_dim > 0:
            if z is None:
                raise ValueError(f"{self.name} has z_dim={self.z_dim}; `z` must be given. Received: z=None")
            parts.append(normalize_2nd_moment(ops.cast(z, self.compute_dtype)))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(
                    f"{self.name} is conditional (c_dim={self.c_dim}); pass labels `c` "
                    f"of shape [N, {self.c_dim}]. Received: c=None"
                )
            parts.append(normalize_2nd_moment(self.embed(ops.cast(c, self.compute_dtype))))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def call(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None):
        x = self.embed_inputs(z, c)
        for layer in self.dense_layers:
            x = layer(x)
        if self.num_ws is not None:
            x = ops.repeat(x[:, None, :], self.num_ws, axis=1)  # [N, num_ws, w_dim]
        if isinstance(truncation_psi, (int, float)) and truncation_psi == 1:
            return x
        return self.truncate(x, truncation_psi, truncation_cutoff)

    def truncate(self, ws, truncation_psi, truncation_cutoff=None):
        """`w_avg + psi * (ws - w_avg)` on the first `truncation_cutoff` copies."""
        if self.w_avg is None:
            raise ValueError(f"{self.name} was built with w_avg_beta=None, so it cannot truncate.")
        w_avg = ops.cast(self.w_avg, ws.dtype)
        psi = ops.cast(truncation_psi, ws.dtype)
        truncated = w_avg + psi * (ws - w_avg)
        if truncation_cutoff is None or self.num_ws is None:
            return truncated
        if isinstance(truncation_cutoff, bool) or not isinstance(truncation_cutoff, int) or truncation_cutoff < 0:
            raise ValueError(
                f"`truncation_cutoff` must be None or a non-negative integer. "
                f"Received: truncation_cutoff={truncation_cutoff!r}"
            )
        mask = ops.arange(self.num_ws) < truncation_cutoff  # [num_ws]
        return ops.where(mask[None, :, None], truncated, ws)

    def update_w_avg(self, w):
        """Moves `w_avg` towards the batch mean of `w` (`[N, w_dim]` or `[N, num_ws, w_dim]`)."""
        if len(w.shape) == 3:
            w = w[:, 0]
        mean = ops.mean(ops.cast(w, self.w_avg.dtype), axis=0)
        self.w_avg.assign(mean + self.w_avg_beta * (self.w_avg - mean))

    def compute_output_shape(self, z_shape=None, c_shape=None):
        batch = (z_shape if z_shape is not None else c_shape)[0]
        if self.num_ws is None:
            return (batch, self.w_dim)
        return (batch, self.num_ws, self.w_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "z_dim": self.z_dim,
                "c_dim": self.c_dim,
                "w_dim": self.w_dim,
                "num_ws": self.num_ws,
                "num_layers": self.num_layers,
                "embed_features": self.embed_features,
                "layer_features": self.layer_features,
                "lr_multiplier": self.lr_multiplier,
                "w_avg_beta": self.w_avg_beta,
            }
        )
        return config

"""The official generator -> `CREPSGenerator`: kwargs and weight names."""

import numpy as np

from keras_creps.convert.state_dicts import check_sizes
from keras_creps.convert.state_dicts import fc_kernel
from keras_creps.convert.state_dicts import file_keys
from keras_creps.convert.state_dicts import load_official
from keras_creps.convert.state_dicts import official_fc_shape
from keras_creps.convert.state_dicts import pop_required
from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.official_pickle import short_repr


# Parameters that exist in official generator checkpoints but that the
# official forward pass never uses (b4's ToRes and decoder_8).
UNUSED_GENERATOR_PREFIXES = ("synthesis.b4.tores.", "synthesis.decoder_8.")

def _generator_targets(generator):
    """Official name -> (variable, transform, official shape) for every generator weight."""
    targets = {}

    def add_dense(prefix, dense):
        targets[f"{prefix}.weight"] = (dense.kernel, fc_kernel, official_fc_shape(dense.kernel))
        if dense.bias is not None:
            targets[f"{prefix}.bias"] = (dense.bias, None, tuple(dense.bias.shape))

    def add_modulated(prefix, layer):
        add_dense(prefix, layer)
        add_dense(f"{prefix}.affine", layer.affine)

    mapping = generator.mapping
    if mapping.embed is not None:
        add_dense("mapping.embed", mapping.embed)
    for i, dense in enumerate(mapping.dense_layers):
        add_dense(f"mapping.fc{i}", dense)
    targets["mapping.w_avg"] = (mapping.w_avg, None, tuple(mapping.w_avg.shape))

    synthesis = generator.synthesis
    fourier = synthesis.biline_input
    channels, rank = fourier.channels, fourier.rank
    targets["synthesis.b4.input.freqs"] = (
        fourier.freqs, lambda v: np.reshape(v, (channels // 2, rank)), (1, channels // 2 * rank))
    targets["synthesis.b4.input.weight"] = (
        fourier.amplitude, lambda v: np.reshape(v, (channels, 2 * rank)), (1, channels, 1, 2 * rank))
    add_dense("synthesis.b4.input.affine", fourier.affine)
    for block in synthesis.line_blocks + [synthesis.block0, synthesis.block1]:
        for layer in (block.fc0, block.fc1, block.tores):
            if layer is not None:
                add_modulated(f"synthesis.{block.name}.{layer.name}", layer)
    for decoder in synthesis.decoders + [synthesis.decoder_last]:
        for i, dense in enumerate(decoder.dense_layers):
            add_dense(f"synthesis.{decoder.name}.{i}", dense)
    add_dense("synthesis.decoder_img", synthesis.decoder_img)
    return targets


def _ignored_generator_key(key):
    # The coordinates buffer is an input here; b4's ToRes and decoder_8 are
    # never used by the official forward pass.
    return key == "synthesis.b4.input.coords" or key.startswith(UNUSED_GENERATOR_PREFIXES)


def official_generator_kwargs(official_kwargs):
    """Translates official `Generator(...)` kwargs into `CREPSGenerator` kwargs.

    Accepts what the official constructor and its `mapping_kwargs` accept for
    CREPS. `num_fp16_res` and `fp16_channels_last` are accepted and ignored
    (precision is a Keras dtype policy here); values that would change the
    math in ways this port does not implement raise `ValueError`.
    """
    kwargs = dict(official_kwargs)
    mapping = dict(kwargs.pop("mapping_kwargs", None) or {})
    out = pop_required(
        kwargs,
        {"z_dim": "z_dim", "c_dim": "c_dim", "w_dim": "w_dim", "img_resolution": "resolution", "img_channels": "img_channels"},
        "generator",
    )
    # Defaults of the official SynthesisNetwork / SynthesisBlock.
    out["channel_base"] = kwargs.pop("channel_base", 32768)
    out["channel_max"] = kwargs.pop("channel_max", 512)
    out["biline_channels"] = kwargs.pop("biline_channels", 32)
    out["fc_clamp"] = kwargs.pop("fc_clamp", 256)
    kwargs.pop("num_fp16_res", None)
    kwargs.pop("fp16_channels_last", None)
    architecture = kwargs.pop("architecture", "skip")
    if architecture != "skip":
        raise ValueError(
            f"CREPS' synthesis network only has the 'skip' architecture. Received: architecture={short_repr(architecture)}"
        )
    if kwargs:
        raise ValueError(f"Unsupported official generator kwargs: {file_keys(kwargs)}")
    out["mapping_layers"] = mapping.pop("num_layers", 8)
    out["mapping_lr_multiplier"] = mapping.pop("lr_multiplier", 0.01)
    out["w_avg_beta"] = mapping.pop("w_avg_beta", 0.998)
    for name in ("embed_features", "layer_features"):
        value = mapping.pop(name, None)
        if value not in (None, out["w_dim"]):
            raise ValueError(f"Unsupported official mapping_kwargs: {name}={short_repr(value)} (only w_dim={out['w_dim']}).")
    activation = mapping.pop("activation", "lrelu")
    if activation != "lrelu":
        raise ValueError(f"Unsupported official mapping_kwargs: activation={short_repr(activation)} (only 'lrelu').")
    if mapping:
        raise ValueError(f"Unsupported official mapping_kwargs: {file_keys(mapping)}")
    return check_sizes(out, "generator")


def generator_from_official(state_dict, **official_kwargs):
    """Builds a `CREPSGenerator` holding the weights of an official generator.

    Fully connected weights `[out, in]` become Keras kernels `[in, out]`;
    the Fourier input's `freqs` `[1, C/2 * rank]` and `weight`
    `[1, C, 1, 2 * rank]` are reshaped to `[C/2, rank]` and `[C, 2 * rank]`.
    Stored values are not rescaled (gains are applied in `call`, as in the
    official code). `synthesis.b4.input.coords` (a default-grid buffer) and
    the parameters the official forward pass never uses
    (`synthesis.b4.tores.*`, `synthesis.decoder_8.*`) are accepted and dropped.

    Args:
        state_dict: mapping from official names (`mapping.fc0.weight`,
            `synthesis.b8.fc0.affine.bias`, ...) to arrays (NumPy or CPU
            torch tensors).
        **official_kwargs: the official `Generator` constructor kwargs
            (`z_dim`, `c_dim`, `w_dim`, `img_resolution`, `img_channels`,
            `mapping_kwargs`, `channel_base`, `channel_max`,
            `biline_channels`, `num_fp16_res`, ...), as stored with the
            checkpoint.

    Returns:
        A `CREPSGenerator` computing what the official generator computes
        in float32 (`force_fp32=True`).

    Raises:
        ValueError: a weight is missing, mis-shaped or unknown, or a kwarg is
            not supported.

    Example:
    ```python
    arrays = np.load("creps_tiny.npz")
    meta = json.loads(str(arrays["meta"]))
    state = {k[2:]: arrays[k] for k in arrays.files if k.startswith("G/")}
    generator = generator_from_official(state, **meta["G_kwargs"])
    ```
    """
    generator = CREPSGenerator(**official_generator_kwargs(official_kwargs))
    load_official("generator", state_dict, _generator_targets(generator), _ignored_generator_key)
    return generator

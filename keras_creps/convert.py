"""Import weights of the official CREPS PyTorch implementation.

The official networks (VinAIResearch/CREPS) store each layer under a dotted
name such as `synthesis.b8.fc0.affine.weight`; our layers keep the same path
with `/` separators (`synthesis/b8/fc0/affine/kernel`), so the mapping is
mechanical: fully connected weights `[out, in]` become Keras kernels
`[in, out]`, discriminator conv weights `[O, I, k, k]` become `[k, k, I, O]`,
the Fourier input's buffers are reshaped, and the few official
parameters that the forward pass never uses are dropped. Runtime gains
(equalized learning rate) are applied in `call`, exactly as the official code
does, so stored values are copied unchanged.

Official `network-snapshot-*.pkl` files are read without torch and without
running the code they embed (`keras_creps.official_pickle`), then converted
with `generator_from_official_pickle` / `discriminator_from_official_pickle`;
`describe_official_pickle` summarises a loaded file in bounded time and length.
"""

import numpy as np

from keras_creps.layers.blur import DEFAULT_FIR_TAPS
from keras_creps.layers.blur import fir_filter_2d
from keras_creps.models.creps_discriminator import CREPSDiscriminator
from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.official_pickle import OfficialPickleError
from keras_creps.official_pickle import UnsafePickleError
from keras_creps.official_pickle import describe_official_pickle
from keras_creps.official_pickle import short_repr
from keras_creps.official_pickle import load_official_pickle

__all__ = [
    "OfficialPickleError",
    "UnsafePickleError",
    "describe_official_pickle",
    "discriminator_from_official",
    "discriminator_from_official_pickle",
    "generator_from_official",
    "generator_from_official_pickle",
    "load_official_pickle",
    "official_discriminator_kwargs",
    "official_generator_kwargs",
    "short_repr",
]

# Parameters that exist in official generator checkpoints but that the
# official forward pass never uses (b4's ToRes and decoder_8).
UNUSED_GENERATOR_PREFIXES = ("synthesis.b4.tores.", "synthesis.decoder_8.")


def _as_numpy(value):
    """Tensor-like (NumPy, torch on CPU, anything with `numpy()`) -> NumPy."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _fc(value):
    """Official fully connected weight `[out, in]` -> Keras kernel `[in, out]`."""
    return np.transpose(value)


def _official_fc_shape(variable):
    return tuple(variable.shape)[::-1]


def _load_official(what, state_dict, targets, ignored=lambda key: False):
    """Copies `state_dict` into the variables named by `targets`.

    Args:
        what: "generator" or "discriminator", for messages.
        state_dict: official name -> array.
        targets: official name -> `(variable, transform, official_shape)`;
            `transform` maps the official array to the variable's layout.
        ignored: predicate for official names that exist in checkpoints but
            have no counterpart (unused parameters, constant buffers).

    Every target must be present with its official shape; keys that are
    neither targets nor ignored are refused. Nothing is assigned unless the
    whole state dict fits.
    """
    unknown = sorted(key for key in state_dict if key not in targets and not ignored(key))
    if unknown:
        raise ValueError(
            f"The state dict has {len(unknown)} entr(y/ies) that this {what} does not have: "
            f"{short_repr(unknown[:10])}. Do the constructor kwargs match the checkpoint?"
        )
    values = {}
    for key, (_, transform, official_shape) in targets.items():
        if key not in state_dict:
            raise ValueError(f"The state dict is missing {short_repr(key)} (expected official shape {official_shape}).")
        value = _as_numpy(state_dict[key])
        if tuple(value.shape) != tuple(official_shape):
            raise ValueError(
                f"Official weight {short_repr(key)} has shape {short_repr(tuple(value.shape))}, "
                f"expected {tuple(official_shape)}."
            )
        values[key] = value if transform is None else transform(value)
    for key, (variable, _, _) in targets.items():
        variable.assign(values[key].astype(variable.dtype))


def _keys(kwargs):
    """The names in a kwargs dict read from a file, bounded for a message."""
    return short_repr(list(kwargs))


# The largest sizes a converted network may ask for. The paper's largest
# official networks (1024x1024) use channel_base 65536, channel_max 1024,
# 512-wide latents and 8 mapping layers; these caps leave ample room for
# bigger research models while refusing, before anything is allocated,
# kwargs from a hostile file that would build a network of terabytes.
_SIZE_LIMITS = {
    "z_dim": 1 << 14, "w_dim": 1 << 14, "c_dim": 1 << 16, "resolution": 1 << 13, "img_channels": 16,
    "channel_base": 1 << 21, "channel_max": 1 << 13, "biline_channels": 1 << 12, "rank": 1 << 8,
    "mapping_layers": 64, "cmap_dim": 1 << 14, "mbstd_group_size": 1 << 12, "mbstd_num_channels": 1 << 10,
}


def _check_sizes(out, what):
    """Refuses sizes that are not plain integers within `_SIZE_LIMITS`."""
    for name, limit in _SIZE_LIMITS.items():
        value = out.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
            raise ValueError(
                f"Official {what} kwarg {name} must be an integer in [0, {limit}]. "
                f"Received: {name}={short_repr(value)}"
            )
    return out


def _pop_required(kwargs, names, what):
    """Pops the required official kwargs `names` (official -> ours) from `kwargs`."""
    missing = [name for name in names if name not in kwargs]
    if missing:
        raise ValueError(f"Official {what} kwargs need {missing[0]!r}. Received: {_keys(kwargs)}")
    return {ours: kwargs.pop(official) for official, ours in names.items()}


# ----------------------------------------------------------------------------- generator


def _generator_targets(generator):
    """Official name -> (variable, transform, official shape) for every generator weight."""
    targets = {}

    def add_dense(prefix, dense):
        targets[f"{prefix}.weight"] = (dense.kernel, _fc, _official_fc_shape(dense.kernel))
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
    out = _pop_required(
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
        raise ValueError(f"Unsupported official generator kwargs: {_keys(kwargs)}")
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
        raise ValueError(f"Unsupported official mapping_kwargs: {_keys(mapping)}")
    return _check_sizes(out, "generator")


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
    _load_official("generator", state_dict, _generator_targets(generator), _ignored_generator_key)
    return generator


# ----------------------------------------------------------------------------- discriminator

# Official `Discriminator` defaults that change the math.
_OFFICIAL_D_DEFAULTS = {
    "architecture": "resnet",
    "channel_base": 32768,
    "channel_max": 512,
    "conv_clamp": 256,
    "cmap_dim": None,
}


def _conv_kernel(value):
    """Official conv weight `[O, I, k, k]` -> Keras kernel `[k, k, I, O]`."""
    return np.transpose(value, (2, 3, 1, 0))


def _check_fir_taps(where, taps):
    taps = np.asarray(taps, dtype=np.float64)
    if taps.shape != (4,) or not np.allclose(taps / taps.sum(), np.array([1, 3, 3, 1]) / 8):
        raise ValueError(
            f"Only the [1, 3, 3, 1] resample filter is supported. Received: {where}={short_repr(taps.tolist())}"
        )


def official_discriminator_kwargs(official_kwargs):
    """Translates official `Discriminator(...)` kwargs into `CREPSDiscriminator` kwargs.

    Accepts what the official constructor accepts for the residual
    discriminator: `c_dim`, `img_resolution`, `img_channels`, `architecture`
    (`"resnet"` only), `channel_base`, `channel_max`, `num_fp16_res`
    (ignored: precision is a Keras dtype policy), `conv_clamp`, `cmap_dim`,
    and the nested `block_kwargs` (`freeze_layers` and `fp16_channels_last`
    are training/memory options and are ignored), `mapping_kwargs`
    (`num_layers`) and `epilogue_kwargs` (`mbstd_group_size`,
    `mbstd_num_channels`). Values this port does not implement (another
    architecture, activation or resample filter) raise `ValueError`.
    """
    kwargs = dict(official_kwargs)
    block = dict(kwargs.pop("block_kwargs", None) or {})
    mapping = dict(kwargs.pop("mapping_kwargs", None) or {})
    epilogue = dict(kwargs.pop("epilogue_kwargs", None) or {})
    out = _pop_required(
        kwargs, {"c_dim": "c_dim", "img_resolution": "resolution", "img_channels": "img_channels"}, "discriminator"
    )
    settings = {name: kwargs.pop(name, default) for name, default in _OFFICIAL_D_DEFAULTS.items()}
    if settings.pop("architecture") != "resnet":
        raise ValueError(
            f"Only the official 'resnet' discriminator architecture is supported. "
            f"Received: architecture={short_repr(official_kwargs['architecture'])}"
        )
    out.update(settings)
    kwargs.pop("num_fp16_res", None)
    if kwargs:
        raise ValueError(f"Unsupported official discriminator kwargs: {_keys(kwargs)}")

    block.pop("freeze_layers", None)
    block.pop("fp16_channels_last", None)
    if block.pop("activation", "lrelu") != "lrelu":
        raise ValueError(
            f"Only activation='lrelu' is supported. Received: block_kwargs="
            f"{short_repr(official_kwargs['block_kwargs'])}"
        )
    if "resample_filter" in block:
        _check_fir_taps("block_kwargs['resample_filter']", block.pop("resample_filter"))
    if block:
        raise ValueError(f"Unsupported official block_kwargs: {_keys(block)}")

    out["mapping_layers"] = mapping.pop("num_layers", 8)
    cmap_dim = out["cmap_dim"]
    if cmap_dim is None:
        cmap_dim = min(out["channel_base"] // 4, out["channel_max"])
    for name in ("embed_features", "layer_features"):
        value = mapping.pop(name, None)
        if value is not None and value != cmap_dim:
            raise ValueError(
                f"Label-mapping widths other than cmap_dim are not supported. "
                f"Received: mapping_kwargs[{name!r}]={short_repr(value)}, cmap_dim={short_repr(cmap_dim)}"
            )
    for name, default in (("activation", "lrelu"), ("lr_multiplier", 0.01)):
        value = mapping.pop(name, default)
        if value != default:
            raise ValueError(f"Unsupported official mapping_kwargs: {name}={short_repr(value)} (only {default!r}).")
    if mapping:
        raise ValueError(f"Unsupported official mapping_kwargs: {_keys(mapping)}")

    out["mbstd_group_size"] = epilogue.pop("mbstd_group_size", 4)
    out["mbstd_num_channels"] = epilogue.pop("mbstd_num_channels", 1)
    if epilogue.pop("activation", "lrelu") != "lrelu":
        raise ValueError(
            f"Only activation='lrelu' is supported. Received: epilogue_kwargs="
            f"{short_repr(official_kwargs['epilogue_kwargs'])}"
        )
    if epilogue:
        raise ValueError(f"Unsupported official epilogue_kwargs: {_keys(epilogue)}")
    return _check_sizes(out, "discriminator")


def _discriminator_targets(discriminator):
    """Official name -> (variable, transform, official shape) for every discriminator weight."""
    targets = {}

    def add_conv(prefix, conv):
        k, _, cin, cout = conv.kernel.shape
        targets[f"{prefix}.weight"] = (conv.kernel, _conv_kernel, (cout, cin, k, k))
        if conv.bias is not None:
            targets[f"{prefix}.bias"] = (conv.bias, None, tuple(conv.bias.shape))

    def add_dense(prefix, dense):
        targets[f"{prefix}.weight"] = (dense.kernel, _fc, _official_fc_shape(dense.kernel))
        if dense.bias is not None:
            targets[f"{prefix}.bias"] = (dense.bias, None, tuple(dense.bias.shape))

    for res, block in zip(discriminator.block_resolutions, discriminator.blocks):
        for conv in (block.fromrgb, block.conv0, block.conv1, block.skip):
            if conv is not None:
                add_conv(f"b{res}.{conv.name}", conv)
    if discriminator.mapping is not None:
        if discriminator.mapping.embed is not None:
            add_dense("mapping.embed", discriminator.mapping.embed)
        for i, dense in enumerate(discriminator.mapping.dense_layers):
            add_dense(f"mapping.fc{i}", dense)
    add_conv("b4.conv", discriminator.epilogue.conv)
    add_dense("b4.fc", discriminator.epilogue.fc)
    add_dense("b4.out", discriminator.epilogue.out)
    return targets


def _discriminator_filter_keys(discriminator):
    """Names of the official `resample_filter` buffers (constants here)."""
    keys = []
    for res, block in zip(discriminator.block_resolutions, discriminator.blocks):
        keys.append(f"b{res}.resample_filter")
        for conv in (block.fromrgb, block.conv0, block.conv1, block.skip):
            if conv is not None:
                keys.append(f"b{res}.{conv.name}.resample_filter")
    keys.append("b4.conv.resample_filter")
    return set(keys)


def discriminator_from_official(state_dict, **official_kwargs):
    """Builds a `CREPSDiscriminator` holding the weights of an official discriminator.

    Conv weights `[O, I, k, k]` become Keras kernels `[k, k, I, O]`, dense
    weights `[out, in]` become `[in, out]`; biases are copied. Stored values
    are not rescaled (the equalized-lr gains are applied in `call`, as in the
    official code). The `resample_filter` buffers must hold the normalised
    `[1, 3, 3, 1]` filter, which is a constant of our layers; they are
    checked and dropped.

    Args:
        state_dict: mapping from official names (`b16.conv0.weight`,
            `b4.fc.bias`, `mapping.fc0.weight`, ...) to arrays (NumPy or CPU
            torch tensors).
        **official_kwargs: the official `Discriminator` constructor kwargs
            (`c_dim`, `img_resolution`, `img_channels`, `channel_base`,
            `channel_max`, optional `architecture`, `conv_clamp`, `cmap_dim`,
            `num_fp16_res`, `block_kwargs`, `mapping_kwargs`,
            `epilogue_kwargs`), as stored with the checkpoint.

    Returns:
        A `CREPSDiscriminator` computing what the official one computes.

    Raises:
        ValueError: a weight is missing, mis-shaped or unknown, a resample
            filter differs from `[1, 3, 3, 1]`, or a kwarg is not supported.

    Example:
    ```python
    arrays = np.load("creps_tiny.npz")
    state = {k[2:]: arrays[k] for k in arrays.files
             if k.startswith("D/") and not k.startswith(("D/in/", "D/out/"))}
    discriminator = discriminator_from_official(state, **meta["D"]["kwargs"])
    ```
    """
    discriminator = CREPSDiscriminator(**official_discriminator_kwargs(official_kwargs))
    filter_keys = _discriminator_filter_keys(discriminator)
    expected_filter = fir_filter_2d(DEFAULT_FIR_TAPS)
    for key in sorted(filter_keys & set(state_dict)):
        value = _as_numpy(state_dict[key])
        if value.shape != expected_filter.shape or not np.allclose(value, expected_filter, atol=1e-7):
            raise ValueError(
                f"{short_repr(key)} is not the normalised [1, 3, 3, 1] filter this port implements. "
                f"Received: shape {short_repr(value.shape)}, values {short_repr(np.round(value, 6).tolist())}"
            )
    targets = _discriminator_targets(discriminator)
    _load_official("discriminator", state_dict, targets, ignored=lambda key: key in filter_keys)
    return discriminator


# ----------------------------------------------------------------------------- network pickles


def _official_network(source, which, allowed, class_name, marker):
    """The `which` network record of an official pickle (path, file or loaded dict)."""
    if which not in allowed:
        raise ValueError(f"`which` must be one of {list(allowed)}. Received: which={which!r}")
    if isinstance(source, dict):
        data, name = source, "the loaded pickle"
    else:
        data, name = load_official_pickle(source), repr(str(getattr(source, "name", source)))
    record = data.get(which)
    if not isinstance(record, dict) or "state_dict" not in record:
        raise ValueError(f"{name} has no network {which!r}. It has: {_keys(data)}")
    if record["class_name"] != class_name or marker not in record["state_dict"]:
        raise ValueError(
            f"{name}[{which!r}] is a {short_repr(record['class_name'])} without {marker!r}, not an official CREPS "
            f"{class_name}; StyleGAN2/3 pickles are not supported."
        )
    return record


def generator_from_official_pickle(source, which="G_ema"):
    """Builds a `CREPSGenerator` from an official CREPS network pickle.

    The pickle is read by `load_official_pickle` (no torch, nothing in the
    file executed; foreign globals raise `UnsafePickleError`); the network's
    stored constructor kwargs and state dict then go through
    `generator_from_official`.

    Args:
        source: str, `os.PathLike`, a binary file object, or the dict that
            `load_official_pickle` returned.
        which: str. `"G_ema"` (the moving average, the network to sample
            from) or `"G"` (the trained generator, to resume training).
            Defaults to `"G_ema"`.

    Returns:
        A `CREPSGenerator` with the official weights.

    Raises:
        UnsafePickleError: the file names a global outside the allow-list.
        ValueError: the file is not an official CREPS pickle, or the network
            does not fit (see `generator_from_official`).

    Example:
    ```python
    generator = generator_from_official_pickle("network-snapshot-025000.pkl")
    images = generator(np.random.randn(4, generator.z_dim).astype("float32"))
    generator.save("generator.keras")
    ```
    """
    record = _official_network(source, which, ("G_ema", "G"), "Generator", "synthesis.b4.input.freqs")
    return generator_from_official(record["state_dict"], **record["init_kwargs"])


def discriminator_from_official_pickle(source, which="D"):
    """Builds a `CREPSDiscriminator` from an official CREPS network pickle.

    Like `generator_from_official_pickle`, for the discriminator
    (`discriminator_from_official` does the mapping).

    Args:
        source: str, `os.PathLike`, a binary file object, or the dict that
            `load_official_pickle` returned.
        which: str. The pickle entry to convert. Defaults to `"D"`.

    Returns:
        A `CREPSDiscriminator` with the official weights.

    Raises:
        UnsafePickleError: the file names a global outside the allow-list.
        ValueError: the file is not an official CREPS pickle, or the network
            does not fit (see `discriminator_from_official`).

    Example:
    ```python
    discriminator = discriminator_from_official_pickle("network-snapshot-025000.pkl")
    discriminator.save("discriminator.keras")
    ```
    """
    record = _official_network(source, which, ("D",), "Discriminator", "b4.out.weight")
    return discriminator_from_official(record["state_dict"], **record["init_kwargs"])

"""The official discriminator -> `CREPSDiscriminator`: kwargs, weight names, filters."""

import numpy as np

from keras_creps.convert.state_dicts import as_numpy
from keras_creps.convert.state_dicts import check_sizes
from keras_creps.convert.state_dicts import fc_kernel
from keras_creps.convert.state_dicts import file_keys
from keras_creps.convert.state_dicts import load_official
from keras_creps.convert.state_dicts import official_fc_shape
from keras_creps.convert.state_dicts import pop_required
from keras_creps.layers.blur import DEFAULT_FIR_TAPS
from keras_creps.layers.blur import fir_filter_2d
from keras_creps.models.creps_discriminator import CREPSDiscriminator
from keras_creps.official_pickle import short_repr


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
    out = pop_required(
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
        raise ValueError(f"Unsupported official discriminator kwargs: {file_keys(kwargs)}")

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
        raise ValueError(f"Unsupported official block_kwargs: {file_keys(block)}")

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
        raise ValueError(f"Unsupported official mapping_kwargs: {file_keys(mapping)}")

    out["mbstd_group_size"] = epilogue.pop("mbstd_group_size", 4)
    out["mbstd_num_channels"] = epilogue.pop("mbstd_num_channels", 1)
    if epilogue.pop("activation", "lrelu") != "lrelu":
        raise ValueError(
            f"Only activation='lrelu' is supported. Received: epilogue_kwargs="
            f"{short_repr(official_kwargs['epilogue_kwargs'])}"
        )
    if epilogue:
        raise ValueError(f"Unsupported official epilogue_kwargs: {file_keys(epilogue)}")
    return check_sizes(out, "discriminator")


def _discriminator_targets(discriminator):
    """Official name -> (variable, transform, official shape) for every discriminator weight."""
    targets = {}

    def add_conv(prefix, conv):
        k, _, cin, cout = conv.kernel.shape
        targets[f"{prefix}.weight"] = (conv.kernel, _conv_kernel, (cout, cin, k, k))
        if conv.bias is not None:
            targets[f"{prefix}.bias"] = (conv.bias, None, tuple(conv.bias.shape))

    def add_dense(prefix, dense):
        targets[f"{prefix}.weight"] = (dense.kernel, fc_kernel, official_fc_shape(dense.kernel))
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
        value = as_numpy(state_dict[key])
        if value.shape != expected_filter.shape or not np.allclose(value, expected_filter, atol=1e-7):
            raise ValueError(
                f"{short_repr(key)} is not the normalised [1, 3, 3, 1] filter this port implements. "
                f"Received: shape {short_repr(value.shape)}, values {short_repr(np.round(value, 6).tolist())}"
            )
    targets = _discriminator_targets(discriminator)
    load_official("discriminator", state_dict, targets, ignored=lambda key: key in filter_keys)
    return discriminator

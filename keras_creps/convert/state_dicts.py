"""Copying an official state dict into our variables, and checking the official kwargs."""

import numpy as np

from keras_creps.official_pickle import short_repr


def as_numpy(value):
    """Tensor-like (NumPy, torch on CPU, anything with `numpy()`) -> NumPy."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def fc_kernel(value):
    """Official fully connected weight `[out, in]` -> Keras kernel `[in, out]`."""
    return np.transpose(value)


def official_fc_shape(variable):
    return tuple(variable.shape)[::-1]


def load_official(what, state_dict, targets, ignored=lambda key: False):
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
        value = as_numpy(state_dict[key])
        if tuple(value.shape) != tuple(official_shape):
            raise ValueError(
                f"Official weight {short_repr(key)} has shape {short_repr(tuple(value.shape))}, "
                f"expected {tuple(official_shape)}."
            )
        values[key] = value if transform is None else transform(value)
    for key, (variable, _, _) in targets.items():
        variable.assign(values[key].astype(variable.dtype))


def file_keys(kwargs):
    """The names in a kwargs dict read from a file, bounded for a message."""
    return short_repr(list(kwargs))


# The largest sizes a converted network may ask for. The paper's largest
# official networks (1024x1024) use channel_base 65536, channel_max 1024,
# 512-wide latents and 8 mapping layers; these caps leave ample room for
# bigger research models while refusing, before anything is allocated,
# kwargs from a hostile file that would build a network of terabytes.
SIZE_LIMITS = {
    "z_dim": 1 << 14, "w_dim": 1 << 14, "c_dim": 1 << 16, "resolution": 1 << 13, "img_channels": 16,
    "channel_base": 1 << 21, "channel_max": 1 << 13, "biline_channels": 1 << 12, "rank": 1 << 8,
    "mapping_layers": 64, "cmap_dim": 1 << 14, "mbstd_group_size": 1 << 12, "mbstd_num_channels": 1 << 10,
}


def check_sizes(out, what):
    """Refuses sizes that are not plain integers within `SIZE_LIMITS`."""
    for name, limit in SIZE_LIMITS.items():
        value = out.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
            raise ValueError(
                f"Official {what} kwarg {name} must be an integer in [0, {limit}]. "
                f"Received: {name}={short_repr(value)}"
            )
    return out


def pop_required(kwargs, names, what):
    """Pops the required official kwargs `names` (official -> ours) from `kwargs`."""
    missing = [name for name in names if name not in kwargs]
    if missing:
        raise ValueError(f"Official {what} kwargs need {missing[0]!r}. Received: {file_keys(kwargs)}")
    return {ours: kwargs.pop(official) for official, ours in names.items()}

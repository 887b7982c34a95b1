"""Import weights of the official CREPS PyTorch implementation.

The official networks (VinAIResearch/CREPS) store each layer under a dotted
name such as `synthesis.b8.fc0.affine.weight`; our layers keep the same path
with `/` separators (`synthesis/b8/fc0/affine/kernel`), so the mapping is
mechanical: fully connected weights `[out, in]` become Keras kernels
`[in, out]`, the Fourier input's buffers are reshaped, and the few official
parameters that the forward pass never uses are dropped. Runtime gains
(equalized learning rate) are applied in `call`, exactly as the official code
does, so stored values are copied unchanged.
"""

import numpy as np

from keras_creps.models.creps_generator import CREPSGenerator

# Parameters that exist in official generator checkpoints but that the
# official forward pass never uses (b4's ToRes and decoder_8).
UNUSED_GENERATOR_PREFIXES = ("synthesis.b4.tores.", "synthesis.decoder_8.")


def _as_numpy(value):
    """Tensor-like (NumPy, torch on CPU, anything with `numpy()`) -> float32 NumPy."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _assign(variables, path, key, value, transform=None):
    """Assigns `state_dict[key]` (after `transform`) to the variable at `path`."""
    value = _as_numpy(value)
    if transform is not None:
        value = transform(value)
    variable = variables[path]
    expected = tuple(variable.shape)
    if tuple(value.shape) != expected:
        raise ValueError(
            f"Official weight {key!r} has shape {tuple(_as_numpy(value).shape)} after "
            f"conversion, but {path!r} expects {expected}."
        )
    variable.assign(value.astype(variable.dtype))


def _load_state_dict(model, state_dict, translate, unused_prefixes=(), ignored_suffixes=()):
    """Copies an official state dict into `model`.

    `translate(key, value)` returns `(variable_path, transform)` or `None`
    for keys without a counterpart. Every variable of `model` must be set
    exactly once; extra or missing keys raise `ValueError` naming them.
    """
    variables = {v.path: v for v in model.variables}
    assigned = {}
    unknown = []
    for key, value in state_dict.items():
        if key.startswith(unused_prefixes) or key.endswith(ignored_suffixes):
            continue
        target = translate(key, value)
        if target is None or target[0] not in variables:
            unknown.append(key)
            continue
        path, transform = target
        shape_in = tuple(_as_numpy(value).shape)
        try:
            _assign(variables, path, key, value, transform)
        except ValueError as e:
            raise ValueError(
                f"Official weight {key!r} has shape {shape_in}, which does not fit "
                f"{path!r} of shape {tuple(variables[path].shape)} (official shape expected: "
                f"{_official_shape(path, variables[path], transform)})."
            ) from e
        assigned[path] = key
    if unknown:
        raise ValueError(
            f"The state dict has {len(unknown)} weight(s) that this model does not have: "
            f"{sorted(unknown)[:10]}. Do the constructor kwargs match the checkpoint?"
        )
    missing = sorted(set(variables) - set(assigned))
    if missing:
        raise ValueError(
            f"The state dict is missing {len(missing)} weight(s): "
            f"{[_official_name(p) for p in missing][:10]} (Keras paths {missing[:10]})."
        )
    return model


def _official_shape(path, variable, transform):
    shape = tuple(variable.shape)
    if path.endswith("/kernel") and len(shape) == 2:
        return shape[::-1]
    return "see the official layout"


# ----------------------------------------------------------------------------- generator


def _fc(value):
    return np.transpose(value)


def _generator_path(key):
    """Official generator key -> (Keras variable path, transform) or None."""
    parts = key.split(".")
    if parts[:3] == ["synthesis", "b4", "input"]:
        rest = parts[3:]
        if rest == ["freqs"]:
            return "synthesis/biline_input/freqs", None  # reshaped by the caller
        if rest == ["weight"]:
            return "synthesis/biline_input/amplitude", None
        if rest == ["affine", "weight"]:
            return "synthesis/biline_input/affine/kernel", _fc
        if rest == ["affine", "bias"]:
            return "synthesis/biline_input/affine/bias", None
        return None
    if len(parts) >= 3 and parts[1].startswith("decoder_") and parts[2].isdigit() and parts[1] != "decoder_img":
        parts = parts[:2] + [f"fc{parts[2]}"] + parts[3:]
    if parts[-1] == "weight":
        return "/".join(parts[:-1] + ["kernel"]), _fc
    if parts[-1] in ("bias", "w_avg"):
        return "/".join(parts), None
    return None


def _official_name(path):
    """Best-effort official name of a Keras variable path (for error messages)."""
    name = path.replace("biline_input/amplitude", "b4/input/weight").replace("biline_input", "b4/input")
    name = name.replace("/kernel", "/weight")
    for i in range(8):
        name = name.replace(f"/fc{i}/", f"/{i}/") if "/decoder_" in name else name
    return name.replace("/", ".")


def official_generator_kwargs(official_kwargs):
    """Translates official `Generator(...)` kwargs into `CREPSGenerator` kwargs.

    Accepts exactly what the official constructor (and its
    `mapping_kwargs` / synthesis kwargs) accepts for CREPS; arguments that do
    not change the math (`num_fp16_res`, `conv_clamp`-free `channels_last`
    options) are accepted and ignored, anything else unknown is refused.
    """
    kwargs = dict(official_kwargs)
    mapping = dict(kwargs.pop("mapping_kwargs", {}) or {})
    try:
        out = {
            "z_dim": kwargs.pop("z_dim"),
            "c_dim": kwargs.pop("c_dim"),
            "w_dim": kwargs.pop("w_dim"),
            "resolution": kwargs.pop("img_resolution"),
            "img_channels": kwargs.pop("img_channels"),
        }
    except KeyError as e:
        raise ValueError(f"Official generator kwargs need {e.args[0]!r}. Received: {sorted(official_kwargs)}")
    # Synthesis defaults of the official SynthesisNetwork.
    out["channel_base"] = kwargs.pop("channel_base", 32768)
    out["channel_max"] = kwargs.pop("channel_max", 512)
    out["biline_channels"] = kwargs.pop("biline_channels", 32)
    out["fc_clamp"] = kwargs.pop("fc_clamp", 256)
    kwargs.pop("num_fp16_res", None)  # precision is a Keras dtype policy here
    kwargs.pop("fp16_channels_last", None)
    architecture = kwargs.pop("architecture", "skip")
    if architecture != "skip":
        raise ValueError(f"Only the official 'skip' synthesis architecture exists for CREPS. Received: architecture={architecture!r}")
    if kwargs:
        raise ValueError(f"Unsupported official generator kwargs: {sorted(kwargs)}")
    out["mapping_layers"] = mapping.pop("num_layers", 8)
    out["mapping_lr_multiplier"] = mapping.pop("lr_multiplier", 0.01)
    out["w_avg_beta"] = mapping.pop("w_avg_beta", 0.998)
    for name, default in (("embed_features", None), ("layer_features", None), ("activation", "lrelu")):
        value = mapping.pop(name, default)
        if value not in (default, out["w_dim"]) or (name == "activation" and value != "lrelu"):
            raise ValueError(f"Unsupported official mapping_kwargs: {name}={value!r}")
    if mapping:
        raise ValueError(f"Unsupported official mapping_kwargs: {sorted(mapping)}")
    return out


def generator_from_official(state_dict, **official_kwargs):
    """Builds a `CREPSGenerator` holding the weights of an official generator.

    Args:
        state_dict: mapping from official parameter/buffer names
            (`mapping.fc0.weight`, `synthesis.b8.fc0.affine.bias`, ...) to
            arrays (NumPy or CPU torch tensors).
        **official_kwargs: the official `Generator` constructor kwargs
            (`z_dim`, `c_dim`, `w_dim`, `img_resolution`, `img_channels`,
            `mapping_kwargs`, `channel_base`, `channel_max`,
            `biline_channels`, `num_fp16_res`, ...), as stored with the
            checkpoint.

    Returns:
        A `CREPSGenerator` computing what the official generator computes
        (in float32; the official fp16 refinement path is not emulated).

    Raises:
        ValueError: a weight is missing, mis-shaped or unknown, or the kwargs
            describe something CREPS does not have.

    Example:
    ```python
    arrays = np.load("creps_tiny.npz")
    state = {k[2:]: arrays[k] for k in arrays.files if k.startswith("G/")}
    generator = generator_from_official(state, **meta["G_kwargs"])
    ```
    """
    kwargs = official_generator_kwargs(official_kwargs)
    generator = CREPSGenerator(**kwargs)
    rank = generator.rank
    c4 = generator.synthesis.channels[4]

    def translate(key, value):
        target = _generator_path(key)
        if target is None:
            return None
        path, transform = target
        if path.endswith("biline_input/freqs"):
            return path, lambda v: np.reshape(v, (c4 // 2, rank)) if v.size == c4 // 2 * rank else v
        if path.endswith("biline_input/amplitude"):
            return path, lambda v: np.reshape(v, (c4, 2 * rank)) if v.size == c4 * 2 * rank else v
        return path, transform

    return _load_state_dict(
        generator,
        state_dict,
        translate,
        unused_prefixes=UNUSED_GENERATOR_PREFIXES,
        ignored_suffixes=("synthesis.b4.input.coords",),
    )

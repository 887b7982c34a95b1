"""The model card (`README.md`) of a preset, written from its config and metadata.

The card is regenerated at every save, so everything it shows comes from
`config.json` and `metadata.json`: a re-saved preset never carries a stale
card. Metadata keys with a section of their own:

- `description`, `training_data`, `kimg`, `license`: the summary table;
- `class_names`: a table of the labels;
- `training`: a dict shown as a table (batch, gamma, time, hardware, ...);
- `metrics`: a table of final metric values;
- `swd_curve`: `[[kimg, swd], ...]`, a table (and the plot named by
  `swd_curve_plot`, a path relative to the preset);
- `truncation_advice`, `known_artefacts`: prose sections;
- `discriminator`: a dict describing a `discriminator/` sub-preset.

Other keys are listed as JSON under "Other metadata".
"""

import json

# Filled in by `save_to_preset`; shown in the summary, not under "Other metadata".
AUTOMATIC_METADATA = (
    "class_name",
    "keras_creps_version",
    "keras_version",
    "backend",
    "date_saved",
    "parameter_count",
)

_SECTION_KEYS = {
    "description", "training_data", "kimg", "license", "metrics", "class_names", "training", "swd_curve",
    "swd_curve_plot", "truncation_advice", "known_artefacts", "discriminator",
}
_MAX_CURVE_ROWS = 30  # a longer curve is thinned in the card; metadata.json keeps every point


def model_card(name, config, metadata, usage_name=None):
    """The README.md text of a preset.

    Args:
        name: str. The title, e.g. `"creps_emoji_64"` or
            `"creps_emoji_64/discriminator"`.
        config: dict. The Keras serialized config (`config.json`).
        metadata: dict. The preset's `metadata.json`.
        usage_name: str or None. The name to pass to `from_preset` in the
            usage example. Defaults to `name`.

    Example:
    ```python
    text = model_card("tiny", config, metadata)
    ```
    """
    usage_name = name if usage_name is None else usage_name
    class_name = metadata["class_name"]
    kind = "generator" if "Generator" in class_name else "discriminator"
    lines = [f"# {name}", ""]
    lines += [metadata.get("description") or f"A CREPS {kind} ({class_name}) saved as a keras-creps preset.", ""]
    lines += _summary(config.get("config", {}), metadata)
    lines += _classes(metadata.get("class_names"))
    lines += _key_values("Training", metadata.get("training"))
    lines += _key_values("Metrics", metadata.get("metrics"), header=("Metric", "Value"))
    lines += _curve(metadata.get("swd_curve"), metadata.get("swd_curve_plot"))
    lines += _prose("Truncation", metadata.get("truncation_advice"))
    lines += _prose("Known artefacts", metadata.get("known_artefacts"))
    others = {k: v for k, v in metadata.items() if k not in _SECTION_KEYS and k not in AUTOMATIC_METADATA}
    if others:
        lines += ["## Other metadata", ""] + [f"- `{k}`: {json.dumps(v)}" for k, v in others.items()] + [""]
    lines += _usage(kind, usage_name, metadata.get("discriminator"))
    lines += _files(metadata.get("discriminator"))
    return "\n".join(lines)


def _cell(value):
    """A value as one Markdown table cell (pipes escaped, lines joined)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(arguments, metadata):
    facts = [("Model", f"`{metadata['class_name']}`")]
    for key, label in (("resolution", "Resolution"), ("c_dim", "Classes (c_dim)"), ("z_dim", "z_dim"),
                       ("w_dim", "w_dim"), ("channel_base", "channel_base"), ("channel_max", "channel_max")):
        if key in arguments:
            facts.append((label, f"`{arguments[key]}`"))
    facts.append(("Parameters", f"{metadata['parameter_count']:,}"))
    for key, label in (("training_data", "Training data"), ("kimg", "Trained for (kimg)"), ("license", "License")):
        if key in metadata:
            facts.append((label, _cell(metadata[key])))
    saved = (
        f"{metadata['date_saved']} with keras-creps {metadata['keras_creps_version']}, "
        f"Keras {metadata['keras_version']} ({metadata['backend']} backend)"
    )
    facts.append(("Saved", saved))
    return ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in facts] + [""]


def _classes(class_names):
    if not isinstance(class_names, list) or not class_names:
        return []
    rows = [f"| {i} | {_cell(n)} |" for i, n in enumerate(class_names)]
    return ["## Classes", "", "| Label | Class |", "|---|---|", *rows, ""]


def _key_values(title, values, header=("", "")):
    if not isinstance(values, dict) or not values:
        return []
    rows = [f"| {_cell(k)} | {_cell(v)} |" for k, v in values.items()]
    return [f"## {title}", "", f"| {header[0]} | {header[1]} |", "|---|---|", *rows, ""]


def _curve(points, plot):
    if not isinstance(points, list) or not points:
        return []
    lines = ["## SWD during training", ""]
    if plot:
        lines += [f"![SWD against kimg]({plot})", ""]
    shown = points
    if len(points) > _MAX_CURVE_ROWS:
        step = -(-len(points) // _MAX_CURVE_ROWS)
        shown = points[::step] + ([points[-1]] if (len(points) - 1) % step else [])
        lines += [f"One measurement in {step} is shown; `metadata.json` holds all {len(points)}.", ""]
    lines += ["Sliced Wasserstein distance (`swd_full`, x1000, lower is better) of the EMA generator.", ""]
    lines += ["| kimg | SWD |", "|---|---|"] + [f"| {kimg:g} | {swd:.4g} |" for kimg, swd in shown] + [""]
    return lines


def _prose(title, text):
    if not text:
        return []
    return [f"## {title}", "", str(text).strip(), ""]


def _usage(kind, name, discriminator):
    lines = ["## Usage", "", "```python", "import keras_creps", "import numpy as np", ""]
    if kind == "generator":
        lines += [
            f'generator = keras_creps.CREPSGenerator.from_preset("{name}")',
            "generate = generator.make_generate_function(truncation_psi=0.7)",
            "z = np.random.randn(4, generator.z_dim)",
            "c = np.eye(generator.c_dim)[[0, 1, 2, 3]] if generator.c_dim else None  # one-hot labels",
            "images = generate(z, c)  # [4, R, R, 3] in [-1, 1]",
        ]
        if discriminator:
            lines += [f'discriminator = keras_creps.CREPSDiscriminator.from_preset("{name}")  # for fine-tuning']
    else:
        lines += [f'discriminator = keras_creps.CREPSDiscriminator.from_preset("{name}")']
    lines += [
        "```",
        "",
        f"From a clone of the repository: `python recipes/generate.py --network {name}`. A bare name is looked "
        "up in the installed presets (`keras_creps.saved_models`), then in the clone's `saved_models/`.",
        "",
    ]
    return lines


def _files(discriminator):
    lines = [
        "## Files",
        "",
        "- `config.json`: Keras serialized config (class and constructor arguments)",
        "- `model.weights.h5`: the weights (`model.save_weights`), loadable on TensorFlow, JAX and PyTorch",
        "- `metadata.json`: versions, backend, date and the metadata above",
        "- `README.md`: this card, generated by `save_to_preset` (re-saving rewrites it)",
    ]
    if discriminator:
        lines.append("- `discriminator/`: the discriminator at the same point of training, a preset of its own")
    return lines + [""]

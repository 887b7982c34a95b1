r"""Turn a training run (or a chain of resumed runs) into a shipped preset.

Writes `--out` (default `saved_models/creps_emoji_64`):

    config.json, model.weights.h5    the EMA generator of the chosen network snapshot
    metadata.json                    description, data, licence, configuration and network arguments,
                                     kimg, wall-clock time over the chain, hardware, batch, gamma,
                                     augmentation and its final p, the SWD curve, class names, advice
    README.md                        the model card (from metadata.json; see keras_creps/utils/preset_card.py)
    discriminator/                   the discriminator of the matching training state, a preset of its own
                                     (`CREPSDiscriminator.from_preset("<name>")`, `train.py --resume_d <name>`)
    images/swd_curve.png             the SWD curve as a small plot (images/ is not installed with the package)

A run resumed several times has one directory per start (`train.py --resume`
starts a new one); pass them all with `--run` (repeated, or comma separated,
in any order). Each holds its own `log.txt`, `training_options.json`,
`metric-<name>.jsonl`, snapshots and possibly `stats.jsonl`. The wall-clock
time of each run counts up to where the next run took over (or to the
shipped snapshot), from its `training-state-*.json` records, `log.txt` tick
lines and `stats.jsonl` together (time inside `fit`; start-up excluded).

Everything is written beside `--out` first and moved into place once
complete and within `--max_mb`; files already in `--out` that this script
does not write (e.g. the gallery under `images/`) are kept.

Examples:
    python recipes/ship_preset.py --run runs/00000-creps-demo-noto-emoji-64-64-batch16-gamma0.05
    python recipes/ship_preset.py --run runs/00000-creps-demo-...,runs/00001-creps-demo-... \
        --snapshot 000840 --truncation_advice "psi 0.7 is a good default; 0.5 for the cleanest shapes" \
        --known_artefacts @artefacts.md
    python recipes/ship_preset.py --run runs/00000-creps-demo-... --preview   # print the metadata and card only
"""

import datetime
import json
import math
import os
import platform
import re
import shutil
import uuid
from pathlib import Path

from _command_line import CommandLine
from _startup import quiet_startup
from absl import flags

FLAGS = flags.FLAGS
CLI = CommandLine("ship_preset.py")
REPO = Path(__file__).resolve().parents[1]

flags.DEFINE_multi_string("run", None, "A training run directory; repeat it (or separate with commas) for a chain "
                          "of resumed runs.")
flags.DEFINE_string("snapshot", None, "The network snapshot to ship: a kimg tag (000840 or 840) or a "
                    "network-snapshot-<kimg> path. Default: the newest of the runs.")
flags.DEFINE_string("out", str(REPO / "saved_models" / "creps_emoji_64"), "The preset directory to write.")
flags.DEFINE_string("description", None, "The model card's first paragraph (text, or @file). Default: generated.")
flags.DEFINE_string("training_data", None, "What the model was trained on. Default: from the run's dataset.")
flags.DEFINE_string("license", None, "Licence note. Default for the built-in emoji set: the data's OFL 1.1 note.")
flags.DEFINE_string("truncation_advice", None, "Truncation advice for the card (text, or @file).")
flags.DEFINE_string("known_artefacts", None, "Known artefacts for the card (text, or @file).")
flags.DEFINE_string("hardware", None, "What training ran on. Default: this machine's CPU.")
flags.DEFINE_string("metric", "swd_full", "The metric whose curve goes into the card (metric-<name>.jsonl).")
flags.DEFINE_float("max_mb", 30.0, "Refuse to ship a preset directory larger than this many MB.")
flags.DEFINE_boolean("preview", False, "Print the metadata and the model card; write nothing.")

STATE_PATTERN = re.compile(r"^training-state-(\d{6}(?:\.\d{3})?)\.json$")
TICK_PATTERN = re.compile(r"^tick\s+\d+\s+kimg\s+([\d.]+)/\S+\s+step\s+\d+\s+time\s+((?:\d+[dhms]\s?)+)")
STATS_SECONDS = ("Timing/total_sec", "total_sec", "seconds", "elapsed_sec", "time_sec")
STATS_KIMG = ("Progress/kimg", "kimg")
DEFAULT_DATASET = "noto-emoji-64.zip"
EMOJI_LICENSE = ("Training images: Noto Color Emoji, SIL Open Font License 1.1 "
                 "(keras_creps/data/default/LICENSE-OFL.txt).")


class ShipError(Exception):
    """A bad flag or run directory: one line for the user."""


# --------------------------------------------------------------------------- reading the runs


def kimg_of_tag(tag):
    """`"000012.345"` -> 12.345 (the tag of `kimg_tag`)."""
    whole, _, frac = tag.partition(".")
    return (int(whole) * 1000 + int(frac or 0)) / 1000


def read_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ShipError(f"cannot read {what} {str(path)!r}: {e}") from None


def read_runs(specs):
    """The run directories of `--run`, in training order: `[(path, training_options), ...]`."""
    paths = [Path(p.strip()) for spec in specs or [] for p in spec.split(",") if p.strip()]
    if not paths:
        raise ShipError("pass --run <training run directory> (repeat it for a chain of resumed runs)")
    runs = []
    for path in paths:
        if not (path / "training_options.json").is_file():
            raise ShipError(f"bad --run {str(path)!r}: not a training run directory (no training_options.json)")
        runs.append((path, read_json(path / "training_options.json", "training options")))
    runs.sort(key=lambda run: (run[1].get("resolved", {}).get("start_kimg") or 0.0, run[0].name))
    for (before, _), (path, options) in zip(runs, runs[1:]):
        resumed = options.get("resolved", {}).get("resumed_from")
        if not resumed or Path(resumed).resolve().parent != before.resolve():
            print(f"ship_preset.py: note: {path.name} does not resume from {before.name} "
                  f"(resumed_from={resumed!r}); times and curves are joined by kimg anyway")
    return runs


def snapshots_of(runs):
    """Every network snapshot of the chain: `[(kimg, path)]`, oldest first (a later run wins a tie)."""
    from keras_creps.utils.run_dir import list_network_snapshots

    found = {}
    for run, _ in runs:
        for tag, path in list_network_snapshots(run):
            found[kimg_of_tag(tag)] = Path(path)
    return sorted(found.items())


def pick_snapshot(runs, spec):
    """`(kimg, path)` of the snapshot to ship: `spec` (tag, kimg or path) or the newest."""
    snapshots = snapshots_of(runs)
    if not snapshots:
        raise ShipError(f"no network-snapshot-<kimg> in {', '.join(str(r) for r, _ in runs)} yet")
    if spec is None:
        return snapshots[-1]
    for kimg, path in snapshots:
        name = path.name.removesuffix(".keras").removeprefix("network-snapshot-")
        if spec in (name, str(path)) or Path(spec).resolve() == path.resolve():
            return kimg, path
        try:
            if math.isclose(float(spec), kimg, abs_tol=5e-4):
                return kimg, path
        except ValueError:
            pass
    tags = ", ".join(p.name for _, p in snapshots[-5:])
    raise ShipError(f"bad --snapshot {spec!r}: no such snapshot in the runs (newest: {tags})")


def pick_state(runs, kimg):
    """`(kimg, path)` of the training state at `kimg`, else the newest before it, else the newest."""
    from keras_creps.utils.run_dir import list_training_states

    states = sorted((seen / 1000, Path(path)) for run, _ in runs for seen, path in list_training_states(run))
    if not states:
        raise ShipError("no training-state-<kimg>.keras in the runs: the discriminator cannot be shipped")
    earlier = [s for s in states if s[0] <= kimg + 5e-4]
    chosen = earlier[-1] if earlier else states[-1]
    if not math.isclose(chosen[0], kimg, abs_tol=5e-4):
        print(f"ship_preset.py: note: no training state at kimg {kimg:g}; the discriminator comes from "
              f"{chosen[1].name}")
    return chosen


def parse_duration(text):
    """`"1d 02h 03m"`, `"4m 05s"`, ... (`format_duration`) -> seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return float(sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", text)))


def _number(value):
    if isinstance(value, dict):
        value = value.get("mean")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _first(record, keys):
    for key in keys:
        value = _number(record.get(key))
        if value is not None:
            return value
    return None


def time_points(run):
    """`[(kimg, rank, seconds since this run's training began)]` from state records, log.txt and stats.jsonl.

    All three are merged: state records are exact (rank 2) but only the
    newest few are kept; log.txt (rank 1) has every tick, to the second (the
    minute after a day); stats.jsonl (rank 0) may be missing in older runs.
    """
    points = []
    for name in sorted(os.listdir(run)):
        if STATE_PATTERN.match(name):
            record = read_json(run / name, "training state record")
            if "seconds_in_this_session" in record:
                points.append((float(record["kimg"]), 2, float(record["seconds_in_this_session"])))
    if (run / "log.txt").is_file():
        for line in (run / "log.txt").read_text(encoding="utf-8", errors="replace").splitlines():
            match = TICK_PATTERN.match(line.strip())
            if match:
                points.append((float(match.group(1)), 1, parse_duration(match.group(2))))
    if (run / "stats.jsonl").is_file():
        for line in (run / "stats.jsonl").read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            kimg, seconds = _first(record, STATS_KIMG), _first(record, STATS_SECONDS)
            if kimg is not None and seconds is not None:
                points.append((kimg, 0, seconds))
    return sorted(points)


def training_seconds(runs, kimg):
    """Wall-clock seconds of the chain up to `kimg`: each run up to where the next one took over.

    Returns `(total, [(run name, seconds or None)])`; a run without any
    timing record counts as None (and the total is then a lower bound).
    """
    parts = []
    starts = [options.get("resolved", {}).get("start_kimg") or 0.0 for _, options in runs]
    for i, (run, _) in enumerate(runs):
        if starts[i] >= kimg - 5e-4 and i > 0:
            break  # this run continued past the shipped snapshot's kimg
        cut = min(starts[i + 1], kimg) if i + 1 < len(runs) else kimg
        # The last record at or before the cut; of records at the same kimg, the most precise.
        before = [(round(at, 3), rank, seconds) for at, rank, seconds in time_points(run) if at <= cut + 5e-4]
        parts.append((run.name, max(before)[2] if before else None))
    return sum(s for _, s in parts if s is not None), parts


def metric_curve(runs, metric, kimg):
    """`[[kimg, value]]` of `metric-<metric>.jsonl` over the chain, up to `kimg` (a later run wins a tie)."""
    values = {}
    for run, _ in runs:
        path = run / f"metric-{metric}.jsonl"
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
                at, value = float(record["kimg"]), float(record["results"][metric])
            except (ValueError, KeyError, TypeError):
                continue
            if at <= kimg + 5e-4 and math.isfinite(value):
                values[round(at, 3)] = value
    return [[at, values[at]] for at in sorted(values)]


def cpu_description():
    """This machine's CPU model and logical core count."""
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown CPU"
    return f"{model}, {os.cpu_count()} logical cores ({platform.system()}), no GPU"


# --------------------------------------------------------------------------- metadata


def text_flag(value, name):
    """A text flag's value, read from a file when it starts with '@'."""
    if value is None or not value.startswith("@"):
        return value
    try:
        return Path(value[1:]).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ShipError(f"bad --{name} {value!r}: {e.strerror}") from None


def network_arguments(config):
    """A network's constructor arguments from `training_options.json`, without Keras bookkeeping."""
    return {k: v for k, v in (config or {}).items() if k not in ("dtype", "name", "trainable")}


def defaults_from(options):
    """`(description, training_data, license, class_names)` from the last run's options."""
    resolved = options.get("resolved", {})
    dataset = resolved.get("dataset", {})
    cfg = options.get("options", {}).get("cfg")
    res, count, c_dim = dataset.get("resolution"), dataset.get("num_images"), dataset.get("c_dim")
    builtin = os.path.basename(str(resolved.get("data_source", ""))) == DEFAULT_DATASET
    names = dataset.get("class_names")
    if builtin and not names:
        from keras_creps.data.default import DEFAULT_CLASS_NAMES

        names = list(DEFAULT_CLASS_NAMES)
    condition = f", conditional on {c_dim} classes" if c_dim else ""
    description = (f"A CREPS generator (the EMA weights) trained from scratch with keras-creps on {count} images "
                   f"of {dataset.get('name')} at {res}x{res}{condition}, with the `{cfg}` configuration.")
    if builtin:
        data = (f"{dataset.get('name')}: {count} emoji of Noto Color Emoji, {res}x{res} RGB on white, labelled "
                "with their Unicode emoji group (the built-in dataset, keras_creps/data/default)")
    else:
        data = f"{dataset.get('name')}: {count} images, {res}x{res}"
    return description, data, EMOJI_LICENSE if builtin else None, names


def training_facts(runs, kimg, gan, state_name):
    """The "Training" table of the card, plus the total seconds."""
    from keras_creps.utils.durations import format_duration

    options = runs[-1][1].get("options", {})
    resolved = runs[-1][1].get("resolved", {})
    compile_config = resolved.get("compile", {})
    seconds, parts = training_seconds(runs, kimg)
    augment_p = None if gan.augment is None else round(float(_to_numpy(gan.augment.p)), 4)
    augment = options.get("aug", "none")
    if augment != "none":
        augment += f" ({options.get('augpipe')}" + (f", target {compile_config.get('ada_target')}"
                                                      if augment == "ada" else "") + ")"
    timing = format_duration(seconds) + ("" if all(s is not None for _, s in parts) else
                                         " (at least: a run has no timing record)")
    return {
        "configuration": options.get("cfg"),
        "kimg": kimg,
        "batch": options.get("batch"),
        "r1_gamma": compile_config.get("r1_gamma", options.get("gamma")),
        "augmentation": augment,
        "final augment_p": augment_p,
        "wall-clock time": timing,
        "hardware": FLAGS.hardware or cpu_description(),
        "backend": f"{resolved.get('backend')}, Keras {resolved.get('keras_version')}",
        "runs": ", ".join(run.name for run, _ in runs),
        "training state": state_name,
    }, seconds, parts


def _to_numpy(value):
    import keras

    return keras.ops.convert_to_numpy(value)


def build_metadata(runs, snapshot, state, gan, discriminator_params):
    """`(generator metadata, discriminator metadata)`."""
    kimg, snapshot_path = snapshot
    options = runs[-1][1]
    description, data, license_note, class_names = defaults_from(options)
    training, seconds, parts = training_facts(runs, kimg, gan, state[1].name)
    curve = metric_curve(runs, FLAGS.metric, kimg)
    metadata = {
        "description": text_flag(FLAGS.description, "description") or description,
        "training_data": FLAGS.training_data or data,
        "license": FLAGS.license or license_note or "unknown: pass --license",
        "kimg": kimg,
        "class_names": class_names,
        "training": training,
        "training_time_seconds": round(seconds, 1),
        "training_time_per_run": {name: s for name, s in parts},
        "network_kwargs": {"generator": network_arguments(options.get("resolved", {}).get("generator")),
                           "discriminator": network_arguments(options.get("resolved", {}).get("discriminator"))},
        "snapshot": snapshot_path.name,
        "date_shipped": datetime.date.today().isoformat(),
    }
    if curve:
        metadata[f"{FLAGS.metric}_curve" if FLAGS.metric != "swd_full" else "swd_curve"] = curve
        if math.isclose(curve[-1][0], kimg, abs_tol=5e-4):
            metadata["metrics"] = {FLAGS.metric: curve[-1][1]}
        if len(curve) >= 2 and FLAGS.metric == "swd_full":
            metadata["swd_curve_plot"] = "images/swd_curve.png"
    for key in ("truncation_advice", "known_artefacts"):
        text = text_flag(getattr(FLAGS, key), key)
        if text:
            metadata[key] = text
    metadata["discriminator"] = {"preset": "discriminator", "kimg": state[0], "parameter_count": discriminator_params}
    discriminator = {
        "training_data": metadata["training_data"],
        "license": metadata["license"],
        "kimg": state[0],
        "training_state": state[1].name,
    }
    return metadata, discriminator


# --------------------------------------------------------------------------- the plot


def plot_curve(points, path, title):
    """A small line plot of `[[x, y], ...]` as a PNG, drawn with Pillow alone."""
    from PIL import Image, ImageDraw, ImageFont

    width, height, left, right, top, bottom = 480, 260, 58, 16, 26, 34
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    pad = (max(ys) - min(ys)) * 0.06 or 1.0
    y0, y1 = min(ys) - pad, max(ys) + pad
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()

    def at(x, y):
        return (left + (x - x0) / (x1 - x0) * (width - left - right),
                top + (y1 - y) / (y1 - y0) * (height - top - bottom))

    for i in range(5):  # grid lines and tick labels
        y = y0 + (y1 - y0) * i / 4
        draw.line([at(x0, y), at(x1, y)], fill=(225, 225, 225))
        draw.text((4, at(x0, y)[1] - 6), f"{y:.3g}", fill="black", font=font)
        x = x0 + (x1 - x0) * i / 4
        draw.line([at(x, y0), at(x, y1)], fill=(225, 225, 225))
        draw.text((at(x, y0)[0] - 10, height - bottom + 6), f"{x:.4g}", fill="black", font=font)
    draw.rectangle([at(x0, y1), at(x1, y0)], outline="black")
    draw.line([at(x, y) for x, y in points], fill=(31, 119, 180), width=2)
    for x, y in points:
        cx, cy = at(x, y)
        draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=(31, 119, 180))
    draw.text((left, 6), title, fill="black", font=font)
    draw.text((4, height - 14), "kimg:", fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


# --------------------------------------------------------------------------- writing


def check_out(out):
    """`out` may be new, empty, or a preset (replaced); anything else is refused before any work."""
    from keras_creps.models.presets import is_preset

    if out.exists() and not out.is_dir():
        raise ShipError(f"bad --out {str(out)!r}: it exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not is_preset(out):
        raise ShipError(f"bad --out {str(out)!r}: a non-empty directory that is not a preset; choose another")


def files_under(root):
    return [p for p in Path(root).rglob("*") if p.is_file()]


def carried_over(out, staging):
    """`[(old file, new place)]`: files of the existing `out` that this shipment does not write (e.g. the gallery)."""
    if not out.is_dir():
        return []
    pairs = []
    for path in files_under(out):
        target = staging / path.relative_to(out)
        if not target.exists():
            pairs.append((path, target))
    return pairs


def write_preset(out, generator, discriminator, metadata, discriminator_metadata):
    """Writes the whole preset beside `out`, checks its size, then swaps it in. Returns `(total, installed)` bytes."""
    from keras_creps.models.presets import save_to_preset

    out.parent.mkdir(parents=True, exist_ok=True)
    root = out.parent / f".{out.name}.ship-{uuid.uuid4().hex}"
    staging = root / out.name  # the preset's own name, so its card is titled right
    try:
        save_to_preset(generator, staging, metadata=metadata)
        save_to_preset(discriminator, staging / "discriminator", metadata=discriminator_metadata)
        if "swd_curve_plot" in metadata:
            plot_curve(metadata["swd_curve"], staging / metadata["swd_curve_plot"],
                       f"{out.name}: SWD (swd_full, lower is better) vs kimg")
        extras = carried_over(out, staging)
        total = sum(p.stat().st_size for p in files_under(staging)) + sum(p.stat().st_size for p, _ in extras)
        installed = sum(p.stat().st_size for p in files_under(staging) if "images" not in p.relative_to(staging).parts)
        if total > FLAGS.max_mb * 1e6:
            raise ShipError(f"the preset would be {total / 1e6:.1f} MB, over --max_mb {FLAGS.max_mb:g}; "
                            f"nothing was written to {str(out)!r}")
        for source, target in extras:  # copied, not moved: the old preset stays whole until the swap
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        if out.exists():
            os.replace(out, root / ".old")
        os.replace(staging, out)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return total, installed


def load_networks(snapshot_path, state_path):
    """`(EMA generator, CREPSGAN of the training state)`, checked to belong together."""
    import keras

    from keras_creps.models.presets import load_generator
    from keras_creps.training.gan import CREPSGAN

    try:
        generator = load_generator(snapshot_path)
        gan = keras.saving.load_model(str(state_path))
    except Exception as e:  # noqa: BLE001 - any unreadable file is one line
        raise ShipError(f"cannot load {snapshot_path.name} / {state_path.name}: {type(e).__name__}: {e}") from None
    if not isinstance(gan, CREPSGAN):
        raise ShipError(f"{str(state_path)!r} holds a {type(gan).__name__}, not a CREPSGAN training state")
    for attr in ("resolution", "c_dim", "img_channels"):
        if getattr(generator, attr) != getattr(gan.discriminator, attr):
            raise ShipError(f"{snapshot_path.name} and {state_path.name} differ in {attr} "
                            f"({getattr(generator, attr)} vs {getattr(gan.discriminator, attr)})")
    return generator, gan


def preview(out, generator, metadata):
    import keras

    from keras_creps.utils.preset_card import model_card
    from keras_creps.utils.preset_io import preset_metadata

    print(json.dumps(metadata, indent=2))
    config = keras.saving.serialize_keras_object(generator)
    print(model_card(out.name, config, preset_metadata(generator, metadata)))


def ship():
    """Ships the preset the parsed FLAGS describe; returns the preset directory (None with --preview)."""
    runs = read_runs(FLAGS.run)
    if FLAGS.max_mb <= 0:
        raise ShipError(f"bad --max_mb {FLAGS.max_mb:g}: must be positive")
    out = Path(FLAGS.out).expanduser().absolute()
    check_out(out)
    for name in ("description", "truncation_advice", "known_artefacts"):
        text_flag(getattr(FLAGS, name), name)  # a missing @file fails before the networks are loaded
    snapshot = pick_snapshot(runs, FLAGS.snapshot)
    state = pick_state(runs, snapshot[0])
    print(f"ship_preset.py: {snapshot[1]} (kimg {snapshot[0]:g}) and the discriminator of {state[1].name}")
    generator, gan = load_networks(snapshot[1], state[1])
    metadata, d_metadata = build_metadata(runs, snapshot, state, gan, int(gan.discriminator.count_params()))
    d_metadata["description"] = (
        f"The discriminator of {out.name} at kimg {state[0]:g} (from {state[1].name}), for fine-tuning: "
        f"`recipes/train.py --resume_g {out.name} --resume_d {out.name}` or "
        f'`CREPSDiscriminator.from_preset("{out.name}")`.')
    if FLAGS.preview:
        preview(out, generator, metadata)
        return None
    total, installed = write_preset(out, generator, gan.discriminator, metadata, d_metadata)
    curve = metadata.get("swd_curve", [])
    print(f"wrote {out}: {total / 1e6:.1f} MB ({installed / 1e6:.1f} MB installed with the package), "
          f"kimg {snapshot[0]:g}, {metadata['training']['wall-clock time']} of training, "
          f"{len(curve)} SWD points" + (f", final SWD {curve[-1][1]:.4g}" if curve else ""))
    return out


def run(argv):
    """Parses `argv` (e.g. `["ship_preset.py", "--run", "runs/00000-..."]`) and ships; for in-process use."""
    FLAGS.unparse_flags()
    FLAGS(argv)
    return ship()


def main(argv):
    quiet_startup()  # first: before anything imports Keras or TensorFlow
    if len(argv) > 1:
        CLI.fail(f"unexpected arguments {argv[1:]}")
    try:
        ship()
    except ShipError as error:
        CLI.fail(error)


if __name__ == "__main__":
    CLI.run(main)

r"""Measure the quality of a trained CREPS generator: FID, KID, precision/recall, SWD, EQ-T, scale consistency.

`--network` takes a `.keras` file, a preset directory or name, or a training
run directory (its newest `network-snapshot-*`). The real images default to
the dataset recorded in the run directory's `training_options.json`, else
the built-in emoji set. Results are printed as a table and appended as JSON
lines to `metric-<name>.jsonl` in the run directory (when the network is in
one) or in `--out`.

Metrics (see `keras_creps/metrics/protocols.py`): fid50k_full, kid50k_full,
pr50k3_full (NVIDIA's Inception, as in the papers; their `_keras` variants
use keras.applications' InceptionV3), swd_full (no network needed),
scale_consistency, eqt, eqt_int. The FID-family names follow the feature
network actually used: with `--feature_net auto` and no NVIDIA weights
(`--inception` or `KERAS_CREPS_INCEPTION_PKL`), `fid50k_full` is computed
with the Keras network and reported as `fid50k_full_keras`. Real-image
statistics are cached (`--cache_dir`, `$KERAS_CREPS_CACHE/metrics`, or
`~/.cache/keras_creps/metrics`).

Examples:
    python recipes/calc_metrics.py --network runs/00003-creps-small-noto-emoji-64-64-batch32-gamma1
    python recipes/calc_metrics.py --network g.keras --data faces64.zip --metrics fid50k_full,swd_full \
        --num_gen 2000 --inception ~/inception-2015-12-05.pt
    python recipes/calc_metrics.py --network my_preset --metrics eqt,scale_consistency --out results
"""

import json
import os

from _command_line import CommandLine
from _startup import quiet_startup
from absl import flags

FLAGS = flags.FLAGS
CLI = CommandLine("calc_metrics.py")
fail = CLI.fail
flags.DEFINE_string("network", None, "A .keras file, a preset directory or name, or a run directory (its newest "
                    "network snapshot).")
flags.DEFINE_string("data", None, "Real images (folder, .zip, TFRecords, tfds:<name>). Default: the run's dataset "
                    "(training_options.json), else the built-in emoji set.")
flags.DEFINE_string("data_dir", None, "TFDS data directory (for tfds: sources).")
flags.DEFINE_list("metrics", ["swd_full"], "Comma-separated metric names.")
flags.DEFINE_integer("num_gen", None, "Generated samples per metric. Default: the metric's (50000 for *50k*).")
flags.DEFINE_integer("num_real", None, "Use a random subset of this many real images. Default: all (_full).")
flags.DEFINE_float("truncation_psi", 1.0, "Truncation psi of the samples.")
flags.DEFINE_enum("feature_net", "auto", ["auto", "inception_keras", "inception_torchscript"],
                  "Feature network of FID/KID/PR: auto = NVIDIA's when its weights are given, else the Keras one.")
flags.DEFINE_string("inception", None, "Weights of the feature network (NVIDIA's inception-2015-12-05 file, or Keras "
                    "InceptionV3 weights).")
flags.DEFINE_string("cache_dir", None, "Real-statistics cache. Default: $KERAS_CREPS_CACHE/metrics or "
                    "~/.cache/keras_creps/metrics.")
flags.DEFINE_string("out", None, "Directory for the metric-<name>.jsonl files. Default: the network's run directory.")
flags.DEFINE_integer("batch", 32, "Samples per render call.")
flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"],
                  "auto, true or false. auto: XLA on TensorFlow and JAX, eager PyTorch. true: also torch.compile "
                  "on PyTorch (the demo configuration at 64^2, batch 32: ~36 s of compiling, then 0.15 s per "
                  "batch against 0.51 s eager: worth it for 50k-sample metrics). false: no XLA or jit.")
flags.DEFINE_integer("seed", 0, "Seed of the samples.")
flags.DEFINE_boolean("progress", True, "Print progress lines on stderr.")


def check_flags():
    """Validates the flags before anything heavy is imported."""
    from keras_creps.metrics import protocols

    if not FLAGS.network:
        fail("--network is required (a .keras file, a preset directory or name, or a run directory)")
    unknown = [name for name in FLAGS.metrics if not protocols.is_valid_metric(name)]
    if unknown or not FLAGS.metrics:
        fail(f"bad --metrics {','.join(FLAGS.metrics)!r}: unknown {', '.join(unknown) or '(none given)'}; "
             f"valid: {', '.join(protocols.list_metrics())}")
    for name in ("num_gen", "num_real", "batch"):
        value = getattr(FLAGS, name)
        if value is not None and value < 1:
            fail(f"bad --{name} {value}: must be at least 1")
    if FLAGS.seed < 0:
        fail(f"bad --seed {FLAGS.seed}: must be non-negative")
    if FLAGS.data and not FLAGS.data.startswith("tfds:") and not os.path.exists(FLAGS.data) and \
            not any(c in FLAGS.data for c in "*?["):
        fail(f"bad --data {FLAGS.data!r}: no such file or directory", code=1)


def resolve_network(path):
    """`(network path, run directory or None)`: the model `--network` names and the run it belongs to."""
    from keras_creps.models import network_paths
    from keras_creps.utils.run_dir import is_run_dir

    try:
        choice = network_paths.choose_network(os.path.expanduser(path), name="--network")
    except network_paths.NetworkPathError as error:
        fail(str(error), code=1)
    if choice.note:
        CLI.say(choice.note)
    parent = os.path.dirname(os.path.abspath(choice.path))
    return choice.path, (parent if is_run_dir(parent) else None)


def default_data(run_dir):
    """The run's dataset (and TFDS data_dir) from its training_options.json, else the built-in set."""
    options_path = os.path.join(run_dir, "training_options.json") if run_dir else None
    if options_path and os.path.isfile(options_path):
        with open(options_path, encoding="utf-8") as f:
            document = json.load(f)
        source = document.get("resolved", {}).get("data_source") or document.get("options", {}).get("data")
        if source:
            return source, document.get("options", {}).get("data_dir")
    from keras_creps.data.default import default_dataset_path

    return default_dataset_path(), None


def build_feature_network(names):
    """The feature network when a requested metric needs one, else None."""
    from keras_creps.metrics import protocols

    if all(protocols.get_metric(name).feature_suffix is None for name in names):
        return None
    from keras_creps.metrics.feature_network import feature_network

    try:
        return feature_network(FLAGS.feature_net, weights=FLAGS.inception)
    except (FileNotFoundError, ImportError, ValueError, OSError) as error:
        fail(f"--feature_net {FLAGS.feature_net}: {error}")


def print_table(records):
    rows = [("metric", "result", "value", "time", "num_gen", "feature network")]
    for record in records:
        for i, (key, value) in enumerate(record["results"].items()):
            first = i == 0
            rows.append((record["metric"] if first else "", key, f"{value:.6g}",
                         record["total_time_str"] if first else "", str(record["num_gen"]) if first else "",
                         (record["feature_network"] or "-") if first else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}")
    quiet_startup(import_tensorflow=True)  # real images come through tf.data on every backend
    from keras_creps.utils.allocator import release_unused_memory
    from keras_creps.utils.rendering_runtime import configure_rendering_runtime

    # The settings `generate.py` renders with (malloc, XLA's loop emitters on
    # TensorFlow). Keras' InceptionV3 on TensorFlow took the same time and
    # memory with and without the emitter flag (batch of 32, two alternating
    # pairs, 2026-12-05: 1.79-1.83 s, +675-682 MB either way).
    configure_rendering_runtime()
    from keras_creps.metrics import protocols
    from keras_creps.utils.arguments import jit_compile_setting
    from keras_creps.models import presets

    check_flags()

    network_path, run_dir = resolve_network(FLAGS.network)
    data, data_dir = (FLAGS.data, FLAGS.data_dir) if FLAGS.data else default_data(run_dir)
    data_dir = FLAGS.data_dir or data_dir
    try:
        generator = presets.load_generator(network_path)
    except Exception as e:  # noqa: BLE001 - report any unreadable model in one line
        fail(f"--network {network_path!r} could not be loaded: {type(e).__name__}: {e}", code=1)
    feature_net = build_feature_network(FLAGS.metrics)
    release_unused_memory()  # both networks built, nothing compiled yet: see the module
    names = []
    for name in FLAGS.metrics:
        renamed = protocols.metric_name_for_network(name, feature_net) if feature_net is not None else name
        if renamed != name:
            CLI.say(f"{name} is reported as {renamed}: measured with {feature_net.name}")
        names.append(renamed)
    out_dir = FLAGS.out or run_dir
    snapshot = os.path.relpath(network_path, run_dir) if run_dir else network_path
    print(f"network {network_path} ({generator.resolution}x{generator.resolution}); data {data}")
    records = []
    for name in dict.fromkeys(names):
        try:
            record = protocols.calc_metric(
                name, generator, data=data, num_gen=FLAGS.num_gen, num_real=FLAGS.num_real,
                truncation_psi=FLAGS.truncation_psi, feature_net=feature_net, cache_dir=FLAGS.cache_dir,
                batch_size=FLAGS.batch, seed=FLAGS.seed, progress=FLAGS.progress, snapshot=snapshot,
                data_dir=data_dir, jit_compile=jit_compile_setting(FLAGS.jit_compile))
        except (ValueError, FileNotFoundError) as error:
            fail(f"{name}: {error}")
        records.append(record)
        if out_dir:
            protocols.report_metric(record, os.path.join(out_dir, f"metric-{name}.jsonl"))
    print_table(records)
    if out_dir:
        files = ", ".join(f"metric-{record['metric']}.jsonl" for record in records)
        print(f"appended to {files} in {out_dir}")
    else:
        print("(not in a run directory: pass --out to keep the results as JSON lines)")


if __name__ == "__main__":
    CLI.run(main)

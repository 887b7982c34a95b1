r"""Train CREPS with `CREPSGAN.fit`: numbered run directories, snapshots, exact resume.

Without `--data` it trains on the built-in emoji set (1861 Noto Color Emoji,
64x64, 9 classes; `keras_creps/data/default/`), so it runs with no download.

Examples:
    python recipes/train.py --outdir runs                                  # emoji, cfg small
    python recipes/train.py --outdir runs --data faces64.zip --cfg paper --batch 32 --gamma 1 --mirror
    python recipes/train.py --outdir runs --cond                           # one class per emoji group
    python recipes/train.py --outdir runs --resume runs/00003-creps-noto-emoji-64-64-batch32-gamma1
    python recipes/train.py --outdir runs --data faces256.zip --resume_g converted/G.keras \
        --resume_d converted/D.keras --resume_g_ema converted/G_ema.keras  # fine-tune official weights
    python recipes/train.py --outdir runs --aug fixed --p 0.3 --augpipe bg  # fixed augmentation (default: ADA)
    python recipes/train.py --outdir runs --dry_run                        # options + networks, then exit
    KERAS_BACKEND=jax python recipes/train.py --outdir runs --gpus 2

Every run gets a new directory `<outdir>/<NNNNN>-creps[-<cfg>]-<dataset>-<res>-batch<B>-gamma<G>`
(`NNNNN` one more than the highest there; `-<cfg>` unless `paper`) holding:

    training_options.json                 every flag + the resolved configuration
    log.txt                               the progress lines (also on stdout)
    stats.jsonl                           one JSON line per tick: timing, memory, losses (official names)
    reals.png, fakes<kimg>.png            real images; EMA samples at start and each snapshot
    network-snapshot-<kimg>.keras         EMA generator (or a preset dir, --snapshot_format preset)
    training-state-<kimg>.keras + .json   everything needed to resume (last --keep kept)
    events.out.tfevents.*                 TensorBoard scalars and image grids
    metric-<name>.jsonl                   --metrics of the EMA generator at each snapshot (TensorBoard Metrics/*)

Training is counted in kimg: a tick is `--tick` kimg (one `fit` epoch and
one progress line), snapshots every `--snap` ticks and at the end; training
runs to the first tick boundary at or after `--kimg`. Before the first step
a line says the training step is being built (tracing and compiling take
minutes on a CPU); then come the first step's time, the steady s/step and
s/kimg with the memory in use, and within a tick a `...` line every
`--progress_interval` seconds. TensorFlow's native start-up lines are hidden
unless `--verbosity 0` (`-v 0`) or higher.

Resuming (`--resume <training-state.keras or run dir>`) restores G, D, the
EMA generator, both optimizers, `pl_mean`, `w_avg`, the augmentation pipeline
with its `p` and ADA's statistics, the step counter and the compile settings
(gamma, learning rates, seed, ADA target and speed) from the state, into a new run
directory; the data stream skips the batches already seen, so a killed run
resumed from its last state continues exactly as if never stopped (same
losses and weights; folder and ZIP data skip positions without reading a file,
TFRecord/TFDS data read but do not decode the skipped records -
`--noresume_skip_data` reshuffles instead). A run directory
resumes from its newest intact state: a newer one that is damaged (cut short,
not a valid `.keras` archive, or with a broken `.json` record) is named in a
warning line and skipped; temporaries that interrupted writes left in that
directory are removed first (unless a run still writes into it). Transfer
learning (`--resume_g/--resume_d/--resume_g_ema`, `.keras` files or presets,
e.g. from `recipes/convert.py`) starts new optimizers at step 0 with EMA
ramp-up off, as the official `--resume`.

Errors end with one line on stderr: exit status 2 for a bad flag value
(non-finite numbers included), 1 for unusable paths and files (`--outdir`
that is a file or not writable, `--data`, `--resume*` that holds nothing
usable). A NaN or Inf in any logged term stops training with exit status 1
and one line naming the term(s) and the last good snapshot; no snapshot is
written from the bad state.
"""

import contextlib
import math
import os
import types

from _command_line import CommandLine
from _startup import quiet_startup, use_dataset_image_limits
from absl import flags

FLAGS = flags.FLAGS
CLI = CommandLine("train.py")
OPTION_NAMES = []


def _define(kind, name, default, help_text, **kwargs):
    OPTION_NAMES.append(name)
    getattr(flags, f"DEFINE_{kind}")(name, default, help_text, **kwargs)


_define("string", "data", None,
        "Training data: an image folder, a StyleGAN .zip, TFRecord shards (directory or glob) or tfds:<name>. "
        "Default: the built-in emoji set.")
_define("string", "data_dir", None, "TFDS data directory (for tfds: sources).")
_define("string", "outdir", None, "Where run directories are created (required unless --dry_run).")
_define("string", "desc", None, "Extra text appended to the run directory name.")
_define("string", "cfg", "small",
        "Network configuration: paper (official CREPS: G channel_base 65536 / max 1024, D 32768 / 512), "
        "small (the CPU benchmark), demo (the shipped emoji model: trains in hours on a CPU) or tiny (tests). See keras_creps/training/configs.py.")
_define("integer", "cbase", None, "Override the capacity like the official --cbase: D channel_base; G gets twice.")
_define("integer", "cmax", None, "Override like the official --cmax: D channel_max; G gets twice.")
_define("integer", "resolution", None, "Expected image resolution; must equal the dataset's. Default: the dataset's.")
_define("integer", "batch", 32, "Global batch size (split over --gpus).")
_define("float", "gamma", 1.0, "R1 regularization weight.")
_define("float", "pl_weight", 2.0, "Path-length regularization weight (0 switches it off).")
_define("float", "glr", 0.002, "Generator learning rate (before the lazy-regularization adjustment).")
_define("float", "dlr", 0.002, "Discriminator learning rate (before the lazy-regularization adjustment).")
_define("float", "kimg", 25000.0, "Training length in thousands of real images shown to D.")
_define("float", "tick", 4.0, "kimg per tick: one progress line and one fit epoch.")
_define("integer", "snap", 10, "Ticks between snapshots (network, training state, sample grid).")
_define("integer", "keep", 3, "Newest training states kept per run directory (0 keeps all).")
_define("integer", "log_every", 10, "Steps between TensorBoard scalar summaries.")
_define("float", "progress_interval", 30.0, "Seconds between progress lines within a tick (0: tick lines only).")
_define("boolean", "mirror", False, "Add left-right mirrored copies of the images (official --mirror).")
_define("boolean", "cond", False, "Train a class-conditional model on the dataset's labels.")
_define("string", "aug", "ada",
        "Discriminator augmentation: ada (p adapts, starting at 0; the official default), fixed (p = --p) or noaug.")
_define("float", "p", 0.2, "Augmentation probability for --aug fixed (0 trains without augmentation).")
_define("float", "target", 0.6, "ADA target for the mean sign of D on augmented real images (--aug ada).")
_define("string", "augpipe", "bgc", "Augmentation pipeline: blit, geom, color, filter, noise, cutout, bg, bgc, bgcf, "
        "bgcfn or bgcfnc (--aug ada or fixed).")
_define("float", "ada_kimg", 500.0,
        "ADA speed: kimg for p to move by 1 (--aug ada). With --resume_g the default is 100, as the official code.")
_define("string", "resume", None, "Continue training: a training-state-*.keras file, or a run directory (its newest).")
_define("string", "resume_g", None, "Transfer learning: start G from this generator (.keras or preset).")
_define("string", "resume_d", None, "Transfer learning: start D from this discriminator (.keras or preset).")
_define("string", "resume_g_ema", None, "Transfer learning: start the EMA generator from this (default: --resume_g).")
_define("boolean", "resume_skip_data", True,
        "On --resume, skip the batches already seen so the data continues exactly (else reshuffle by step).")
_define("integer", "gpus", 1,
        "Devices for data-parallel training: TF MirroredStrategy (logical CPUs without GPUs), JAX DataParallel. "
        "Not supported on torch.")
_define("string", "mixed_precision", "none",
        "none, bfloat16 or float16: compute dtype of the networks (float16 trains with dynamic loss scaling).")
_define("string", "jit_compile", "auto",
        "auto, true or false: XLA compilation of the training step (auto on a TensorFlow CPU: XLA, but a plain "
        "graph for --cfg small and paper, whose step XLA compiles for over 20 minutes).")
_define("boolean", "run_eagerly", False,
        "Run the training step op by op, without tf.function/jax.jit (debugging; fastest for tiny test networks).")
_define("integer", "seed", 0, "Seed of the initial weights, the data order and every random draw of training.")
_define("string", "snapshot_format", "keras", "keras (network-snapshot-<kimg>.keras) or preset (a preset directory).")
_define("integer", "grid_columns", 8, "Samples per row of the sample grids.")
_define("boolean", "dry_run", False, "Print the options and the networks, build the dataset, then exit.")
_define("list", "metrics", ["swd_full"],
        "Quality metrics of the EMA generator at every snapshot (see recipes/calc_metrics.py), or none. swd_full "
        "needs no download; at the built-in set's size it adds ~5 min per snapshot on a 2-core CPU.")
_define("integer", "metrics_num_gen", None,
        "Samples per metric and snapshot. Default: each metric's (swd_full: as many as real images, at most "
        "10000; the 50k metrics: 50000).")
# The official --augpipe choices (presets of keras_creps.augment.AugmentPipeline).
AUGPIPES = ("blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc", "bgcf", "bgcfn", "bgcfnc")


def _say(line):
    print(f"train.py: {line}")


BFLOAT16_EMULATED = ("warning: --mixed_precision bfloat16 on a CPU without bfloat16 instructions and no GPU: "
                     "every product is emulated, slower than float32 (PyTorch's ~100x slower; see "
                     "keras_creps/utils/cpu_features.py)")
BFLOAT16_ON_JAX_CPU = ("warning: --mixed_precision bfloat16 on JAX's CPU backend trained slower than float32 "
                       "(train_small_64_b16 on a 2-core AMX CPU, 2026-12-04: 1155 against 883 s/kimg; XLA:CPU's "
                       "convolutions and bfloat16-result products run no faster than float32's), while TensorFlow "
                       "and PyTorch trained 2.6-3.0x faster in bfloat16 than in float32")


def bfloat16_training_warning():
    """The warning `--mixed_precision bfloat16` deserves on this backend and machine, or None."""
    import keras

    from keras_creps.utils import cpu_features

    if cpu_features.bfloat16_is_emulated():
        return BFLOAT16_EMULATED
    if keras.backend.backend() == "jax" and cpu_features.computes_on_cpu():
        return BFLOAT16_ON_JAX_CPU
    return None


def _warn(line):
    CLI.say(line)


# --------------------------------------------------------------------------- flags


def read_options():
    """Every flag value, read once: the rest of the script takes this namespace, never FLAGS.

    `given` holds the names of the flags set on the command line.
    """
    values = {name: FLAGS[name].value for name in OPTION_NAMES}
    return types.SimpleNamespace(**values, given=frozenset(name for name in OPTION_NAMES if FLAGS[name].present))


def _bad(opts, name, why):
    from keras_creps.training.run_errors import OptionError

    raise OptionError(f"bad --{name}={getattr(opts, name)!r}: {why}")


def _check_flags(opts):
    """Validates the options; raises `OptionError` (values) or `InputError` (paths) naming the first bad one."""
    from keras_creps.training.run_fit import metric_names

    _check_numbers(opts)
    _check_choices(opts)
    metric_names(opts.metrics)
    _check_paths(opts)


def _check_numbers(opts):
    for name in ("batch", "snap", "gpus", "log_every", "grid_columns"):
        if getattr(opts, name) < 1:
            _bad(opts, name, "must be >= 1")
    for name in ("cbase", "cmax", "resolution", "metrics_num_gen"):
        if getattr(opts, name) is not None and getattr(opts, name) < 1:
            _bad(opts, name, "must be >= 1")
    if opts.keep < 0:
        _bad(opts, "keep", "must be >= 0")
    # `math.isfinite` first: NaN fails every comparison, so a range check alone would let it through.
    for name in ("kimg", "tick", "glr", "dlr", "ada_kimg"):
        if not (math.isfinite(getattr(opts, name)) and getattr(opts, name) > 0):
            _bad(opts, name, "must be a finite number > 0")
    for name in ("gamma", "pl_weight", "progress_interval"):
        if not (math.isfinite(getattr(opts, name)) and getattr(opts, name) >= 0):
            _bad(opts, name, "must be a finite number >= 0")
    for name in ("p", "target"):
        if not 0 <= getattr(opts, name) <= 1:
            _bad(opts, name, "must be in [0, 1]")
    if not 0 <= opts.seed < 2**31:
        _bad(opts, "seed", "must be in [0, 2**31)")
    if opts.batch % opts.gpus:
        _bad(opts, "batch", f"must be a multiple of --gpus={opts.gpus}")


def _check_choices(opts):
    # --cfg is checked against the library's own list: one source of truth. Importing it loads Keras
    # (the package imports it), which the checks after this one need anyway; a bad --cfg still exits 2
    # with one line, a second or two later than a check before the import would.
    from keras_creps.training.configs import CONFIG_NAMES
    from keras_creps.training.run_errors import OptionError

    for name, choices in (("cfg", CONFIG_NAMES), ("mixed_precision", ("none", "bfloat16", "float16")),
                          ("aug", ("ada", "fixed", "noaug")), ("augpipe", AUGPIPES),
                          ("snapshot_format", ("keras", "preset"))):
        if getattr(opts, name) not in choices:
            listed = f"one of {', '.join(choices)}" if len(choices) > 3 else f"{', '.join(choices[:-1])} or {choices[-1]}"
            _bad(opts, name, f"choose {listed}")
    if opts.jit_compile.lower() not in ("auto", "true", "false"):
        _bad(opts, "jit_compile", "choose auto, true or false")
    # As the official train.py: a flag the chosen --aug does not use is a mistake.
    for name, modes in (("p", ("fixed",)), ("target", ("ada",)), ("ada_kimg", ("ada",)), ("augpipe", ("ada", "fixed"))):
        if name in opts.given and opts.aug not in modes:
            _bad(opts, name, f"only used with --aug {' or '.join(modes)}, not --aug {opts.aug}")
    transfer = [name for name in ("resume_g", "resume_d", "resume_g_ema") if getattr(opts, name)]
    if opts.resume and transfer:
        raise OptionError(f"--resume continues a training state; it cannot be combined with --{transfer[0]}")
    if opts.resume_g_ema and not opts.resume_g:
        _bad(opts, "resume_g_ema", "needs --resume_g")


def _check_paths(opts):
    from keras_creps.training.run_errors import InputError, OptionError, one_line
    from keras_creps.utils.output_paths import check_output_dir

    if not opts.outdir and not opts.dry_run:
        raise OptionError("--outdir is required (where run directories are created)")
    if opts.outdir and not opts.dry_run:
        try:
            check_output_dir(opts.outdir, name="--outdir")
        except ValueError as error:
            raise InputError(one_line(error)) from None
    for name in ("resume", "resume_g", "resume_d", "resume_g_ema"):
        path = getattr(opts, name)
        if path and not os.path.exists(path):
            raise InputError(f"bad --{name}={path!r}: no such file or directory")


# --------------------------------------------------------------------------- the run


def train(opts=None):
    """Runs training with the options (`read_options()` by default); returns the run directory (None for --dry_run).

    Raises `OptionError` for bad flag values, `InputError` for unusable
    inputs or outputs (both from `keras_creps.training.run_errors`) and
    `FloatingPointError` when a logged term goes non-finite.
    """
    import keras

    from keras_creps.data.default import default_dataset_path
    from keras_creps.training.distribute import distribution_scope
    from keras_creps.training.resume import inherit_run_options
    from keras_creps.training.run_errors import OptionError

    opts = opts if opts is not None else read_options()
    if opts.resume:
        opts = inherit_run_options(opts, OPTION_NAMES, log=_say)
    _check_flags(opts)
    source = opts.data or default_dataset_path()
    previous_policy = keras.config.dtype_policy()
    try:
        # The strategy comes first: TensorFlow can only split devices before it runs an op.
        with contextlib.ExitStack() as stack:
            try:
                strategy = stack.enter_context(distribution_scope(opts.gpus, allow_cpu=True, name="--gpus"))
            except ValueError as error:
                raise OptionError(f"bad --gpus={opts.gpus}: {error}") from None
            if opts.mixed_precision != "none":
                keras.config.set_dtype_policy(f"mixed_{opts.mixed_precision}")
            warning = bfloat16_training_warning() if opts.mixed_precision == "bfloat16" else None
            if warning:
                _warn(warning)
            return _train(opts, strategy, source)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(opts, strategy, source):
    import json

    from keras_creps.training import resume, run_data, run_networks, run_plan
    from keras_creps.training.run_fit import fit_run
    from keras_creps.utils.allocator import release_unused_memory
    from keras_creps.utils.random_seed import set_random_seed
    from keras_creps.utils.run_dir import OPTIONS_FILE, write_json

    info = run_data.scan_data(opts, source)
    set_random_seed(opts.seed)
    state_path = resume.find_training_state(opts.resume, log=_say, warn=_warn) if opts.resume else None
    if state_path:
        gan = resume.load_training_state(state_path, opts.run_eagerly)
    else:
        # A dry run prints only its JSON document (which records the choice) and summary.
        gan = run_networks.new_gan(opts, info, log=(lambda line: None) if opts.dry_run else _say)
    run_networks.check_network_fits(opts, gan, info, source, state_path)
    release_unused_memory()  # programs and host copies left by building (optimizer slots on JAX): see the module
    if state_path:
        resume.note_kept_settings(opts, gan, log=_say)
    plan = run_plan.plan_schedule(gan, opts.kimg, opts.tick, opts.batch)
    document = run_plan.options_document(opts, OPTION_NAMES, gan, info, source, strategy, plan, state_path)
    if opts.dry_run:
        print(json.dumps(document, indent=2, default=str))
        print("\n".join(run_plan.dry_run_summary(gan, info, plan)))
        return None
    run_dir = run_plan.new_run_dir(opts, info)
    document["resolved"]["run_dir"] = run_dir
    write_json(os.path.join(run_dir, OPTIONS_FILE), document)
    dataset = run_data.training_data(opts, strategy, source, info, plan.step0, log=_say)
    return fit_run(opts, gan, dataset, run_dir, source, info, plan, state_path)


def run(argv):
    """Parses `argv` (e.g. `["train.py", "--outdir", "runs"]`) and trains; for in-process use."""
    FLAGS.unparse_flags()
    FLAGS(argv)
    return train()


def main(argv):
    quiet_startup(import_tensorflow=True)  # tf.data on every backend
    use_dataset_image_limits()
    from keras_creps.utils.training_runtime import configure_training_runtime

    # Process-wide CPU settings (malloc reuse; JAX's XLA flags; TensorFlow one op
    # at a time and no constant folding), before anything compiles: see the module.
    configure_training_runtime()
    if len(argv) > 1:
        CLI.fail(f"unexpected arguments {argv[1:]}")
    from keras_creps.training.run_errors import InputError, OptionError

    try:
        train()
    except OptionError as error:
        CLI.fail(error)
    except (InputError, FloatingPointError) as error:
        CLI.fail(error, code=1)


if __name__ == "__main__":
    CLI.run(main)

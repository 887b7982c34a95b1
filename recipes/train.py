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
losses and weights; skipping re-reads those batches, which takes a while on
very long runs - `--noresume_skip_data` reshuffles instead). A run directory
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
import json
import math
import os
import sys
import time
import types

from _startup import quiet_startup
from absl import app, flags

FLAGS = flags.FLAGS
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
_define("string", "jit_compile", "auto", "auto, true or false: XLA compilation of the training step.")
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

CONFIG_NAMES = ("paper", "small", "demo", "tiny")  # = keras_creps.training.configs.CONFIG_NAMES (not imported: keras loads late)
# The official --augpipe choices (presets of keras_creps.augment.AugmentPipeline).
AUGPIPES = ("blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc", "bgcf", "bgcfn", "bgcfnc")


class UsageError(ValueError):
    """A bad flag value; printed as one line, exit status 2."""


class InputError(ValueError):
    """An unusable input or output path (data, --resume*, --outdir); printed as one line, exit status 1."""


# --------------------------------------------------------------------------- flags


def read_options():
    """Every flag value, read once: the rest of the script takes this namespace, never FLAGS.

    `given` holds the names of the flags set on the command line.
    """
    values = {name: FLAGS[name].value for name in OPTION_NAMES}
    return types.SimpleNamespace(**values, given=frozenset(name for name in OPTION_NAMES if FLAGS[name].present))


def _bad(opts, name, why):
    raise UsageError(f"bad --{name}={getattr(opts, name)!r}: {why}")


def _check_flags(opts):
    """Validates the options; raises `UsageError` (values) or `InputError` (paths) naming the first bad one."""
    _check_numbers(opts)
    _check_choices(opts)
    _metric_names(opts)
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
        raise UsageError(f"bad --batch={opts.batch}: must be a multiple of --gpus={opts.gpus}")


def _check_choices(opts):
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
        raise UsageError(f"--resume continues a training state; it cannot be combined with --{transfer[0]}")
    if opts.resume_g_ema and not opts.resume_g:
        raise UsageError(f"bad --resume_g_ema={opts.resume_g_ema!r}: needs --resume_g")


def _check_paths(opts):
    if not opts.outdir and not opts.dry_run:
        raise UsageError("--outdir is required (where run directories are created)")
    if opts.outdir and not opts.dry_run:
        from keras_creps.utils.output_paths import check_output_dir

        try:
            check_output_dir(opts.outdir, name="--outdir")
        except ValueError as error:
            raise InputError(_one_line(error)) from None
    for name in ("resume", "resume_g", "resume_d", "resume_g_ema"):
        path = getattr(opts, name)
        if path and not os.path.exists(path):
            raise InputError(f"bad --{name}={path!r}: no such file or directory")


def _metric_names(opts):
    """The --metrics names, [] for `none`; `UsageError` listing the valid names."""
    from keras_creps.metrics import protocols

    names = [name.strip() for name in opts.metrics if name.strip()]
    if names in ([], ["none"]):
        return []
    unknown = [name for name in names if not protocols.is_valid_metric(name)]
    if unknown:
        raise UsageError(f"bad --metrics={','.join(opts.metrics)!r}: unknown {', '.join(unknown)}; choose from "
                         f"{', '.join(protocols.list_metrics())}, or none")
    return list(dict.fromkeys(names))


def _one_line(error):
    return " ".join(str(error).split())


# --------------------------------------------------------------------------- resuming


def resume_folder(path):
    """The run directory `--resume=path` names: the path itself, or the folder of a state file."""
    return path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))


def find_training_state(path):
    """The training state `--resume=path` names: the file itself, or the newest intact one of a run directory.

    Stale temporaries of interrupted writes in that directory are removed
    first, and each newer state that is damaged is named in a warning line.
    Raises `InputError` when nothing there can be resumed.
    """
    from keras_creps.utils.keras_archive import check_keras_archive
    from keras_creps.utils.run_dir import newest_intact_training_state

    folder = resume_folder(path)
    _remove_stale_temporaries(folder)
    if not os.path.isdir(path):
        if not path.endswith(".keras"):
            raise InputError(f"bad --resume={path!r}: expected a training-state-<kimg>.keras file or a run directory")
        try:
            check_keras_archive(path)
        except ValueError as error:
            raise InputError(f"bad --resume={path!r}: {_one_line(error)}") from None
        return path
    try:
        state, broken = newest_intact_training_state(path)
    except ValueError:
        raise InputError(f"bad --resume={path!r}: the directory holds no training-state-<kimg>.keras") from None
    if state is None:
        raise InputError(f"bad --resume={path!r}: no intact training state (the newest: {_one_line(broken[0][1])})")
    for damaged, reason in broken:
        print(f"train.py: warning: skipping {os.path.basename(damaged)}: {_one_line(reason)} "
              f"Resuming from {os.path.basename(state)}.", file=sys.stderr)
    return state


# Flags that describe this invocation, not the run: never taken from a resumed run's options.
_NOT_INHERITED = frozenset({"resume", "resume_g", "resume_d", "resume_g_ema", "dry_run"})


def inherit_run_options(opts):
    """`opts` with every flag not given on the command line taken from the resumed run's options.

    `--resume <run dir or state>` continues a run as it was started: the
    `training_options.json` beside the state supplies the flags the command
    line leaves out (`--cond`, `--cfg`, `--batch`, `--gamma`, ...), and
    flags given explicitly win. Without such a file nothing changes.
    """
    from keras_creps.utils.run_dir import OPTIONS_FILE

    folder = resume_folder(opts.resume)
    path = os.path.join(folder, OPTIONS_FILE)
    if not os.path.isfile(path):
        return opts
    try:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f).get("options", {})
        if not isinstance(saved, dict):
            raise ValueError("its 'options' is not an object")
    except (OSError, ValueError, AttributeError) as error:
        raise InputError(f"bad --resume={opts.resume!r}: {path} is unreadable ({_one_line(error)})") from None
    taken = {name: saved[name] for name in OPTION_NAMES
             if name in saved and name not in opts.given and name not in _NOT_INHERITED
             and saved[name] != getattr(opts, name)}
    if taken:
        print(f"train.py: options of the resumed run ({path}), unless given on the command line: "
              + " ".join(f"--{name}={value}" for name, value in sorted(taken.items())))
    return types.SimpleNamespace(**{**vars(opts), **taken})


def _remove_stale_temporaries(folder):
    """Clears what interrupted writes left in a run directory (not in other folders, nor while in use)."""
    from keras_creps.utils import run_dir

    if not (run_dir.list_training_states(folder) or run_dir.is_run_dir(folder)):
        return  # not a run directory: its hidden files are none of our business
    if run_dir.run_dir_in_use(folder):
        print(f"train.py: note: a run is still writing into {folder}; its temporary files are left alone")
        return
    removed = run_dir.remove_stale_temporaries(folder)
    if removed:
        print(f"train.py: removed {len(removed)} stale temporary file(s) of interrupted writes from {folder}: "
              f"{', '.join(removed)}")


def _load_training_state(opts, state_path):
    import keras

    from keras_creps import CREPSGAN

    try:
        gan = keras.saving.load_model(state_path)
    except Exception as error:  # noqa: BLE001 - any unreadable file is one input error
        raise InputError(f"bad --resume={state_path!r}: could not be loaded ({type(error).__name__}: "
                         f"{_one_line(error)})") from None
    if not isinstance(gan, CREPSGAN):
        raise InputError(
            f"bad --resume={state_path!r}: holds a {type(gan).__name__}, not a CREPSGAN training state "
            "(use --resume_g/--resume_d for networks)"
        )
    if opts.run_eagerly:
        gan.run_eagerly = True
    return gan


# --------------------------------------------------------------------------- networks


def _network_kwargs(opts, resolution, c_dim, channels):
    from keras_creps.training.configs import network_kwargs

    g_kwargs, d_kwargs = network_kwargs(opts.cfg, resolution, c_dim=c_dim, img_channels=channels)
    if opts.cbase is not None:
        d_kwargs["channel_base"], g_kwargs["channel_base"] = opts.cbase, 2 * opts.cbase
    if opts.cmax is not None:
        d_kwargs["channel_max"], g_kwargs["channel_max"] = opts.cmax, 2 * opts.cmax
    return g_kwargs, d_kwargs


def _augment_pipeline(opts):
    """The pipeline of --aug and --augpipe, or None (noaug, or fixed p = 0 as the official code)."""
    from keras_creps.augment import AugmentPipeline

    if opts.aug == "noaug" or (opts.aug == "fixed" and opts.p == 0):
        return None
    # float32 under any --mixed_precision: the resampling needs the precision
    # (the official pipeline also runs in float32).
    return AugmentPipeline(opts.augpipe, p=opts.p if opts.aug == "fixed" else 0.0, dtype="float32",
                           name="augment")


def _count(model):
    import numpy as np

    return int(sum(np.prod(v.shape) for v in model.weights if v.trainable))


def _load_network(path, which):
    from keras_creps.models.presets import load_discriminator, load_generator
    from keras_creps.utils.keras_archive import check_keras_archive

    loader = load_discriminator if which == "resume_d" else load_generator
    try:
        if os.path.isfile(path) and path.endswith(".keras"):
            check_keras_archive(path)  # Keras calls a damaged file "not found"
        return loader(path)
    except (ValueError, FileNotFoundError, OSError) as error:
        raise InputError(f"bad --{which}={path!r}: {_one_line(error)}") from None


def _new_gan(opts, info):
    """A `CREPSGAN` of fresh networks, or of the --resume_g/--resume_d ones (transfer learning), compiled."""
    from keras_creps import CREPSGAN, CREPSDiscriminator, CREPSGenerator
    from keras_creps.training.schedules import default_adam

    g_kwargs, d_kwargs = _network_kwargs(opts, info.resolution, info.c_dim, info.channels)
    generator_ema = None
    if opts.resume_g:
        generator = _load_network(opts.resume_g, "resume_g")
        generator_ema = _load_network(opts.resume_g_ema, "resume_g_ema") if opts.resume_g_ema else None
    else:
        generator = CREPSGenerator(**g_kwargs, name="generator")
    if opts.resume_d:
        discriminator = _load_network(opts.resume_d, "resume_d")
    else:
        d_config = dict(d_kwargs, resolution=generator.resolution, c_dim=generator.c_dim,
                        img_channels=generator.img_channels)
        discriminator = CREPSDiscriminator(**d_config, name="discriminator")
    try:
        gan = CREPSGAN(generator, discriminator, generator_ema=generator_ema, augment=_augment_pipeline(opts))
    except ValueError as error:
        raise InputError(f"bad --resume_g/--resume_d/--resume_g_ema: {_one_line(error)}") from None
    jit_compile = opts.jit_compile.lower()
    gan.compile(
        default_adam(opts.glr),
        default_adam(opts.dlr),
        r1_gamma=opts.gamma,
        pl_weight=opts.pl_weight,
        seed=opts.seed,
        # Trained weights need no EMA ramp-up (as the official --resume).
        ema_rampup=None if opts.resume_g else 0.05,
        ada_target=opts.target if opts.aug == "ada" else None,
        # The official code makes ADA react faster when starting from trained weights.
        ada_kimg=100.0 if opts.resume_g and "ada_kimg" not in opts.given else opts.ada_kimg,
        jit_compile="auto" if jit_compile == "auto" else jit_compile == "true",
        run_eagerly=opts.run_eagerly,
    )
    return gan


def _check_network_fits(opts, gan, info, source, state_path):
    for attr, have in (("resolution", info.resolution), ("c_dim", info.c_dim), ("img_channels", info.channels)):
        net = getattr(gan.generator, attr)
        if net != have:
            flag = "resume" if state_path else "resume_g"
            raise InputError(
                f"bad --{flag}={getattr(opts, flag)!r}: the network has {attr}={net}, the dataset {source!r} "
                f"{attr}={have}" + (" (pass --cond for a conditional network)" if attr == "c_dim" else "")
            )


def _note_kept_settings(opts, gan):
    """A resumed state keeps its compile settings; say which flags that overrides."""
    compile_config = gan.get_compile_config() or {}
    saved = {"gamma": compile_config.get("r1_gamma"), "pl_weight": compile_config.get("pl_weight"),
             "seed": compile_config.get("seed"), "target": compile_config.get("ada_target")}
    differ = {k: v for k, v in saved.items() if v is not None and v != getattr(opts, k)}
    if differ:
        print(f"train.py: note: resuming keeps the state's settings {differ} (flags ignored)")


# --------------------------------------------------------------------------- data


def _scan_data(opts, source):
    """Validates the data once (bad-file report, resolution, labels); returns its `DatasetInfo`."""
    from keras_creps.data import make_dataset

    try:
        _, info = make_dataset(source, batch_size=opts.batch, use_labels=opts.cond, xflip=opts.mirror,
                               seed=opts.seed, data_dir=opts.data_dir, prefetch=False)
    except (ValueError, FileNotFoundError, OSError) as error:
        raise InputError(f"bad --data={source!r}: {_one_line(error)}") from None
    if opts.resolution is not None and opts.resolution != info.resolution:
        raise UsageError(
            f"bad --resolution={opts.resolution}: the dataset {source!r} is {info.resolution}x{info.resolution} "
            "(resize it with recipes/dataset_tool.py --resolution)"
        )
    if getattr(info.report, "num_bad", 0):
        print(info.report.summary())
    return info


def _training_data(opts, strategy, source, info, step0):
    """The distributed training stream, continuing where a resumed run stopped."""
    from keras_creps.data import make_dataset
    from keras_creps.training.distribute import distribute_dataset

    num_replicas = getattr(strategy, "num_replicas_in_sync", 1)

    def dataset_fn(context):
        seed = opts.seed if (opts.resume_skip_data or not step0) else opts.seed + step0
        # `validated`: the source was scanned once; each pipeline reuses that scan.
        dataset, _ = make_dataset(source, batch_size=opts.batch, use_labels=opts.cond, xflip=opts.mirror,
                                  seed=seed, data_dir=opts.data_dir, input_context=context, validated=info)
        if step0 and opts.resume_skip_data:
            # Batches per step from this pipeline: per-replica batches under a TF strategy.
            pipelines = context.num_input_pipelines if context is not None else 1
            per_step = num_replicas // pipelines if context is not None else 1
            dataset = dataset.skip(step0 * per_step)
        return dataset

    return distribute_dataset(strategy, dataset_fn)


def _real_images(opts, source, info):
    """Up to `columns x 4` images, or `columns` per class (one row each) for --cond."""
    import numpy as np

    from keras_creps.data import load_images

    columns = opts.grid_columns
    if not info.c_dim:
        images, _ = load_images(source, resolution=info.resolution, channels=info.channels,
                                max_images=columns * 4, seed=opts.seed, data_dir=opts.data_dir)
        return images
    images, labels = load_images(source, resolution=info.resolution, channels=info.channels, use_labels=True,
                                 max_images=max(1000, columns * info.c_dim * 4), seed=opts.seed,
                                 data_dir=opts.data_dir)
    classes = np.argmax(labels, axis=1)
    blank = np.full((1, *images.shape[1:]), 255, np.uint8)
    rows = []
    for k in range(info.c_dim):
        row = images[classes == k][:columns]
        rows.append(np.concatenate([row] + [blank] * (columns - len(row))))
    return np.concatenate(rows)


# --------------------------------------------------------------------------- the run


def _schedule(opts, gan):
    """Steps and epochs of the run: a tick is one epoch; training ends at the first tick at or after --kimg."""
    from keras_creps.training.callbacks import read_counters

    step0, seen0 = read_counters(gan)
    steps_per_tick = max(1, round(opts.tick * 1000 / opts.batch))
    total_steps = max(1, math.ceil(opts.kimg * 1000 / opts.batch))
    epochs = math.ceil(total_steps / steps_per_tick)
    return types.SimpleNamespace(step0=step0, seen0=seen0, steps_per_tick=steps_per_tick, total_steps=total_steps,
                                 epochs=epochs, initial_epoch=step0 // steps_per_tick)


def _options_document(opts, gan, info, source, strategy, plan, state_path):
    """The `training_options.json` content: every flag, and what they resolved to."""
    import keras

    return {
        "options": {name: getattr(opts, name) for name in OPTION_NAMES},
        "resolved": {
            "backend": keras.config.backend(),
            "keras_version": keras.__version__,
            "data_source": str(source),
            "dataset": _dataset_facts(info),
            "generator": gan.generator.get_config(),
            "discriminator": gan.discriminator.get_config(),
            "compile": dict(gan.get_compile_config() or {}),
            "parameters": {"generator": _count(gan.generator), "discriminator": _count(gan.discriminator)},
            "augment": None if gan.augment is None else gan.augment.get_config(),
            "strategy": type(strategy).__name__ if strategy is not None else None,
            "steps_per_tick": plan.steps_per_tick,
            "total_steps": plan.total_steps,
            "epochs": plan.epochs,
            "resumed_from": state_path,
            "start_step": plan.step0,
            "start_kimg": plan.seen0 / 1000,
            "dtype_policy": keras.config.dtype_policy().name,
        },
    }


def _dataset_facts(info):
    return {"name": info.name, "kind": info.kind, "num_images": info.num_images, "resolution": info.resolution,
            "channels": info.channels, "c_dim": info.c_dim,
            "class_names": list(info.class_names) if info.class_names else None, "xflip": info.xflip}


def _print_dry_run(document, gan, info, plan):
    print(json.dumps(document, indent=2, default=str))
    for net in (gan.generator, gan.discriminator):
        print(f"{net.name}: {_count(net):,} parameters")
    print(f"dry run: {info.num_images} images ({info.name}, {info.resolution}x{info.resolution}, "
          f"c_dim={info.c_dim}); {plan.total_steps} steps = {plan.epochs} ticks of {plan.steps_per_tick} steps; "
          f"backend {document['resolved']['backend']}")


def _new_run_dir(opts, info):
    """`<outdir>/<NNNNN>-creps[-<cfg>]-<dataset>-<res>-batch<B>-gamma<G>[-<desc>]`, created."""
    prefix = "creps" if opts.cfg == "paper" else f"creps-{opts.cfg}"
    description = f"{prefix}-{info.name}-{info.resolution}-batch{opts.batch}-gamma{opts.gamma:g}"
    if opts.desc:
        description += f"-{opts.desc}"
    from keras_creps.utils.run_dir import next_run_dir
    from keras_creps.utils.output_paths import make_output_dir

    try:
        make_output_dir(opts.outdir, name="--outdir")  # writes a probe: `os.access` says yes to root on read-only disks
        return next_run_dir(opts.outdir, description)
    except ValueError as error:
        raise InputError(_one_line(error)) from None


def _metrics_callbacks(opts, run_dir, source, every_steps):
    """`[MetricsCallback]` for --metrics (on the snapshot schedule), or `[]`."""
    names = _metric_names(opts)
    if not names:
        return []
    from keras_creps.training.callbacks import MetricsCallback

    try:
        return [MetricsCallback(names, run_dir, every_steps=every_steps, batch_size=opts.batch, data=source,
                                num_gen=opts.metrics_num_gen, data_dir=opts.data_dir,
                                generator_format=opts.snapshot_format)]
    except (ValueError, FileNotFoundError, ImportError) as error:
        raise UsageError(f"bad --metrics={','.join(opts.metrics)!r}: {_one_line(error)}") from None


def _callbacks(opts, run_dir, source, info, plan, state_path, log):
    """The run's callbacks, in the order they must run: progress, guard, snapshots, grids, TensorBoard, metrics."""
    import keras

    from keras_creps.training import callbacks

    snap_steps = opts.snap * plan.steps_per_tick
    metrics = _metrics_callbacks(opts, run_dir, source, snap_steps)  # after snapshots: results name them
    for callback in metrics:
        callback.stream = log
    facts = {"dataset": _dataset_facts(info), "backend": keras.config.backend()}
    snapshots = callbacks.SnapshotCallback(
        run_dir, every_steps=snap_steps, batch_size=opts.batch, keep_states=opts.keep or None,
        generator_format=opts.snapshot_format, info=facts,
    )
    snapshots.last_state_path = state_path
    return [
        # Progress first: it times each step before the others save anything after it.
        callbacks.KimgProgress(opts.kimg, every_steps=plan.steps_per_tick, batch_size=opts.batch, stream=log,
                               interval=opts.progress_interval, stats_path=os.path.join(run_dir, "stats.jsonl")),
        callbacks.NonFiniteGuard(snapshots=snapshots, batch_size=opts.batch, stream=log),
        snapshots,
        callbacks.SampleGridCallback(
            run_dir, every_steps=snap_steps, batch_size=opts.batch, columns=opts.grid_columns, seed=opts.seed,
            reals=_real_images(opts, source, info), log_dir=run_dir,
        ),
        callbacks.TensorBoardLogger(run_dir, every_steps=opts.log_every, batch_size=opts.batch),
        *metrics,
    ]


class _Tee:
    """A text stream writing to stdout and to the run's log file."""

    def __init__(self, path):
        # Line-buffered: each finished line is in the file at once (`tail -f`, crashes).
        self.file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed by close()

    def write(self, text):
        sys.stdout.write(text)
        self.file.write(text)

    def flush(self):
        sys.stdout.flush()
        self.file.flush()

    def close(self):
        self.file.close()


def _fit(opts, gan, dataset, run_dir, source, info, plan, state_path):
    """Trains into `run_dir`; raises `FloatingPointError` when a logged term went non-finite."""
    import keras

    from keras_creps.training.callbacks import NonFiniteGuard, SnapshotCallback
    from keras_creps.utils.run_dir import hold_run_dir

    log = _Tee(os.path.join(run_dir, "log.txt"))
    try:
        callbacks = _callbacks(opts, run_dir, source, info, plan, state_path, log)
        guard = next(c for c in callbacks if isinstance(c, NonFiniteGuard))
        snapshots = next(c for c in callbacks if isinstance(c, SnapshotCallback))
        start = f"resuming {state_path} at step {plan.step0}" if state_path else "starting"
        log.write(f"run {run_dir}\n{start} ({keras.config.backend()}); {plan.total_steps} steps of {opts.batch} "
                  f"images, {plan.steps_per_tick} per tick\n")
        began = time.time()
        # Held while training: a run resuming from this directory then leaves our temporaries alone.
        with hold_run_dir(run_dir):
            if plan.initial_epoch < plan.epochs:
                # shuffle=False: the stream is shuffled already (fit would only warn that it ignores True).
                gan.fit(dataset, epochs=plan.epochs, initial_epoch=plan.initial_epoch,
                        steps_per_epoch=plan.steps_per_tick, callbacks=callbacks, verbose=0, shuffle=False)
        log.write(f"{'stopped' if guard.triggered else 'done'} after {time.time() - began:.1f} s; "
                  f"last snapshot {snapshots.last_state_path}\n")
    finally:
        log.close()
    if guard.triggered:
        raise FloatingPointError(guard.message)
    return run_dir


def train(opts=None):
    """Runs training with the options (`read_options()` by default); returns the run directory (None for --dry_run).

    Raises `UsageError` for bad flag values, `InputError` for unusable
    inputs or outputs and `FloatingPointError` when a logged term goes
    non-finite.
    """
    opts = opts if opts is not None else read_options()
    if opts.resume:
        opts = inherit_run_options(opts)
    _check_flags(opts)
    import keras

    from keras_creps.data.default import default_dataset_path
    from keras_creps.training.distribute import distribution_scope

    source = opts.data or default_dataset_path()
    previous_policy = keras.config.dtype_policy()
    try:
        # The strategy comes first: TensorFlow can only split devices before it runs an op.
        with contextlib.ExitStack() as stack:
            try:
                strategy = stack.enter_context(distribution_scope(opts.gpus, allow_cpu=True, name="--gpus"))
            except ValueError as error:
                raise UsageError(f"bad --gpus={opts.gpus}: {error}") from None
            if opts.mixed_precision != "none":
                keras.config.set_dtype_policy(f"mixed_{opts.mixed_precision}")
            return _train(opts, strategy, source)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(opts, strategy, source):
    import keras

    from keras_creps.utils.run_dir import OPTIONS_FILE, write_json

    info = _scan_data(opts, source)
    keras.utils.set_random_seed(opts.seed)
    state_path = find_training_state(opts.resume) if opts.resume else None
    gan = _load_training_state(opts, state_path) if state_path else _new_gan(opts, info)
    _check_network_fits(opts, gan, info, source, state_path)
    if state_path:
        _note_kept_settings(opts, gan)
    plan = _schedule(opts, gan)
    document = _options_document(opts, gan, info, source, strategy, plan, state_path)
    if opts.dry_run:
        _print_dry_run(document, gan, info, plan)
        return None
    run_dir = _new_run_dir(opts, info)
    document["resolved"]["run_dir"] = run_dir
    write_json(os.path.join(run_dir, OPTIONS_FILE), document)
    dataset = _training_data(opts, strategy, source, info, plan.step0)
    return _fit(opts, gan, dataset, run_dir, source, info, plan, state_path)


def run(argv):
    """Parses `argv` (e.g. `["train.py", "--outdir", "runs"]`) and trains; for in-process use."""
    FLAGS.unparse_flags()
    FLAGS(argv)
    return train()


def main(argv):
    quiet_startup(import_tensorflow=True)  # tf.data on every backend
    if len(argv) > 1:
        print(f"train.py: unexpected arguments {argv[1:]}", file=sys.stderr)
        sys.exit(2)
    try:
        train()
    except UsageError as error:
        print(f"train.py: {error}", file=sys.stderr)
        sys.exit(2)
    except (InputError, FloatingPointError) as error:
        print(f"train.py: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    app.run(main)

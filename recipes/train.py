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
very long runs - `--noresume_skip_data` reshuffles instead). Transfer
learning (`--resume_g/--resume_d/--resume_g_ema`, `.keras` files or presets,
e.g. from `recipes/convert.py`) starts new optimizers at step 0 with EMA
ramp-up off, as the official `--resume`.

A NaN or Inf in any logged term stops training with exit status 1 and one
line naming the term(s) and the last good snapshot; no snapshot is written
from the bad state. Bad flags give one error line and exit status 2.
"""

import contextlib
import json
import math
import os
import re
import sys
import time

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
    """A bad flag value or input; printed as one line, exit status 2."""


def _check_flags():
    """Validates the flags; raises `UsageError` naming the first bad value."""

    def bad(name, why):
        raise UsageError(f"bad --{name}={getattr(FLAGS, name)!r}: {why}")

    if FLAGS.cfg not in CONFIG_NAMES:
        bad("cfg", f"choose one of {', '.join(CONFIG_NAMES)}")
    for name in ("batch", "snap", "gpus", "log_every", "grid_columns"):
        if getattr(FLAGS, name) < 1:
            bad(name, "must be >= 1")
    for name in ("cbase", "cmax", "resolution"):
        if getattr(FLAGS, name) is not None and getattr(FLAGS, name) < 1:
            bad(name, "must be >= 1")
    if FLAGS.keep < 0:
        bad("keep", "must be >= 0")
    for name in ("kimg", "tick", "glr", "dlr", "ada_kimg"):
        value = getattr(FLAGS, name)
        if not (math.isfinite(value) and value > 0):
            bad(name, "must be a finite number > 0")
    for name in ("gamma", "pl_weight", "progress_interval"):
        if not (math.isfinite(getattr(FLAGS, name)) and getattr(FLAGS, name) >= 0):
            bad(name, "must be a finite number >= 0")
    if not 0 <= FLAGS.seed < 2**31:
        bad("seed", "must be in [0, 2**31)")
    if FLAGS.batch % FLAGS.gpus:
        raise UsageError(f"bad --batch={FLAGS.batch}: must be a multiple of --gpus={FLAGS.gpus}")
    if FLAGS.mixed_precision not in ("none", "bfloat16", "float16"):
        bad("mixed_precision", "choose none, bfloat16 or float16")
    if FLAGS.jit_compile.lower() not in ("auto", "true", "false"):
        bad("jit_compile", "choose auto, true or false")
    if FLAGS.aug not in ("ada", "fixed", "noaug"):
        bad("aug", "choose ada, fixed or noaug")
    for name in ("p", "target"):
        if not 0 <= getattr(FLAGS, name) <= 1:
            bad(name, "must be in [0, 1]")
    if FLAGS.augpipe not in AUGPIPES:
        bad("augpipe", f"choose one of {', '.join(AUGPIPES)}")
    # As the official train.py: a flag the chosen --aug does not use is a mistake.
    for name, modes in (("p", ("fixed",)), ("target", ("ada",)), ("ada_kimg", ("ada",)), ("augpipe", ("ada", "fixed"))):
        if FLAGS[name].present and FLAGS.aug not in modes:
            bad(name, f"only used with --aug {' or '.join(modes)}, not --aug {FLAGS.aug}")
    if FLAGS.snapshot_format not in ("keras", "preset"):
        bad("snapshot_format", "choose keras or preset")
    if FLAGS.metrics_num_gen is not None and FLAGS.metrics_num_gen < 1:
        bad("metrics_num_gen", "must be >= 1")
    _metric_names()
    if not FLAGS.outdir and not FLAGS.dry_run:
        raise UsageError("--outdir is required (where run directories are created)")
    transfer = [name for name in ("resume_g", "resume_d", "resume_g_ema") if getattr(FLAGS, name)]
    if FLAGS.resume and transfer:
        raise UsageError(f"--resume continues a training state; it cannot be combined with --{transfer[0]}")
    if FLAGS.resume_g_ema and not FLAGS.resume_g:
        raise UsageError(f"bad --resume_g_ema={FLAGS.resume_g_ema!r}: needs --resume_g")
    for name in ("resume", *transfer):
        path = getattr(FLAGS, name)
        if path and not os.path.exists(path):
            bad(name, "no such file or directory")


def _metric_names():
    """The --metrics names, [] for `none`; `UsageError` listing the valid names."""
    from keras_creps.metrics import protocols

    names = [name.strip() for name in FLAGS.metrics if name.strip()]
    if names in ([], ["none"]):
        return []
    unknown = [name for name in names if not protocols.is_valid_metric(name)]
    if unknown:
        raise UsageError(f"bad --metrics={','.join(FLAGS.metrics)!r}: unknown {', '.join(unknown)}; choose from "
                         f"{', '.join(protocols.list_metrics())}, or none")
    return list(dict.fromkeys(names))


def _metrics_callbacks(run_dir, source, every_steps):
    """`[MetricsCallback]` for --metrics (on the snapshot schedule), or `[]`."""
    names = _metric_names()
    if not names:
        return []
    from keras_creps.training.metrics_callback import MetricsCallback

    try:
        return [MetricsCallback(names, run_dir, every_steps=every_steps, batch_size=FLAGS.batch, data=source,
                                num_gen=FLAGS.metrics_num_gen, data_dir=FLAGS.data_dir,
                                generator_format=FLAGS.snapshot_format)]
    except (ValueError, FileNotFoundError, ImportError) as error:
        raise UsageError(f"bad --metrics={','.join(FLAGS.metrics)!r}: {' '.join(str(error).split())}") from None


def _jit_compile():
    value = FLAGS.jit_compile.lower()
    return "auto" if value == "auto" else value == "true"


def find_training_state(path):
    """A `training-state-*.keras` file: `path` itself, or the newest in run directory `path`."""
    from keras_creps.training.callbacks import latest_training_state

    if os.path.isdir(path):
        try:
            return latest_training_state(path)
        except ValueError:
            raise UsageError(f"bad --resume={path!r}: the directory holds no training-state-<kimg>.keras") from None
    if not path.endswith(".keras"):
        raise UsageError(f"bad --resume={path!r}: expected a training-state-<kimg>.keras file or a run directory")
    return path


def next_run_dir(outdir, description):
    """Creates and returns `<outdir>/<next 5-digit id>-<description>`."""
    os.makedirs(outdir, exist_ok=True)
    ids = [int(m.group(1)) for name in os.listdir(outdir) if (m := re.match(r"^(\d+)-", name))]
    run_id = max(ids, default=-1) + 1
    while True:
        path = os.path.join(outdir, f"{run_id:05d}-{description}")
        try:
            os.makedirs(path)
            return path
        except FileExistsError:  # another process took this id
            run_id += 1


def _network_kwargs(resolution, c_dim, channels):
    from keras_creps.training.configs import network_kwargs

    g_kwargs, d_kwargs = network_kwargs(FLAGS.cfg, resolution, c_dim=c_dim, img_channels=channels)
    if FLAGS.cbase is not None:
        d_kwargs["channel_base"], g_kwargs["channel_base"] = FLAGS.cbase, 2 * FLAGS.cbase
    if FLAGS.cmax is not None:
        d_kwargs["channel_max"], g_kwargs["channel_max"] = FLAGS.cmax, 2 * FLAGS.cmax
    return g_kwargs, d_kwargs


def _augment_pipeline():
    """The pipeline of --aug and --augpipe, or None (noaug, or fixed p = 0 as the official code)."""
    from keras_creps.augment import AugmentPipeline

    if FLAGS.aug == "noaug" or (FLAGS.aug == "fixed" and FLAGS.p == 0):
        return None
    # float32 under any --mixed_precision: the resampling needs the precision
    # (the official pipeline also runs in float32).
    return AugmentPipeline(FLAGS.augpipe, p=FLAGS.p if FLAGS.aug == "fixed" else 0.0, dtype="float32",
                           name="augment")


def _count(model):
    import numpy as np

    return int(sum(np.prod(v.shape) for v in model.weights if v.trainable))


def _load_network(path, which):
    from keras_creps.models.presets import load_discriminator, load_generator

    loader = load_discriminator if which == "resume_d" else load_generator
    try:
        return loader(path)
    except (ValueError, FileNotFoundError, OSError) as error:
        raise UsageError(f"bad --{which}={path!r}: {error}") from None


def _real_images(source, info, columns):
    """Up to `columns x 4` images, or `columns` per class (one row each) for --cond."""
    import numpy as np

    from keras_creps.data import load_images

    if not info.c_dim:
        images, _ = load_images(source, resolution=info.resolution, channels=info.channels,
                                max_images=columns * 4, seed=FLAGS.seed, data_dir=FLAGS.data_dir)
        return images
    images, labels = load_images(source, resolution=info.resolution, channels=info.channels, use_labels=True,
                                 max_images=max(1000, columns * info.c_dim * 4), seed=FLAGS.seed,
                                 data_dir=FLAGS.data_dir)
    classes = np.argmax(labels, axis=1)
    blank = np.full((1, *images.shape[1:]), 255, np.uint8)
    rows = []
    for k in range(info.c_dim):
        row = images[classes == k][:columns]
        rows.append(np.concatenate([row] + [blank] * (columns - len(row))))
    return np.concatenate(rows)


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


def train():
    """Runs training with the parsed FLAGS; returns the run directory (None for --dry_run).

    Raises `UsageError` for bad inputs and `FloatingPointError` when a
    logged term goes non-finite.
    """
    _check_flags()
    import keras

    from keras_creps.data.default import default_dataset_path
    from keras_creps.training.distribute import distribution_scope

    source = FLAGS.data or default_dataset_path()
    previous_policy = keras.config.dtype_policy()
    try:
        # The strategy comes first: TensorFlow can only split devices before it runs an op.
        with contextlib.ExitStack() as stack:
            try:
                strategy = stack.enter_context(distribution_scope(FLAGS.gpus, allow_cpu=True, name="--gpus"))
            except ValueError as error:
                raise UsageError(f"bad --gpus={FLAGS.gpus}: {error}") from None
            if FLAGS.mixed_precision != "none":
                keras.config.set_dtype_policy(f"mixed_{FLAGS.mixed_precision}")
            return _train(strategy, source)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(strategy, source):
    import keras
    import numpy as np

    from keras_creps import CREPSGAN, CREPSDiscriminator, CREPSGenerator
    from keras_creps.data import make_dataset
    from keras_creps.training import callbacks as cb
    from keras_creps.training.distribute import distribute_dataset
    from keras_creps.training.schedules import default_adam

    backend = keras.config.backend()

    # --- Data: validate once (bad-file report, resolution, labels).
    try:
        _, info = make_dataset(source, batch_size=FLAGS.batch, use_labels=FLAGS.cond, xflip=FLAGS.mirror,
                               seed=FLAGS.seed, data_dir=FLAGS.data_dir, prefetch=False)
    except (ValueError, FileNotFoundError) as error:
        raise UsageError(f"bad --data={source!r}: {error}") from None
    if FLAGS.resolution is not None and FLAGS.resolution != info.resolution:
        raise UsageError(
            f"bad --resolution={FLAGS.resolution}: the dataset {source!r} is {info.resolution}x{info.resolution} "
            "(resize it with recipes/dataset_tool.py --resolution)"
        )
    if info.report.num_bad if hasattr(info.report, "num_bad") else False:
        print(info.report.summary())
    resolution, c_dim, channels = info.resolution, info.c_dim, info.channels

    # --- Networks: fresh, transferred, or a whole training state.
    keras.utils.set_random_seed(FLAGS.seed)
    jit_compile = _jit_compile()
    state_path = find_training_state(FLAGS.resume) if FLAGS.resume else None
    g_kwargs, d_kwargs = _network_kwargs(resolution, c_dim, channels)
    if state_path:
        try:
            gan = keras.saving.load_model(state_path)
        except Exception as error:  # noqa: BLE001 - any unreadable file is one usage error
            raise UsageError(f"bad --resume={state_path!r}: could not be loaded ({type(error).__name__}: {error})") \
                from None
        if not isinstance(gan, CREPSGAN):
            raise UsageError(
                f"bad --resume={state_path!r}: holds a {type(gan).__name__}, not a CREPSGAN training state "
                "(use --resume_g/--resume_d for networks)"
            )
    else:
        if FLAGS.resume_g:
            generator = _load_network(FLAGS.resume_g, "resume_g")
            generator_ema = _load_network(FLAGS.resume_g_ema, "resume_g_ema") if FLAGS.resume_g_ema else None
        else:
            generator = CREPSGenerator(**g_kwargs, name="generator")
            generator_ema = None
        if FLAGS.resume_d:
            discriminator = _load_network(FLAGS.resume_d, "resume_d")
        else:
            d_config = dict(d_kwargs, resolution=generator.resolution, c_dim=generator.c_dim,
                            img_channels=generator.img_channels)
            discriminator = CREPSDiscriminator(**d_config, name="discriminator")
        try:
            gan = CREPSGAN(generator, discriminator, generator_ema=generator_ema, augment=_augment_pipeline())
        except ValueError as error:
            raise UsageError(f"bad --resume_g/--resume_d/--resume_g_ema: {error}") from None
        gan.compile(
            default_adam(FLAGS.glr),
            default_adam(FLAGS.dlr),
            r1_gamma=FLAGS.gamma,
            pl_weight=FLAGS.pl_weight,
            seed=FLAGS.seed,
            # Trained weights need no EMA ramp-up (as the official --resume).
            ema_rampup=None if FLAGS.resume_g else 0.05,
            ada_target=FLAGS.target if FLAGS.aug == "ada" else None,
            # The official code makes ADA react faster when starting from trained weights.
            ada_kimg=100.0 if FLAGS.resume_g and not FLAGS["ada_kimg"].present else FLAGS.ada_kimg,
            jit_compile=jit_compile,
            run_eagerly=FLAGS.run_eagerly,
        )
    for attr, have in (("resolution", resolution), ("c_dim", c_dim), ("img_channels", channels)):
        net = getattr(gan.generator, attr)
        if net != have:
            flag = "resume" if state_path else "resume_g"
            raise UsageError(
                f"bad --{flag}={getattr(FLAGS, flag)!r}: the network has {attr}={net}, the dataset {source!r} "
                f"{attr}={have}" + (" (pass --cond for a conditional network)" if attr == "c_dim" else "")
            )

    if state_path and FLAGS.run_eagerly:
        gan.run_eagerly = True
    step0 = int(np.asarray(cb._variable_value(gan.step)))
    seen0 = int(np.asarray(cb._variable_value(gan.seen_images)))
    steps_per_tick = max(1, round(FLAGS.tick * 1000 / FLAGS.batch))
    total_steps = max(1, math.ceil(FLAGS.kimg * 1000 / FLAGS.batch))
    epochs = math.ceil(total_steps / steps_per_tick)
    initial_epoch = step0 // steps_per_tick

    compile_config = gan.get_compile_config() or {}
    options = {name: FLAGS[name].value for name in OPTION_NAMES}
    resolved = {
        "backend": backend,
        "keras_version": keras.__version__,
        "data_source": str(source),
        "dataset": {"name": info.name, "kind": info.kind, "num_images": info.num_images,
                    "resolution": resolution, "channels": channels, "c_dim": c_dim,
                    "class_names": list(info.class_names) if info.class_names else None,
                    "xflip": info.xflip},
        "generator": gan.generator.get_config(),
        "discriminator": gan.discriminator.get_config(),
        "compile": {k: v for k, v in compile_config.items()},
        "parameters": {"generator": _count(gan.generator), "discriminator": _count(gan.discriminator)},
        "augment": None if gan.augment is None else gan.augment.get_config(),
        "strategy": type(strategy).__name__ if strategy is not None else None,
        "steps_per_tick": steps_per_tick,
        "total_steps": total_steps,
        "epochs": epochs,
        "resumed_from": state_path,
        "start_step": step0,
        "start_kimg": seen0 / 1000,
        "dtype_policy": keras.config.dtype_policy().name,
    }
    if state_path:
        saved = {"gamma": compile_config.get("r1_gamma"), "pl_weight": compile_config.get("pl_weight"),
                 "seed": compile_config.get("seed"), "target": compile_config.get("ada_target")}
        differ = {k: v for k, v in saved.items() if v is not None and v != FLAGS[k].value}
        if differ:
            print(f"train.py: note: resuming keeps the state's settings {differ} (flags ignored)")
    document = {"options": options, "resolved": resolved}

    if FLAGS.dry_run:
        print(json.dumps(document, indent=2, default=str))
        for net in (gan.generator, gan.discriminator):
            print(f"{net.name}: {_count(net):,} parameters")
        print(f"dry run: {info.num_images} images ({info.name}, {resolution}x{resolution}, c_dim={c_dim}); "
              f"{total_steps} steps = {epochs} ticks of {steps_per_tick} steps; backend {backend}")
        return None

    # --- Run directory.
    prefix = "creps" if FLAGS.cfg == "paper" else f"creps-{FLAGS.cfg}"
    description = f"{prefix}-{info.name}-{resolution}-batch{FLAGS.batch}-gamma{FLAGS.gamma:g}"
    if FLAGS.desc:
        description += f"-{FLAGS.desc}"
    run_dir = next_run_dir(FLAGS.outdir, re.sub(r"[^A-Za-z0-9._+-]", "_", description))
    resolved["run_dir"] = run_dir
    cb._write_json(os.path.join(run_dir, "training_options.json"), document)

    # --- Data stream, continuing where the resumed run stopped.
    num_replicas = getattr(strategy, "num_replicas_in_sync", 1)

    def dataset_fn(context):
        seed = FLAGS.seed if (FLAGS.resume_skip_data or not step0) else FLAGS.seed + step0
        # `validated`: the source was scanned and reported above; each pipeline reuses that scan.
        dataset, _ = make_dataset(source, batch_size=FLAGS.batch, use_labels=FLAGS.cond, xflip=FLAGS.mirror,
                                  seed=seed, data_dir=FLAGS.data_dir, input_context=context, validated=info)
        if step0 and FLAGS.resume_skip_data:
            # Batches per step from this pipeline: per-replica batches under a TF strategy.
            pipelines = context.num_input_pipelines if context is not None else 1
            per_step = num_replicas // pipelines if context is not None else 1
            dataset = dataset.skip(step0 * per_step)
        return dataset

    dataset = distribute_dataset(strategy, dataset_fn)

    # --- Callbacks. The guard runs before anything that writes a snapshot.
    snap_steps = FLAGS.snap * steps_per_tick
    metrics = _metrics_callbacks(run_dir, source, snap_steps)  # after snapshots: results name them
    tee = _Tee(os.path.join(run_dir, "log.txt"))
    for callback in metrics:
        callback.stream = tee
    dataset_facts = resolved["dataset"]
    snapshots = cb.SnapshotCallback(
        run_dir, every_steps=snap_steps, batch_size=FLAGS.batch, keep_states=FLAGS.keep or None,
        generator_format=FLAGS.snapshot_format, info={"dataset": dataset_facts, "backend": backend},
    )
    snapshots.last_state_path = state_path
    guard = cb.NonFiniteGuard(snapshots=snapshots, batch_size=FLAGS.batch, stream=tee)
    grids = cb.SampleGridCallback(
        run_dir, every_steps=snap_steps, batch_size=FLAGS.batch, columns=FLAGS.grid_columns, seed=FLAGS.seed,
        reals=_real_images(source, info, FLAGS.grid_columns), log_dir=run_dir,
    )
    board = cb.TensorBoardLogger(run_dir, every_steps=FLAGS.log_every, batch_size=FLAGS.batch)
    progress = cb.KimgProgress(FLAGS.kimg, every_steps=steps_per_tick, batch_size=FLAGS.batch, stream=tee,
                               interval=FLAGS.progress_interval, stats_path=os.path.join(run_dir, "stats.jsonl"))

    tee.write(f"run {run_dir}\n{'resuming ' + state_path + ' at step ' + str(step0) if state_path else 'starting'}"
              f" ({backend}); {total_steps} steps of {FLAGS.batch} images, {steps_per_tick} per tick\n")
    start = time.time()
    try:
        if initial_epoch < epochs:
            # Progress first: it times each step before the others save anything after it.
            # shuffle=False: the stream is shuffled already (fit would only warn that it ignores True).
            gan.fit(dataset, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_tick,
                    callbacks=[progress, guard, snapshots, grids, board, *metrics], verbose=0, shuffle=False)
        tee.write(f"{'stopped' if guard.triggered else 'done'} after {time.time() - start:.1f} s; "
                  f"last snapshot {snapshots.last_state_path}\n")
    finally:
        tee.close()
    if guard.triggered:
        raise FloatingPointError(guard.message)
    return run_dir


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
    except FloatingPointError as error:
        print(f"train.py: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    app.run(main)

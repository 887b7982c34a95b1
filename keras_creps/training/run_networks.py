"""The networks a training run starts from: fresh ones of a named configuration, or trained ones.

`new_gan` builds the compiled `CREPSGAN` of a new run from the run options
(`cfg`, `cbase`, `cmax`, the augmentation, the learning rates and
regularization weights), taking the generator and discriminator from
`resume_g` / `resume_d` / `resume_g_ema` for transfer learning.
"""

import os

import numpy as np

from keras_creps.augment import AugmentPipeline
from keras_creps.models.creps_discriminator import CREPSDiscriminator
from keras_creps.models.creps_generator import CREPSGenerator
from keras_creps.models.presets import load_discriminator
from keras_creps.models.presets import load_generator
from keras_creps.training.configs import network_kwargs
from keras_creps.training.gan import CREPSGAN
from keras_creps.training.run_errors import InputError
from keras_creps.training.run_errors import one_line
from keras_creps.training.schedules import default_adam
from keras_creps.utils.devices import tensorflow_without_gpu
from keras_creps.utils.keras_archive import check_keras_archive

__all__ = [
    "augment_pipeline",
    "check_network_fits",
    "count_parameters",
    "load_network",
    "new_gan",
    "resolve_jit_compile",
    "run_network_kwargs",
]

# Configurations whose training step XLA:CPU compiles too slowly to pay off:
# TensorFlow was still compiling the `small` step (64^2) after 20 minutes at
# 10.6 GB, while a plain graph trained it at 702 s/kimg. XLA compiled the
# `demo` step in 15 s and trains it at 35.5 s/kimg.
SLOW_XLA_CONFIGS = ("small", "paper")


def run_network_kwargs(opts, resolution, c_dim, channels):
    """`(generator_kwargs, discriminator_kwargs)` of `opts.cfg`, with the official `cbase`/`cmax` overrides.

    `opts.cbase` / `opts.cmax` (None: the configuration's) set the
    discriminator's `channel_base` / `channel_max`; the generator gets twice.

    Example:
    ```python
    g_kwargs, d_kwargs = run_network_kwargs(SimpleNamespace(cfg="tiny", cbase=None, cmax=None), 64, 0, 3)
    ```
    """
    g_kwargs, d_kwargs = network_kwargs(opts.cfg, resolution, c_dim=c_dim, img_channels=channels)
    if opts.cbase is not None:
        d_kwargs["channel_base"], g_kwargs["channel_base"] = opts.cbase, 2 * opts.cbase
    if opts.cmax is not None:
        d_kwargs["channel_max"], g_kwargs["channel_max"] = opts.cmax, 2 * opts.cmax
    return g_kwargs, d_kwargs


def augment_pipeline(opts):
    """The pipeline of `opts.aug` and `opts.augpipe`, or None (noaug, or fixed `p = 0` as the official code).

    Example:
    ```python
    augment_pipeline(SimpleNamespace(aug="fixed", p=0.3, augpipe="bg"))   # AugmentPipeline("bg", p=0.3)
    ```
    """
    if opts.aug == "noaug" or (opts.aug == "fixed" and opts.p == 0):
        return None
    # float32 under any mixed precision: the resampling needs the precision
    # (the official pipeline also runs in float32).
    return AugmentPipeline(opts.augpipe, p=opts.p if opts.aug == "fixed" else 0.0, dtype="float32",
                           name="augment")


def count_parameters(model):
    """Number of trainable parameters of `model`.

    Example:
    ```python
    count_parameters(gan.generator)   # e.g. 3_145_728
    ```
    """
    return int(sum(np.prod(v.shape) for v in model.weights if v.trainable))


def load_network(path, which):
    """The network of transfer-learning option `which` (`"resume_g"`, `"resume_d"` or `"resume_g_ema"`).

    Args:
        path: str. A `.keras` file, preset or anything `load_generator` takes.
        which: str. The option's name; `"resume_d"` loads a discriminator.

    Raises:
        InputError: nothing loadable at `path`.

    Example:
    ```python
    generator = load_network("converted/G.keras", "resume_g")
    ```
    """
    loader = load_discriminator if which == "resume_d" else load_generator
    try:
        if os.path.isfile(path) and path.endswith(".keras"):
            check_keras_archive(path)  # Keras calls a damaged file "not found"
        return loader(path)
    except (ValueError, FileNotFoundError, OSError) as error:
        raise InputError(f"bad --{which}={path!r}: {one_line(error)}") from None


def _networks(opts, info):
    """`(generator, discriminator, generator_ema or None)`: loaded for transfer learning, else fresh."""
    g_kwargs, d_kwargs = run_network_kwargs(opts, info.resolution, info.c_dim, info.channels)
    generator_ema = None
    if opts.resume_g:
        generator = load_network(opts.resume_g, "resume_g")
        generator_ema = load_network(opts.resume_g_ema, "resume_g_ema") if opts.resume_g_ema else None
    else:
        generator = CREPSGenerator(**g_kwargs, name="generator")
    if opts.resume_d:
        discriminator = load_network(opts.resume_d, "resume_d")
    else:
        d_config = dict(d_kwargs, resolution=generator.resolution, c_dim=generator.c_dim,
                        img_channels=generator.img_channels)
        discriminator = CREPSDiscriminator(**d_config, name="discriminator")
    return generator, discriminator, generator_ema


def resolve_jit_compile(choice, cfg):
    """`(jit_compile for compile, a line saying why or None)` for `--jit_compile` `choice` and `--cfg`.

    `"auto"` on TensorFlow without a GPU is XLA, except for the configurations
    in `SLOW_XLA_CONFIGS` (a plain graph); elsewhere it is Keras' `"auto"`.
    The choice is stored with the run's compile settings, so a resumed run
    keeps it.

    Example:
    ```python
    resolve_jit_compile("auto", "small")   # (False, "--jit_compile auto: ...") on a TF CPU
    ```
    """
    choice = str(choice).lower()
    if choice != "auto":
        return choice == "true", None
    if not tensorflow_without_gpu():
        return "auto", None
    if cfg in SLOW_XLA_CONFIGS:
        return False, (f"--jit_compile auto: a plain TensorFlow graph for --cfg {cfg} on a CPU (XLA compiled its "
                       "training step for over 20 minutes; --jit_compile true forces it)")
    return True, f"--jit_compile auto: XLA for --cfg {cfg} (--jit_compile false: a plain TensorFlow graph)"


def new_gan(opts, info, log=print):
    """A compiled `CREPSGAN` of fresh networks, or of the `resume_g`/`resume_d` ones (transfer learning).

    Args:
        opts: namespace of the run options (`cfg`, `cbase`, `cmax`,
            `resume_g`, `resume_d`, `resume_g_ema`, `aug`, `p`, `augpipe`,
            `target`, `ada_kimg`, `glr`, `dlr`, `gamma`, `pl_weight`, `seed`,
            `jit_compile`, `run_eagerly`, and `given`: the names set
            explicitly).
        info: the dataset's `DatasetInfo` (resolution, c_dim, channels).
        log: callable taking the line that says how the step is compiled.
            Defaults to `print`.

    Raises:
        InputError: a network cannot be loaded, or the networks do not fit
            together.

    Example:
    ```python
    gan = new_gan(opts, info)
    gan.fit(dataset, epochs=1, steps_per_epoch=10)
    ```
    """
    generator, discriminator, generator_ema = _networks(opts, info)
    try:
        gan = CREPSGAN(generator, discriminator, generator_ema=generator_ema, augment=augment_pipeline(opts))
    except ValueError as error:
        raise InputError(f"bad --resume_g/--resume_d/--resume_g_ema: {one_line(error)}") from None
    jit_compile, why = resolve_jit_compile(opts.jit_compile, opts.cfg)
    if why:
        log(why)
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
        jit_compile=jit_compile,
        run_eagerly=opts.run_eagerly,
    )
    return gan


def check_network_fits(opts, gan, info, source, state_path):
    """Raises `InputError` when the generator's resolution, classes or channels differ from the dataset's.

    Args:
        opts: namespace with `resume` and `resume_g` (the option named in
            the message).
        gan: the `CREPSGAN`.
        info: the dataset's `DatasetInfo`.
        source: the data source, for the message.
        state_path: str or None. The resumed state (its option is named).
    """
    for attr, have in (("resolution", info.resolution), ("c_dim", info.c_dim), ("img_channels", info.channels)):
        net = getattr(gan.generator, attr)
        if net != have:
            flag = "resume" if state_path else "resume_g"
            raise InputError(
                f"bad --{flag}={getattr(opts, flag)!r}: the network has {attr}={net}, the dataset {source!r} "
                f"{attr}={have}" + (" (pass --cond for a conditional network)" if attr == "c_dim" else "")
            )

"""The plan of a training run: its schedule in steps and ticks, its directory and its options record."""

import dataclasses
import math

import keras

from keras_creps.training.callbacks import read_counters
from keras_creps.training.run_data import dataset_facts
from keras_creps.training.run_errors import InputError
from keras_creps.training.run_errors import one_line
from keras_creps.training.run_networks import count_parameters
from keras_creps.utils.output_paths import make_output_dir
from keras_creps.utils.run_dir import next_run_dir

__all__ = ["RunSchedule", "dry_run_summary", "new_run_dir", "options_document", "plan_schedule"]


@dataclasses.dataclass(frozen=True)
class RunSchedule:
    """Steps and epochs of a run: a tick is one `fit` epoch.

    Attributes:
        step0: int. Steps trained before this run (resumed state).
        seen0: int. Real images shown before this run.
        steps_per_tick: int. Steps of one tick (one epoch).
        total_steps: int. Steps of the whole training.
        epochs: int. Ticks of the whole training; it ends at the first
            tick boundary at or after `total_steps`.
        initial_epoch: int. The tick this run starts in.
    """

    step0: int
    seen0: int
    steps_per_tick: int
    total_steps: int
    epochs: int
    initial_epoch: int


def plan_schedule(gan, kimg, tick, batch):
    """The `RunSchedule` of training `gan` to `kimg` thousand images in ticks of `tick` kimg.

    Args:
        gan: a `CREPSGAN` (its step and image counters say where it stands).
        kimg: float. Training length in thousands of real images.
        tick: float. kimg per tick.
        batch: int. Global batch size.

    Example:
    ```python
    plan_schedule(gan, kimg=25000, tick=4, batch=32)   # steps_per_tick=125, epochs=6250, ...
    ```
    """
    step0, seen0 = read_counters(gan)
    steps_per_tick = max(1, round(tick * 1000 / batch))
    total_steps = max(1, math.ceil(kimg * 1000 / batch))
    epochs = math.ceil(total_steps / steps_per_tick)
    return RunSchedule(step0=step0, seen0=seen0, steps_per_tick=steps_per_tick, total_steps=total_steps,
                       epochs=epochs, initial_epoch=step0 // steps_per_tick)


def options_document(opts, option_names, gan, info, source, strategy, plan, state_path):
    """The `training_options.json` content: every option, and what they resolved to.

    Args:
        opts: namespace of the run options.
        option_names: iterable of str. The options recorded.
        gan: the `CREPSGAN`.
        info: the dataset's `DatasetInfo`.
        source: the data source.
        strategy: the distribution strategy or None.
        plan: `RunSchedule`.
        state_path: str or None. The resumed training state.

    Returns:
        dict with `options` and `resolved`.
    """
    return {
        "options": {name: getattr(opts, name) for name in option_names},
        "resolved": {
            "backend": keras.config.backend(),
            "keras_version": keras.__version__,
            "data_source": str(source),
            "dataset": dataset_facts(info),
            "generator": gan.generator.get_config(),
            "discriminator": gan.discriminator.get_config(),
            "compile": dict(gan.get_compile_config() or {}),
            "parameters": {"generator": count_parameters(gan.generator),
                           "discriminator": count_parameters(gan.discriminator)},
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


def dry_run_summary(gan, info, plan):
    """The lines a dry run ends with: each network's size, then the data and the schedule."""
    lines = [f"{net.name}: {count_parameters(net):,} parameters" for net in (gan.generator, gan.discriminator)]
    lines.append(f"dry run: {info.num_images} images ({info.name}, {info.resolution}x{info.resolution}, "
                 f"c_dim={info.c_dim}); {plan.total_steps} steps = {plan.epochs} ticks of {plan.steps_per_tick} "
                 f"steps; backend {keras.config.backend()}")
    return lines


def new_run_dir(opts, info):
    """Creates `<outdir>/<NNNNN>-creps[-<cfg>]-<dataset>-<res>-batch<B>-gamma<G>[-<desc>]`; returns its path.

    Args:
        opts: namespace with `outdir`, `cfg`, `batch`, `gamma` and `desc`.
        info: the dataset's `DatasetInfo`.

    Raises:
        InputError: `opts.outdir` cannot be created or written.

    Example:
    ```python
    new_run_dir(opts, info)   # "runs/00004-creps-small-noto-emoji-64-64-batch32-gamma1"
    ```
    """
    prefix = "creps" if opts.cfg == "paper" else f"creps-{opts.cfg}"
    description = f"{prefix}-{info.name}-{info.resolution}-batch{opts.batch}-gamma{opts.gamma:g}"
    if opts.desc:
        description += f"-{opts.desc}"
    try:
        make_output_dir(opts.outdir, name="--outdir")  # writes a probe: `os.access` says yes to root on read-only disks
        return next_run_dir(opts.outdir, description)
    except ValueError as error:
        raise InputError(one_line(error)) from None

"""The data of a training run: one validating scan, the distributed stream, and the real-image grid."""

import numpy as np

from keras_creps.data import load_images
from keras_creps.data import make_dataset
from keras_creps.training.distribute import distribute_dataset
from keras_creps.training.run_errors import InputError
from keras_creps.training.run_errors import OptionError
from keras_creps.training.run_errors import one_line

__all__ = ["dataset_facts", "real_images", "scan_data", "training_data"]


def scan_data(opts, source, log=print):
    """Validates the data once (bad-file report, resolution, labels); returns its `DatasetInfo`.

    Args:
        opts: namespace with `batch`, `cond`, `mirror`, `seed`, `data_dir`
            and `resolution` (None: the dataset's).
        source: the data source (see `keras_creps.data.make_dataset`).
        log: callable taking the bad-file report. Defaults to `print`.

    Raises:
        InputError: the data cannot be read.
        OptionError: `opts.resolution` is not the dataset's.

    Example:
    ```python
    info = scan_data(opts, "faces64.zip")
    info.resolution, info.c_dim   # (64, 0)
    ```
    """
    try:
        _, info = make_dataset(source, batch_size=opts.batch, use_labels=opts.cond, xflip=opts.mirror,
                               seed=opts.seed, data_dir=opts.data_dir, prefetch=False)
    except (ValueError, FileNotFoundError, OSError) as error:
        raise InputError(f"bad --data={source!r}: {one_line(error)}") from None
    if opts.resolution is not None and opts.resolution != info.resolution:
        raise OptionError(
            f"bad --resolution={opts.resolution}: the dataset {source!r} is {info.resolution}x{info.resolution} "
            "(resize it with recipes/dataset_tool.py --resolution)"
        )
    if getattr(info.report, "num_bad", 0):
        log(info.report.summary())
    return info


def training_data(opts, strategy, source, info, step0, log=print):
    """The distributed training stream, continuing where a resumed run stopped.

    With `opts.resume_skip_data` the images of the first `step0` steps are
    skipped (the stream continues exactly; folders and ZIPs skip positions
    without reading a file); otherwise the stream is reshuffled with the seed
    `opts.seed + step0`.

    Args:
        opts: namespace with `seed`, `resume_skip_data`, `batch`, `cond`,
            `mirror` and `data_dir`.
        strategy: the `tf.distribute` strategy or None.
        source: the data source.
        info: its `DatasetInfo` from `scan_data`.
        step0: int. Steps already trained.
        log: callable taking the line that says what is skipped. Defaults to
            `print`.

    Example:
    ```python
    dataset = training_data(opts, None, source, info, step0=0)
    ```
    """
    num_replicas = getattr(strategy, "num_replicas_in_sync", 1)
    skip_data = bool(step0 and opts.resume_skip_data)
    if skip_data:
        how = "skipping positions, no file is read" if info.kind in ("folder", "zip") else "records read, not decoded"
        log(f"Data: continuing the stream after the {step0 * opts.batch:,} images of the {step0:,} steps "
            f"already trained ({how}).")

    def dataset_fn(context):
        seed = opts.seed if (opts.resume_skip_data or not step0) else opts.seed + step0
        # Each pipeline yields one per-replica batch per replica it feeds and step.
        batches_per_step = num_replicas // context.num_input_pipelines if context is not None else 1
        # `validated`: the source was scanned once; each pipeline reuses that scan.
        dataset, _ = make_dataset(source, batch_size=opts.batch, use_labels=opts.cond, xflip=opts.mirror,
                                  seed=seed, data_dir=opts.data_dir, input_context=context, validated=info,
                                  skip_batches=step0 * batches_per_step if skip_data else 0)
        return dataset

    return distribute_dataset(strategy, dataset_fn)


def real_images(opts, source, info):
    """Real images for the sample grid: up to `columns x 4`, or `columns` per class (one row each) for `cond`.

    Missing cells of a class row are white.

    Args:
        opts: namespace with `grid_columns`, `seed` and `data_dir`.
        source: the data source.
        info: its `DatasetInfo`.

    Returns:
        uint8 `[N, H, W, C]`.
    """
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


def dataset_facts(info):
    """The JSON-ready facts of a `DatasetInfo` recorded with a run (options file, snapshots).

    Example:
    ```python
    dataset_facts(info)["resolution"]   # 64
    ```
    """
    return {"name": info.name, "kind": info.kind, "num_images": info.num_images, "resolution": info.resolution,
            "channels": info.channels, "c_dim": info.c_dim,
            "class_names": list(info.class_names) if info.class_names else None, "xflip": info.xflip}

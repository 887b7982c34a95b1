"""Data-parallel training of `CREPSGAN` on several devices or machines.

The training step is written once for every layout (see `CREPSGAN` and
`keras_creps.training.gradients`): losses are divided by the global batch,
latents are drawn for the global batch and each replica takes its slice,
`pl_mean` and `w_avg` are averaged over replicas and the EMA is written
through the strategy. This module only picks and enters the right
distribution for the backend:

- TensorFlow: `tf.distribute.MirroredStrategy` over the local GPUs, or
  `tf.distribute.MultiWorkerMirroredStrategy` when `TF_CONFIG` is set.
- JAX: `keras.distribution.DataParallel` over the local devices.
- PyTorch: one device only.

Multi-worker TensorFlow training runs the same script on every machine with
its own `TF_CONFIG`, identical except for `task.index`; each worker uses
`num_devices` local GPUs and reads its own shard of the data
(`distribute_dataset`). Every worker holds the same model; worker 0 is the
chief, the one that should write checkpoints, samples and logs:

```shell
# on host-a
TF_CONFIG='{"cluster": {"worker": ["host-a:12345", "host-b:12345"]},
            "task": {"type": "worker", "index": 0}}' python recipes/train.py --gpus=4 ...
# on host-b
TF_CONFIG='{"cluster": {"worker": ["host-a:12345", "host-b:12345"]},
            "task": {"type": "worker", "index": 1}}' python recipes/train.py --gpus=4 ...
```
"""

import contextlib
import json
import os

import keras

from keras_creps.utils.arguments import positive_int


def _tf_config():
    """The parsed `TF_CONFIG` when it names a cluster of several tasks, else None."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
        cluster = config["cluster"]
        tasks = sum(len(addresses) for addresses in cluster.values())
        config["task"]["type"], config["task"]["index"]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            "TF_CONFIG must be JSON with `cluster` and `task` (type, index). "
            f"Received: TF_CONFIG={text!r} ({error})"
        ) from None
    return config if tasks > 1 else None


def _tensorflow_strategy(num_devices, allow_cpu, name):
    import tensorflow as tf

    received = f"Received: {name}={num_devices}"
    gpus = tf.config.list_physical_devices("GPU")
    multi_worker = _tf_config() is not None
    if gpus:
        if len(gpus) < num_devices:
            raise ValueError(f"Asked for {num_devices} GPUs, but only {len(gpus)} are visible. {received}")
        if multi_worker:
            # MultiWorkerMirroredStrategy uses every visible GPU.
            if len(gpus) > num_devices:
                try:
                    tf.config.set_visible_devices(gpus[:num_devices], "GPU")
                except RuntimeError as error:
                    raise ValueError(
                        f"Could not restrict TensorFlow to {num_devices} GPUs after it initialised ({error}); "
                        f"create the strategy first or set CUDA_VISIBLE_DEVICES. {received}"
                    ) from None
            return tf.distribute.MultiWorkerMirroredStrategy()
        if num_devices == 1:
            return None
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(num_devices)])
    if not allow_cpu and (num_devices > 1 or multi_worker):
        raise ValueError(f"Multi-device training needs GPUs and TensorFlow sees none. {received}")
    if multi_worker:
        if num_devices != 1:
            raise ValueError(f"Without GPUs a worker trains on its one CPU, so it takes 1 device. {received}")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if num_devices == 1:
        return None
    # Split the CPU into logical devices (for tests and debugging).
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu) or []
    if len(current) < num_devices:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
            )
        except RuntimeError:
            raise ValueError(
                f"TensorFlow was initialised with {max(len(current), 1)} CPU device(s); split the CPU "
                "with tf.config.set_logical_device_configuration before any TensorFlow op runs. "
                f"{received}"
            ) from None
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(num_devices)])


def _jax_distribution(num_devices, allow_cpu, name):
    received = f"Received: {name}={num_devices}"
    if _tf_config() is not None:
        raise ValueError(
            "TF_CONFIG describes a multi-worker cluster, which only the TensorFlow backend supports. "
            f"Unset TF_CONFIG or use KERAS_BACKEND=tensorflow. {received}"
        )
    if num_devices == 1:
        return None
    devices = keras.distribution.list_devices()
    if devices and devices[0].startswith("cpu") and not allow_cpu:
        raise ValueError(f"Multi-device training needs GPUs or TPUs and JAX sees only the CPU. {received}")
    if len(devices) < num_devices:
        hint = ""
        if devices and devices[0].startswith("cpu"):
            hint = f" (XLA_FLAGS=--xla_force_host_platform_device_count={num_devices} splits the CPU)"
        raise ValueError(f"Asked for {num_devices} devices, but JAX sees {len(devices)}{hint}. {received}")
    return keras.distribution.DataParallel(devices=devices[:num_devices])


def make_strategy(num_devices=1, backend=None, allow_cpu=False, name="num_devices"):
    """The data-parallel distribution for `num_devices` devices on a backend.

    - TensorFlow: a `tf.distribute.MultiWorkerMirroredStrategy` when
      `TF_CONFIG` describes a cluster (each worker using `num_devices`
      local GPUs), else a `tf.distribute.MirroredStrategy` over
      `num_devices` GPUs (or logical CPUs with `allow_cpu=True`).
    - JAX: a `keras.distribution.DataParallel` over `num_devices` devices.
    - PyTorch: only `num_devices=1`.

    Returns `None` when one device is asked for outside a cluster (train
    as usual). TensorFlow needs the strategy created before it runs any
    op; logical CPUs can only be made then.

    Args:
        num_devices: int >= 1. Devices per process.
        backend: str or None. Defaults to `keras.config.backend()`.
        allow_cpu: bool. Use CPU devices when there is no accelerator
            (logical CPUs on TensorFlow, host devices on JAX, one CPU per
            TensorFlow worker). Defaults to False.
        name: str. How errors name `num_devices` (e.g. `"--gpus"`).

    Returns:
        A `tf.distribute.Strategy`, a `keras.distribution.Distribution`
        or `None`.

    Example:
    ```python
    strategy = make_strategy(2)  # MirroredStrategy on 2 GPUs (TensorFlow)
    ```
    """
    num_devices = positive_int(name, num_devices)
    backend = backend or keras.config.backend()
    if backend == "tensorflow":
        return _tensorflow_strategy(num_devices, allow_cpu, name)
    if backend == "jax":
        return _jax_distribution(num_devices, allow_cpu, name)
    if backend == "torch":
        if num_devices > 1:
            raise ValueError(
                f"Multi-device training on the torch backend is not supported: {name}={num_devices}. "
                "Use KERAS_BACKEND=tensorflow or jax."
            )
        if _tf_config() is not None:
            raise ValueError(
                "TF_CONFIG describes a multi-worker cluster, which only the TensorFlow backend supports. "
                f"Received: backend={backend!r}"
            )
        return None
    raise ValueError(f"Unknown backend. Expected one of tensorflow, jax, torch. Received: backend={backend!r}")


@contextlib.contextmanager
def distribution_scope(num_devices=1, backend=None, allow_cpu=False, name="num_devices"):
    """Context manager that trains on `num_devices` devices; yields the strategy.

    Build the models, compile and `fit` inside it. On TensorFlow it enters
    `strategy.scope()` (variables become mirrored); on JAX it sets
    `keras.distribution.set_distribution(DataParallel(...))` and restores
    the previous distribution on exit. Yields `None` for one device. See
    `make_strategy` for the arguments and the module docstring for
    multi-worker training with `TF_CONFIG`.

    Example:
    ```python
    with distribution_scope(2, name="--gpus") as strategy:
        gan = keras_creps.CREPSGAN(generator_fn(), discriminator_fn())
        gan.compile()
        data = distribute_dataset(
            strategy, lambda ctx: make_dataset(path, batch_size=64, input_context=ctx)[0]
        )
        gan.fit(data, epochs=10, steps_per_epoch=1000)
    ```
    """
    strategy = make_strategy(num_devices, backend=backend, allow_cpu=allow_cpu, name=name)
    if strategy is None:
        yield None
    else:
        # Both tf.distribute strategies and Keras distributions have a scope.
        with strategy.scope():
            yield strategy


def distribute_dataset(strategy, dataset_fn):
    """The training data for `strategy`, from `dataset_fn(input_context)`.

    `dataset_fn` returns a `tf.data.Dataset` of batches that repeats
    forever (GAN training counts steps, not epochs). Under a TensorFlow
    strategy it receives a `tf.distribute.InputContext`: shard by
    `input_pipeline_id` and batch `get_per_replica_batch_size(global_batch)`,
    as `keras_creps.data.make_dataset(..., input_context=ctx)` does, so every
    worker reads its own share of each global batch. A dataset of unknown
    length is declared infinite, so that multi-worker steps keep static batch
    shapes (TensorFlow otherwise prepares for uneven last batches); it
    raises an error if it ever runs out. Otherwise (one device, or JAX, where
    `fit` splits global batches over the devices) `dataset_fn` gets `None`
    and must batch globally.

    Args:
        strategy: what `make_strategy` / `distribution_scope` returned.
        dataset_fn: callable `input_context or None -> tf.data.Dataset`.

    Returns:
        A `tf.distribute.DistributedDataset` under a TensorFlow strategy,
        else the dataset itself; either goes to `fit`.

    Example:
    ```python
    data = distribute_dataset(
        strategy, lambda ctx: make_dataset(path, batch_size=64, input_context=ctx)[0]
    )
    ```
    """
    if not hasattr(strategy, "distribute_datasets_from_function"):  # None or a Keras distribution
        return dataset_fn(None)
    import tensorflow as tf

    def per_worker(context):
        dataset = dataset_fn(context)
        cardinality = int(dataset.cardinality())
        if cardinality == tf.data.UNKNOWN_CARDINALITY:
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY))
        elif cardinality != tf.data.INFINITE_CARDINALITY and isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy
        ):
            raise ValueError(
                "Multi-worker training needs a dataset that repeats forever "
                f"(make_dataset(..., repeat=True)). Received: a dataset of {cardinality} batches"
            )
        return dataset

    return strategy.distribute_datasets_from_function(per_worker)

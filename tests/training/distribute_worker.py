"""Subprocess side of `test_distribute.py`: trains the tiny GAN and saves the results.

Multi-device set-ups must be chosen before the backend initialises its
devices, so every run happens in a fresh interpreter started by the test:

    python distribute_worker.py MODE DATA_DIR OUT.npz

MODE is one of
- `single`: one device, the reference;
- `tf_mirrored`: `MirroredStrategy` over two logical CPUs (TensorFlow);
- `jax_data_parallel`: `keras.distribution.DataParallel` over two host
  devices (JAX; start with XLA_FLAGS=--xla_force_host_platform_device_count=2);
- `tf_multi_worker`: one worker of a `MultiWorkerMirroredStrategy` set up
  from `TF_CONFIG` (TensorFlow).

The `.npz` holds the per-step logs (`log/<name>`, one value per step), every
variable after the last step (`<group>/<index>` for the groups generator,
discriminator, generator_ema, optimizer and state = step, seen_images,
pl_mean) and the number of replicas (`replicas`). Written atomically.
"""

import os
import sys

STEPS = 2
REG_INTERVAL = 1  # Greg and Dreg at every step: one compiled step variant (the slow part)
GLOBAL_BATCH = 4
RESOLUTION = 8


def _build(seed):
    import keras

    from keras_creps import CREPSGAN, CREPSDiscriminator, CREPSGenerator

    keras.utils.set_random_seed(seed)
    generator = CREPSGenerator(
        RESOLUTION, z_dim=32, w_dim=32, channel_base=256, channel_max=32,
        biline_channels=8, rank=2, mapping_layers=2,
    )
    # MinibatchStd groups the samples of one replica; a global group cannot be
    # formed from two replicas' halves, so the statistic is switched off where
    # per-replica and single-device batches must give the same numbers (see
    # test_distribute.py). JAX's data parallelism is global, so it keeps it.
    mbstd_channels = 1 if keras.config.backend() == "jax" else 0
    discriminator = CREPSDiscriminator(
        RESOLUTION, channel_base=256, channel_max=32, mapping_layers=2,
        mbstd_group_size=4, mbstd_num_channels=mbstd_channels,
    )
    gan = CREPSGAN(generator, discriminator)
    gan.compile(
        r1_gamma=1.0, pl_weight=2.0, g_reg_interval=REG_INTERVAL, d_reg_interval=REG_INTERVAL,
        seed=7, jit_compile=False if keras.config.backend() == "tensorflow" else "auto",
    )
    return gan


def _dataset(data_dir, input_context=None):
    from keras_creps.data import make_dataset

    dataset, _ = make_dataset(
        data_dir, batch_size=GLOBAL_BATCH, shuffle=True, seed=3, prefetch=False,
        input_context=input_context,
    )
    return dataset


def _train(gan, dataset, replicas):
    """Fits `STEPS` steps (one per epoch, so the logs are per step); returns arrays."""
    import time

    import numpy as np

    start = time.time()
    history = gan.fit(dataset, epochs=STEPS, steps_per_epoch=1, verbose=0)
    print(f"fit: {time.time() - start:.1f} s", flush=True)
    result = {f"log/{name}": np.asarray(values, np.float64) for name, values in history.history.items()}
    groups = {
        "generator": gan.generator.variables,
        "discriminator": gan.discriminator.variables,
        "generator_ema": gan.generator_ema.variables,
        "optimizer": gan.optimizer.variables,
        "state": [gan.step, gan.seen_images, gan.pl_mean],
    }
    for group, variables in groups.items():
        for index, variable in enumerate(variables):
            # `Variable.numpy()`: mirrored tf.Variables have no `__array__`.
            result[f"{group}/{index}"] = np.asarray(variable.numpy())
    result["replicas"] = np.asarray(replicas)
    return result


def _save(path, arrays):
    import numpy as np

    tmp = f"{path}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def main(mode, data_dir, out_path):
    import keras

    keras.config.disable_traceback_filtering()

    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        # Grappler's rewrites of the large double-backprop graphs take longer
        # than these few steps; the numbers are the same without them.
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    if mode == "single":
        _save(out_path, _train(_build(1), _dataset(data_dir), 1))
        return
    from keras_creps.training.distribute import distribute_dataset, distribution_scope

    if mode == "tf_mirrored":
        with distribution_scope(2, allow_cpu=True) as strategy:
            gan = _build(1)
            data = distribute_dataset(strategy, lambda ctx: _dataset(data_dir, ctx))
            _save(out_path, _train(gan, data, strategy.num_replicas_in_sync))
    elif mode == "jax_data_parallel":
        with distribution_scope(2, allow_cpu=True):
            gan = _build(1)
            kernel = gan.generator.trainable_variables[0].value
            _save(out_path, _train(gan, _dataset(data_dir), len(kernel.sharding.device_set)))
    elif mode == "tf_multi_worker":
        with distribution_scope(1, allow_cpu=True) as strategy:
            gan = _build(1)
            data = distribute_dataset(strategy, lambda ctx: _dataset(data_dir, ctx))
            _save(out_path, _train(gan, data, strategy.num_replicas_in_sync))
    else:
        raise ValueError(f"Unknown mode. Received: mode={mode!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])

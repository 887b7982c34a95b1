"""Named network configurations for training (`--cfg` of `recipes/train.py`).

- `paper`: the official CREPS configuration (`train.py --cfg=creps`: the
  StyleGAN2 `--cbase 32768 --cmax 512` doubled for the generator, so
  channel_base 65536 and channel_max 1024; biline 32, rank 8, 8 mapping
  layers, z = w = 512; discriminator channel_base 32768, channel_max 512).
- `small`: the configuration of the CPU training benchmark
  (`shared/tools/official_train_bench.py` defaults): z = w = 512, generator
  channel_base 32768 / channel_max 512, discriminator 16384 / 512. Trains at
  64x64 on a CPU at a few seconds per batch of 16.
- `tiny`: seconds-per-hundred-steps networks for tests and smoke runs.
"""

_CONFIGS = {
    "paper": dict(
        generator=dict(z_dim=512, w_dim=512, channel_base=65536, channel_max=1024, biline_channels=32,
                       rank=8, mapping_layers=8),
        discriminator=dict(channel_base=32768, channel_max=512, mapping_layers=8),
    ),
    "small": dict(
        generator=dict(z_dim=512, w_dim=512, channel_base=32768, channel_max=512, biline_channels=32,
                       rank=8, mapping_layers=8),
        discriminator=dict(channel_base=16384, channel_max=512, mapping_layers=8),
    ),
    "tiny": dict(
        generator=dict(z_dim=32, w_dim=32, channel_base=1024, channel_max=32, biline_channels=8, rank=2,
                       mapping_layers=2),
        discriminator=dict(channel_base=1024, channel_max=32, mapping_layers=2),
    ),
}

CONFIG_NAMES = tuple(_CONFIGS)


def network_kwargs(name, resolution, c_dim=0, img_channels=3):
    """`(generator_kwargs, discriminator_kwargs)` of a named configuration.

    Example:
    ```python
    g_kwargs, d_kwargs = network_kwargs("small", 64)
    generator = keras_creps.CREPSGenerator(**g_kwargs)
    ```
    """
    if name not in _CONFIGS:
        raise ValueError(f"Unknown configuration {name!r}; choose one of {list(_CONFIGS)}. Received: cfg={name!r}")
    config = _CONFIGS[name]
    common = dict(resolution=resolution, c_dim=c_dim, img_channels=img_channels)
    return dict(config["generator"], **common), dict(config["discriminator"], **common)


def build_gan(name, resolution, c_dim=0, img_channels=3):
    """A `CREPSGAN` with fresh networks of a named configuration."""
    from keras_creps.models.creps_discriminator import CREPSDiscriminator
    from keras_creps.models.creps_generator import CREPSGenerator
    from keras_creps.training.gan import CREPSGAN

    g_kwargs, d_kwargs = network_kwargs(name, resolution, c_dim, img_channels)
    return CREPSGAN(CREPSGenerator(**g_kwargs, name="generator"), CREPSDiscriminator(**d_kwargs, name="discriminator"))

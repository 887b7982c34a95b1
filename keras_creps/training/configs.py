"""Named network configurations for training (`--cfg` of `recipes/train.py`).

- `paper`: the official CREPS configuration (`train.py --cfg=creps`: the
  StyleGAN2 `--cbase 32768 --cmax 512` doubled for the generator, so
  channel_base 65536 and channel_max 1024; biline 32, rank 8, 8 mapping
  layers, z = w = 512; discriminator channel_base 32768, channel_max 512).
- `small`: the configuration of the CPU training benchmark
  (`shared/tools/official_train_bench.py` defaults): z = w = 512, generator
  channel_base 32768 / channel_max 512, discriminator 16384 / 512. Trains at
  64x64 on a CPU at a few seconds per batch of 16.
- `demo`: the CPU demo (`saved_models/creps_emoji_64`), chosen by measuring
  whole training steps at 64x64 on a 2-core CPU with TensorFlow (ADA on,
  9 classes). The per-pixel decoders and refinement blocks cost the same
  at every `channel_base`, so their width (`biline_channels`) and the
  batch set the speed: `small` takes ~700 s/kimg; channel bases 8192/4096
  (cmax 256, biline 16, rank 4) 277 s/kimg and 5.6 GB; this one 132 s/kimg
  at batch 16 and 3.4 GB peak. Rank 8 instead of 4 costs nothing
  measurable (the fusion is 8 multiply-adds per pixel and channel).
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
    "demo": dict(
        generator=dict(z_dim=256, w_dim=256, channel_base=4096, channel_max=128, biline_channels=16,
                       rank=8, mapping_layers=2),
        discriminator=dict(channel_base=2048, channel_max=128, mapping_layers=2),
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

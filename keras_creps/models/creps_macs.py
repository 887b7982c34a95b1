"""Analytic multiply-accumulate (MAC) counts of the CREPS generator and discriminator forward passes."""

from keras_creps.models.creps_synthesis import block_channels
from keras_creps.models.creps_synthesis import block_resolutions


def creps_generator_macs(config, height=None, width=None):
    """MACs per image of `CREPSGenerator(**config)` rendering `height x width`.

    Counts what the forward pass executes, part by part: mapping, style
    affines, weight (de)modulation, Fourier input, line network
    (`(height + width) * rank` line positions), bi-line fusions, per-pixel
    decoders, `decoder_img` and the refinement blocks. Elementwise work
    (activations, sines) is not counted. For square images this is the same
    count as the official benchmark's `creps_macs`.

    Args:
        config: dict of `CREPSGenerator` constructor arguments (e.g.
            `generator.get_config()`).
        height: int. Output rows; defaults to `config["resolution"]`.
        width: int. Output columns; defaults to `height`.

    Returns:
        dict of MACs per part plus `"total"`.
    """
    resolution = config["resolution"]
    height = resolution if height is None else height
    width = height if width is None else width
    w_dim, z_dim, c_dim = config.get("w_dim", 512), config.get("z_dim", 512), config.get("c_dim", 0)
    rank, b = config.get("rank", 8), config.get("biline_channels", 32)
    img_channels = config.get("img_channels", 3)
    resolutions = block_resolutions(resolution)
    channels = block_channels(resolution, config.get("channel_base", 65536), config.get("channel_max", 1024))
    pixels = height * width
    lines = (height + width) * rank

    parts = {}
    embed = w_dim if c_dim else 0
    parts["mapping"] = (z_dim + embed) * w_dim + (config.get("mapping_layers", 8) - 1) * w_dim * w_dim + c_dim * embed

    line_layers = [(channels[4], channels[4], True)]  # b4.fc1
    for res in resolutions[1:]:
        line_layers += [(channels[res // 2], channels[res], True), (channels[res], channels[res], True), (channels[res], b, False)]
    refine = [(b, 4 * b, True), (4 * b, 4 * b, True), (4 * b, img_channels, False),
              (4 * b, 2 * b, True), (2 * b, 2 * b, True), (2 * b, img_channels, False)]
    affine_in = [i for i, _, _ in line_layers + refine]
    parts["style_affines"] = w_dim * channels[4] * 2 * rank + w_dim * sum(affine_in)
    parts["weight_modulation_demodulation"] = sum((3 if demod else 1) * i * o for i, o, demod in line_layers + refine)
    # Phases (outer product) and the two amplitude products of every feature.
    parts["fourier_input"] = (height + width) * (channels[4] // 2) * rank + 2 * channels[4] * lines
    parts["line_network"] = lines * sum(i * o for i, o, _ in line_layers)
    parts["fusion_outer_products"] = (len(resolutions) - 1) * b * pixels * rank
    parts["decoders"] = (len(resolutions) - 1) * 20 * b * b * pixels  # b->2b->4b->2b->b
    parts["decoder_img"] = b * img_channels * pixels
    parts["refinement_blocks"] = pixels * sum(i * o for i, o, _ in refine)
    parts["total"] = sum(parts.values())
    return parts


def creps_discriminator_macs(config):
    """MACs per image of `CREPSDiscriminator(**config)` scoring one image.

    Counts every convolution and dense product, part by part: `fromrgb`,
    each block's `conv0` (3x3 at the block's resolution), `conv1` (3x3,
    stride 2 after the FIR filter) and `skip` (1x1, stride 2), the epilogue
    (`b4`: 3x3 conv on the features plus minibatch-stddev channels, `fc`,
    `out`) and, for a conditional discriminator, the label mapping. The FIR
    filters (16 multiply-adds per pixel and channel), activations and the
    minibatch statistics are not counted. At 64^2 with the `small` training
    configuration the 3x3 convolutions at 64^2 and 32^2 are 80 % of the total.

    Args:
        config: dict of `CREPSDiscriminator` constructor arguments (e.g.
            `discriminator.get_config()`).

    Returns:
        dict of MACs per part plus `"total"`.

    Example:
    ```python
    macs = creps_discriminator_macs(dict(resolution=64, channel_base=16384, channel_max=512))
    print(f"{macs['total'] / 1e9:.2f} GMAC per image")  # 7.86
    ```
    """
    resolution = config["resolution"]
    base, cmax = config.get("channel_base", 32768), config.get("channel_max", 512)
    img_channels, c_dim = config.get("img_channels", 3), config.get("c_dim", 0)

    def channels(res):
        return min(base // res, cmax)

    parts = {"fromrgb": resolution * resolution * img_channels * channels(resolution)}
    res = resolution
    while res > 4:
        tmp, out, half = channels(res), channels(res // 2), res // 2
        parts[f"b{res}"] = res * res * 9 * tmp * tmp + half * half * (9 + 1) * tmp * out  # conv0, conv1 + skip
        res = half
    c4 = channels(4)
    cmap_dim = (config.get("cmap_dim") or c4) if c_dim else 0
    mbstd = config.get("mbstd_num_channels", 1)
    parts["b4"] = 16 * 9 * (c4 + mbstd) * c4 + 16 * c4 * c4 + c4 * (cmap_dim or 1)
    if c_dim:
        parts["mapping"] = c_dim * cmap_dim + config.get("mapping_layers", 8) * cmap_dim * cmap_dim
    parts["total"] = sum(parts.values())
    return parts

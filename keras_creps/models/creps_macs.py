"""Analytic multiply-accumulate (MAC) count of a CREPS generator forward pass."""

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

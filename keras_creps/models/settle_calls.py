"""Small arguments for the eager first call of the generator's PyTorch render functions.

Compiled PyTorch inference functions run once eagerly before `torch.compile`
traces them (`keras_creps.utils.torch_inference.inference_function`): the
layers' first call changes Python state that a trace would otherwise be
guarded on. That call computes nothing anyone reads, but at full size it
materialised every intermediate of a tile and set the process's peak memory.
The functions here cut a call's arguments to a few coordinates while keeping
every shape-dependent choice the layers make: the only one is
`EqualizedDense`'s, which multiplies fewer rows than inputs another way, so
a cut call keeps at least as many pixels as the widest such layer has
inputs (`settle_pixels`), or all of them.

Measured on the paper generator at 256^2, bfloat16, 2-core AMX CPU
(2026-12-05, peak RSS above the imports): 16384-pixel tiles 408 -> 370 MB,
65536-pixel tiles 610 -> 398 MB; the compiled renders' own peaks stayed at
369-392 MB.
"""

# Pixels a cut call keeps at least, whatever the layers' widths.
SETTLE_PIXELS = 512


def settle_pixels(synthesis):
    """Pixels a cut call of a built `CREPSSynthesis`'s functions keeps.

    `SETTLE_PIXELS`, or more if one of its per-pixel `EqualizedDense` layers
    (the decoders' and `decoder_img`) has more inputs.
    """
    dense = [layer for decoder in synthesis.decoders + [synthesis.decoder_last] for layer in decoder.dense_layers]
    return max([SETTLE_PIXELS] + [layer.in_features for layer in dense + [synthesis.decoder_img]])


def _rows_for(pixels_per_row, pixels):
    """Rows that make at least `pixels` pixels."""
    return -(-pixels // max(1, pixels_per_row))


def few_lines(z, c, rows, cols):
    """`make_generate_function`'s line arguments with at most 8 coordinates per axis.

    The line network has no shape-dependent choice (its dense layers see
    one latent row each), so a few coordinates settle it.
    """
    return z, c, rows[:, :8], cols[:, :8]


def few_tile_rows(row_lines, col_lines, w_last, pixels=SETTLE_PIXELS):
    """A tile's arguments (`[N, T, rank, b]` rows, `[N, W, rank, b]` columns) cut to `pixels` pixels' rows."""
    rows = _rows_for(row_lines[0].shape[0] * col_lines[0].shape[1], pixels)
    return [lines[:, :rows] for lines in row_lines], col_lines, w_last


def few_points(ws, rows, cols, pixels=SETTLE_PIXELS):
    """`make_points_function`'s arguments (`[P]` or `[N, P]` coordinates) cut to `pixels` points over the batch."""
    points = _rows_for(ws.shape[0], pixels)
    return ws, rows[..., :points], cols[..., :points]

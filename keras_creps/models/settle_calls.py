"""Small arguments for the eager first call of the generator's PyTorch render functions.

Compiled PyTorch inference functions run once eagerly before `torch.compile`
traces them (`keras_creps.utils.torch_inference.inference_function`): the
layers' first call changes Python state that a trace would otherwise be
guarded on. That call computes nothing anyone reads, but at full size it
materialised every intermediate of a tile and set the process's peak memory.
The functions here cut a call's arguments to a few coordinates while keeping
every shape-dependent choice the layers make: the only one is
`EqualizedDense`'s, which multiplies fewer rows than inputs (at most 128 in
the per-pixel network) another way, so a cut call keeps `SETTLE_PIXELS`
pixels or all of them.

Measured on the paper generator at 256^2, bfloat16, 2-core AMX CPU
(2026-12-05, peak RSS above the imports): 16384-pixel tiles 408 -> 370 MB,
65536-pixel tiles 610 -> 398 MB; the compiled renders' own peaks stayed at
369-392 MB.
"""

SETTLE_PIXELS = 512


def _rows_for(pixels_per_row):
    """Rows that make at least `SETTLE_PIXELS` pixels."""
    return -(-SETTLE_PIXELS // max(1, pixels_per_row))


def few_lines(z, c, rows, cols):
    """`make_generate_function`'s line arguments with at most 8 coordinates per axis.

    The line network has no shape-dependent choice (its dense layers see
    one latent row each), so a few coordinates settle it.
    """
    return z, c, rows[:, :8], cols[:, :8]


def few_tile_rows(row_lines, col_lines, w_last):
    """A tile's arguments (`[N, T, rank, b]` rows, `[N, W, rank, b]` columns) cut to a few rows."""
    rows = _rows_for(row_lines[0].shape[0] * col_lines[0].shape[1])
    return [lines[:, :rows] for lines in row_lines], col_lines, w_last


def few_points(ws, rows, cols):
    """`make_points_function`'s arguments (`[P]` or `[N, P]` coordinates) cut to a few points."""
    points = _rows_for(ws.shape[0])
    return ws, rows[..., :points], cols[..., :points]

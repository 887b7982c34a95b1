"""Per-image transform matrices of the ADA pipeline, built from drawn parameters.

Every function takes a dict of per-image parameter tensors (see
`keras_creps.augment.parameters.IDENTITY`) and returns a batch of
homogeneous matrices. A missing entry means "not drawn" and is the identity,
so the matrices only contain the factors of the enabled transforms.

Geometric matrices are inverse maps, `matrix @ [x_out, y_out, 1] ==
[x_in, y_in, 1]`, in pixel units centred on the image (the centre of an
`H x W` image is `((W - 1) / 2, (H - 1) / 2)`). The colour matrix is a forward
map of `(R, G, B, 1)`.
"""

import math

from keras import ops

# Unit vector along the luma (grey) axis of RGB.
LUMA_AXIS = (1.0 / math.sqrt(3.0),) * 3


def stack_matrices(rows):
    """Builds `[N, R, C]` from a nested list of `[N]` tensors and Python numbers."""
    batch_like = next(e for row in rows for e in row if not isinstance(e, (int, float)))
    batch_like = ops.convert_to_tensor(batch_like, dtype="float32")
    zeros = ops.zeros_like(batch_like)
    flat = [zeros + e if isinstance(e, (int, float)) else ops.cast(e, "float32") for row in rows for e in row]
    stacked = ops.stack(flat, axis=-1)  # [N, R * C]
    return ops.reshape(stacked, (-1, len(rows), len(rows[0])))  # [N, R, C]


def translate_2d(tx, ty):
    return stack_matrices([[1, 0, tx], [0, 1, ty], [0, 0, 1]])


def scale_2d(sx, sy):
    return stack_matrices([[sx, 0, 0], [0, sy, 0], [0, 0, 1]])


def rotate_2d(cos, sin):
    """Counter-clockwise rotation (in x-right, y-down pixel axes: clockwise on screen)."""
    return stack_matrices([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])


def _compose(matrix, right):
    """`matrix @ right` for inverse maps (`None`: nothing yet); `right` acts on the image later."""
    return right if matrix is None else ops.matmul(matrix, right)  # [N, 3, 3]


def _then(matrix, later):
    """`later @ matrix`: applies the forward map `later` after `matrix` (`None`: nothing yet)."""
    return later if matrix is None else ops.matmul(later, matrix)


def _identity_like(params, size):
    """`[N, size, size]` identities, `N` taken from any parameter."""
    any_param = ops.convert_to_tensor(next(iter(params.values())), dtype="float32")
    batch = ops.shape(any_param)[0]
    return ops.broadcast_to(ops.eye(size, dtype="float32"), (batch, size, size))


def blit_matrix(params, height, width):
    """Inverse map of the pixel-blitting group: x-flip, then 90-degree turns, then integer shift.

    Args:
        params: dict. Optional `[N]` entries `xflip` (0 or 1), `rotate90`
            (0..3 quarter turns), `xint_x`, `xint_y` (shift as a fraction of
            the width / height; rounded to whole pixels here).
        height: int. Image height.
        width: int. Image width.

    Returns:
        A float32 tensor `[N, 3, 3]`.
    """
    matrix = None
    if "xflip" in params:
        flip = ops.cast(params["xflip"], "float32")
        matrix = _compose(matrix, scale_2d(1.0 - 2.0 * flip, 1.0))
    if "rotate90" in params:
        # Exact cosines and sines of k quarter turns, so blits stay exact.
        turns = ops.cast(ops.mod(ops.cast(params["rotate90"], "int32"), 4), "int32")
        cos = ops.take(ops.convert_to_tensor([1.0, 0.0, -1.0, 0.0]), turns)
        sin = ops.take(ops.convert_to_tensor([0.0, 1.0, 0.0, -1.0]), turns)
        matrix = _compose(matrix, rotate_2d(cos, sin))
    if "xint_x" in params:
        tx = ops.round(ops.cast(params["xint_x"], "float32") * width)
        ty = ops.round(ops.cast(params["xint_y"], "float32") * height)
        matrix = _compose(matrix, translate_2d(-tx, -ty))
    return _identity_like(params, 3) if matrix is None else matrix


def geom_matrix(params, height, width):
    """Inverse map of the general geometric group.

    In output-to-input order: isotropic scale, pre-rotation, anisotropic
    scale, post-rotation, fractional translation.

    Args:
        params: dict. Optional `[N]` entries `scale` (factor), `rotate_pre`,
            `rotate_post` (radians), `aniso` (x factor; y gets its inverse),
            `xfrac_x`, `xfrac_y` (shift as a fraction of width / height).
        height: int. Image height.
        width: int. Image width.

    Returns:
        A float32 tensor `[N, 3, 3]`.
    """
    matrix = None
    if "scale" in params:
        s = ops.cast(params["scale"], "float32")
        matrix = _compose(matrix, scale_2d(1.0 / s, 1.0 / s))
    if "rotate_pre" in params:
        theta = ops.cast(params["rotate_pre"], "float32")
        matrix = _compose(matrix, rotate_2d(ops.cos(theta), ops.sin(theta)))
    if "aniso" in params:
        s = ops.cast(params["aniso"], "float32")
        matrix = _compose(matrix, scale_2d(1.0 / s, s))
    if "rotate_post" in params:
        theta = ops.cast(params["rotate_post"], "float32")
        matrix = _compose(matrix, rotate_2d(ops.cos(theta), ops.sin(theta)))
    if "xfrac_x" in params:
        tx = ops.cast(params["xfrac_x"], "float32") * width
        ty = ops.cast(params["xfrac_y"], "float32") * height
        matrix = _compose(matrix, translate_2d(-tx, -ty))
    return _identity_like(params, 3) if matrix is None else matrix


def geometric_matrix(params, height, width):
    """The whole inverse map, `blit_matrix @ geom_matrix` (ADA's `G_inv`)."""
    return ops.matmul(blit_matrix(params, height, width), geom_matrix(params, height, width))


def _luma_projector():
    """`v v^T` for the luma axis `v = (1, 1, 1, 0) / sqrt(3)`, as a `[4, 4]` tensor."""
    v = ops.convert_to_tensor(list(LUMA_AXIS) + [0.0], dtype="float32")
    return ops.outer(v, v)  # [4, 4]


def _hue_rotation(theta):
    """`[N, 4, 4]` rotation by `theta` about the luma axis (Rodrigues' formula)."""
    cos, sin = ops.cos(theta), ops.sin(theta)
    a = LUMA_AXIS[0]
    # R = cos I + sin [v]_x + (1 - cos) v v^T, with v = (a, a, a).
    diag = cos + (1.0 - cos) * a * a
    plus = (1.0 - cos) * a * a + sin * a  # Below-left of the cross-product term.
    minus = (1.0 - cos) * a * a - sin * a
    return stack_matrices(
        [[diag, minus, plus, 0], [plus, diag, minus, 0], [minus, plus, diag, 0], [0, 0, 0, 1]]
    )


def color_matrix(params, channels=3):
    """Forward colour map `[N, 4, 4]` acting on `(R, G, B, 1)`.

    Applied in order: brightness (add `b` to every channel), contrast (scale
    by `c`), luma flip (Householder reflection `I - 2 v v^T`), hue rotation
    about the luma axis, saturation (scale the chroma part `I - v v^T` by `s`).
    Hue and saturation are skipped for one-channel images, as in ADA.

    Args:
        params: dict. Optional `[N]` entries `brightness`, `contrast`,
            `lumaflip` (0 or 1), `hue` (radians), `saturation`.
        channels: int. 1 or 3. Defaults to `3`.

    Returns:
        A float32 tensor `[N, 4, 4]`.
    """
    eye = ops.eye(4, dtype="float32")
    projector = _luma_projector()
    matrix = None
    if "brightness" in params:
        b = ops.cast(params["brightness"], "float32")
        shift = stack_matrices([[1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]])
        matrix = _then(matrix, shift)
    if "contrast" in params:
        c = ops.cast(params["contrast"], "float32")
        scale = stack_matrices([[c, 0, 0, 0], [0, c, 0, 0], [0, 0, c, 0], [0, 0, 0, 1]])
        matrix = _then(matrix, scale)
    if "lumaflip" in params:
        flip = ops.cast(params["lumaflip"], "float32")[:, None, None]
        reflect = eye - 2.0 * projector * flip  # [N, 4, 4]
        matrix = _then(matrix, reflect)
    if "hue" in params and channels > 1:
        rotation = _hue_rotation(ops.cast(params["hue"], "float32"))
        matrix = _then(matrix, rotation)
    if "saturation" in params and channels > 1:
        s = ops.cast(params["saturation"], "float32")[:, None, None]
        saturate = projector + (eye - projector) * s  # [N, 4, 4]
        matrix = _then(matrix, saturate)
    return _identity_like(params, 4) if matrix is None else matrix


def is_identity(matrices):
    """`[N]` bool: whether each matrix of `[N, K, K]` is exactly the identity."""
    size = matrices.shape[-1]
    eye = ops.eye(size, dtype=matrices.dtype)
    return ops.all(ops.reshape(ops.equal(matrices, eye), (-1, size * size)), axis=-1)

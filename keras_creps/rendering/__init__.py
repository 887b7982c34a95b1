"""Any-scale rendering: coordinate grids, views, tiled large images."""

from keras_creps.rendering.consistency import psnr
from keras_creps.rendering.consistency import scale_consistency
from keras_creps.rendering.coords import axis_coords
from keras_creps.rendering.coords import scale_coords
from keras_creps.rendering.coords import view_coords
from keras_creps.rendering.large_image import render_large_image
from keras_creps.rendering.warps import affine_matrix
from keras_creps.rendering.warps import affine_points
from keras_creps.rendering.warps import field_points
from keras_creps.rendering.warps import render_points_grid
from keras_creps.rendering.warps import swirl_field

__all__ = [
    "affine_matrix",
    "affine_points",
    "axis_coords",
    "field_points",
    "psnr",
    "render_large_image",
    "render_points_grid",
    "scale_consistency",
    "scale_coords",
    "swirl_field",
    "view_coords",
]

"""Any-scale rendering: coordinate grids, views, band/tile planning, tiled large images, warps.

One vocabulary for views, used by the library, `recipes/generate.py` and the
SavedModel signatures: `height` / `width` (or `size`) count output pixels;
`zoom` is the magnification (the view spans `1 / zoom` of the training
image); `center` is the view's centre as `(row, col)` in image units, where
the training image spans `[0, 1]` on both axes and `(0.5, 0.5)` is its
centre; `scale` is only the official `--scale`, an output-size multiple of
the native resolution (`scale_coords`).
"""

from keras_creps.rendering.batch_render import Outputs
from keras_creps.rendering.consistency import psnr
from keras_creps.rendering.consistency import scale_consistency
from keras_creps.rendering.coords import axis_coords
from keras_creps.rendering.coords import scale_coords
from keras_creps.rendering.coords import view_coords
from keras_creps.rendering.large_image import render_large_image
from keras_creps.utils.tile_plan import TilePlan
from keras_creps.utils.tile_plan import plan_tiles
from keras_creps.rendering.warps import affine_matrix
from keras_creps.rendering.warps import affine_points
from keras_creps.rendering.warps import field_points
from keras_creps.rendering.warps import render_points_grid
from keras_creps.rendering.warps import swirl_field
from keras_creps.rendering.video import Video
from keras_creps.rendering.view import View

__all__ = [
    "Outputs",
    "TilePlan",
    "Video",
    "View",
    "affine_matrix",
    "affine_points",
    "axis_coords",
    "field_points",
    "plan_tiles",
    "psnr",
    "render_large_image",
    "render_points_grid",
    "scale_consistency",
    "scale_coords",
    "swirl_field",
    "view_coords",
]

"""Any-scale rendering: coordinate grids, views, tiled large images."""

from keras_creps.rendering.coords import axis_coords
from keras_creps.rendering.coords import scale_coords
from keras_creps.rendering.coords import view_coords
from keras_creps.rendering.large_image import render_large_image

__all__ = ["axis_coords", "render_large_image", "scale_coords", "view_coords"]

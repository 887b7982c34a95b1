"""A view of the continuous image: centre, zoom, rotation, alignment and aspect, for any output size."""

import dataclasses

from keras_creps.rendering.coords import view_coords

__all__ = ["View", "center_from_translate"]


@dataclasses.dataclass(frozen=True)
class View:
    """What every render of a run shows, whatever its size.

    Args:
        center: `(row, col)` centre in image units; `(0.5, 0.5)` is the
            training view's. Defaults to `(0.5, 0.5)`.
        zoom: float. Magnification about `center`. Defaults to `1.0`.
        rotate: float. Degrees the content turns counter-clockwise about
            `center`. Defaults to `0.0`.
        align: `"corners"` (official) or `"centers"`. Defaults to
            `"corners"`.
        panorama: bool. A non-square size shows more of the image at the
            shorter side's pixel pitch instead of stretching the view.
            Defaults to `False`.

    Example:
    ```python
    view = View(center=(0.45, 0.6), zoom=2.0)
    rows, cols = view.axes(256, 640)   # [256], [640] coordinates
    ```
    """

    center: tuple = (0.5, 0.5)
    zoom: float = 1.0
    rotate: float = 0.0
    align: str = "corners"
    panorama: bool = False

    def axes(self, height, width):
        """Row and column coordinates `([height], [width])` of a `height x width` render of this view."""
        view = dict(zoom=self.zoom, align=self.align, keep_aspect=self.panorama)
        if not self.panorama or width >= height:  # a panorama's rows span the view; columns keep their pitch
            return view_coords(height, width, center=self.center, **view)
        cols, rows = view_coords(width, height, center=self.center[::-1], **view)
        return rows, cols


def center_from_translate(x, y, resolution):
    """The view centre `(row, col)` of the official `--translate x,y` (native pixels, columns first).

    Args:
        x, y: float. Shift in native pixels, along columns and rows.
        resolution: int. The generator's native resolution.

    Returns:
        `(row, col)` in image units.

    Example:
    ```python
    center_from_translate(3.0, 0.0, 64)   # (0.5, 0.5476...)
    ```
    """
    pixel = 1.0 / max(resolution - 1, 1)  # the native grid is linspace(0, 1, resolution)
    return 0.5 + y * pixel, 0.5 + x * pixel

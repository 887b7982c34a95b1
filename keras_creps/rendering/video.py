"""Animations of one image: a continuous zoom, a pan or a full rotation, as WebP or GIF."""

import dataclasses
import os

from keras_creps.rendering.seed_batches import class_labels
from keras_creps.rendering.seed_batches import seed_latents
from keras_creps.utils.files import atomic_write
from keras_creps.utils.images import to_pil

__all__ = ["README_VIDEO_BYTES", "VIDEO_KINDS", "Video", "video_frame_views", "write_video"]

VIDEO_KINDS = ("zoom", "pan", "rotate")
README_VIDEO_BYTES = 1 << 20  # larger animations make a README slow to load


@dataclasses.dataclass(frozen=True)
class Video:
    """An animation of one image.

    Args:
        kind: str. `"zoom"` (16x, exponentially), `"pan"` (one image width to
            the right) or `"rotate"` (a full turn).
        size: `(height, width)` of the frames.
        frames: int. Number of frames (25 a second). Defaults to `48`.
        format: `"webp"` or `"gif"`. Defaults to `"webp"`.
        quality: int. WebP quality, 0-100. Defaults to `80`.

    Example:
    ```python
    video = Video("rotate", (192, 192), frames=48)
    video.memory_bytes(channels=3)   # the frames held before encoding
    ```
    """

    kind: str
    size: tuple
    frames: int = 48
    format: str = "webp"
    quality: int = 80

    def memory_bytes(self, channels):
        """Bytes of the frames held before encoding (Pillow keeps 4 bytes a pixel unless grey)."""
        return self.frames * self.size[0] * self.size[1] * (1 if channels == 1 else 4)


def video_frame_views(view, video):
    """The `View` of each frame of `video`, starting from `view`.

    Example:
    ```python
    views = video_frame_views(View(), Video("zoom", (64, 64), frames=3))   # zoom 1, 4, 16
    ```
    """
    views = []
    for k in range(video.frames):
        t = k / max(video.frames - 1, 1)
        if video.kind == "zoom":
            views.append(dataclasses.replace(view, zoom=view.zoom * 16.0**t))  # exponential: constant apparent speed
        elif video.kind == "pan":
            views.append(dataclasses.replace(view, center=(view.center[0], view.center[1] + t)))
        else:  # the last frame leads back to the first
            views.append(dataclasses.replace(view, rotate=view.rotate + 360.0 * k / video.frames))
    return views


def write_video(renderer, seed, class_index, view, video, path, log=print):
    """Renders and writes an animation of one image (complete under `path`, or absent).

    Args:
        renderer: a `SeedBatchRenderer` (its generator and truncation).
        seed: int. The image's seed.
        class_index: int or None. Its class (None: unconditional).
        view: `View`. The first frame's view.
        video: `Video`.
        path: str. The file to write; its format is `video.format`.
        log: callable taking one line. Defaults to `print`.

    Returns:
        The file's size in bytes.

    Example:
    ```python
    renderer = SeedBatchRenderer(generator)
    write_video(renderer, 3, None, View(), Video("rotate", (128, 128)), "out/seed0003-rotate.webp")
    ```
    """
    z = seed_latents([seed], renderer.generator.z_dim)
    c = class_labels(class_index, renderer.generator.c_dim, 1)
    frames = []
    for frame in video_frame_views(view, video):
        rows, cols = frame.axes(*video.size)
        frames.append(to_pil(renderer.render(z, c, rows, cols, rotate=frame.rotate, center=frame.center)[0]))
    options = dict(format=video.format.upper(), save_all=True, append_images=frames[1:], duration=40, loop=0)
    if video.format == "webp":
        options.update(quality=video.quality, method=6)
    with atomic_write(path) as tmp:
        frames[0].save(tmp, **options)
    size = os.path.getsize(path)
    hint = f" (over {README_VIDEO_BYTES >> 20} MB: lower --video_size, --frames or --video_quality for a README)" \
        if size > README_VIDEO_BYTES else ""
    log(f"wrote {video.frames} frames of {video.size[0]}x{video.size[1]} to {path}: {size / 1024:.0f} KiB{hint}")
    return size

"""Rendering many seeds at several sizes into files, within a memory budget.

Sizes up to `Outputs.max_untiled_pixels` are rendered a budgeted batch of
seeds at a time (`SeedBatchRenderer`), each image written as it comes, with
an optional grid per size; larger sizes are rendered tile by tile straight
into their files (`render_large_image`, `.png` or `.npy`). Every file
appears complete under its name, or not at all.
"""

import dataclasses
import math
import os

import numpy as np

from keras_creps.rendering.large_image import PNG_MAX_PIXELS
from keras_creps.rendering.large_image import render_large_image
from keras_creps.rendering.seed_batches import SeedBatchRenderer
from keras_creps.rendering.seed_batches import class_labels
from keras_creps.rendering.seed_batches import seed_latents
from keras_creps.rendering.video import write_video
from keras_creps.utils.images import image_grid
from keras_creps.utils.images import save_png

__all__ = ["Outputs", "image_name", "png_memory", "render", "tiled_disk_bytes", "tiled_extension"]


@dataclasses.dataclass(frozen=True)
class Outputs:
    """What is written where.

    Files are `<outdir>/<label>-seed<seed>-<size>.png` (with `images`) and
    a grid per size (with `grid`).

    Args:
        outdir: str. The directory (it must exist).
        label: str. The start of every file name, e.g. the network's name.
        images: bool. One file per image. Defaults to `True`.
        grid: bool. A grid of all images per size. Defaults to `True`.
        memory_bytes: int. Bytes of images held at once (a batch, a grid,
            video frames). Defaults to 1 GiB.
        max_untiled_pixels: int. Larger sizes are rendered tile by tile
            into files. Defaults to `1 << 24`.
        tile: int. Tile width of those renders. Defaults to `1024`.

    Example:
    ```python
    outputs = Outputs("out", "creps_emoji_64", memory_bytes=256 << 20)
    outputs.is_tiled(8192, 8192)   # True
    ```
    """

    outdir: str
    label: str
    images: bool = True
    grid: bool = True
    memory_bytes: int = 1 << 30
    max_untiled_pixels: int = 1 << 24
    tile: int = 1024

    def is_tiled(self, height, width):
        """Whether a `height x width` image is rendered tile by tile into its file."""
        return height * width > self.max_untiled_pixels


def png_memory(pixels, channels):
    """Bytes `save_png` may hold for one image of `pixels` pixels.

    Pillow's copy (4 bytes a pixel unless grey) and the encoded bytes twice
    (buffer and value); incompressible noise encodes as large as the raw
    image.

    Example:
    ```python
    png_memory(1024 * 1024, 3)   # 10 MiB
    ```
    """
    return pixels * ((1 if channels == 1 else 4) + 2 * channels)


def tiled_extension(height, width, channels, outputs):
    """`".png"` when encoding a tiled image fits `outputs.memory_bytes` (and Pillow's limit), else `".npy"`."""
    fits = height * width <= PNG_MAX_PIXELS and png_memory(height * width, channels) <= outputs.memory_bytes
    return ".png" if fits else ".npy"


def tiled_disk_bytes(sizes, images, channels, outputs):
    """Disk the tiled renders need: every raw image, plus one raw temporary for the PNG encoder.

    Args:
        sizes: list of `(height, width)`; untiled ones need nothing here.
        images: int. Images per size.
        channels: int. Image channels.
        outputs: `Outputs`.

    Returns:
        int bytes.

    Example:
    ```python
    check_free_space("out", tiled_disk_bytes([(16384, 16384)], 2, 3, outputs))
    ```
    """
    total = 0
    for height, width in sizes:
        if outputs.is_tiled(height, width):
            raw = height * width * channels + 4096
            total += images * raw + (raw if tiled_extension(height, width, channels, outputs) == ".png" else 0)
    return total


def image_name(label, class_index, seed, size_name):
    """`<label>[-class<k>]-seed<seed>-<size>`: the class only in a class grid (`class_index` not None).

    Example:
    ```python
    image_name("tiny", None, 3, "64x64")   # "tiny-seed0003-64x64"
    image_name("tiny", 2, 3, "zoom")       # "tiny-class2-seed0003-zoom"
    ```
    """
    kind = "" if class_index is None else f"-class{class_index}"
    return f"{label}{kind}-seed{seed:04d}-{size_name}"


def render(generator, seeds, classes, sizes, view, outputs, truncation_psi=1.0, class_grid=False, video=None,
           log=print, precision="float32", jit_compile="auto"):
    """Renders every (class, seed) at every size into `outputs.outdir`, then the video if any.

    Args:
        generator: a `CREPSGenerator`.
        seeds: list of ints.
        classes: None (unconditional) or a list of class indices, one row each.
        sizes: list of `(height, width)`.
        view: `View`.
        outputs: `Outputs`.
        truncation_psi: float. Defaults to `1.0`.
        class_grid: bool. Rows of classes over the same seeds (file names
            carry the class). Defaults to `False`.
        video: `Video` of the first seed and class, or None.
        log: callable taking one progress line. Defaults to `print`.
        precision: `"float32"` or `"bfloat16"` (see
            `CREPSGenerator.make_generate_function`). Defaults to `"float32"`.
        jit_compile: `"auto"`, True or False (see `SeedBatchRenderer`).
            Defaults to `"auto"`.

    Example:
    ```python
    render(generator, [0, 1, 2], None, [(64, 64), (256, 512)], View(), Outputs("out", "g"))
    ```
    """
    # A quarter of the budget for a batch; the grid and one PNG being encoded share the rest.
    renderer = SeedBatchRenderer(generator, truncation_psi, budget_bytes=max(1, outputs.memory_bytes // 4),
                                 precision=precision, jit_compile=jit_compile)
    for height, width in sizes:
        if outputs.is_tiled(height, width):
            _render_tiled(renderer, seeds, classes, (height, width), view, outputs, class_grid, log)
        else:
            _render_untiled(renderer, seeds, classes, (height, width), view, outputs, class_grid, log)
    if video is not None:
        klass = None if classes is None else classes[0]
        stem = image_name(outputs.label, klass if class_grid else None, seeds[0], video.kind)
        write_video(renderer, seeds[0], klass, view, video, os.path.join(outputs.outdir, f"{stem}.{video.format}"),
                    log=log)


def _grid_buffer(count, columns, size, channels, outputs, log):
    """The uint8 array collecting a size's images for its grid, or None (no grid, or over the budget)."""
    (height, width), name = size, f"{size[0]}x{size[1]}"
    grid_pixels = math.ceil(count / columns) * columns * height * width
    grid_memory = grid_pixels * channels + png_memory(grid_pixels, channels)
    if outputs.grid and grid_pixels <= PNG_MAX_PIXELS and grid_memory <= outputs.memory_bytes:
        return np.empty((count, height, width, channels), np.uint8)
    if outputs.grid:
        log(f"the {name} grid would need {grid_memory >> 20} MiB (over --image_memory_mb) or more than "
            f"{PNG_MAX_PIXELS} pixels: not written")
    return None


def _render_untiled(renderer, seeds, classes, size, view, outputs, class_grid, log):
    """One size, a budgeted batch of seeds at a time: image files as they come, then the grid."""
    (height, width), name = size, f"{size[0]}x{size[1]}"
    class_rows = [None] if classes is None else classes
    count = len(seeds) * len(class_rows)
    columns = len(seeds) if class_grid else math.ceil(math.sqrt(count))
    collected = _grid_buffer(count, columns, size, renderer.generator.img_channels, outputs, log)
    if collected is None and not outputs.images:
        return
    rows, cols = view.axes(height, width)
    batches = 0
    for r, klass in enumerate(class_rows):
        for start, images in renderer.batches(seeds, rows, cols, klass, rotate=view.rotate, center=view.center):
            batches += 1
            for i, image in enumerate(images, start):
                if outputs.images:
                    stem = image_name(outputs.label, klass if class_grid else None, seeds[i], name)
                    save_png(os.path.join(outputs.outdir, stem + ".png"), image)
                if collected is not None:
                    collected[r * len(seeds) + i] = image
    if collected is not None:
        grid = image_grid(collected, columns)
        del collected  # before encoding: the grid and Pillow's copy of it are the peak
        path = os.path.join(outputs.outdir, f"{outputs.label}-{'classes' if class_grid else 'grid'}-{name}.png")
        save_png(path, grid)
        log(f"wrote {path} ({grid.shape[0] // height} x {columns} images)")
    where = f" into {outputs.outdir}" if outputs.images else ""
    log(f"rendered {count} images of {name}{where} ({batches} batch{'es' if batches > 1 else ''})")


def _render_tiled(renderer, seeds, classes, size, view, outputs, class_grid, log):
    """One size, each image tile by tile into a file under a temporary name, renamed when complete."""
    generator = renderer.generator
    (height, width), name = size, f"{size[0]}x{size[1]}"
    ext = tiled_extension(height, width, generator.img_channels, outputs)
    log(f"{name} is over {outputs.max_untiled_pixels} pixels: rendering tile by tile into {ext} files (no grid)")
    rows, cols = view.axes(height, width)
    for klass in [None] if classes is None else classes:
        for seed in seeds:
            path = os.path.join(outputs.outdir, image_name(outputs.label, klass if class_grid else None, seed, name))
            # render_large_image writes under a temporary name and renames when complete.
            render_large_image(generator, seed_latents([seed], generator.z_dim), path + ext, height, width,
                               c=class_labels(klass, generator.c_dim, 1), rows=rows, cols=cols,
                               truncation_psi=renderer.truncation_psi, tile=outputs.tile,
                               precision=renderer.precision, jit_compile=renderer.jit_compile)
            log(f"wrote {path + ext}")

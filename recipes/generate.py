r"""Render images from a CREPS generator at any size.

Renders one PNG per seed and per size, plus a grid per size. `--network`
takes a named preset (installed, or in a clone's `saved_models/`), a preset
directory, a `.keras` file, a training run directory (its newest EMA
snapshot `network-snapshot-<kimg>`), or a directory holding exactly one
preset or `.keras` file. Without `--network`, it uses the newest named preset
or `.keras` generator; only if there is none it builds a randomly initialised
generator and says so (its images are noise, and their file names say
`random-init`).

Examples:
    python recipes/generate.py --outdir out                         # seeds 0-3, native and 2x
    python recipes/generate.py --network creps_emoji_64 --classes all --seeds 0-7 --scales 1,4,16 --outdir out
    python recipes/generate.py --network runs/00003-creps-demo-noto-emoji-64-64-batch16-gamma0.05 --class 2 --outdir out
    python recipes/generate.py --network g.keras --seeds 0,3,5-9 --trunc 0.7 --outdir out
    python recipes/generate.py --network g.keras --height 256 --width 640 --outdir out     # stretched view
    python recipes/generate.py --network g.keras --height 64 --width 512 --panorama --outdir out  # wider view
    python recipes/generate.py --network g.keras --rotate 30 --zoom 2 --translate 10,-5 --outdir out
    python recipes/generate.py --network g.keras --seeds 3 --video rotate --video_size 192 --outdir out
    python recipes/generate.py --network g.keras --seeds 3 --height 16384 --outdir out   # tiled, into files
"""

import os
import sys

from _startup import quiet_startup
from absl import app
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "network", None,
    "A preset name, a preset directory, a .keras file, a training run directory (its newest EMA snapshot), or a "
    "directory holding one preset or .keras file. Default: the newest named preset or .keras file, else a random init.")
flags.DEFINE_string("saved_models", None,
                    "Look up names and the default network only in this directory. Default: the installed presets, "
                    "then saved_models/ of this clone.")
flags.DEFINE_string("seeds", "0-3", "Seeds, e.g. '0,3,5-9'.")
flags.DEFINE_float("trunc", 1.0, "Truncation psi.")
flags.DEFINE_integer("class_idx", None, "Class label for conditional generators.", short_name="class")
flags.DEFINE_string("classes", None,
                    "A class grid: one row per class, the same seeds across the columns. 'all' or labels, e.g. '0,3,5'.")
flags.DEFINE_list("scales", ["1", "2"], "Render at these multiples of the native resolution (official --scale).")
flags.DEFINE_integer("size", None, "Square output size (same as --height N --width N).")
flags.DEFINE_float("scale", None, "Render at this multiple of the native resolution (official --scale).")
flags.DEFINE_integer("tile", 1024, "Tile width for images rendered tile by tile.")
flags.DEFINE_integer("height", None, "Output rows (overrides --scales; needs --width or uses it for both).")
flags.DEFINE_integer("width", None, "Output columns.")
flags.DEFINE_boolean("panorama", False,
                     "Keep the pixel pitch of the shorter side on the longer one: a wide (or tall) size shows more of "
                     "the continuous image beyond the trained [0, 1] square instead of stretching it.")
flags.DEFINE_string("outdir", "out", "Where to write the image files.")
flags.DEFINE_boolean("grid", True, "Also write a grid of all images per size.")
flags.DEFINE_boolean("images", True, "Write one file per image (--noimages: grids and videos only).")
flags.DEFINE_integer("random_init_resolution", 64, "Resolution of the random-init fallback generator.")
flags.DEFINE_list("translate", ["0", "0"], "Shift the view by x,y native pixels (columns, rows).")
flags.DEFINE_float("rotate", 0.0, "Rotate the content by this many degrees (counter-clockwise) about the view centre.")
flags.DEFINE_float("zoom", 1.0, "Zoom into the view centre by this factor.")
flags.DEFINE_enum("align", "corners", ["corners", "centers"], "Pixel alignment (corners = official).")
flags.DEFINE_enum("video", None, ["zoom", "pan", "rotate"], "Also write an animation of the first seed (and class).")
flags.DEFINE_integer("frames", 48, "Frames of the --video animation.")
flags.DEFINE_integer("video_size", None, "Square size of the --video frames. Default: the first output size.")
flags.DEFINE_enum("video_format", "webp", ["webp", "gif"], "Animation file format (WebP: small enough for a README).")
flags.DEFINE_integer("video_quality", 80, "WebP quality of the --video frames (0-100).")
flags.DEFINE_integer("max_untiled_pixels", 1 << 24, "Larger images are rendered tile by tile into files.")

ABSURD_PIXELS = 1 << 34  # 17 Gpx: more than any disk here holds as PNG
POINT_CHUNK = 1 << 14  # sample points per compiled call of a rotated view
RENDER_PIXELS = 1 << 23  # pixels per render call: 100 MB of float32 RGB, whatever the grid size
README_VIDEO_BYTES = 1 << 20


def fail(message):
    print(f"generate.py: {message}", file=sys.stderr)
    sys.exit(2)


def parse_seeds(text):
    """'0,3,5-9' -> [0, 3, 5, 6, 7, 8, 9]."""
    seeds = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ValueError(
                f"bad --seeds {text!r}: {part!r} is not a seed or an a-b range of non-negative integers"
            ) from None
    if not seeds or min(seeds) < 0 or max(seeds) >= 2**32:
        raise ValueError(f"bad --seeds {text!r}: seeds must be integers in [0, 2**32)")
    return seeds


def parse_classes(text, c_dim):
    """'all' -> [0, ..., c_dim - 1]; '0,3,5' -> [0, 3, 5], each in [0, c_dim)."""
    if text.strip() == "all":
        return list(range(c_dim))
    try:
        classes = [int(part) for part in text.split(",")]
    except ValueError:
        fail(f"bad --classes {text!r}: expected 'all' or labels such as 0,3,5")
    bad = [k for k in classes if not 0 <= k < c_dim]
    if bad:
        fail(f"bad --classes {text!r}: label {bad[0]} is not in [0, {c_dim})")
    return classes


def requested_sizes():
    """Validated `[(height, width)]` or `[scale]` from the flags, before any model is loaded."""
    if FLAGS.size is not None:
        if FLAGS.height is not None or FLAGS.width is not None:
            fail("give either --size or --height/--width, not both")
        FLAGS.height = FLAGS.width = FLAGS.size
    if FLAGS.scale is not None:
        FLAGS.scales = [repr(FLAGS.scale)]
    if FLAGS.tile < 1:
        fail(f"bad --tile {FLAGS.tile}: must be a positive number of pixels")
    if FLAGS.height is not None or FLAGS.width is not None:
        height = FLAGS.height if FLAGS.height is not None else FLAGS.width
        width = FLAGS.width if FLAGS.width is not None else height
        check_size(height, width)
        return [(height, width)]
    scales = []
    for text in FLAGS.scales:
        try:
            scale = float(text)
        except ValueError:
            fail(f"bad --scales value {text!r}: not a number")
        if not scale > 0 or scale > 1024:
            fail(f"bad --scales value {text!r}: must be positive and at most 1024")
        scales.append(scale)
    return scales


def check_size(height, width):
    if height < 1 or width < 1:
        fail(f"bad output size {height}x{width}: both sides must be at least 1 pixel")
    if height * width > ABSURD_PIXELS:
        fail(f"output size {height}x{width} is absurd: over {ABSURD_PIXELS} pixels")


def check_view_flags():
    if FLAGS.zoom <= 0:
        fail(f"bad --zoom {FLAGS.zoom}: must be positive")
    if FLAGS.frames < 1 or FLAGS.frames > 10000:
        fail(f"bad --frames {FLAGS.frames}: must be in [1, 10000]")
    if FLAGS.video_size is not None and not 1 <= FLAGS.video_size <= 4096:
        fail(f"bad --video_size {FLAGS.video_size}: must be in [1, 4096]")
    if not 0 <= FLAGS.video_quality <= 100:
        fail(f"bad --video_quality {FLAGS.video_quality}: must be in [0, 100]")
    if FLAGS.classes is not None and FLAGS.class_idx is not None:
        fail("give either --class (one class) or --classes (a class grid), not both")
    return parse_translate()


def output_sizes(requested, resolution):
    sizes = []
    for item in requested:
        if isinstance(item, tuple):
            sizes.append(item)
        else:
            n = int(resolution * item)
            check_size(n, n)
            sizes.append((n, n))
    return sizes


def parse_translate():
    if len(FLAGS.translate) != 2:
        fail(f"bad --translate {','.join(FLAGS.translate)!r}: expected x,y")
    try:
        return float(FLAGS.translate[0]), float(FLAGS.translate[1])
    except ValueError:
        fail(f"bad --translate {','.join(FLAGS.translate)!r}: expected two numbers x,y")


# --------------------------------------------------------------------------- the network


def lookup_dirs():
    from keras_creps.models import preset_paths

    return [FLAGS.saved_models] if FLAGS.saved_models else [str(d) for d in preset_paths.search_dirs()]


def newest_saved_model(directories):
    """The newest preset or `.keras` file directly in any of `directories`, or None."""
    from keras_creps.models import presets

    candidates = []
    for directory in directories:
        if not os.path.isdir(directory):
            continue
        candidates += [os.path.join(directory, n, presets.WEIGHTS_FILE) for n in presets.list_presets(directory)]
        candidates += [os.path.join(directory, n) for n in os.listdir(directory)
                       if n.endswith(".keras") and not n.startswith(".") and os.path.isfile(os.path.join(directory, n))]
    if not candidates:
        return None
    newest = max(candidates, key=os.path.getmtime)
    return os.path.dirname(newest) if newest.endswith(presets.WEIGHTS_FILE) else newest


def network_path():
    """The preset directory or `.keras` file to load, or None (random init)."""
    from keras_creps.models import presets

    if FLAGS.network is None:
        directories = lookup_dirs()
        path = newest_saved_model(directories)
        if path is not None:
            print(f"generate.py: using {path} (the newest in {', '.join(directories)})")
        return path
    path = FLAGS.network
    if not os.path.exists(path) and FLAGS.saved_models:
        path = os.path.join(FLAGS.saved_models, path)  # names only here
    try:
        resolved = presets.model_path(path)
    except FileNotFoundError:
        where = ", ".join(lookup_dirs()) or "no presets directory"
        fail(f"--network {FLAGS.network!r}: no such file, directory or preset (looked in {where})")
    except ValueError as e:
        fail(f"--network {FLAGS.network!r}: {e}")
    if os.path.basename(resolved).startswith("network-snapshot-") and os.path.isdir(path) \
            and os.path.abspath(path) != os.path.abspath(resolved):
        print(f"generate.py: using {resolved} (the newest EMA snapshot of run {path})")
    return str(resolved)


def load_generator():
    """`(generator, file label, path or None)`."""
    import keras

    import keras_creps
    from keras_creps.models import presets

    path = network_path()
    if path is None:
        print(f"generate.py: no trained model in {', '.join(lookup_dirs()) or 'any presets directory'} and no "
              f"--network: using a RANDOMLY INITIALISED generator at {FLAGS.random_init_resolution}px; its images "
              "are noise.")
        keras.utils.set_random_seed(0)
        generator = keras_creps.CREPSGenerator(
            resolution=FLAGS.random_init_resolution, z_dim=128, w_dim=128, channel_base=8192, channel_max=256)
        return generator, "random-init", None
    try:
        generator = presets.load_generator(path)
    except Exception as e:  # noqa: BLE001 - report any unreadable model in one line
        fail(f"--network {FLAGS.network or path!r} could not be loaded: {type(e).__name__}: {e}")
    return generator, os.path.basename(os.path.normpath(path)).removesuffix(".keras"), path


def class_names_of(path, c_dim):
    """Class names from the preset's metadata, or from the training run beside a snapshot; None if unknown."""
    import json

    if path is None or not c_dim:
        return None
    sources = [(os.path.join(path, "metadata.json"), ("class_names",)),
               (os.path.join(os.path.dirname(os.path.abspath(path)), "training_options.json"),
                ("resolved", "dataset", "class_names"))]
    for file, keys in sources:
        try:
            with open(file, encoding="utf-8") as f:
                value = json.load(f)
            for key in keys:
                value = value[key]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(value, list) and len(value) == c_dim:
            return [str(v) for v in value]
    return None


def image_rows(generator, seeds, classes):
    """`[(class or None, z [N, z_dim], c [N, c_dim] or None)]`: one row per class, or one row of all seeds."""
    import numpy as np

    z = np.stack([np.random.RandomState(s).randn(generator.z_dim) for s in seeds]).astype("float32")
    if classes is None:
        return [(None, z, None)]
    rows = []
    for k in classes:
        c = np.zeros((len(seeds), generator.c_dim), "float32")
        c[:, k] = 1
        rows.append((k, z, c))
    return rows


def chosen_classes(generator):
    """None (unconditional), `[k]` for --class, or the --classes list."""
    if not generator.c_dim:
        if FLAGS.class_idx is not None or FLAGS.classes is not None:
            fail("--class/--classes given, but the generator is unconditional")
        return None
    if FLAGS.classes is not None:
        return parse_classes(FLAGS.classes, generator.c_dim)
    if FLAGS.class_idx is None:
        fail(f"the generator is conditional with {generator.c_dim} classes: pass --class k or --classes all")
    if not 0 <= FLAGS.class_idx < generator.c_dim:
        fail(f"bad --class {FLAGS.class_idx}: must be in [0, {generator.c_dim})")
    return [FLAGS.class_idx]


# --------------------------------------------------------------------------- rendering


def view_center(resolution, shift):
    """View centre after shifting by `(x, y)` native pixels."""
    pixel = 1.0 / max(resolution - 1, 1)
    return 0.5 + shift[1] * pixel, 0.5 + shift[0] * pixel


def view_axes(height, width, center, zoom):
    """Row and column coordinates of the view: stretched over the window, or extended with --panorama."""
    from keras_creps.rendering import view_coords

    if not FLAGS.panorama:
        return view_coords(height, width, center=center, zoom=zoom, align=FLAGS.align, keep_aspect=False)
    if width >= height:  # the rows span the trained window; the columns keep their pitch and reach further
        return view_coords(height, width, center=center, zoom=zoom, align=FLAGS.align, keep_aspect=True)
    cols, rows = view_coords(width, height, center=center[::-1], zoom=zoom, align=FLAGS.align, keep_aspect=True)
    return rows, cols


class Renderer:
    """Renders views of given latents and labels, whole or tile by tile."""

    def __init__(self, generator):
        self.generator = generator
        self.generate = generator.make_generate_function(truncation_psi=FLAGS.trunc)
        # Rotated views sample free points; compiled like `generate` (one program per chunk size), so a
        # rotation video costs about what a straight one does instead of an eager pass per frame.
        self.points = generator._compile(generator.synthesis_points, True)

    def frame(self, z, c, height, width, center, zoom, rotate):
        """uint8 images `[N, H, W, C]`, rendered a bounded number of pixels at a time."""
        import numpy as np

        from keras_creps.utils.images import to_uint8

        per_call = max(1, RENDER_PIXELS // (height * width))
        parts = []
        for start in range(0, len(z), per_call):
            zs = z[start : start + per_call]
            cs = None if c is None else c[start : start + per_call]
            parts.append(to_uint8(self._render(zs, cs, height, width, center, zoom, rotate)))
        return np.concatenate(parts)

    def _render(self, z, c, height, width, center, zoom, rotate):
        import keras
        import numpy as np

        from keras_creps.rendering import affine_matrix
        from keras_creps.rendering import affine_points

        rows, cols = view_axes(height, width, center, zoom)
        if not rotate:
            return self.generate(z, c, rows, cols)
        ws = self.generator.mapping(z, c, truncation_psi=FLAGS.trunc)
        point_rows, point_cols = affine_points(rows, cols, affine_matrix(rotate=rotate), center=center)
        chunk = min(POINT_CHUNK, len(point_rows))
        parts = []
        for start in range(0, len(point_rows), chunk):
            r, q = point_rows[start : start + chunk], point_cols[start : start + chunk]
            valid = len(r)
            if valid < chunk:  # pad the last chunk: every call has one shape, so it compiles once
                r, q = np.pad(r, (0, chunk - valid), mode="edge"), np.pad(q, (0, chunk - valid), mode="edge")
            parts.append(keras.ops.convert_to_numpy(self.points(ws, r, q))[:, :valid])
        images = np.concatenate(parts, axis=1)
        return images.reshape(len(z), height, width, images.shape[-1])

    def tiled(self, z, c, height, width, view, stem):
        """One image (`z [1, z_dim]`) rendered tile by tile into `stem.png` (or `.npy` when huge)."""
        from keras_creps.rendering import render_large_image
        from keras_creps.rendering.large_image import PNG_MAX_PIXELS

        rows, cols = view_axes(height, width, view["center"], view["zoom"])
        path = stem + (".png" if height * width <= PNG_MAX_PIXELS else ".npy")
        return render_large_image(self.generator, z, path, height, width, c=c, rows=rows, cols=cols,
                                  truncation_psi=FLAGS.trunc, tile=FLAGS.tile)


def image_name(label, klass, seed, size_name):
    """`<label>[-class<k>]-seed<seed>-<size>`: the class only in a class grid (`klass` not None)."""
    kind = "" if klass is None else f"-class{klass}"
    return f"{label}{kind}-seed{seed:04d}-{size_name}"


def render_size(renderer, rows, seeds, label, height, width, view, class_grid):
    """Renders every row at one size: image files, and the grid (one row per class in a class grid)."""
    import numpy as np

    from keras_creps.rendering.large_image import PNG_MAX_PIXELS
    from keras_creps.utils.images import to_pil

    name = f"{height}x{width}"
    if height * width > FLAGS.max_untiled_pixels:
        if FLAGS.rotate:
            fail(f"--rotate is not supported for tiled sizes; {name} is over --max_untiled_pixels")
        print(f"{name} is over {FLAGS.max_untiled_pixels} pixels: rendering tile by tile into files (no grid)")
        for klass, z, c in rows:
            for i, seed in enumerate(seeds):
                stem = os.path.join(FLAGS.outdir, image_name(label, klass if class_grid else None, seed, name))
                cs = None if c is None else c[i : i + 1]
                print(f"wrote {renderer.tiled(z[i : i + 1], cs, height, width, view, stem)}")
        return
    n = len(seeds) * len(rows)
    columns = len(seeds) if class_grid else int(np.ceil(np.sqrt(n)))
    grid_rows = len(rows) if class_grid else int(np.ceil(n / columns))
    channels = renderer.generator.img_channels
    want_grid = FLAGS.grid and grid_rows * height * columns * width <= PNG_MAX_PIXELS
    grid = np.full((grid_rows * height, columns * width, channels), 255, np.uint8) if want_grid else None
    for r, (klass, z, c) in enumerate(rows):  # one class at a time bounds the memory of huge grids
        images = renderer.frame(z, c, height, width, **view)
        for i, (seed, img) in enumerate(zip(seeds, images)):
            if FLAGS.images:
                stem = image_name(label, klass if class_grid else None, seed, name)
                to_pil(img).save(os.path.join(FLAGS.outdir, stem + ".png"))
            if grid is not None:
                gr, gc = (r, i) if class_grid else divmod(r * len(seeds) + i, columns)
                grid[gr * height : (gr + 1) * height, gc * width : (gc + 1) * width] = img
    if grid is not None:
        path = os.path.join(FLAGS.outdir, f"{label}-{'classes' if class_grid else 'grid'}-{name}.png")
        to_pil(grid).save(path)
        print(f"wrote {path} ({grid_rows} x {columns} images)")
    elif FLAGS.grid:
        print(f"the {name} grid would be over {PNG_MAX_PIXELS} pixels: not written")
    print(f"rendered {n} images of {name}" + (f" into {FLAGS.outdir}" if FLAGS.images else ""))


def write_video(renderer, z, c, height, width, center, path):
    """An animation of one image: a continuous zoom, a pan or a full rotation."""
    from keras_creps.utils.images import to_pil

    frames = []
    for k in range(FLAGS.frames):
        t = k / max(FLAGS.frames - 1, 1)
        view = dict(center=center, zoom=FLAGS.zoom, rotate=FLAGS.rotate)
        if FLAGS.video == "zoom":
            view["zoom"] = FLAGS.zoom * 16.0**t  # exponential: constant apparent speed
        elif FLAGS.video == "pan":
            view["center"] = (center[0], center[1] + t)
        else:
            view["rotate"] = FLAGS.rotate + 360.0 * k / FLAGS.frames  # the last frame leads back to the first
        frames.append(to_pil(renderer.frame(z, c, height, width, **view)[0]))
    options = dict(save_all=True, append_images=frames[1:], duration=40, loop=0)
    if FLAGS.video_format == "webp":
        options.update(quality=FLAGS.video_quality, method=6)
    frames[0].save(path, **options)
    size = os.path.getsize(path)
    hint = f" (over {README_VIDEO_BYTES >> 20} MB: lower --video_size, --frames or --video_quality for a README)" \
        if size > README_VIDEO_BYTES else ""
    print(f"wrote {FLAGS.frames} frames of {height}x{width} to {path}: {size / 1024:.0f} KiB{hint}")


def print_rows(rows, class_names, label, sizes):
    """The class of each grid row, named when the generator's metadata or run knows the names."""
    if FLAGS.classes is None:
        if rows[0][0] is not None and class_names:
            print(f"{label}: class {rows[0][0]} ({class_names[rows[0][0]]})")
        return
    print(f"{label}: {len(rows)} class row(s) x the same seeds, at {', '.join(f'{h}x{w}' for h, w in sizes)}")
    for r, (klass, _, _) in enumerate(rows):
        name = f" ({class_names[klass]})" if class_names else ""
        print(f"  row {r}: class {klass}{name}")


def main(argv):
    del argv
    quiet_startup()  # first: before anything imports Keras or TensorFlow
    try:
        seeds = parse_seeds(FLAGS.seeds)
    except ValueError as e:
        fail(str(e))
    requested = requested_sizes()
    shift = check_view_flags()
    generator, label, path = load_generator()
    rows = image_rows(generator, seeds, chosen_classes(generator))
    sizes = output_sizes(requested, generator.resolution)
    print_rows(rows, class_names_of(path, generator.c_dim), label, sizes)
    os.makedirs(FLAGS.outdir, exist_ok=True)
    renderer = Renderer(generator)
    center = view_center(generator.resolution, shift)
    view = dict(center=center, zoom=FLAGS.zoom, rotate=FLAGS.rotate)
    class_grid = FLAGS.classes is not None
    for height, width in sizes:
        render_size(renderer, rows, seeds, label, height, width, view, class_grid)
    if FLAGS.video:
        height, width = (FLAGS.video_size, FLAGS.video_size) if FLAGS.video_size else sizes[0]
        klass, z, c = rows[0]
        stem = image_name(label, klass if class_grid else None, seeds[0], FLAGS.video)
        path = os.path.join(FLAGS.outdir, f"{stem}.{FLAGS.video_format}")
        write_video(renderer, z[:1], None if c is None else c[:1], height, width, center, path)


if __name__ == "__main__":
    app.run(main)

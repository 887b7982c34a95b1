r"""Render images from a CREPS generator at any size.

Renders one PNG per seed and per size, plus a grid per size. `--network`
takes a preset directory (`config.json`, `model.weights.h5`,
`metadata.json`), the name of a preset in `saved_models/`, a `.keras` file,
or a directory holding exactly one of them. Without `--network`, it uses the
newest preset or `.keras` generator in `saved_models/`; only if there is none
it builds a randomly initialised generator and says so (its images are
noise, and their file names say `random-init`).

Examples:
    python recipes/generate.py --outdir out                         # seeds 0-3, native and 2x
    python recipes/generate.py --network saved_models/my_preset --outdir out
    python recipes/generate.py --network my_preset --outdir out     # a preset in saved_models/
    python recipes/generate.py --network g.keras --seeds 0,3,5-9 --trunc 0.7 --outdir out
    python recipes/generate.py --network g.keras --height 256 --width 640 --outdir out
    python recipes/generate.py --network g.keras --rotate 30 --zoom 2 --translate 10,-5 --outdir out
    python recipes/generate.py --network g.keras --seeds 3 --video zoom --frames 96 --outdir out
    python recipes/generate.py --network g.keras --seeds 3 --height 16384 --outdir out   # tiled, into files
"""

import os
import sys

from absl import app
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "network", None,
    "A preset directory, a preset name in --saved_models, a .keras file, or a directory holding one of them. "
    "Default: the newest preset or .keras file in --saved_models, else a random init.")
flags.DEFINE_string("saved_models", None, "Where named and default generators are looked up. Default: saved_models/.")
flags.DEFINE_string("seeds", "0-3", "Seeds, e.g. '0,3,5-9'.")
flags.DEFINE_float("trunc", 1.0, "Truncation psi.")
flags.DEFINE_integer("class_idx", None, "Class label for conditional generators.", short_name="class")
flags.DEFINE_list("scales", ["1", "2"], "Render at these multiples of the native resolution (official --scale).")
flags.DEFINE_integer("size", None, "Square output size (same as --height N --width N).")
flags.DEFINE_float("scale", None, "Render at this multiple of the native resolution (official --scale).")
flags.DEFINE_integer("tile", 1024, "Tile width for images rendered tile by tile.")
flags.DEFINE_integer("height", None, "Output rows (overrides --scales; needs --width or uses it for both).")
flags.DEFINE_integer("width", None, "Output columns.")
flags.DEFINE_string("outdir", "out", "Where to write the PNG files.")
flags.DEFINE_boolean("grid", True, "Also write a grid of all seeds per size.")
flags.DEFINE_integer("random_init_resolution", 64, "Resolution of the random-init fallback generator.")
flags.DEFINE_list("translate", ["0", "0"], "Shift the view by x,y native pixels (columns, rows).")
flags.DEFINE_float("rotate", 0.0, "Rotate the content by this many degrees (counter-clockwise) about the view centre.")
flags.DEFINE_float("zoom", 1.0, "Zoom into the view centre by this factor.")
flags.DEFINE_enum("align", "corners", ["corners", "centers"], "Pixel alignment (corners = official).")
flags.DEFINE_enum("video", None, ["zoom", "pan", "rotate"], "Also write an animation of the first seed.")
flags.DEFINE_integer("frames", 48, "Frames of the --video animation.")
flags.DEFINE_enum("video_format", "gif", ["gif", "webp"], "Animation file format.")
flags.DEFINE_integer("max_untiled_pixels", 1 << 24, "Larger images are rendered tile by tile into files.")

ABSURD_PIXELS = 1 << 34  # 17 Gpx: more than any disk here holds as PNG


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


def newest_saved_model(directory):
    """The newest preset or `.keras` file directly in `directory`, or None."""
    from keras_creps.models import presets

    if not os.path.isdir(directory):
        return None
    candidates = [os.path.join(directory, name, presets.WEIGHTS_FILE) for name in presets.list_presets(directory)]
    candidates += [os.path.join(directory, name) for name in os.listdir(directory)
                   if name.endswith(".keras") and not name.startswith(".") and os.path.isfile(os.path.join(directory, name))]
    if not candidates:
        return None
    newest = max(candidates, key=os.path.getmtime)
    return os.path.dirname(newest) if newest.endswith(presets.WEIGHTS_FILE) else newest


def load_generator():
    import keras

    import keras_creps
    from keras_creps.models import presets

    saved_models = FLAGS.saved_models or str(presets.SAVED_MODELS_DIR)
    path = FLAGS.network
    if path is None:
        path = newest_saved_model(saved_models)
        if path is None:
            print(f"generate.py: no trained model in {saved_models} and no --network: using a RANDOMLY INITIALISED "
                  f"generator at {FLAGS.random_init_resolution}px; its images are noise.")
            keras.utils.set_random_seed(0)
            generator = keras_creps.CREPSGenerator(
                resolution=FLAGS.random_init_resolution, z_dim=128, w_dim=128, channel_base=8192, channel_max=256)
            return generator, "random-init"
        print(f"generate.py: using {path} (the newest in {saved_models})")
    elif not os.path.exists(path):
        named = os.path.join(saved_models, path)
        if os.sep in path or "/" in path or not os.path.exists(named):
            fail(f"--network {path!r}: no such file, directory or preset in {saved_models}")
        path = named
    try:
        generator = presets.load_generator(path)
    except Exception as e:  # noqa: BLE001 - report any unreadable model in one line
        fail(f"--network {path!r} could not be loaded: {type(e).__name__}: {e}")
    return generator, os.path.basename(os.path.normpath(path)).removesuffix(".keras")


def save_grid(images, path):
    import numpy as np

    from keras_creps.rendering.large_image import to_pil

    n, h, w, c = images.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * h, cols * w, c), 255, np.uint8)
    for i, img in enumerate(images):
        r, q = divmod(i, cols)
        grid[r * h : (r + 1) * h, q * w : (q + 1) * w] = img
    to_pil(grid).save(path)


def main(argv):
    del argv
    try:
        seeds = parse_seeds(FLAGS.seeds)
    except ValueError as e:
        fail(str(e))
    requested = requested_sizes()
    import numpy as np

    from keras_creps.rendering.large_image import to_pil
    from keras_creps.rendering.large_image import to_uint8

    generator, label = load_generator()
    c = None
    if generator.c_dim:
        if FLAGS.class_idx is None:
            fail(f"the generator is conditional with {generator.c_dim} classes: pass --class")
        if not 0 <= FLAGS.class_idx < generator.c_dim:
            fail(f"bad --class {FLAGS.class_idx}: must be in [0, {generator.c_dim})")
        c = np.zeros((len(seeds), generator.c_dim), "float32")
        c[:, FLAGS.class_idx] = 1
    elif FLAGS.class_idx is not None:
        fail(f"--class {FLAGS.class_idx} given, but the generator is unconditional")

    z = np.stack([np.random.RandomState(s).randn(generator.z_dim) for s in seeds]).astype("float32")
    shift = parse_translate()
    if FLAGS.zoom <= 0:
        fail(f"bad --zoom {FLAGS.zoom}: must be positive")
    if FLAGS.frames < 1 or FLAGS.frames > 10000:
        fail(f"bad --frames {FLAGS.frames}: must be in [1, 10000]")
    os.makedirs(FLAGS.outdir, exist_ok=True)
    renderer = Renderer(generator, z, c)
    for height, width in output_sizes(requested, generator.resolution):
        view = dict(center=view_center(generator.resolution, shift), zoom=FLAGS.zoom, rotate=FLAGS.rotate)
        name = f"{height}x{width}"
        if height * width > FLAGS.max_untiled_pixels:
            if FLAGS.rotate:
                fail(f"--rotate is not supported for tiled sizes; {name} is over --max_untiled_pixels")
            print(f"{name} is over {FLAGS.max_untiled_pixels} pixels: rendering tile by tile into files")
            for i, seed in enumerate(seeds):
                path = renderer.tiled(i, height, width, view, os.path.join(FLAGS.outdir, f"{label}-seed{seed:04d}-{name}"))
                print(f"wrote {path}")
            continue
        images = to_uint8(renderer.frame(height, width, **view))
        for seed, img in zip(seeds, images):
            to_pil(img).save(os.path.join(FLAGS.outdir, f"{label}-seed{seed:04d}-{name}.png"))
        if FLAGS.grid:
            save_grid(images, os.path.join(FLAGS.outdir, f"{label}-grid-{name}.png"))
        print(f"wrote {len(seeds)} images of {name} to {FLAGS.outdir}")
    if FLAGS.video:
        height, width = output_sizes(requested, generator.resolution)[0]
        path = os.path.join(FLAGS.outdir, f"{label}-seed{seeds[0]:04d}-{FLAGS.video}.{FLAGS.video_format}")
        write_video(renderer, height, width, view_center(generator.resolution, shift), path)
        print(f"wrote {FLAGS.frames} frames to {path}")


def parse_translate():
    if len(FLAGS.translate) != 2:
        fail(f"bad --translate {','.join(FLAGS.translate)!r}: expected x,y")
    try:
        return float(FLAGS.translate[0]), float(FLAGS.translate[1])
    except ValueError:
        fail(f"bad --translate {','.join(FLAGS.translate)!r}: expected two numbers x,y")


def view_center(resolution, shift):
    """View centre after shifting by `(x, y)` native pixels."""
    pixel = 1.0 / max(resolution - 1, 1)
    return 0.5 + shift[1] * pixel, 0.5 + shift[0] * pixel


class Renderer:
    """Renders views of the latents `z` (all seeds) or one seed, tiled or not."""

    def __init__(self, generator, z, c):
        self.generator, self.z, self.c = generator, z, c
        self.generate = generator.make_generate_function(truncation_psi=FLAGS.trunc)

    def frame(self, height, width, center, zoom, rotate, index=None):
        """Float images `[N, H, W, C]` (or of seed `index`)."""
        from keras_creps.rendering import affine_matrix
        from keras_creps.rendering import affine_points
        from keras_creps.rendering import render_points_grid
        from keras_creps.rendering import view_coords

        z = self.z if index is None else self.z[index : index + 1]
        c = self.c if (index is None or self.c is None) else self.c[index : index + 1]
        rows, cols = view_coords(height, width, center=center, zoom=zoom, align=FLAGS.align, keep_aspect=False)
        if not rotate:
            return self.generate(z, c, rows, cols)
        ws = self.generator.mapping(z, c, truncation_psi=FLAGS.trunc)
        points = affine_points(rows, cols, affine_matrix(rotate=rotate), center=center)
        return render_points_grid(self.generator, ws, *points, height, width)

    def tiled(self, index, height, width, view, stem):
        from keras_creps.rendering import render_large_image
        from keras_creps.rendering import view_coords
        from keras_creps.rendering.large_image import PNG_MAX_PIXELS

        rows, cols = view_coords(height, width, center=view["center"], zoom=view["zoom"], align=FLAGS.align,
                                 keep_aspect=False)
        path = stem + (".png" if height * width <= PNG_MAX_PIXELS else ".npy")
        c = None if self.c is None else self.c[index : index + 1]
        return render_large_image(self.generator, self.z[index : index + 1], path, height, width, c=c,
                                  rows=rows, cols=cols, truncation_psi=FLAGS.trunc, tile=FLAGS.tile)


def write_video(renderer, height, width, center, path):
    """An animation of the first seed: a continuous zoom, a pan or a rotation."""
    from keras_creps.rendering.large_image import to_pil
    from keras_creps.rendering.large_image import to_uint8

    frames = []
    for k in range(FLAGS.frames):
        t = k / max(FLAGS.frames - 1, 1)
        view = dict(center=center, zoom=FLAGS.zoom, rotate=FLAGS.rotate)
        if FLAGS.video == "zoom":
            view["zoom"] = FLAGS.zoom * 16.0**t  # exponential: constant apparent speed
        elif FLAGS.video == "pan":
            view["center"] = (center[0], center[1] + t)
        else:
            view["rotate"] = FLAGS.rotate + 360.0 * t
        img = to_uint8(renderer.frame(height, width, index=0, **view))[0]
        frames.append(to_pil(img))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=40, loop=0)


if __name__ == "__main__":
    app.run(main)

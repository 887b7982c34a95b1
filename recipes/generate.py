r"""Render images from a CREPS generator at any size.

Renders one PNG per seed and per size, plus a grid per size. `--network`
takes a named preset (installed, or in a clone's `saved_models/`), a preset
directory, a `.keras` file, a training run directory (its newest EMA
snapshot `network-snapshot-<kimg>`), or a directory holding exactly one
preset or `.keras` file. Without `--network`, it uses the newest named preset
or `.keras` generator; only if there is none it builds a randomly initialised
generator and says so (its images are noise, and their file names say
`random-init`).

Views: `--size`/`--height`/`--width` are output pixels, `--scales` multiples
of the native resolution, `--zoom` a magnification about the view centre,
`--center row,col` that centre in image units ((0.5,0.5) is the centre of the
training image). Seeds are rendered in batches that fit `--image_memory_mb`
and written as they come; files appear complete under their names, or not at
all.

Examples:
    python recipes/generate.py --outdir out                         # seeds 0-3, native and 2x
    python recipes/generate.py --network creps_emoji_64 --classes all --seeds 0-7 --scales 1,4,16 --outdir out
    python recipes/generate.py --network runs/00003-creps-demo-noto-emoji-64-64-batch16-gamma0.05 --class_index 2 --outdir out
    python recipes/generate.py --network g.keras --seeds 0,3,5-9 --trunc 0.7 --outdir out
    python recipes/generate.py --network g.keras --height 256 --width 640 --outdir out     # stretched view
    python recipes/generate.py --network g.keras --height 64 --width 512 --panorama --outdir out  # wider view
    python recipes/generate.py --network g.keras --rotate 30 --zoom 2 --center 0.45,0.6 --outdir out
    python recipes/generate.py --network g.keras --seeds 3 --video rotate --video_size 192 --outdir out
    python recipes/generate.py --network g.keras --seeds 3 --height 16384 --outdir out   # tiled, into files
    python recipes/generate.py --network creps_emoji_64 --seeds 0-99 --size 256 --precision bfloat16 --outdir out
"""

import math

from _command_line import CommandLine
from _startup import quiet_startup
from absl import flags

FLAGS = flags.FLAGS
CLI = CommandLine("generate.py")
fail = CLI.fail
flags.DEFINE_string(
    "network", None,
    "A preset name, a preset directory, a .keras file, a training run directory (its newest EMA snapshot), or a "
    "directory holding one preset or .keras file. Default: the newest named preset or .keras file, else a random init.")
flags.DEFINE_string("saved_models", None,
                    "Look up names and the default network only in this directory. Default: the installed presets, "
                    "then saved_models/ of this clone.")
flags.DEFINE_string("seeds", "0-3", "Seeds, e.g. '0,3,5-9' (each in [0, 2**32), at most 100000 images a run).")
flags.DEFINE_float("trunc", 1.0, "Truncation psi.")
flags.DEFINE_integer("class_index", None, "Class label for a conditional generator (one class).")
flags.DEFINE_integer("class_idx", None, "Deprecated spelling of --class_index.", short_name="class")
flags.DEFINE_string("classes", None,
                    "A class grid: one row per class, the same seeds across the columns. 'all' or labels, e.g. '0,3,5'.")
flags.DEFINE_list("scales", ["1", "2"], "Render at these multiples of the native resolution (official --scale).")
flags.DEFINE_integer("size", None, "Square output size in pixels (same as --height N --width N).")
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
flags.DEFINE_list("center", None, "View centre row,col in image units; 0.5,0.5 (the default) is the training view's.")
flags.DEFINE_list("translate", None, "Deprecated: shift the view by x,y native pixels (columns first); use --center.")
flags.DEFINE_float("rotate", 0.0, "Rotate the content by this many degrees (counter-clockwise) about the view centre.")
flags.DEFINE_float("zoom", 1.0, "Magnify the view about its centre by this factor.")
flags.DEFINE_enum("precision", "float32", ["float32", "bfloat16"],
                  "Precision of the generator's matrix products: bfloat16 rendered 2.0-3.4x faster than float32 on "
                  "a 2-core CPU with AMX and 1.3-1.8x with AVX512-BF16 alone (TensorFlow, JAX, PyTorch), at 49-58 dB "
                  "PSNR against float32; the output is float32.")
flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"],
                  "auto: XLA on TensorFlow and JAX, eager PyTorch. true: the same, and torch.compile on PyTorch "
                  "(about 30 s of compiling per output size on 2 cores, then at 256^2 1.4x faster in float32 and "
                  "2.8x in bfloat16: worth it for many seeds at one size). false: no XLA or jit (TensorFlow: a "
                  "plain graph, less memory, slower).")
flags.DEFINE_enum("align", "corners", ["corners", "centers"], "Pixel alignment (corners = official).")
flags.DEFINE_enum("video", None, ["zoom", "pan", "rotate"], "Also write an animation of the first seed (and class).")
flags.DEFINE_integer("frames", 48, "Frames of the --video animation.")
flags.DEFINE_integer("video_size", None, "Square size of the --video frames. Default: the first output size.")
flags.DEFINE_enum("video_format", "webp", ["webp", "gif"], "Animation file format (WebP: small enough for a README).")
flags.DEFINE_integer("video_quality", 80, "WebP quality of the --video frames (0-100).")
flags.DEFINE_integer("max_untiled_pixels", 1 << 24, "Larger images are rendered tile by tile into files.")
flags.DEFINE_integer("image_memory_mb", 1024,
                     "MiB for the images held at once (a batch of seeds, a grid, video frames): more seeds take more "
                     "batches; a grid that needs more is skipped, a video that needs more is refused.")

ABSURD_PIXELS = 1 << 34  # 17 Gpx: more than any disk here holds as PNG
MAX_IMAGES = 100_000  # images a run (seeds x classes); each is a file
MAX_ZOOM = 1e6  # zoom in [1 / MAX_ZOOM, MAX_ZOOM]: beyond, float32 coordinates stop telling pixels apart
MAX_OFFSET = 1e6  # |--center| in image units, |--translate| in native pixels
MAX_TRUNC = 100.0  # |--trunc|; larger values push w to infinity: black images


BFLOAT16_EMULATED = ("--precision bfloat16: this CPU has no bfloat16 instructions and there is no GPU, so the "
                     "products' rounded operands are multiplied in float32: no faster than float32")


def warn(message):
    CLI.say(f"warning: {message}")


# --------------------------------------------------------------------------- flags -> checked values


def parse_seeds(text):
    """'0,3,5-9' -> [0, 3, 5, 6, 7, 8, 9]: seeds in [0, 2**32), at most MAX_IMAGES, counted before expanding."""
    from keras_creps.rendering.seed_batches import parse_seeds as parse

    try:
        return parse(text, max_count=MAX_IMAGES)
    except ValueError as error:
        fail(f"bad --seeds {text!r}: {error}")


def checked_float(name, value, low, high):
    """The flag's value if finite and in `[low, high]`; else one line and exit 2."""
    from keras_creps.utils.arguments import finite_float

    try:
        value = finite_float(name, value)
    except ValueError:
        fail(f"bad {name} {value}: must be a finite number")
    if not low <= value <= high:
        fail(f"bad {name} {value}: must be in [{low:g}, {high:g}]")
    return value


def checked_pair(name, values, limit):
    """Two finite numbers of at most `limit` in magnitude from a list flag, e.g. `--center 0.4,0.6`."""
    from keras_creps.utils.arguments import finite_float

    text = ",".join(values)
    try:
        if len(values) != 2:
            raise ValueError
        pair = tuple(finite_float(name, float(v)) for v in values)
    except ValueError:
        fail(f"bad {name} {text!r}: expected two finite numbers a,b")
    if max(abs(v) for v in pair) > limit:
        fail(f"bad {name} {text!r}: each number must be in [-{limit:g}, {limit:g}]")
    return pair


def check_integer_flags():
    from keras_creps.utils.arguments import power_of_two

    checks = [("--tile", FLAGS.tile, 1, 1 << 24), ("--max_untiled_pixels", FLAGS.max_untiled_pixels, 1, ABSURD_PIXELS),
              ("--image_memory_mb", FLAGS.image_memory_mb, 1, 1 << 24), ("--frames", FLAGS.frames, 1, 10000),
              ("--video_quality", FLAGS.video_quality, 0, 100)]
    if FLAGS.video_size is not None:
        checks.append(("--video_size", FLAGS.video_size, 1, 4096))
    for name, value, low, high in checks:
        if not low <= value <= high:
            fail(f"bad {name} {value}: must be in [{low}, {high}]")
    try:
        power_of_two("--random_init_resolution", FLAGS.random_init_resolution)
    except ValueError:
        fail(f"bad --random_init_resolution {FLAGS.random_init_resolution}: must be a power of two >= 4")


def check_size(height, width):
    from keras_creps.rendering.coords import MAX_AXIS

    if height < 1 or width < 1:
        fail(f"bad output size {height}x{width}: both sides must be at least 1 pixel")
    if max(height, width) > MAX_AXIS or height * width > ABSURD_PIXELS:
        fail(f"output size {height}x{width} is absurd: over {MAX_AXIS} pixels a side or {ABSURD_PIXELS} in all")


def requested_sizes():
    """Checked `[(height, width)]` or `[scale]` from the flags, before any model is loaded."""
    if FLAGS.size is not None and (FLAGS.height is not None or FLAGS.width is not None):
        fail("give either --size or --height/--width, not both")
    height, width = (FLAGS.size, FLAGS.size) if FLAGS.size is not None else (FLAGS.height, FLAGS.width)
    if height is not None or width is not None:
        height, width = (width, width) if height is None else (height, height if width is None else width)
        check_size(height, width)
        return [(height, width)]
    scales = []
    for text in [repr(FLAGS.scale)] if FLAGS.scale is not None else FLAGS.scales:
        try:
            scale = float(text)
        except ValueError:
            fail(f"bad --scales value {text!r}: not a number")
        if not 0 < scale <= 1024:  # NaN fails this too
            fail(f"bad --scales value {text!r}: must be positive and at most 1024")
        scales.append(scale)
    if not scales:
        fail("--scales is empty: give multiples such as 1,2 or --size")
    return scales


def output_sizes(requested, resolution):
    sizes = [item if isinstance(item, tuple) else (int(resolution * item),) * 2 for item in requested]
    for height, width in sizes:
        check_size(height, width)
    return sizes


def requested_offset():
    """`("center", (row, col))` from --center, `("translate", (x, y))` from the deprecated --translate, or None."""
    if FLAGS.center is not None and FLAGS.translate is not None:
        fail("give either --center (row,col in image units) or its old form --translate, not both")
    if FLAGS.translate is not None:
        offset = checked_pair("--translate", FLAGS.translate, MAX_OFFSET)  # a bad value: its one line, no warning
        warn("--translate x,y (native pixels, columns first) is deprecated and goes in the next release: "
             "use --center row,col in image units (0.5,0.5 is the view centre)")
        return "translate", offset
    if FLAGS.center is not None:
        return "center", checked_pair("--center", FLAGS.center, MAX_OFFSET)
    return None


def requested_class_index():
    """--class_index, or its deprecated spellings --class_idx / --class (with a warning)."""
    if FLAGS["class_idx"].present:
        warn("--class_idx and --class are deprecated and go in the next release: use --class_index")
        if FLAGS["class_index"].present:
            fail("give --class_index or its old spelling --class_idx/--class, not both")
    index = FLAGS.class_index if FLAGS.class_index is not None else FLAGS.class_idx
    if index is not None and FLAGS.classes is not None:
        fail("give either --class_index (one class) or --classes (a class grid), not both")
    return index


def view_center(offset, resolution):
    """The view centre (row, col): --center as given, or --translate's x,y native pixels converted."""
    from keras_creps.rendering.view import center_from_translate

    if offset is None:
        return 0.5, 0.5
    kind, (a, b) = offset
    return (a, b) if kind == "center" else center_from_translate(a, b, resolution)


# --------------------------------------------------------------------------- the network


def load_generator(network, saved_models, random_init_resolution):
    """`(generator, file label, path or None)`: --network, the newest saved model, or a random init."""
    from keras_creps.models import network_paths
    from keras_creps.models import presets

    try:
        choice = network_paths.choose_network(network, saved_models, name="--network")
    except network_paths.NetworkPathError as error:
        fail(str(error), code=1)
    if choice.note:
        print(f"generate.py: {choice.note}")
    if choice.path is None:
        where = ", ".join(network_paths.lookup_dirs(saved_models)) or "any presets directory"
        print(f"generate.py: no trained model in {where} and no --network: using a RANDOMLY INITIALISED generator at "
              f"{random_init_resolution}px; its images are noise.")
        return network_paths.random_init_generator(random_init_resolution), "random-init", None
    try:
        generator = presets.load_generator(choice.path)
    except Exception as e:  # noqa: BLE001 - report any unreadable model in one line
        fail(f"--network {network or choice.path!r} could not be loaded: {type(e).__name__}: {e}".replace("\n", " "),
             code=1)
    return generator, network_paths.network_label(choice.path), choice.path


def chosen_classes(generator, class_index, classes):
    """None (unconditional), `[k]` for --class_index, or the --classes list ('all' or labels)."""
    if not generator.c_dim:
        if class_index is not None or classes is not None:
            fail("--class_index/--classes given, but the generator is unconditional")
        return None
    if classes is None:
        if class_index is None:
            fail(f"the generator is conditional with {generator.c_dim} classes: pass --class_index k or --classes all")
        if not 0 <= class_index < generator.c_dim:
            fail(f"bad --class_index {class_index}: must be in [0, {generator.c_dim})")
        return [class_index]
    if classes.strip() == "all":
        return list(range(generator.c_dim))
    try:
        labels = [int(part) for part in classes.split(",")]
    except ValueError:
        fail(f"bad --classes {classes!r}: expected 'all' or labels such as 0,3,5")
    bad = [k for k in labels if not 0 <= k < generator.c_dim]
    if bad:
        fail(f"bad --classes {classes!r}: label {bad[0]} is not in [0, {generator.c_dim})")
    return labels


# --------------------------------------------------------------------------- main


def check_plan(seeds, classes, sizes, view, outputs, video, channels):
    """What only the model's resolution and classes tell: image count, rotated tiles, video memory."""
    count = len(seeds) * (1 if classes is None else len(classes))
    if count > MAX_IMAGES:
        fail(f"{len(seeds)} seeds x {len(classes)} classes = {count} images, over the {MAX_IMAGES} a run")
    for height, width in sizes:
        if view.rotate and outputs.is_tiled(height, width):
            fail(f"--rotate is not supported for tiled sizes; {height}x{width} is over --max_untiled_pixels")
    if video is not None and video.memory_bytes(channels) > outputs.memory_bytes:
        need = video.memory_bytes(channels)
        fail(f"--video needs {need >> 20} MiB for {video.frames} frames of {video.size[0]}x{video.size[1]}, "
             f"over --image_memory_mb {outputs.memory_bytes >> 20}: lower --frames or --video_size")


def print_rows(classes, class_names, label, sizes, class_grid):
    """The class of each grid row, named when the generator's metadata or run knows the names."""
    if not class_grid:
        if classes is not None and class_names:
            print(f"{label}: class {classes[0]} ({class_names[classes[0]]})")
        return
    print(f"{label}: {len(classes)} class row(s) x the same seeds, at {', '.join(f'{h}x{w}' for h, w in sizes)}")
    for r, klass in enumerate(classes):
        print(f"  row {r}: class {klass}" + (f" ({class_names[klass]})" if class_names else ""))


def main(argv):
    quiet_startup()  # first: before anything imports Keras or TensorFlow
    from keras_creps.utils.allocator import release_unused_memory
    from keras_creps.utils.rendering_runtime import configure_rendering_runtime

    configure_rendering_runtime()  # malloc and XLA settings per backend, measured in their modules
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}")
    from keras_creps.utils.output_paths import OutputPathError, check_free_space, check_output_dir, make_output_dir

    seeds, requested = parse_seeds(FLAGS.seeds), requested_sizes()
    check_integer_flags()
    offset, class_index = requested_offset(), requested_class_index()
    truncation_psi = checked_float("--trunc", FLAGS.trunc, -MAX_TRUNC, MAX_TRUNC)
    zoom = checked_float("--zoom", FLAGS.zoom, 1 / MAX_ZOOM, MAX_ZOOM)
    rotate = checked_float("--rotate", FLAGS.rotate, -math.inf, math.inf)
    try:
        check_output_dir(FLAGS.outdir, name="--outdir")
    except OutputPathError as e:
        fail(str(e), code=1)
    from keras_creps.utils.cpu_features import bfloat16_is_emulated

    if FLAGS.precision == "bfloat16" and bfloat16_is_emulated():
        warn(BFLOAT16_EMULATED)

    from keras_creps.models.network_paths import class_names_of
    from keras_creps.utils.arguments import jit_compile_setting
    from keras_creps.rendering import batch_render
    from keras_creps.rendering import Outputs, Video, View

    generator, label, path = load_generator(FLAGS.network, FLAGS.saved_models, FLAGS.random_init_resolution)
    release_unused_memory()  # before rendering compiles anything: see the module
    classes = chosen_classes(generator, class_index, FLAGS.classes)
    sizes = output_sizes(requested, generator.resolution)
    view = View(view_center(offset, generator.resolution), zoom, rotate, FLAGS.align, FLAGS.panorama)
    outputs = Outputs(FLAGS.outdir, label, FLAGS.images, FLAGS.grid, FLAGS.image_memory_mb << 20,
                      FLAGS.max_untiled_pixels, FLAGS.tile)
    video = None
    if FLAGS.video:
        video_size = (FLAGS.video_size,) * 2 if FLAGS.video_size else sizes[0]
        video = Video(FLAGS.video, video_size, FLAGS.frames, FLAGS.video_format, FLAGS.video_quality)
    check_plan(seeds, classes, sizes, view, outputs, video, generator.img_channels)
    class_grid = FLAGS.classes is not None
    print_rows(classes, class_names_of(path, generator.c_dim), label, sizes, class_grid)
    try:
        make_output_dir(outputs.outdir, name="--outdir")
        images = len(seeds) * (1 if classes is None else len(classes))
        check_free_space(outputs.outdir, batch_render.tiled_disk_bytes(sizes, images, generator.img_channels, outputs),
                         what="rendering the images over --max_untiled_pixels")
        batch_render.render(generator, seeds, classes, sizes, view, outputs, truncation_psi, class_grid, video,
                            precision=FLAGS.precision, jit_compile=jit_compile_setting(FLAGS.jit_compile))
    except OutputPathError as e:
        fail(str(e), code=1)
    except OSError as e:  # e.g. the disk filled up while writing
        fail(f"could not write {e.filename or outputs.outdir!r}: {e.strerror or e}", code=1)


if __name__ == "__main__":
    CLI.run(main)

r"""Convert an image folder or ZIP into a training dataset: a StyleGAN ZIP or TFRecord shards.

The output is read by `keras_creps.data.make_dataset` (and a `.zip` by the
official CREPS / StyleGAN training code too). Images are written as PNG named
`00000/img00000000.png`, ... in sorted source order; labels go into
`dataset.json` (ZIP) or into the records plus `metadata.json` (TFRecord).
Unusable files are skipped and listed at the end, each with its reason. Files
are judged before they are decoded: only regular files are opened (a FIFO or
device named `*.png` is skipped), and declared sizes and image headers must
fit the limits of `keras_creps.data.limits` for the target `--resolution`
(`--max_side`, `--max_pixels` and `--max_files` raise or lower them).
A bad flag value ends with exit code 2, unusable data or paths with 1, each
with one line on stderr.

Examples:
    python recipes/dataset_tool.py --source raw_faces/ --dest faces64.zip --resolution 64
    python recipes/dataset_tool.py --source faces64.zip --dest faces64_tfrecords/ --shard_size 4096
    python recipes/dataset_tool.py --source by_class/ --dest classes.zip --labels folders --resolution 32
    python recipes/dataset_tool.py --source panoramas/ --dest pano256.zip --resolution 256 --max_side 40000
"""


from _command_line import CommandLine
from _startup import quiet_startup, use_dataset_image_limits
from absl import flags

FLAGS = flags.FLAGS
CLI = CommandLine("dataset_tool.py")
fail = CLI.fail
flags.DEFINE_string("source", None, "Image folder (searched recursively) or a .zip.")
flags.DEFINE_string("dest", None, "Output: a path ending in .zip (StyleGAN ZIP), else a directory of TFRecord shards.")
flags.DEFINE_integer("resolution", None, "Center-crop to square and resize (Lanczos) to this power of two.")
flags.DEFINE_integer("max_images", None, "Write at most this many images.")
flags.DEFINE_integer("shard_size", 1024, "Images per TFRecord shard.")
flags.DEFINE_enum(
    "labels", "auto", ["auto", "none", "json", "folders"],
    "auto: the source's dataset.json if it has labels; json: require them; "
    "folders: class = top-level sub-folder name; none: no labels.",
)
flags.DEFINE_enum("channels", "auto", ["auto", "1", "3"], "Output channels; auto: 1 if every image is grayscale.")
flags.DEFINE_string("background", "white", "Colour under transparent pixels (a Pillow colour name or #rrggbb).")
flags.DEFINE_integer("max_side", None, "Refuse source images wider or taller than this before decoding them "
                     "(default: 16384, or 4x --resolution if larger).")
flags.DEFINE_integer("max_pixels", None, "Refuse source images with more pixels than this before decoding them "
                     "(default: 2**26, or 16x --resolution^2 if larger).")
flags.DEFINE_integer("max_files", None, "Refuse a source listing more files than this (default: 2**21).")
flags.DEFINE_integer("compress_level", 0, "PNG compression level 0-9 (0: fastest to decode, as the official tool).")


def check_flags(argv):
    """Exits with code 2 on a bad flag value, before anything is read or written."""
    from keras_creps.utils.arguments import positive_int, power_of_two

    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}", 2)
    if not FLAGS.source:
        fail("pass --source (an image folder or a .zip)", 2)
    if not FLAGS.dest:
        fail("pass --dest (a .zip, or a directory for TFRecord shards)", 2)
    try:
        if FLAGS.resolution is not None:
            power_of_two("--resolution", FLAGS.resolution)
        if FLAGS.max_images is not None:
            positive_int("--max_images", FLAGS.max_images)
        positive_int("--shard_size", FLAGS.shard_size)
        for name in ("max_side", "max_pixels", "max_files"):
            if FLAGS[name].value is not None:
                positive_int(f"--{name}", FLAGS[name].value)
        if not 0 <= FLAGS.compress_level <= 9:
            raise ValueError(f"`--compress_level` must be in 0..9. Received: --compress_level={FLAGS.compress_level}")
    except ValueError as e:
        fail(str(e), 2)
    from PIL import ImageColor

    try:
        ImageColor.getrgb(FLAGS.background)
    except ValueError:
        fail(f"`--background` is not a colour. Received: --background={FLAGS.background!r}", 2)


def main(argv):
    quiet_startup(import_tensorflow=True)  # the writer uses TensorFlow on every backend
    use_dataset_image_limits()
    check_flags(argv)
    from keras_creps.data import ImageLimits
    from keras_creps.data.writer import write_dataset

    limits = ImageLimits.for_resolution(FLAGS.resolution, max_side=FLAGS.max_side, max_pixels=FLAGS.max_pixels,
                                        max_files=FLAGS.max_files)

    try:
        result = write_dataset(
            FLAGS.source,
            FLAGS.dest,
            resolution=FLAGS.resolution,
            channels=None if FLAGS.channels == "auto" else int(FLAGS.channels),
            max_images=FLAGS.max_images,
            shard_size=FLAGS.shard_size,
            labels=FLAGS.labels,
            background=FLAGS.background,
            compress_level=FLAGS.compress_level,
            limits=limits,
        )
    except ValueError as e:  # the flags are checked: what is left is about the data or the paths
        fail(str(e).replace("\n", " | "), 1)
    except OSError as e:
        fail(f"cannot write {FLAGS.dest!r}: {e.strerror or e}", 1)
    report = result["report"]
    if result["class_names"]:
        print("classes (label index: sub-folder):")
        for index, name in enumerate(result["class_names"]):
            print(f"  {index}: {name}")
    size = result["resolution"]
    labels = f"{result['label_kind']} labels, c_dim={result['c_dim']}" if result["label_kind"] else "no labels"
    print(f"wrote {result['num_images']} images ({size}x{size}x{result['channels']}, {labels}) to {FLAGS.dest}")
    print(report.summary(max_names=20))


if __name__ == "__main__":
    CLI.run(main)

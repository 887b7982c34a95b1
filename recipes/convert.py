r"""Convert an official CREPS network pickle into a Keras model.

Reads an official `network-snapshot-*.pkl` (VinAIResearch/CREPS) without
torch and without running the code it embeds: only official networks,
tensors and plain data are accepted; any other global in the file is refused
before anything is imported. Writes the chosen network as a `.keras` file
(and, with `--preset`, as a preset directory when presets are available), or
with `--outdir` every network at once (`G_ema.keras`, `G.keras`, `D.keras`:
what resuming training needs).

Examples:
    python recipes/convert.py --pkl network-snapshot-025000.pkl --out generator.keras
    python recipes/convert.py --pkl network-snapshot-025000.pkl --which G --out G.keras   # to resume training
    python recipes/convert.py --pkl network-snapshot-025000.pkl --which D --out D.keras
    python recipes/convert.py --pkl network-snapshot-025000.pkl --outdir converted/       # G_ema, G and D
    python recipes/convert.py --pkl network-snapshot-025000.pkl --info                   # list, convert nothing

Exit codes: 2 for unusable flags, 1 for a file that cannot be read or converted
(one line on stderr naming it), 0 on success.
"""

import os

from _command_line import CommandLine
from _startup import quiet_startup
from absl import flags

FLAGS = flags.FLAGS
CLI = CommandLine("convert.py")
fail = CLI.fail
flags.DEFINE_string("pkl", None, "Official network pickle (network-snapshot-*.pkl).")
flags.DEFINE_string("out", None, "Write the converted network to this .keras file.")
flags.DEFINE_enum("which", "G_ema", ["G_ema", "G", "D"], "Network to convert: G_ema (sampling), G or D (resuming).")
flags.DEFINE_string("preset", None, "Also write a preset directory (needs `save_to_preset`).")
flags.DEFINE_string("outdir", None, "Write every network (G_ema.keras, G.keras, D.keras) into this directory.")
flags.DEFINE_boolean("info", False, "Only print what the pickle holds.")
flags.DEFINE_integer(
    "max_tensor_bytes", None,
    "Most bytes of tensor data the reader may decode (default: 4x the file size plus 512 MiB, "
    "enough for the largest official network).")


def save_keras_atomically(model, path):
    from keras_creps.utils.files import atomic_write

    try:
        with atomic_write(path) as temporary:
            model.save(temporary)
    except OSError as e:
        fail(f"cannot write {path!r}: {e.strerror or e}", code=1)


def convert_network(convert, data, which):
    try:
        if which == "D":
            return convert.discriminator_from_official_pickle(data, which="D")
        return convert.generator_from_official_pickle(data, which=which)
    except ValueError as e:
        fail(f"{FLAGS.pkl!r}[{which!r}]: {e}", code=1)


def main(argv):
    del argv
    quiet_startup()  # TensorFlow only comes with its Keras backend here
    if FLAGS.pkl is None:
        fail("pass --pkl with an official network pickle")
    if FLAGS.outdir is not None and (FLAGS.out is not None or FLAGS.preset is not None or FLAGS["which"].present):
        fail("--outdir converts every network; do not combine it with --out, --preset or --which")
    if not FLAGS.info and FLAGS.out is None and FLAGS.preset is None and FLAGS.outdir is None:
        fail("pass --out M.keras (and/or --preset DIR), --outdir DIR, or --info")
    if FLAGS.out is not None and not FLAGS.out.endswith(".keras"):
        fail(f"bad --out {FLAGS.out!r}: the file name must end in .keras")
    if not os.path.isfile(FLAGS.pkl):
        fail(f"--pkl {FLAGS.pkl!r}: no such file")
    if FLAGS.max_tensor_bytes is not None and FLAGS.max_tensor_bytes < 0:
        fail(f"--max_tensor_bytes must be >= 0. Received: {FLAGS.max_tensor_bytes}")

    from keras_creps import convert

    try:
        data = convert.load_official_pickle(FLAGS.pkl, max_tensor_bytes=FLAGS.max_tensor_bytes)
    except ValueError as e:
        fail(str(e), code=1)
    print(convert.describe_official_pickle(data))
    if FLAGS.info:
        return
    if FLAGS.outdir is not None:
        names = [name for name in ("G_ema", "G", "D") if name in data]
        if not names:
            fail(f"{FLAGS.pkl!r} has none of G_ema, G, D. It has: {convert.short_repr(list(data))}", code=1)
        for name in names:
            path = os.path.join(FLAGS.outdir, f"{name}.keras")
            model = convert_network(convert, data, name)
            save_keras_atomically(model, path)
            print(f"wrote {name} as {type(model).__name__} to {path}")
        return
    model = convert_network(convert, data, FLAGS.which)

    if FLAGS.preset is not None and not hasattr(model, "save_to_preset"):
        fail(f"--preset: {type(model).__name__} has no save_to_preset in this version")
    if FLAGS.out is not None:
        save_keras_atomically(model, FLAGS.out)
        print(f"wrote {FLAGS.which} as {type(model).__name__} to {FLAGS.out}")
    if FLAGS.preset is not None:
        metadata = {
            "description": f"{FLAGS.which} converted from the official CREPS pickle {os.path.basename(FLAGS.pkl)}",
            "source": os.path.basename(FLAGS.pkl),
            "network": FLAGS.which,
        }
        try:
            model.save_to_preset(FLAGS.preset, metadata=metadata)
        except (ValueError, OSError) as e:
            fail(f"--preset {FLAGS.preset!r}: {e}", code=1)
        print(f"wrote {FLAGS.which} preset to {FLAGS.preset}")


if __name__ == "__main__":
    CLI.run(main)

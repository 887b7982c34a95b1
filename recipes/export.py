r"""Export a CREPS generator as a TensorFlow Serving SavedModel.

Writes `<outdir>/<version>/` (saved_model.pb + variables/) with the
signatures `serving_default` (seeds), `render_z` (latents), `render_tile` and
`render_tile_z` (a tile of a larger view), then prints them in the manner of
`saved_model_cli show --all`. See `keras_creps/export/__init__.py` for the
inputs (`truncation_psi`, `height`, `width`, `zoom`, `center`, ...).

`--network` is a preset directory, a named preset (an installed one or one in
the source checkout's `saved_models/`), a `.keras` file, a training run
directory (its newest snapshot) or a directory holding exactly one of these.

Every request to the served model is bounded: at most `--max_samples`
samples and `--max_pixels` samples x pixels (both recorded in the export
config); larger requests fail with an InvalidArgument error naming the limit.

The export runs under the TensorFlow backend; under any other
`KERAS_BACKEND` this script re-runs itself with `KERAS_BACKEND=tensorflow`,
so a generator trained on JAX or PyTorch exports the same way.

Exit codes: 2 for bad flag values (including a `--network` that names
nothing), 1 for an unusable `--outdir` or a model that cannot be loaded.

Examples:
    python recipes/export.py --network creps_emoji_64 --outdir models/creps
    python recipes/export.py --network run/generator.keras --outdir models/creps --version 3 \
        --max_samples 16 --max_pixels 16777216 --truncation_psi 0.7
    docker run -p 8501:8501 --mount type=bind,source=$PWD/models/creps,target=/models/creps \
        -e MODEL_NAME=creps -t tensorflow/serving
"""

import math
import os
import sys

from _command_line import CommandLine
from _startup import quiet_startup
from absl import flags

FLAGS = flags.FLAGS
CLI = CommandLine("export.py")
fail = CLI.fail
flags.DEFINE_string("network", None, "A preset directory or name, a .keras file, or a training run directory.")
flags.DEFINE_string("outdir", "models/creps", "The model's base directory (TF Serving's model_base_path).")
flags.DEFINE_integer("version", None, "Version number; default: one more than the newest version in --outdir.")
flags.DEFINE_integer("max_samples", 64, "Largest number of samples (seeds or latents) one request may render.")
flags.DEFINE_integer("max_pixels", 1 << 22, "Largest samples x pixels (N * rows * cols) one request may render.")
flags.DEFINE_float("truncation_psi", 1.0, "Recommended truncation psi, recorded in the export config "
                   "(finite, at most 100 in magnitude).")
flags.DEFINE_enum("align", "corners", ["corners", "centers"], "Pixel alignment of the views (corners = official).")
flags.DEFINE_boolean("keep_aspect", False, "Columns keep the row spacing (wide views show more, not stretched).")
flags.DEFINE_integer("band_pixels", 16384, "Pixels rendered at once inside the graph (memory bound).")
flags.DEFINE_integer("max_tile_width", 1024, "Columns rendered at once inside the graph.")

BACKEND_ENV = "KERAS_BACKEND"


def ensure_tensorflow_backend():
    """Re-runs this script with KERAS_BACKEND=tensorflow unless it already is (before Keras is imported)."""
    if os.environ.get(BACKEND_ENV) == "tensorflow":
        return
    print(f"export.py: {BACKEND_ENV}={os.environ.get(BACKEND_ENV, '(unset)')}; re-running under "
          f"{BACKEND_ENV}=tensorflow (SavedModel export needs it)", file=sys.stderr, flush=True)
    env = dict(os.environ, **{BACKEND_ENV: "tensorflow"})
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)


def check_flags():
    """Flag values that need no import (exit 2): checked before the re-run, so a typo fails at once."""
    if not FLAGS.network:
        fail("--network is required (a preset directory or name, a .keras file or a training run directory)")
    for name in ("max_samples", "max_pixels", "band_pixels", "max_tile_width"):
        if FLAGS[name].value < 1:
            fail(f"bad --{name} {FLAGS[name].value}: must be at least 1")
    if FLAGS.version is not None and FLAGS.version < 0:
        fail(f"bad --version {FLAGS.version}: must be a non-negative integer")
    if not math.isfinite(FLAGS.truncation_psi):  # NaN or Inf would render black images
        fail(f"bad --truncation_psi {FLAGS.truncation_psi}: must be a finite number")


def check_limits_and_outdir():
    """What needs the package: the truncation bound (exit 2) and the output directory (exit 1)."""
    from keras_creps.export import MAX_ABS_TRUNCATION_PSI
    from keras_creps.utils.output_paths import OutputPathError, check_output_dir

    if abs(FLAGS.truncation_psi) > MAX_ABS_TRUNCATION_PSI:
        fail(f"bad --truncation_psi {FLAGS.truncation_psi:g}: must be at most {MAX_ABS_TRUNCATION_PSI:g} in magnitude")
    try:
        check_output_dir(FLAGS.outdir, name="--outdir")
    except OutputPathError as e:
        fail(str(e), code=1)
    if FLAGS.version is not None and os.path.exists(os.path.join(FLAGS.outdir, str(FLAGS.version))):
        fail(f"version {FLAGS.version} already exists in {FLAGS.outdir!r}; pick another --version")


def load_network():
    """The generator `--network` stands for (a named preset is found wherever the package is installed)."""
    from keras_creps.models import presets

    try:
        path = presets.model_path(FLAGS.network)
    except FileNotFoundError as e:
        fail(f"--network: {e}")
    except ValueError as e:
        fail(f"--network: {e}", code=1)
    try:
        return presets.load_generator(path)
    except Exception as e:  # noqa: BLE001 - report any unreadable model in one line
        fail(f"--network {FLAGS.network!r} could not be loaded: {type(e).__name__}: {e}".replace("\n", " "), code=1)


def main(argv):
    del argv
    check_flags()
    ensure_tensorflow_backend()
    # After the re-run: only that process loads TensorFlow. Also keeps TensorFlow's INFO lines
    # while saving out, unless --verbosity asks for them.
    quiet_startup(import_tensorflow=True)
    check_limits_and_outdir()
    from keras_creps.export import describe_saved_model, export_saved_model
    from keras_creps.utils.output_paths import OutputPathError, make_output_dir

    generator = load_network()
    try:
        make_output_dir(FLAGS.outdir, name="--outdir")
        path = export_saved_model(
            generator, FLAGS.outdir, version=FLAGS.version, max_samples=FLAGS.max_samples,
            max_pixels=FLAGS.max_pixels, truncation_psi=FLAGS.truncation_psi, align=FLAGS.align,
            keep_aspect=FLAGS.keep_aspect, band_pixels=FLAGS.band_pixels, max_tile_width=FLAGS.max_tile_width,
        )
    except OutputPathError as e:
        fail(str(e), code=1)
    except OSError as e:
        fail(f"cannot write to --outdir {FLAGS.outdir!r}: {e}".replace("\n", " "), code=1)
    except ValueError as e:
        fail(str(e))
    print(f"wrote {path}")
    print(f"The given SavedModel has the tag-set 'serve' and z_dim={generator.z_dim}, c_dim={generator.c_dim}, "
          f"native resolution {generator.resolution}, max_samples={FLAGS.max_samples}, "
          f"max_pixels={FLAGS.max_pixels}, recommended truncation_psi={FLAGS.truncation_psi:g}.")
    print()
    print(describe_saved_model(path))
    base = os.path.abspath(FLAGS.outdir)
    print(f"Serve: docker run -p 8501:8501 --mount type=bind,source={base},target=/models/creps "
          "-e MODEL_NAME=creps -t tensorflow/serving")


if __name__ == "__main__":
    CLI.run(main)

r"""Export a CREPS generator as a TensorFlow Serving SavedModel.

Writes `<outdir>/<version>/` (saved_model.pb + variables/) with the
signatures `serving_default` (seeds), `render_z` (latents), `render_tile` and
`render_tile_z` (a tile of a larger view), then prints them in the manner of
`saved_model_cli show --all`. See `keras_creps/export.py` for the inputs.

The export runs under the TensorFlow backend; under any other
`KERAS_BACKEND` this script re-runs itself with `KERAS_BACKEND=tensorflow`,
so a generator trained on JAX or PyTorch exports the same way.

Examples:
    python recipes/export.py --network saved_models/creps_ffhq_64 --outdir models/creps
    python recipes/export.py --network run/generator.keras --outdir models/creps --version 3 \
        --max_pixels 16777216 --truncation_psi 0.7
    docker run -p 8501:8501 --mount type=bind,source=$PWD/models/creps,target=/models/creps \
        -e MODEL_NAME=creps -t tensorflow/serving
"""

import os
import sys

from _startup import quiet_startup
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("network", None, "A preset directory, a preset name in saved_models/, or a .keras file.")
flags.DEFINE_string("outdir", "models/creps", "The model's base directory (TF Serving's model_base_path).")
flags.DEFINE_integer("version", None, "Version number; default: one more than the newest version in --outdir.")
flags.DEFINE_integer("max_pixels", 1 << 22, "Largest N * rows * cols one request may render.")
flags.DEFINE_float("truncation_psi", 1.0, "Recommended truncation psi, recorded in the export config.")
flags.DEFINE_enum("align", "corners", ["corners", "centers"], "Pixel alignment of the views (corners = official).")
flags.DEFINE_boolean("keep_aspect", False, "Columns keep the row spacing (wide views show more, not stretched).")
flags.DEFINE_integer("band_pixels", 16384, "Pixels rendered at once inside the graph (memory bound).")

BACKEND_ENV = "KERAS_BACKEND"


def fail(message):
    print(f"export.py: {message}", file=sys.stderr)
    sys.exit(2)


def ensure_tensorflow_backend():
    """Re-runs this script with KERAS_BACKEND=tensorflow unless it already is (before Keras is imported)."""
    if os.environ.get(BACKEND_ENV) == "tensorflow":
        return
    print(f"export.py: {BACKEND_ENV}={os.environ.get(BACKEND_ENV, '(unset)')}; re-running under "
          f"{BACKEND_ENV}=tensorflow (SavedModel export needs it)", file=sys.stderr, flush=True)
    env = dict(os.environ, **{BACKEND_ENV: "tensorflow"})
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)


def check_flags():
    if not FLAGS.network:
        fail("--network is required (a preset directory or name, or a .keras file)")
    saved_models = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "saved_models")
    if not os.path.exists(FLAGS.network) and not (
        "/" not in FLAGS.network and os.path.isdir(os.path.join(saved_models, FLAGS.network))
    ):
        fail(f"--network {FLAGS.network!r}: no such file, directory or preset in saved_models/")
    if FLAGS.max_pixels < 1:
        fail(f"bad --max_pixels {FLAGS.max_pixels}: must be at least 1")
    if FLAGS.version is not None and FLAGS.version < 0:
        fail(f"bad --version {FLAGS.version}: must be a non-negative integer")
    if FLAGS.band_pixels < 1:
        fail(f"bad --band_pixels {FLAGS.band_pixels}: must be at least 1")
    if FLAGS.version is not None and os.path.exists(os.path.join(FLAGS.outdir, str(FLAGS.version))):
        fail(f"version {FLAGS.version} already exists in {FLAGS.outdir!r}; pick another --version")


def main(argv):
    del argv
    check_flags()
    ensure_tensorflow_backend()
    # After the re-run: only that process loads TensorFlow. Also keeps TensorFlow's INFO lines
    # while saving out, unless --verbosity asks for them.
    quiet_startup(import_tensorflow=True)
    from keras_creps.export import describe_saved_model, export_saved_model
    from keras_creps.models import presets

    try:
        generator = presets.load_generator(FLAGS.network)
    except Exception as e:  # noqa: BLE001 - report any unreadable model in one line
        fail(f"--network {FLAGS.network!r} could not be loaded: {type(e).__name__}: {e}")
    try:
        path = export_saved_model(
            generator, FLAGS.outdir, version=FLAGS.version, max_pixels=FLAGS.max_pixels,
            truncation_psi=FLAGS.truncation_psi, align=FLAGS.align, keep_aspect=FLAGS.keep_aspect,
            band_pixels=FLAGS.band_pixels,
        )
    except ValueError as e:
        fail(str(e))
    print(f"wrote {path}")
    print(f"The given SavedModel has the tag-set 'serve' and z_dim={generator.z_dim}, c_dim={generator.c_dim}, "
          f"native resolution {generator.resolution}, max_pixels={FLAGS.max_pixels}, "
          f"recommended truncation_psi={FLAGS.truncation_psi:g}.")
    print()
    print(describe_saved_model(path))
    base = os.path.abspath(FLAGS.outdir)
    print(f"Serve: docker run -p 8501:8501 --mount type=bind,source={base},target=/models/creps "
          "-e MODEL_NAME=creps -t tensorflow/serving")


if __name__ == "__main__":
    app.run(main)

"""`keras.applications.InceptionV3` as a feature network, on every Keras backend.

Pipeline, per batch of uint8 RGB images `[B, H, W, 3]`:

1. cast to float32 (values stay in 0..255);
2. resize to 299x299 with `keras.ops.image.resize(interpolation="bilinear",
   antialias=False)` (half-pixel centres, the same on TensorFlow, JAX and
   PyTorch); skipped when the images are already 299x299;
3. `keras.applications.inception_v3.preprocess_input`: `x / 127.5 - 1`,
   so the network sees [-1, 1];
4. `InceptionV3(include_top=False, pooling="avg")`: the 2048-d average pool.

Antialiasing is off: it changes nothing when upsampling (CREPS images are
256x256), and larger inputs are then plainly bilinearly sampled, as by
`torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`.
These features are not those of NVIDIA's
TorchScript Inception (different weights port and preprocessing): metrics
computed with them carry the `_keras` suffix and are only comparable with
each other.
"""

import hashlib
import os

import keras
import numpy as np

from keras_creps.metrics.feature_network import FeatureNetwork

__all__ = ["InceptionKeras", "IMAGENET_NOTOP_FILE", "keras_cache_dir"]

INPUT_SIZE = 299
IMAGENET_NOTOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
_IMAGENET_NOTOP_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + IMAGENET_NOTOP_FILE
)


def keras_cache_dir():
    """The directory where Keras caches downloads (read now, not at import).

    `$KERAS_HOME` when set, else `~/.keras`, else `/tmp/.keras` when the home
    directory is not writable, as `keras.utils.get_file` decides.
    """
    base = os.environ.get("KERAS_HOME")
    if not base:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(base)
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return base


def _imagenet_weights_path():
    path = os.path.join(keras_cache_dir(), "models", IMAGENET_NOTOP_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"The ImageNet weights of keras.applications.InceptionV3 are not in the Keras cache "
            f"(looked for {path}); keras-creps never downloads them on its own. " + _IMAGENET_HOWTO
        )
    return path


_IMAGENET_HOWTO = (
    "Get them once with\n"
    '    python -c "import keras; keras.applications.InceptionV3(include_top=False, weights=\'imagenet\')"\n'
    f"which downloads {IMAGENET_NOTOP_FILE} into $KERAS_HOME/models (default ~/.keras/models), or "
    f"download {_IMAGENET_NOTOP_URL} yourself and pass its path as `weights=` "
    "(a .h5 / .weights.h5 file or a .keras model also works)."
)


class InceptionKeras(FeatureNetwork):
    """InceptionV3 from `keras.applications`: 2048-d pool features of 299x299 images.

    See the module docstring for the exact pipeline (bilinear resize without
    antialiasing, then `x / 127.5 - 1`). Nothing is ever downloaded: the
    ImageNet weights must already be in the Keras cache.

    Args:
        weights: str, path or `keras.Model`. `"imagenet"`: the file Keras
            caches in `$KERAS_HOME/models` (default `~/.keras/models`); a
            `.h5` / `.weights.h5` file of `InceptionV3(include_top=False,
            pooling="avg")` weights; a saved `.keras` model; or a model
            instance. A model must map `[B, 299, 299, 3]` images in [-1, 1]
            to `[B, 2048]`. Defaults to `"imagenet"`.
        batch_size: int. Images per forward pass. Defaults to `64`.

    Example:

    ```python
    net = InceptionKeras()  # ImageNet weights from ~/.keras/models
    features = net(images)  # uint8 [N, H, W, 3] -> float64 [N, 2048]
    ```

    References:
        - [Szegedy et al., 2016. Rethinking the Inception Architecture for
          Computer Vision](https://arxiv.org/abs/1512.00567)
    """

    name = "inception_keras"
    metric_suffix = "_keras"
    feature_dim = 2048
    _pad_last_batch = True

    def __init__(self, weights="imagenet", batch_size=64):
        super().__init__(batch_size=batch_size)
        self.model = _load_model(weights)
        outputs = self.model.outputs if hasattr(self.model, "outputs") else None
        shape = tuple(outputs[0].shape) if outputs else None
        if shape is None or len(shape) != 2 or shape[-1] != self.feature_dim:
            raise ValueError(
                f"The Keras feature model must output [batch, {self.feature_dim}] features "
                f"(InceptionV3(include_top=False, pooling='avg')). Received: output shape={shape}"
            )
        input_shape = tuple(self.model.inputs[0].shape)
        # A model built under `image_data_format() == "channels_first"`.
        self._channels_first = len(input_shape) == 4 and input_shape[1] == 3 and input_shape[-1] != 3
        self._cache_key = None

    def preprocess(self, images):
        """uint8 `[B, H, W, 3]` -> float32 `[B, 299, 299, 3]` in [-1, 1] (backend tensor)."""
        x = keras.ops.convert_to_tensor(np.asarray(images, dtype=np.float32))
        if tuple(x.shape[1:3]) != (INPUT_SIZE, INPUT_SIZE):
            x = keras.ops.image.resize(
                x,
                (INPUT_SIZE, INPUT_SIZE),
                interpolation="bilinear",
                antialias=False,
                data_format="channels_last",
            )
        return keras.applications.inception_v3.preprocess_input(x)

    def _extract(self, images):
        x = self.preprocess(images)
        if self._channels_first:
            x = keras.ops.transpose(x, (0, 3, 1, 2))
        # `predict_on_batch` runs the compiled predict step (jit on JAX,
        # tf.function on TensorFlow), 2-4x faster than an eager call there;
        # it compiles once per call since all its batches have one shape.
        return np.asarray(self.model.predict_on_batch(x), dtype=np.float64)

    def cache_key(self):
        """`"inception_keras-bilinear299-sha256:<16 hex>"`, hashing the weight values.

        Hashing the loaded values (not a file) identifies the weights
        whatever file, format or path they came from.
        """
        if self._cache_key is None:
            digest = hashlib.sha256()
            # Values in weight order, not variable paths: layer names get
            # unique suffixes that differ between identical models.
            for variable in self.model.weights:
                value = np.ascontiguousarray(keras.ops.convert_to_numpy(variable))
                digest.update(f"{value.dtype}:{value.shape};".encode())
                digest.update(value.tobytes())
            self._cache_key = f"{self.name}-bilinear{INPUT_SIZE}-sha256:{digest.hexdigest()[:16]}"
        return self._cache_key


def _load_model(weights):
    if isinstance(weights, keras.Model):
        return weights
    if weights is None or isinstance(weights, str) and weights == "imagenet":
        path = _imagenet_weights_path()
    elif isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"No InceptionV3 weights file at {path}. For the ImageNet weights, pass weights='imagenet'. "
                + _IMAGENET_HOWTO
            )
    else:
        raise ValueError(
            "`weights` must be 'imagenet', a path to a .h5/.weights.h5/.keras file or a keras.Model. "
            f"Received: weights={weights!r}"
        )
    lower = path.lower()
    if lower.endswith(".keras"):
        return keras.saving.load_model(path, compile=False)
    if not lower.endswith((".h5", ".hdf5")):
        raise ValueError(f"`weights` file must end in .h5, .weights.h5 or .keras. Received: weights={path!r}")
    # Passing the file itself keeps Keras from downloading anything.
    return keras.applications.InceptionV3(include_top=False, weights=path, pooling="avg")

"""The feature-network interface of the quality metrics, and its factory.

FID, KID and precision/recall compare images through the features of a fixed
network. Two networks implement `FeatureNetwork`:

- `TorchScriptInception` (`inception_torchscript.py`): NVIDIA's TorchScript
  translation of the 2015 TensorFlow Inception graph, the network behind the
  FID/KID/precision-recall numbers StyleGAN2-ADA and StyleGAN3 report. Needs
  torch and a weights file that is never downloaded for you.
- `InceptionKeras` (`inception_keras.py`): `keras.applications.InceptionV3`
  with ImageNet weights, available on every Keras backend. Its features are
  not interchangeable with the NVIDIA network's, so its metric names carry the
  `_keras` suffix.

`feature_network(name, weights, batch_size)` picks and builds one of them.
"""

import hashlib
import importlib.util
import os
import warnings

import numpy as np

__all__ = ["FeatureNetwork", "feature_network", "INCEPTION_PKL_ENV"]

# Environment variable naming NVIDIA's Inception file, read when no explicit
# `weights` path is given.
INCEPTION_PKL_ENV = "KERAS_CREPS_INCEPTION_PKL"

_NAMES = ("auto", "inception_torchscript", "inception_keras")
_KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")


class FeatureNetwork:
    """Maps a batch of uint8 images to one feature vector per image.

    Subclasses set `name`, `metric_suffix` and `feature_dim`, and implement
    `_extract(images)` for one batch of uint8 RGB images `[B, H, W, 3]` and
    `cache_key()`. This base class validates the input, repeats grayscale to
    RGB, splits the images into batches and reports progress.

    Args:
        batch_size: int. Images per forward pass. Defaults to `64`.

    Example:

    ```python
    net = feature_network("inception_keras", weights="inception.weights.h5")
    feats = net(images_uint8_nhwc, progress=lambda done, total: print(done, total))
    ```
    """

    name = "feature_network"
    metric_suffix = ""
    feature_dim = 2048
    # Pad the last, partial batch to the size of the others so that compiled
    # backends (XLA, tf.function) see a single input shape per call.
    _pad_last_batch = False

    def __init__(self, batch_size=64):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
        self.batch_size = int(batch_size)

    def __call__(self, images, progress=None):
        """Returns the features of `images`.

        Args:
            images: uint8 array `[N, H, W, 3]` or `[N, H, W, 1]` (grayscale,
                repeated to RGB), values 0..255, any `H, W`.
            progress: callable or `None`. Called as `progress(done, total)`
                after every batch. Defaults to `None`.

        Returns:
            float64 NumPy array `[N, feature_dim]`.
        """
        if progress is not None and not callable(progress):
            raise ValueError(f"`progress` must be callable or None. Received: progress={progress!r}")
        images = _as_uint8_rgb(images)
        total = images.shape[0]
        features = np.empty((total, self.feature_dim), dtype=np.float64)
        step = min(self.batch_size, total)
        for start in range(0, total, max(step, 1)):
            batch = images[start : start + step]
            count = batch.shape[0]
            if self._pad_last_batch and count < step:
                batch = np.concatenate([batch, np.repeat(batch[-1:], step - count, axis=0)])
            out = np.asarray(self._extract(batch), dtype=np.float64)
            if out.shape != (batch.shape[0], self.feature_dim):
                raise ValueError(
                    f"{type(self).__name__} produced features of shape {out.shape}, expected "
                    f"{(batch.shape[0], self.feature_dim)}. Received: images.shape={images.shape}"
                )
            features[start : start + count] = out[:count]
            if progress is not None:
                progress(start + count, total)
        return features

    def _extract(self, images):
        """Features `[B, feature_dim]` of uint8 RGB images `[B, H, W, 3]`."""
        raise NotImplementedError

    def cache_key(self):
        """A string naming the network, its weights and its input pipeline."""
        raise NotImplementedError

    def __repr__(self):
        return (
            f"{type(self).__name__}(name={self.name!r}, feature_dim={self.feature_dim}, "
            f"batch_size={self.batch_size})"
        )


def _as_uint8_rgb(images):
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "`images` must be NHWC with 1 or 3 channels, shaped [N, H, W, C]. "
            f"Received: images.shape={images.shape}"
        )
    if images.dtype != np.uint8:
        raise ValueError(
            "`images` must be uint8 in [0, 255]; convert float images in [-1, 1] as the StyleGAN "
            "metrics do, `np.clip(x * 127.5 + 128, 0, 255).astype(np.uint8)` (clamp, then truncate). "
            f"Received: images.dtype={images.dtype}"
        )
    if images.shape[1] < 1 or images.shape[2] < 1:
        raise ValueError(f"`images` must have a non-empty spatial size. Received: images.shape={images.shape}")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def file_sha256(path, chunk_size=1 << 20):
    """Hex SHA-256 of the file at `path`, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def torch_available():
    """Whether `import torch` would succeed, without importing it."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def _is_keras_weights(weights):
    if weights is None or isinstance(weights, str) and weights == "imagenet":
        return True
    if isinstance(weights, (str, os.PathLike)):
        return os.fspath(weights).lower().endswith(_KERAS_SUFFIXES)
    # A `keras.Model` instance.
    return True


def feature_network(name="auto", weights=None, batch_size=64, device="cpu", allow_pickle=False):
    """Builds the feature network of the quality metrics.

    Args:
        name: str. `"inception_torchscript"` (NVIDIA's FID Inception, needs
            torch and its weights file), `"inception_keras"`
            (`keras.applications.InceptionV3`) or `"auto"`: the TorchScript
            network when a weights file for it is given (or set in the
            `KERAS_CREPS_INCEPTION_PKL` environment variable) and torch is
            installed, else the Keras one. Defaults to `"auto"`.
        weights: str, path, `keras.Model` or `None`. For
            `"inception_torchscript"`: path to NVIDIA's
            `inception-2015-12-05` file (`None` reads the environment
            variable). For `"inception_keras"`: `None`/`"imagenet"` (the file
            cached by Keras in `~/.keras/models`), a `.h5`/`.weights.h5`
            weights file, a `.keras` model or a model instance. Defaults to
            `None`.
        batch_size: int. Images per forward pass. Defaults to `64`.
        device: str. Torch device of the TorchScript network; ignored by the
            Keras one. Defaults to `"cpu"`.
        allow_pickle: bool. Let the TorchScript network read a Python pickle
            (StyleGAN3's `.pkl` copy), which runs code stored in the file. See
            `TorchScriptInception`. Defaults to `False`.

    Returns:
        A `FeatureNetwork`.

    Raises:
        FileNotFoundError: the weights are missing; the message says how to
            get them. Nothing is ever downloaded.
        ImportError: `"inception_torchscript"` without torch installed.

    Example:

    ```python
    net = feature_network("inception_torchscript", weights="inception-2015-12-05.pt")
    features = net(images)  # float64 [N, 2048]
    ```
    """
    if not isinstance(name, str) or name not in _NAMES:
        raise ValueError(f"`name` must be one of {_NAMES}. Received: name={name!r}")
    if name == "auto":
        name = _resolve_auto(weights)
    if name == "inception_torchscript":
        from keras_creps.metrics.inception_torchscript import TorchScriptInception

        path = weights if weights is not None else os.environ.get(INCEPTION_PKL_ENV) or None
        return TorchScriptInception(path, device=device, batch_size=batch_size, allow_pickle=allow_pickle)
    from keras_creps.metrics.inception_keras import InceptionKeras

    return InceptionKeras(weights="imagenet" if weights is None else weights, batch_size=batch_size)


def _resolve_auto(weights):
    if weights is not None:
        if _is_keras_weights(weights):
            return "inception_keras"
        # An explicit non-Keras file can only be the TorchScript network: let
        # its constructor raise the missing-torch error rather than silently
        # computing different (Keras) features.
        return "inception_torchscript"
    if os.environ.get(INCEPTION_PKL_ENV):
        if torch_available():
            return "inception_torchscript"
        warnings.warn(
            f"{INCEPTION_PKL_ENV} is set but torch is not installed (pip install torch==2.13.0); "
            "using the Keras InceptionV3, whose metrics carry the `_keras` suffix.",
            stacklevel=3,
        )
    return "inception_keras"

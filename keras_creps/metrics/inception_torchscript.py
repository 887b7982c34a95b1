"""NVIDIA's FID Inception network (`inception-2015-12-05`), run with torch.

StyleGAN2-ADA and StyleGAN3 compute FID/KID/precision-recall with NVIDIA's
TorchScript translation of the 2015 TensorFlow Inception graph.
Its call contract, as the StyleGAN3 metric code uses it:

- input: a uint8 tensor `[N, 3, H, W]` (NCHW) with values 0..255, any `H, W`
  (the network resizes to 299x299 and normalises internally); grayscale
  images are repeated to 3 channels by the caller;
- `net(images, return_features=True)`: the 2048-d pool features `[N, 2048]`.

NVIDIA publishes the network in two files:

- `inception-2015-12-05.pt` (StyleGAN2-ADA-PyTorch): a TorchScript archive,
  read with `torch.jit.load`;
- `inception-2015-12-05.pkl` (StyleGAN3): read by StyleGAN3 with
  `pickle.load`, so a Python pickle (a TorchScript archive is a zip file,
  which `pickle.load` cannot read). Unpickling can run code and import
  modules named in the file, so it is refused unless `allow_pickle=True`.

The file format is recognised from its first bytes, not its name. torch is
imported only when this network is built, and the Keras backend plays no
part: the features are the same whichever backend is active.
"""

import os
import pickle

import numpy as np

from keras_creps.metrics.feature_network import INCEPTION_PKL_ENV, FeatureNetwork, file_sha256

__all__ = ["TorchScriptInception", "INCEPTION_PKL_URL", "INCEPTION_PT_URL"]

INCEPTION_PKL_URL = (
    "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files/metrics/inception-2015-12-05.pkl"
)
INCEPTION_PT_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"
TORCH_INSTALL_HINT = "pip install torch==2.13.0"

_ZIP_MAGIC = b"PK\x03\x04"
# Pickle protocols 2+ start with the PROTO opcode.
_PICKLE_MAGIC = b"\x80"


def _howto(path):
    where = f"No file at {path}. " if path else "No weights file was given. "
    return (
        where + "NVIDIA's FID Inception network is never downloaded by keras-creps. Download it once, e.g.\n"
        f"    curl -L -o inception-2015-12-05.pt {INCEPTION_PT_URL}\n"
        "(TorchScript, loads as is), or StyleGAN3's copy of the same network\n"
        f"    {INCEPTION_PKL_URL}\n"
        "(a Python pickle: pass allow_pickle=True, with https://github.com/NVlabs/stylegan3 on PYTHONPATH "
        "for the modules it may name). "
        f"Then pass its path as `weights=` to `feature_network(...)`, or set {INCEPTION_PKL_ENV}=/path/to/file."
    )


def _import_torch():
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"The TorchScript Inception network needs PyTorch: {TORCH_INSTALL_HINT} "
            "(or use feature_network('inception_keras'))."
        ) from error
    return torch


class TorchScriptInception(FeatureNetwork):
    """NVIDIA's FID Inception (`inception-2015-12-05`): 2048-d pool3 features.

    The network that the FID/KID/precision-recall numbers of the StyleGAN
    papers come from; metrics computed with it carry no name suffix.
    Images go in as the uint8 NCHW tensor the network expects (see the
    module docstring); it does its own resize and normalisation.

    Args:
        path: str or path. NVIDIA's `inception-2015-12-05.pt` (TorchScript)
            or, with `allow_pickle=True`, StyleGAN3's `.pkl`. `None` reads
            the `KERAS_CREPS_INCEPTION_PKL` environment variable.
        device: str or `torch.device`. Where the network runs. Defaults to
            `"cpu"`.
        batch_size: int. Images per forward pass. Defaults to `64`.
        allow_pickle: bool. Read a Python-pickle file with `pickle.load`,
            which runs code stored in the file: only for a trusted file.
            Defaults to `False`.

    Example:

    ```python
    net = TorchScriptInception("inception-2015-12-05.pt")
    features = net(images)  # uint8 [N, H, W, 3] -> float64 [N, 2048]
    ```

    References:
        - [Heusel et al., 2017. GANs Trained by a Two Time-Scale Update Rule
          Converge to a Local Nash Equilibrium](https://arxiv.org/abs/1706.08500)
        - [Karras et al., 2021. Alias-Free Generative Adversarial
          Networks](https://github.com/NVlabs/stylegan3), `metrics/`.
    """

    name = "inception_torchscript"
    metric_suffix = ""
    feature_dim = 2048

    def __init__(self, path=None, device="cpu", batch_size=64, allow_pickle=False):
        super().__init__(batch_size=batch_size)
        if path is None:
            path = os.environ.get(INCEPTION_PKL_ENV) or None
        if path is None or not os.path.isfile(os.fspath(path)):
            raise FileNotFoundError(_howto(None if path is None else os.fspath(path)))
        self.path = os.fspath(path)
        self._torch = _import_torch()
        self.device = self._torch.device(device)
        self.net = self._load(allow_pickle)
        self._cache_key = None

    def _load(self, allow_pickle):
        torch = self._torch
        with open(self.path, "rb") as f:
            magic = f.read(4)
        if magic == _ZIP_MAGIC:
            net = torch.jit.load(self.path, map_location=self.device)
        elif magic[:1] == _PICKLE_MAGIC:
            if not allow_pickle:
                raise ValueError(
                    f"{self.path} is a Python pickle, not a TorchScript archive (StyleGAN3 reads its "
                    "inception-2015-12-05.pkl with pickle.load). Unpickling can run code and import modules "
                    "named in the file. Pass allow_pickle=True for a trusted file (with "
                    "https://github.com/NVlabs/stylegan3 on PYTHONPATH if it names StyleGAN3's modules), or use "
                    f"the TorchScript file {INCEPTION_PT_URL}. Received: allow_pickle={allow_pickle}"
                )
            with open(self.path, "rb") as f:
                try:
                    net = pickle.load(f)
                except ModuleNotFoundError as error:
                    raise ImportError(
                        f"Unpickling {self.path} needs the module {error.name!r}: put a checkout of "
                        "https://github.com/NVlabs/stylegan3 on PYTHONPATH."
                    ) from error
            net = net.to(self.device)
        else:
            raise ValueError(
                f"The Inception file is neither a TorchScript archive nor a pickle (first bytes {magic!r}); "
                f"expected NVIDIA's inception-2015-12-05.pt ({INCEPTION_PT_URL}). Received: path={self.path!r}"
            )
        return net.eval()

    def to_nchw_tensor(self, images):
        """uint8 NumPy `[B, H, W, 3]` -> the uint8 torch tensor `[B, 3, H, W]` the network takes."""
        nchw = np.ascontiguousarray(np.transpose(images, (0, 3, 1, 2)))
        return self._torch.from_numpy(nchw).to(self.device)

    def _extract(self, images):
        x = self.to_nchw_tensor(images)
        with self._torch.no_grad():
            features = self.net(x, return_features=True)
        return features.detach().to("cpu", self._torch.float64).numpy()

    def cache_key(self):
        """`"inception_torchscript-sha256:<16 hex>"` of the weights file."""
        if self._cache_key is None:
            self._cache_key = f"{self.name}-sha256:{file_sha256(self.path)[:16]}"
        return self._cache_key

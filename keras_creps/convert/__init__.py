"""Import weights of the official CREPS PyTorch implementation.

The official networks (VinAIResearch/CREPS) store each layer under a dotted
name such as `synthesis.b8.fc0.affine.weight`; our layers keep the same path
with `/` separators (`synthesis/b8/fc0/affine/kernel`), so the mapping is
mechanical: fully connected weights `[out, in]` become Keras kernels
`[in, out]`, discriminator conv weights `[O, I, k, k]` become `[k, k, I, O]`,
the Fourier input's buffers are reshaped, and the few official
parameters that the forward pass never uses are dropped. Runtime gains
(equalized learning rate) are applied in `call`, exactly as the official code
does, so stored values are copied unchanged.

Official `network-snapshot-*.pkl` files are read without torch and without
running the code they embed (`keras_creps.official_pickle`), then converted
with `generator_from_official_pickle` / `discriminator_from_official_pickle`;
`describe_official_pickle` summarises a loaded file in bounded time and length.

Modules: `state_dicts` (copying and checking), `generator`, `discriminator`,
`pickles` (networks straight from a pickle file).
"""

from keras_creps.convert.discriminator import discriminator_from_official
from keras_creps.convert.discriminator import official_discriminator_kwargs
from keras_creps.convert.generator import generator_from_official
from keras_creps.convert.generator import official_generator_kwargs
from keras_creps.convert.pickles import discriminator_from_official_pickle
from keras_creps.convert.pickles import generator_from_official_pickle
from keras_creps.official_pickle import OfficialPickleError
from keras_creps.official_pickle import UnsafePickleError
from keras_creps.official_pickle import describe_official_pickle
from keras_creps.official_pickle import load_official_pickle
from keras_creps.official_pickle import short_repr

__all__ = [
    "OfficialPickleError",
    "UnsafePickleError",
    "describe_official_pickle",
    "discriminator_from_official",
    "discriminator_from_official_pickle",
    "generator_from_official",
    "generator_from_official_pickle",
    "load_official_pickle",
    "official_discriminator_kwargs",
    "official_generator_kwargs",
    "short_repr",
]

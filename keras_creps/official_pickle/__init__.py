"""Read official CREPS network pickles without torch and without running them.

The official training loop saves `network-snapshot-*.pkl` with a plain
`pickle.dump` of a dict (`G`, `D`, `G_ema`, `augment_pipe`,
`training_set_kwargs`). Its networks are `torch_utils.persistence` objects:
each reduces to `_reconstruct_persistent_obj(meta)`, where `meta` holds the
Python source of the defining module (which the official loader executes),
the class name, the constructor kwargs and the module's `__dict__`. Tensors
reduce to `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
...)`, and every storage to `torch.storage._load_from_bytes(data)`, where
`data` is a legacy-format `torch.save` stream (torch 1.x and 2.x alike):
four small pickles (magic number, format version, system info, the storage
itself as a persistent id), the list of storage keys, then per storage an
int64 element count followed by the raw elements.

`load_official_pickle` reads such a file with a `pickle.Unpickler` whose
`find_class` resolves only an explicit allow-list of names, each to a stand-in
defined here. Nothing named in the file is imported, the embedded source is
kept as a hash and never executed, and tensors are decoded with NumPy. Any
other global raises `UnsafePickleError`.

A hostile file can also try to exhaust memory or time instead of running
code, so the reader works within budgets, and a file that exceeds one is
refused with an `OfficialPickleError` naming the limit:

- every pickle stream (the file itself and the small pickles inside each
  storage) is first scanned with `pickletools.genops`, which only parses:
  at most `_MAX_OPCODES` opcodes in all, memo indices no larger than the
  number of opcodes read so far (the C unpickler sizes its memo by the
  largest index), at most `_MAX_STACK` items on the stack and `_MAX_MARKS`
  nested MARKs, tuples nested at most `_MAX_DEPTH` deep, and at most
  `_MAX_HASH_WORK` steps of hashing dict keys and set items (a tuple hashes
  everything it holds, so a few bytes of shared tuples can make one key cost
  2**60 steps, and hashing a million nested tuples overflows the C stack);
- decoded tensor and array data (and the sets, state-dict entries and
  copies the reader builds) is limited to `max_tensor_bytes` in all (by
  default 4x the file size plus 512 MiB), so a stride-0 view or a storage
  referenced many times cannot multiply a small file into gigabytes; each
  storage stream and each module source is decoded or hashed once however
  often the pickle references it;
- the conversion to plain data converts each shared object once, refuses
  cycles and nesting beyond `_MAX_DEPTH`, and bounds module visits and
  state-dict entries; `describe_official_pickle` summarises the result in
  bounded time and length whatever its structure.

The package imports neither torch nor Keras. Its modules, in reading order:
`limits` (errors, budgets), `torch_format`, `opcode_scan`, `stand_ins`,
`unpicklers`, `plain_data`, `summary` and `reader`.
"""

from keras_creps.official_pickle.limits import OfficialPickleError
from keras_creps.official_pickle.limits import UnsafePickleError
from keras_creps.official_pickle.reader import load_official_pickle
from keras_creps.official_pickle.summary import describe_official_pickle
from keras_creps.official_pickle.summary import short_repr

__all__ = [
    "OfficialPickleError", "UnsafePickleError", "describe_official_pickle", "load_official_pickle", "short_repr",
]

"""Networks straight from an official `network-snapshot-*.pkl`."""

from keras_creps.convert.discriminator import discriminator_from_official
from keras_creps.convert.generator import generator_from_official
from keras_creps.convert.state_dicts import file_keys
from keras_creps.official_pickle import load_official_pickle
from keras_creps.official_pickle import short_repr


def _official_network(source, which, allowed, class_name, marker):
    """The `which` network record of an official pickle (path, file or loaded dict)."""
    if which not in allowed:
        raise ValueError(f"`which` must be one of {list(allowed)}. Received: which={which!r}")
    if isinstance(source, dict):
        data, name = source, "the loaded pickle"
    else:
        data, name = load_official_pickle(source), repr(str(getattr(source, "name", source)))
    record = data.get(which)
    if not isinstance(record, dict) or "state_dict" not in record:
        raise ValueError(f"{name} has no network {which!r}. It has: {file_keys(data)}")
    if record["class_name"] != class_name or marker not in record["state_dict"]:
        raise ValueError(
            f"{name}[{which!r}] is a {short_repr(record['class_name'])} without {marker!r}, not an official CREPS "
            f"{class_name}; StyleGAN2/3 pickles are not supported."
        )
    return record


def generator_from_official_pickle(source, which="G_ema"):
    """Builds a `CREPSGenerator` from an official CREPS network pickle.

    The pickle is read by `load_official_pickle` (no torch, nothing in the
    file executed; foreign globals raise `UnsafePickleError`); the network's
    stored constructor kwargs and state dict then go through
    `generator_from_official`.

    Args:
        source: str, `os.PathLike`, a binary file object, or the dict that
            `load_official_pickle` returned.
        which: str. `"G_ema"` (the moving average, the network to sample
            from) or `"G"` (the trained generator, to resume training).
            Defaults to `"G_ema"`.

    Returns:
        A `CREPSGenerator` with the official weights.

    Raises:
        UnsafePickleError: the file names a global outside the allow-list.
        ValueError: the file is not an official CREPS pickle, or the network
            does not fit (see `generator_from_official`).

    Example:
    ```python
    generator = generator_from_official_pickle("network-snapshot-025000.pkl")
    images = generator(np.random.randn(4, generator.z_dim).astype("float32"))
    generator.save("generator.keras")
    ```
    """
    record = _official_network(source, which, ("G_ema", "G"), "Generator", "synthesis.b4.input.freqs")
    return generator_from_official(record["state_dict"], **record["init_kwargs"])


def discriminator_from_official_pickle(source, which="D"):
    """Builds a `CREPSDiscriminator` from an official CREPS network pickle.

    Like `generator_from_official_pickle`, for the discriminator
    (`discriminator_from_official` does the mapping).

    Args:
        source: str, `os.PathLike`, a binary file object, or the dict that
            `load_official_pickle` returned.
        which: str. The pickle entry to convert. Defaults to `"D"`.

    Returns:
        A `CREPSDiscriminator` with the official weights.

    Raises:
        UnsafePickleError: the file names a global outside the allow-list.
        ValueError: the file is not an official CREPS pickle, or the network
            does not fit (see `discriminator_from_official`).

    Example:
    ```python
    discriminator = discriminator_from_official_pickle("network-snapshot-025000.pkl")
    discriminator.save("discriminator.keras")
    ```
    """
    record = _official_network(source, which, ("D",), "Discriminator", "b4.out.weight")
    return discriminator_from_official(record["state_dict"], **record["init_kwargs"])

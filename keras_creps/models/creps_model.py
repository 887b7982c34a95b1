"""`CREPSModel`: the networks' base class, giving `from_preset` and `save_to_preset`."""

import keras

from keras_creps.utils import preset_io


class CREPSModel(keras.Model):
    """Base class of the CREPS networks: a `keras.Model` that saves and loads presets.

    `CREPSGenerator` and `CREPSDiscriminator` inherit `from_preset` and
    `save_to_preset`, thin wrappers around `keras_creps.utils.preset_io`
    (which knows files, not networks, so nothing here imports a network).
    """

    @classmethod
    def from_preset(cls, preset, load_weights=True):
        """Loads a network of this class saved with `save_to_preset`.

        Args:
            preset: str or `Path`. A preset directory (`config.json`,
                `model.weights.h5`, `metadata.json`), or the name of a named
                preset (installed, or in a clone's `saved_models/`). A
                discriminator is also found in the `discriminator/`
                sub-preset of a generator preset.
            load_weights: bool. `False` returns the model the config
                describes with fresh weights. Defaults to `True`.

        Example:
        ```python
        generator = keras_creps.CREPSGenerator.from_preset("creps_emoji_64")
        discriminator = keras_creps.CREPSDiscriminator.from_preset("creps_emoji_64")  # its discriminator/
        ```
        """
        return preset_io.from_preset(preset, cls=cls, load_weights=load_weights)

    def save_to_preset(self, preset_dir, metadata=None):
        """Saves this network as a preset directory (see `keras_creps.utils.preset_io`).

        Args:
            preset_dir: str or `Path`. Directory to write (atomically); an
                existing preset there is replaced, any other non-empty
                directory is refused.
            metadata: dict or None. JSON facts for `metadata.json` and the
                model card (`description`, `training_data`, `kimg`,
                `metrics`, `license`, ...). Defaults to `None`.

        Returns:
            The preset directory, as a `Path`.

        Example:
        ```python
        generator.save_to_preset("saved_models/tiny", metadata={"kimg": 100})
        ```
        """
        return preset_io.save_to_preset(self, preset_dir, metadata=metadata)

"""Evidence that training learns: the generated colour statistics move to the data's."""

import keras
import numpy as np
from test_case import TestCase

from keras_creps import CREPSDiscriminator
from keras_creps import CREPSGAN
from keras_creps import CREPSGenerator

R = 8
STEPS = 200
BATCH = 8


def toy_dataset(count=256, seed=0):
    """Orange-ish images: a per-image colour around one mean plus pixel noise."""
    rng = np.random.RandomState(seed)
    mean = np.array([0.7, -0.1, -0.6], "float32")
    colour = mean + 0.15 * rng.standard_normal((count, 1, 1, 3))
    images = colour + 0.05 * rng.standard_normal((count, R, R, 3))
    return np.clip(images, -1, 1).astype("float32")


class TestLearning(TestCase):
    def test_mean_colour_moves_to_the_data(self):
        images = toy_dataset()
        generator = CREPSGenerator(
            R, z_dim=32, w_dim=32, channel_base=256, channel_max=32, biline_channels=8, rank=2, mapping_layers=2
        )
        discriminator = CREPSDiscriminator(R, channel_base=256, channel_max=32, mapping_layers=2)
        gan = CREPSGAN(generator, discriminator)
        # Lazy regularization every 4 steps (two compiled step variants),
        # small gamma; plain graphs on TensorFlow compile faster than XLA here.
        gan.compile(r1_gamma=0.1, g_reg_interval=4, d_reg_interval=4,
                    jit_compile=keras.config.backend() == "jax")
        z = np.random.RandomState(1).standard_normal((64, 32)).astype("float32")
        target = images.mean(axis=(0, 1, 2))

        def colour_distance():
            fakes = keras.ops.convert_to_numpy(gan.generator_ema(z))
            return float(np.linalg.norm(fakes.mean(axis=(0, 1, 2)) - target))

        before = colour_distance()
        history = gan.fit(
            images, np.zeros((len(images), 0), "float32"), batch_size=BATCH, epochs=1,
            steps_per_epoch=STEPS, verbose=0,
        ).history
        after = colour_distance()
        print(f"{keras.config.backend()}: mean-colour distance {before:.3f} -> {after:.3f} "
              f"({after / before:.1%}) after {STEPS} steps")
        assert all(np.isfinite(values[-1]) for values in history.values())
        assert before > 0.5
        assert after <= 0.5 * before, (before, after)

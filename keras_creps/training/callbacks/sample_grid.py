"""`SampleGridCallback`: a grid of EMA-generator samples per snapshot, and the reals once."""

import os

import keras
import numpy as np

from keras_creps.training.callbacks.clock import TrainingClock
from keras_creps.training.callbacks.clock import non_finite_terms
from keras_creps.training.callbacks.tensorboard import summary_writer
from keras_creps.utils.run_dir import kimg_tag
from keras_creps.utils.images import image_grid
from keras_creps.utils.images import save_png

__all__ = ["SampleGridCallback"]


def _class_rows(c_dim, columns):
    """One row per class: `columns` one-hot labels of class 0, then class 1, ..."""
    classes = np.repeat(np.arange(c_dim), columns)
    return np.eye(c_dim, dtype=np.float32)[classes]


class SampleGridCallback(TrainingClock):
    """Writes a grid of EMA-generator samples per snapshot, plus the reals once.

    The latents are drawn once from `seed`, so successive `fakes<kimg>.png`
    show the same samples as training goes on. A conditional generator gets
    one row per class (`columns` samples each, sharing the latents across
    rows); an unconditional one `rows x columns` samples. `reals.png` is a
    grid of `reals` (e.g. the first training images), written at the start
    of training if it does not exist yet. With `log_dir`, the grids also go
    to TensorBoard as images (`fakes`, `reals`), at step = images seen.

    Args:
        run_dir: str. Where the PNG files go.
        every_kimg, every_steps, batch_size: the schedule (see
            `SnapshotCallback`).
        columns: int. Samples per row. Defaults to 8.
        rows: int. Rows of an unconditional grid. Defaults to 4.
        seed: int. Seed of the latents. Defaults to 0.
        truncation_psi: float. Defaults to 1.
        reals: array or None. Real images `[N, H, W, C]`, uint8 or in
            `[-1, 1]`, for `reals.png`.
        at_begin: bool. Also write `fakes<kimg>.png` when training starts
            (the official `fakes_init.png`). Defaults to True.
        at_end: bool. Also write one when training ends off-schedule.
        log_dir: str or None. TensorBoard directory for image summaries.
        render_batch: int. Samples per generator call. Defaults to 16.

    Example:
    ```python
    grids = SampleGridCallback("runs/00000-demo", every_kimg=50, batch_size=32, reals=first_batch)
    ```
    """

    def __init__(
        self,
        run_dir,
        every_kimg=None,
        every_steps=None,
        batch_size=None,
        columns=8,
        rows=4,
        seed=0,
        truncation_psi=1.0,
        reals=None,
        at_begin=True,
        at_end=True,
        log_dir=None,
        render_batch=16,
    ):
        super().__init__(every_steps=every_steps, every_kimg=every_kimg, batch_size=batch_size)
        for name, value in (("columns", columns), ("rows", rows), ("render_batch", render_batch)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an int >= 1. Received: {name}={value!r}")
        self.run_dir = os.fspath(run_dir)
        self.columns = columns
        self.rows = rows
        self.seed = int(seed)
        self.truncation_psi = float(truncation_psi)
        self.reals = reals
        self.at_begin = bool(at_begin)
        self.at_end = bool(at_end)
        self.log_dir = log_dir
        self.render_batch = render_batch
        self.written = []
        self._poisoned = False
        self._last_step = None
        self._z = None
        self._c = None

    def _latents(self, generator):
        c_dim = generator.c_dim
        count = self.columns * (c_dim if c_dim else self.rows)
        if self._z is None or len(self._z) != count:
            z = np.random.RandomState(self.seed).standard_normal((self.columns, generator.z_dim)).astype(np.float32)
            if c_dim:
                self._z = np.tile(z, (c_dim, 1))
                self._c = _class_rows(c_dim, self.columns)
            else:
                extra = np.random.RandomState(self.seed + 1).standard_normal(
                    (count - self.columns, generator.z_dim)).astype(np.float32)
                self._z = np.concatenate([z, extra])
                self._c = None
        return self._z, self._c

    def render(self, generator):
        """The sample grid of `generator` as a uint8 `[H, W, C]` array."""
        z, c = self._latents(generator)
        chunks = []
        for start in range(0, len(z), self.render_batch):
            zs = z[start:start + self.render_batch]
            cs = None if c is None else c[start:start + self.render_batch]
            out = generator(zs, cs, truncation_psi=self.truncation_psi)
            chunks.append(keras.ops.convert_to_numpy(keras.ops.cast(out, "float32")))
        return image_grid(np.concatenate(chunks), self.columns)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        reals_path = os.path.join(self.run_dir, "reals.png")
        if self.reals is not None and not os.path.exists(reals_path):
            grid = image_grid(self.reals, self.columns)
            save_png(reals_path, grid)
            self._summary("reals", grid)
        if self.at_begin:
            self.write()

    def on_train_batch_end(self, batch, logs=None):
        due = self._advance(logs)
        if non_finite_terms(logs):
            self._poisoned = True
        if due and not self._poisoned:
            self.write()

    def on_train_end(self, logs=None):
        if self.at_end and not self._poisoned and self._last_step != self.step:
            self.write()

    def write(self):
        """Renders and writes `fakes<kimg>.png` now; returns its path."""
        gan = self._sync()
        grid = self.render(gan.generator_ema)
        path = os.path.join(self.run_dir, f"fakes{kimg_tag(self.seen_images)}.png")
        save_png(path, grid)
        self._summary("fakes", grid)
        self._last_step = self.step
        self.written.append(path)
        return path

    def _summary(self, name, grid):
        if self.log_dir is None:
            return
        import tensorflow as tf

        with summary_writer(self.log_dir).as_default():
            tf.summary.image(name, grid[None], step=self.seen_images)

import tracemalloc

import keras
import numpy as np
import pytest

from keras_creps import CREPSGenerator
from keras_creps.rendering import view_coords
from keras_creps.rendering.seed_batches import MAX_SEED
from keras_creps.rendering.seed_batches import SeedBatchRenderer
from keras_creps.rendering.seed_batches import class_labels
from keras_creps.rendering.seed_batches import plan_seed_batches
from keras_creps.rendering.seed_batches import seed_latents
from keras_creps.rendering.seed_batches import seeds_per_batch


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(3)
    return CREPSGenerator(resolution=16, z_dim=8, w_dim=8, c_dim=3, channel_base=256, channel_max=32,
                          biline_channels=8, mapping_layers=1)


def test_plan_keeps_100_seeds_at_4096_within_the_budget():
    budget = 256 << 20
    plan = plan_seed_batches(100, 4096, 4096, 3, budget)
    assert plan[0] == (0, 5) and plan[-1] == (95, 100) and len(plan) == 20
    assert all(a[1] == b[0] for a, b in zip(plan, plan[1:]))  # contiguous, every seed once
    assert max(stop - start for start, stop in plan) * 4096 * 4096 * 3 <= budget
    # All 100 at once would be 4.7 GiB of uint8 (18.8 GiB as float32).
    assert seeds_per_batch(16384, 16384, 3, budget) == 1  # one image over the budget still renders alone
    assert plan_seed_batches(0, 8, 8, 3) == []
    with pytest.raises(ValueError, match="budget_bytes=0"):
        plan_seed_batches(4, 8, 8, 3, 0)


def test_seed_latents_are_the_official_draws():
    z = seed_latents([0, 7, MAX_SEED], 5)
    assert z.dtype == np.float32 and z.shape == (3, 5)
    np.testing.assert_array_equal(z[1], np.random.RandomState(7).randn(5).astype(np.float32))
    for bad in (-1, MAX_SEED + 1, 1.5):
        with pytest.raises(ValueError, match="seed="):
            seed_latents([bad], 5)


def test_class_labels():
    np.testing.assert_array_equal(class_labels(2, 3, 2), [[0, 0, 1], [0, 0, 1]])
    assert class_labels(None, 0, 4) is None
    with pytest.raises(ValueError, match="class_index=3"):
        class_labels(3, 3, 1)
    with pytest.raises(ValueError, match="needs a `class_index`"):
        class_labels(None, 3, 1)


def test_batches_equal_one_render(tiny):
    seeds, rows, cols = list(range(10)), *view_coords(24, 20)
    renderer = SeedBatchRenderer(tiny, budget_bytes=3 * 24 * 20 * 3)
    whole = renderer.render(seed_latents(seeds, 8), class_labels(1, 3, len(seeds)), rows, cols)
    assert whole.dtype == np.uint8 and whole.shape == (10, 24, 20, 3)
    starts = []
    for start, images in renderer.batches(seeds, rows, cols, class_index=1):
        starts.append(start)
        assert np.abs(images.astype(int) - whole[start : start + len(images)].astype(int)).max() <= 1
    assert starts == [0, 3, 6, 9]


def test_batches_hold_one_batch_not_all_seeds(tiny):
    seeds, size = list(range(48)), 192
    rows, cols = view_coords(size)
    image = size * size * 3
    renderer = SeedBatchRenderer(tiny, budget_bytes=2 * image)
    for _ in renderer.batches(seeds[:2], rows, cols, class_index=1):  # compile the batch shape first
        pass
    tracemalloc.start()
    try:
        for _, images in renderer.batches(seeds, rows, cols, class_index=1):
            assert len(images) == 2
            del images
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # NumPy memory at any time: one batch plus the generator's tiles (~1.5 MB here, whatever the seed
    # count), not the 48 images at once (5.3 MB as uint8, 21 MB as float32).
    assert peak < len(seeds) * image / 2, f"peak {peak} bytes; one image is {image}"


def test_rotated_views_in_padded_chunks(tiny):
    rows, cols = view_coords(7, 9)
    z, c = seed_latents([5, 6], 8), class_labels(0, 3, 2)
    renderer = SeedBatchRenderer(tiny)
    plain = renderer.render(z, c, rows, cols)
    turned = renderer.render(z, c, rows, cols, rotate=360.0)  # the point renderer, sampling the grid itself
    assert np.abs(turned.astype(int) - plain.astype(int)).max() <= 1
    square = view_coords(6)
    quarter = SeedBatchRenderer(tiny, point_chunk=4).render(z, c, *square, rotate=90.0)  # 1x4 tiles, edges padded
    reference = renderer.render(z, c, *square)
    assert np.abs(quarter.astype(int) - np.rot90(reference, axes=(1, 2)).astype(int)).max() <= 1


def test_jit_compile_reaches_the_grid_and_point_renderers(tiny, monkeypatch):
    asked = []
    for name in ("make_generate_function", "make_points_function"):
        made = getattr(CREPSGenerator, name)

        def recording(self, *args, _made=made, _name=name, **kwargs):
            asked.append((_name, kwargs.get("jit_compile")))
            return _made(self, *args, **kwargs)

        monkeypatch.setattr(CREPSGenerator, name, recording)
    rows, cols = view_coords(6)
    z, c = seed_latents([1, 2], 8), class_labels(2, 3, 2)
    plain = SeedBatchRenderer(tiny, jit_compile=False)
    images = plain.render(z, c, rows, cols)
    turned = plain.render(z, c, rows, cols, rotate=360.0)
    assert asked == [("make_generate_function", False), ("make_points_function", False)]
    compiled = SeedBatchRenderer(tiny).render(z, c, rows, cols)  # "auto": XLA / jit where the backend has it
    assert np.abs(images.astype(int) - compiled.astype(int)).max() <= 1
    assert np.abs(turned.astype(int) - images.astype(int)).max() <= 1


def test_bad_jit_compile_is_named(tiny):
    with pytest.raises(ValueError, match="jit_compile='yes'"):
        SeedBatchRenderer(tiny, jit_compile="yes")

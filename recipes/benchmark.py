r"""Inference benchmark of the CREPS generator (paper FFHQ configuration).

Times `CREPSGenerator` on this machine under the configuration names and the
JSON schema of the official implementation's benchmark
(`shared/tools/official_bench.py`), so that the two result files compare key
by key: `results.<name>.median_s_per_batch`, `images_per_s`, `peak_rss_mb`,
`macs_per_image`, `achieved_gflops`.

Each configuration runs in a fresh subprocess: import, build the generator
(random weights, z = w = 512, channel_base 65536, channel_max 1024, biline 32,
rank 8, 8 mapping layers), compile the inference path (XLA on TensorFlow and
JAX), one warm-up call, then `--runs` timed calls of mapping + synthesis of
the native grid. Reported: median / min / max seconds per batch, images/s,
RSS after imports, after building, peak RSS and the working memory (peak
minus after-imports), analytic MACs and achieved GFLOP/s, and beside them the
rate of one large matrix product in the same backend and precision
(`_matmul_rate.py`): the share of it a configuration reaches says how much a
faster implementation could still gain on this hardware.

Training throughput (`train_*` configurations, not in the default set): a
`CREPSGAN` of a named configuration (`keras_creps.training.configs`) trains
with `fit` on random real images in [-1, 1]: 5 warm-up steps (they compile
all three step variants), then 16 timed steps (steps 5..20: path length on 4
of them, R1 on 1, as in one lazy-regularization cycle) in one `fit` call,
timed from the first step's start to the last one's end. Reported: mean
seconds per step (= per iteration of the official loop), s/kimg, images/s
and the peak RSS, comparable with
`shared/tools/official_train_bench.py` (`--train_compare`). Beside them the
step's analytic MACs (`_train_flops.py`), its GFLOP/s and their share of the
matrix-product rate, and, with an official result, the official's GFLOP/s
and the ceiling: the speed-up over the official that a step running at the
matrix-product rate would reach.

Usage:
    python recipes/benchmark.py --backend tensorflow --out bench.json
    python recipes/benchmark.py --backend jax --only train_small_64_b16 --train_compare official_train.json
    python recipes/benchmark.py --backend jax --only creps_256_b1 --runs 3
    python recipes/benchmark.py --backend tensorflow --compare official.json
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

from _benchmark_report import config_name
from _benchmark_report import load_json
from _benchmark_report import print_table
from _benchmark_report import print_train_table
from _benchmark_report import result_key
from _matmul_rate import matmul_gflops
from _command_line import CommandLine
from _startup import quiet_startup
from _train_flops import training_step_macs
from absl import flags

FLAGS = flags.FLAGS
CLI = CommandLine("benchmark.py")
flags.DEFINE_string("only", None, "Comma-separated subset of the configurations.")
flags.DEFINE_integer("runs", 5, "Timed runs per configuration.")
flags.DEFINE_string("out", None, "Write the results as JSON here.")
flags.DEFINE_enum("backend", None, ["tensorflow", "jax", "torch"], "Keras backend; defaults to $KERAS_BACKEND or tensorflow.")
flags.DEFINE_integer("threads", 2, "Intra-op threads for the backend.")
flags.DEFINE_integer("train_inter_op_threads", None,
                     "TensorFlow's inter-op threads when training (default: 1 on a CPU, as recipes/train.py; "
                     "inference uses --threads).", lower_bound=1)
flags.DEFINE_boolean("jit_compile", True, "Compile with XLA on TensorFlow / JAX, torch.compile on PyTorch.")
flags.DEFINE_string("compare", None, "An official_bench.py JSON result to print side by side.")
flags.DEFINE_string("official_repo", None,
                    "A checkout of VinAIResearch/CREPS: time the official benchmark of each configuration right "
                    "after ours, --repeat times, and print both with their spread.")
flags.DEFINE_string("official_python", None, "The official environment's Python (default: this one).")
flags.DEFINE_string("official_tools", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                   os.pardir, "shared", "tools"),
                    "The directory of official_bench.py and official_train_bench.py.")
flags.DEFINE_integer("repeat", 1, "Times each configuration is run (alternating with the official's).")
flags.DEFINE_float("max_seconds_per_run", 120.0, "Skip the timed runs if the warm-up takes longer.")
flags.DEFINE_float("child_timeout_s", 1200.0, "Time limit of one configuration's process.")
flags.DEFINE_string("child", None, "Internal: run one configuration and print its JSON.")
flags.DEFINE_string("train_compare", None, "An official_train_bench.py JSON result to print side by side.")
flags.DEFINE_boolean("matmul_rate", True,
                     "Also time one [4096, 1024] x [1024, 1024] product in each configuration's backend and "
                     "precision, the ceiling its GFLOP/s are read against (column 'of matmul').")
flags.DEFINE_boolean("keep_freed_memory", True,
                     "Let malloc keep freed memory for reuse as the recipes do, in training and rendering "
                     "(keras_creps.utils.allocator.heap_for_rendering).")
flags.DEFINE_boolean("rendering_xla_flags", True,
                     "Render with XLA's loop emitters on TensorFlow, as recipes/generate.py does "
                     "(keras_creps.utils.xla_cpu.use_rendering_xla_flags).")
flags.DEFINE_boolean("one_malloc_arena", True,
                     "On JAX, one malloc heap for every thread when rendering, as recipes/generate.py does "
                     "(keras_creps.utils.allocator.one_malloc_arena_on_jax).")
flags.DEFINE_boolean("tf_constant_folding", False,
                     "Grappler's constant folding when training on a CPU with TensorFlow (default off, as "
                     "recipes/train.py: keras_creps.utils.tf_constant_folding).")
flags.DEFINE_list("precision", ["float32"],
                  "Precisions to time, each configuration in each: float32, bfloat16 (inference: the line network's "
                  "products in bfloat16, PSNR against float32 reported; training: the mixed_bfloat16 policy). "
                  "bfloat16 results are keyed '<config>_bf16'.")
PRECISIONS = ("float32", "bfloat16")

PAPER_FFHQ = dict(z_dim=512, c_dim=0, w_dim=512, img_channels=3, mapping_layers=8, channel_base=65536, channel_max=1024, biline_channels=32, rank=8)
BENCH = {
    "creps_256_b1": dict(res=256, batch=1),
    "creps_256_b4": dict(res=256, batch=4),
    "creps_512_b1": dict(res=512, batch=1),
    # Extras, not part of the default set.
    "creps_256_b1_scale2": dict(res=256, batch=1, scale=2.0),
    "creps_1024_b1": dict(res=1024, batch=1),
    # A seconds-long run of the whole protocol with a tiny generator (used by the tests).
    "smoke_16_b2": dict(res=16, batch=2, config=dict(z_dim=32, w_dim=32, mapping_layers=2, channel_base=512, channel_max=64, biline_channels=8)),
}
DEFAULT_ORDER = ["creps_256_b1", "creps_256_b4", "creps_512_b1"]
TRAIN_BENCH = {
    # The official training benchmark's configuration: 64^2, batch 16, gamma 0.5.
    "train_small_64_b16": dict(cfg="small", res=64, batch=16, gamma=0.5),
    "train_small_32_b32": dict(cfg="small", res=32, batch=32, gamma=0.5),
    # The CPU demo's networks (saved_models/creps_emoji_64; unconditional here, ADA off).
    "train_demo_64_b16": dict(cfg="demo", res=64, batch=16, gamma=0.05),
    # Seconds-long run of the same protocol (used by the tests).
    "train_tiny_16_b4": dict(cfg="tiny", res=16, batch=4, gamma=0.5),
}
TRAIN_WARMUP_STEPS = 5
TRAIN_TIMED_STEPS = 16


def config_of(spec):
    return dict(PAPER_FFHQ, **spec.get("config", {}))


def rss_mb():
    """This process's resident memory now, in MiB (NaN where it cannot be read)."""
    from keras_creps.utils.memory import current_rss_bytes

    rss = current_rss_bytes()
    return float("nan") if rss is None else rss / 2.0**20


def peak_rss_mb():
    """This process's peak resident memory, in MiB (its own, not a parent's: see `peak_rss_bytes`)."""
    from keras_creps.utils.memory import peak_rss_bytes

    peak = peak_rss_bytes()
    return float("nan") if peak is None else peak / 2.0**20


def set_threads(backend, threads, inter_op=None):
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op or threads)
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)


def run_train_child(name):
    import keras
    import numpy as np

    from keras_creps.utils.training_runtime import configure_training_runtime

    # The settings recipes/train.py makes, in the same call; the flags below
    # override two of them for A/B runs.
    made = configure_training_runtime(keep_freed=FLAGS.keep_freed_memory,
                                      constant_folding=FLAGS.tf_constant_folding)
    backend = keras.config.backend()
    # One inter-op thread on a CPU with TensorFlow (`--train_inter_op_threads` overrides it).
    inter_op = FLAGS.train_inter_op_threads or (1 if made["ops_in_turn"] else None)
    set_threads(backend, FLAGS.threads, inter_op)
    folding_off = made["constant_folding_off"]
    from keras_creps.training.configs import build_gan
    from keras_creps.utils.allocator import release_unused_memory
    from keras_creps.utils.random_seed import set_random_seed

    keras.ops.convert_to_numpy(keras.ops.ones((2,)) + 1)
    rss_import = rss_mb()
    spec = TRAIN_BENCH[name]
    set_random_seed(0)
    if FLAGS.precision[0] == "bfloat16":  # a child times one precision
        keras.config.set_dtype_policy("mixed_bfloat16")
    gan = build_gan(spec["cfg"], spec["res"])
    gan.compile(r1_gamma=spec["gamma"], jit_compile=FLAGS.jit_compile if backend != "torch" else False)
    release_unused_memory()  # as recipes/train.py, before the steps compile
    n_params = int(sum(np.prod(v.shape) for v in gan.generator.trainable_weights + gan.discriminator.trainable_weights))
    count = spec["batch"] * (TRAIN_WARMUP_STEPS + TRAIN_TIMED_STEPS)
    images = np.random.default_rng(0).uniform(-1, 1, (count, spec["res"], spec["res"], 3)).astype("float32")
    labels = np.zeros((count, 0), "float32")
    warm, steps = images[: spec["batch"] * TRAIN_WARMUP_STEPS], images[spec["batch"] * TRAIN_WARMUP_STEPS :]

    class StepTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_begin(self, batch, logs=None):
            self.t0 = time.perf_counter()
            if batch == 0:
                self.first_begin = self.t0

        def on_train_batch_end(self, batch, logs=None):
            self.last_end = time.perf_counter()
            self.times.append(self.last_end - self.t0)

    t0 = time.perf_counter()
    gan.fit(warm, labels[: len(warm)], batch_size=spec["batch"], epochs=1, shuffle=False, verbose=0)
    warm_s = time.perf_counter() - t0
    step_times = StepTimes()
    t0 = time.perf_counter()
    history = gan.fit(steps, labels[: len(steps)], batch_size=spec["batch"], epochs=1, shuffle=False, verbose=0,
                      callbacks=[step_times]).history
    fit_wall = time.perf_counter() - t0
    # The steps are timed from the first one's start to the last one's end
    # (data fetches between them included), not by the wall time of `fit`:
    # on TensorFlow, `fit` returns only once its tf.data iterator is
    # destroyed, and that waits for tf.data's autotuning thread to wake,
    # at 10 ms, 30 ms, 70 ms, ... doubling, then every 60 s after the
    # iterator was made. Measured: `fit` of 16 steps took 142.0 s in both
    # float32 and bfloat16 (81.9 + 60 s) while the steps took 116.7 and
    # 85.9 s; on the demo configuration 10.3 or 20.5 s for 8.9 s of steps.
    total = step_times.last_end - step_times.first_begin
    mean = total / TRAIN_TIMED_STEPS
    rate = matmul_gflops(backend, FLAGS.precision[0]) if FLAGS.matmul_rate else None
    print(json.dumps({
        "name": name, "spec": spec, "backend": backend, "n_params": n_params, "kind": "train",
        "warmup_s": warm_s, "timed_steps": TRAIN_TIMED_STEPS, "timed_total_s": total, "fit_wall_s": fit_wall,
        "mean_s_per_step": mean, "median_step_s": statistics.median(step_times.times),
        "step_times_s": step_times.times,
        "s_per_kimg": mean * 1000 / spec["batch"], "images_per_s": spec["batch"] / mean,
        "final_logs": {k: float(v[-1]) for k, v in history.items()},
        "g_iterations": int(keras.ops.convert_to_numpy(gan.generator_optimizer.iterations)),
        "d_iterations": int(keras.ops.convert_to_numpy(gan.discriminator_optimizer.iterations)),
        "rss_after_import_mb": rss_import,
        "peak_rss_mb": peak_rss_mb(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "inter_op_threads": inter_op, "constant_folding_off": folding_off,
        "step_macs": training_step_macs(gan, spec["batch"]), "matmul_gflops": rate,
    }))


def run_child(name):
    if name in TRAIN_BENCH:
        run_train_child(name)  # makes the training settings, keep_freed_memory among them
        return
    from keras_creps.utils.rendering_runtime import configure_rendering_runtime

    # As recipes/generate.py, before the first computation starts the backend's threads.
    runtime = configure_rendering_runtime(keep_freed=FLAGS.keep_freed_memory, one_arena=FLAGS.one_malloc_arena,
                                          xla_flags=FLAGS.rendering_xla_flags)
    import keras
    import numpy as np

    backend = keras.config.backend()
    set_threads(backend, FLAGS.threads)
    import keras_creps
    from keras_creps.utils.allocator import release_unused_memory
    from keras_creps.utils.random_seed import set_random_seed

    # Start the backend's runtime (JAX creates its XLA client lazily) so that
    # "after imports" means ready to compute, as for an imported torch.
    keras.ops.convert_to_numpy(keras.ops.ones((2,)) + 1)
    rss_import = rss_mb()
    spec = BENCH[name]
    set_random_seed(0)  # Keras' own would import TensorFlow on every backend (~490 MB)
    generator = keras_creps.CREPSGenerator(resolution=spec["res"], **config_of(spec))
    release_unused_memory()  # as recipes/generate.py, before rendering compiles
    n_params = int(sum(np.prod(v.shape) for v in generator.weights))
    precision = FLAGS.precision[0]
    generate = generator.make_generate_function(jit_compile=FLAGS.jit_compile, precision=precision)
    size = int(spec["res"] * spec.get("scale", 1.0))
    coords = np.linspace(0, 1, size, dtype="float32")
    z = np.random.default_rng(0).standard_normal((spec["batch"], generator.z_dim)).astype("float32")
    rss_built = rss_mb()

    t0 = time.perf_counter()
    images = generate(z, rows=coords, cols=coords)
    warm = time.perf_counter() - t0
    too_slow = warm > FLAGS.max_seconds_per_run
    times = []
    if not too_slow:
        for _ in range(FLAGS.runs):
            t0 = time.perf_counter()
            generate(z, rows=coords, cols=coords)
            times.append(time.perf_counter() - t0)
    peak = peak_rss_mb()
    psnr = psnr_against_float32(generator, generate, coords) if precision != "float32" and not too_slow else None
    # The products as the layers run them: without bfloat16 instructions, float32 ones.
    from keras_creps.layers.matmul_precision import multiplies_bfloat16_in_float32

    product_dtype = "float32" if multiplies_bfloat16_in_float32() else precision
    rate = matmul_gflops(backend, product_dtype) if FLAGS.matmul_rate else None
    print(json.dumps({
        "name": name, "spec": spec, "backend": backend, "n_params": n_params, "precision": precision,
        "output_shape": list(images.shape), "finite": bool(np.isfinite(images).all()),
        "warmup_s": warm, "times_s": times, "too_slow": too_slow,
        "rss_after_import_mb": rss_import, "rss_after_build_mb": rss_built,
        "peak_rss_mb": peak, "psnr_vs_float32_db": psnr, "matmul_gflops": rate,
        "rendering_runtime": runtime,  # what configure_rendering_runtime made: the flags allow, the backend decides
    }))


def psnr_against_float32(generator, generate, coords, seeds=4):
    """PSNR in dB of `generate`'s uint8 images against the float32 path's, over `seeds` latents."""
    import numpy as np

    from keras_creps.utils.images import to_uint8

    z = np.random.default_rng(1).standard_normal((seeds, generator.z_dim)).astype("float32")
    exact = to_uint8(generator.make_generate_function(jit_compile=FLAGS.jit_compile)(z, rows=coords, cols=coords))
    rounded = to_uint8(generate(z, rows=coords, cols=coords))
    mse = float(np.mean((exact.astype(np.float64) - rounded) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run_ours(name, precision, backend):
    """One of our configurations in a fresh subprocess: its JSON record, or `{"error": ...}`."""
    from keras_creps.models.creps_macs import creps_generator_macs

    cmd = [sys.executable, os.path.abspath(__file__), f"--child={name}", f"--runs={FLAGS.runs}",
           f"--threads={FLAGS.threads}", f"--jit_compile={FLAGS.jit_compile}",
           f"--max_seconds_per_run={FLAGS.max_seconds_per_run}", f"--precision={precision}",
           f"--matmul_rate={FLAGS.matmul_rate}", f"--keep_freed_memory={FLAGS.keep_freed_memory}",
           f"--one_malloc_arena={FLAGS.one_malloc_arena}", f"--rendering_xla_flags={FLAGS.rendering_xla_flags}",
           f"--tf_constant_folding={FLAGS.tf_constant_folding}"]
    if FLAGS.train_inter_op_threads:
        cmd.append(f"--train_inter_op_threads={FLAGS.train_inter_op_threads}")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=FLAGS.child_timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {FLAGS.child_timeout_s}s"}
    if proc.returncode != 0:
        return {"error": proc.stderr[-3000:]}
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    r["process_wall_s"] = time.perf_counter() - t0
    if name in TRAIN_BENCH:
        return r
    spec = BENCH[name]
    size = int(spec["res"] * spec.get("scale", 1.0))
    r["macs_per_image"] = creps_generator_macs(dict(resolution=spec["res"], **config_of(spec)), size, size)["total"]
    r["working_memory_mb"] = r["peak_rss_mb"] - r["rss_after_import_mb"]
    if r["times_s"]:
        med = statistics.median(r["times_s"])
        r.update(median_s_per_batch=med, min_s=min(r["times_s"]), max_s=max(r["times_s"]))
    return r


def combine_repeats(records, batch, macs=None):
    """One record from the repeats of a configuration: the medians over repeats, each repeat's value kept.

    Inference records get `median_s_per_batch` (the median of the repeats'
    medians), `images_per_s` and `repeats_images_per_s`; training records
    `s_per_kimg`, `mean_s_per_step`, `images_per_s` and `repeats_s_per_kimg`.
    Both get `achieved_gflops` (from `macs` per image for inference, the
    records' `step_macs` for training) and the median `matmul_gflops`.
    """
    good = [r for r in records if "error" not in r]
    if not good:
        return records[-1]
    combined = dict(good[-1], repeats=len(good))
    rates = [r["matmul_gflops"] for r in good if r.get("matmul_gflops")]
    if rates:
        combined["matmul_gflops"] = statistics.median(rates)
    if "s_per_kimg" in combined:
        _combine_training(combined, good, batch)
    else:
        _combine_inference(combined, good, batch, macs)
    return combined


def _combine_training(combined, good, batch):
    per_kimg = [r["s_per_kimg"] for r in good]
    median = statistics.median(per_kimg)
    combined.update(s_per_kimg=median, mean_s_per_step=median * batch / 1000, images_per_s=1000 / median,
                    repeats_s_per_kimg=per_kimg, peak_rss_mb=max(r["peak_rss_mb"] for r in good))
    if "step_macs" in combined:
        combined["achieved_gflops"] = 2 * combined["step_macs"]["total"] / combined["mean_s_per_step"] / 1e9


def _combine_inference(combined, good, batch, macs):
    timed = [r for r in good if r.get("median_s_per_batch")]
    if not timed:
        return
    per_batch = statistics.median(r["median_s_per_batch"] for r in timed)
    combined.update(median_s_per_batch=per_batch, images_per_s=batch / per_batch,
                    median_s_per_image=per_batch / batch,
                    repeats_images_per_s=[batch / r["median_s_per_batch"] for r in timed])
    if macs:
        combined["achieved_gflops"] = 2 * macs * batch / per_batch / 1e9


def _say(key, r):
    if "error" in r:
        print(f"{key}: failed\n{r['error'][-1500:]}", flush=True)
    elif "s_per_kimg" in r:
        print(f"{key}: {r['s_per_kimg']:.0f} s/kimg, peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    else:
        print(f"{key}: median {r.get('median_s_per_batch', float('nan')):.3f} s/batch, "
              f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)


def _official_runner():
    if not FLAGS.official_repo:
        return None
    from _official_runs import OfficialRunner

    try:
        return OfficialRunner(FLAGS.official_python or sys.executable, FLAGS.official_tools, FLAGS.official_repo,
                              FLAGS.threads, FLAGS.child_timeout_s)
    except ValueError as error:
        CLI.fail(f"bad --official_repo / --official_tools: {error}")


def run_parent(backend):
    names = FLAGS.only.split(",") if FLAGS.only else DEFAULT_ORDER
    unknown = [n for n in names if n not in BENCH and n not in TRAIN_BENCH]
    if unknown:
        CLI.fail(f"bad --only {FLAGS.only!r}: unknown {unknown}; choose from {sorted(BENCH) + sorted(TRAIN_BENCH)}")
    bad = [p for p in FLAGS.precision if p not in PRECISIONS]
    if bad or not FLAGS.precision:
        CLI.fail(f"bad --precision {','.join(FLAGS.precision)!r}: choose from {', '.join(PRECISIONS)}")
    if FLAGS.repeat < 1:
        CLI.fail(f"bad --repeat {FLAGS.repeat}: at least 1")
    official = _official_runner()
    ours, theirs = {}, {}
    t_all = time.perf_counter()
    # Alternating ours and the official per configuration and repeat: drift on a shared machine hits both.
    for repeat in range(FLAGS.repeat):
        for name in names:
            for precision in FLAGS.precision:
                key = result_key(name, precision)
                ours.setdefault(key, []).append(run_ours(name, precision, backend))
                _say(f"{key} (repeat {repeat + 1})", ours[key][-1])
            if official is not None:
                spec = TRAIN_BENCH.get(name)
                record = (official.inference(name, FLAGS.runs) if spec is None
                          else official.training(spec["res"], spec["batch"], TRAIN_TIMED_STEPS))
                theirs.setdefault(name, []).append(record)
                _say(f"official {name} (repeat {repeat + 1})", record)
    results = {}
    for key, records in ours.items():
        spec = BENCH.get(config_name(key)) or TRAIN_BENCH[config_name(key)]
        macs = records[-1].get("macs_per_image")
        results[key] = combine_repeats(records, spec["batch"], macs)
    official_doc = None
    if official is not None:
        official_doc = {"results": {}, "runs": []}
        for name, records in theirs.items():
            spec = BENCH.get(name) or TRAIN_BENCH[name]
            combined = combine_repeats(records, spec["batch"])
            if name in TRAIN_BENCH:
                official_doc["runs"].append(dict(combined, label=f"creps_res{spec['res']}_b{spec['batch']}"))
            else:
                official_doc["results"][name] = combined
    elif FLAGS.compare or FLAGS.train_compare:
        official_doc = {"results": load_json(FLAGS.compare)["results"] if FLAGS.compare else {},
                        "runs": load_json(FLAGS.train_compare)["runs"] if FLAGS.train_compare else []}
    write_report(backend, results, official_doc, time.perf_counter() - t_all)


def write_report(backend, results, official_doc, wall_s):
    """Prints the tables and writes `--out`."""
    import keras

    from keras_creps.models.creps_macs import creps_generator_macs
    from keras_creps.utils.cpu_features import cpu_has_bfloat16
    from keras_creps.utils.files import atomic_write

    doc = {
        "what": "keras-creps CREPSGenerator inference on CPU (mapping + synthesis of the native grid); "
                "configurations ending in _bf16 ran the line network's products in bfloat16",
        "precisions": FLAGS.precision, "repeat": FLAGS.repeat,
        "backend": backend, "keras_version": keras.__version__, "jit_compile": FLAGS.jit_compile,
        "threads": FLAGS.threads, "runs": FLAGS.runs, "cpu": cpu_name(), "cpu_count": os.cpu_count(),
        # False: bfloat16 rows ran float32 products of rounded operands (keras_creps/utils/cpu_features.py).
        "cpu_has_bfloat16": cpu_has_bfloat16(),
        "keep_freed_memory": FLAGS.keep_freed_memory,
        "python": platform.python_version(), "creps_kwargs": PAPER_FFHQ,
        "timing_protocol": "fresh subprocess per config and repeat; import and start the backend runtime (RSS after "
                           "imports); build (seed 0, keras_creps.utils.random_seed); release_unused_memory (as the "
                           "recipes); compile; 1 warm-up call; N timed calls "
                           "of make_generate_function()(z) incl. mapping, each returning a NumPy array; with "
                           "--official_repo the official benchmark of the same configuration runs right after ours",
        "results": results,
        "official": official_doc,
        "macs": {f"creps_{r}": creps_generator_macs(dict(resolution=r, **PAPER_FFHQ)) for r in (256, 512)},
        "total_wall_s": wall_s,
    }
    print_table(doc, official_doc, TRAIN_BENCH)
    print_train_table(doc, official_doc, TRAIN_BENCH)
    if FLAGS.out:
        with atomic_write(FLAGS.out) as tmp:
            with open(tmp, "w") as f:
                json.dump(doc, f, indent=1)
        print("wrote", FLAGS.out)


def main(argv):
    del argv
    # A child's stderr is shown when it fails: keep start-up chatter out of it too.
    quiet_startup()
    if FLAGS.child:
        run_child(FLAGS.child)
        return
    backend = FLAGS.backend or os.environ.get("KERAS_BACKEND", "tensorflow")
    run_parent(backend)


if __name__ == "__main__":
    CLI.run(main)

"""Multi-device training: same numbers as one device, and the strategy helper.

Each comparison trains a tiny 8x8 GAN for `STEPS` steps at a global batch of
4, with Gmain, Greg (path length, `pl_weight=2`), Dmain and Dreg (R1,
`r1_gamma=1`) at every step (regularization interval 1: one compiled step,
as tracing and compiling dominate the cost), in fresh interpreters
(`distribute_worker.py`), because the device layout must be fixed before the
backend initialises:

- TensorFlow `MirroredStrategy` over two logical CPUs;
- JAX `keras.distribution.DataParallel` over two host devices;
- TensorFlow `MultiWorkerMirroredStrategy`: two worker processes on
  127.0.0.1 from `TF_CONFIG`, each reading its half of every global batch
  (`distribute_dataset` + `make_dataset(..., input_context=ctx)`);

and compares every per-step log (losses, penalties, scores, `pl_mean`) and
every variable (G, D, EMA, both optimizers, counters) with a single-device
run. On TensorFlow the discriminator's minibatch-stddev is switched off
(`mbstd_num_channels=0`): it groups the samples of one replica, as the
official multi-GPU code does, and no group size makes two per-replica groups
of 2 equal the (strided) groups of the global batch of 4 except the trivial
group of 1. JAX's data parallelism is global SPMD, so it keeps the layer.
"""

import json
import os
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from test_case import TestCase, record_error
from xla_test_flags import CHEAP_XLA_FLAGS

from keras_creps.training.distribute import (
    distribute_dataset,
    distribution_scope,
    make_strategy,
)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, "distribute_worker.py")
STEPS = 2
TIMEOUT = 300  # seconds per run; a run takes ~20-45 s on a busy 2-core machine
LOSS_TOLERANCE = 1e-5
WEIGHT_TOLERANCE = 1e-4
# Cheaper XLA compilation on CPU; both runs of a comparison use it. Without
# the fusion emitters (see tests/conftest.py) this file took 37 s instead of
# 66 s on JAX (one core, 2026-12-02).
FAST_XLA_FLAGS = f"{CHEAP_XLA_FLAGS} --xla_llvm_disable_expensive_passes=true"
TWO_WORKERS = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 0}}

backend = keras.config.backend()
tensorflow_only = pytest.mark.skipif(
    backend != "tensorflow", reason="tf.distribute strategies run on the TensorFlow backend only"
)
jax_only = pytest.mark.skipif(backend != "jax", reason="keras.distribution.DataParallel is tested on JAX")


class _Run:
    """One `distribute_worker.py` process; output goes to a log file shown on failure."""

    def __init__(self, name, mode, data_dir, out, env=None):
        self.name, self.out = name, str(out)
        self.log_path = f"{self.out}.log"
        full_env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "XLA_FLAGS")}
        full_env.update(
            KERAS_BACKEND=backend,
            PYTHONPATH=os.pathsep.join([REPO] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
            TF_CPP_MIN_LOG_LEVEL="2",
            CUDA_VISIBLE_DEVICES="",
            JAX_PLATFORMS="cpu",
            XLA_FLAGS=FAST_XLA_FLAGS,
        )
        full_env.update(env or {})
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, WORKER, mode, str(data_dir), self.out],
                stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=REPO,
            )

    def log_tail(self, lines=40):
        with open(self.log_path, errors="replace") as log:
            return "".join(log.readlines()[-lines:])

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def result(self, deadline, others=()):
        """Waits until `deadline` (time.monotonic); stops `others` if this run fails."""
        try:
            code = self.process.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            for run in (self, *others):
                run.stop()
            pytest.fail(f"{self.name} did not finish in time; its output:\n{self.log_tail()}")
        if code != 0:
            for run in others:
                run.stop()
            pytest.fail(f"{self.name} exited with code {code}; its output:\n{self.log_tail()}")
        return dict(np.load(self.out))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from PIL import Image

    path = tmp_path_factory.mktemp("distribute_data")
    rng = np.random.RandomState(0)
    for index in range(16):
        Image.fromarray(rng.randint(0, 256, (8, 8, 3), dtype=np.uint8)).save(path / f"{index:02d}.png")
    return path


@pytest.fixture(scope="module")
def reference(data_dir, tmp_path_factory):
    """The single-device run, started once and shared (it runs alongside the test's runs)."""
    run = _Run("single-device reference", "single", data_dir, tmp_path_factory.mktemp("reference") / "single.npz")
    yield run
    run.stop()


def _differences(expected, actual):
    """Max abs differences: `{"logs": ..., "<group>": ...}`."""
    assert sorted(expected) == sorted(actual), sorted(set(expected) ^ set(actual))
    diffs = {}
    for key in expected:
        if key == "replicas":
            continue
        group = "logs" if key.startswith("log/") else key.split("/")[0]
        a, b = np.asarray(expected[key], np.float64), np.asarray(actual[key], np.float64)
        assert a.shape == b.shape, f"{key}: {a.shape} != {b.shape}"
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        diffs[group] = max(diffs.get(group, 0.0), diff)
    return diffs


def _check(label, expected, actual, replicas=2):
    assert int(actual["replicas"]) == replicas, f"{label} ran on {int(actual['replicas'])} replicas"
    for run in (expected, actual):
        np.testing.assert_array_equal(run["state/0"], STEPS)  # step
        # Greg and Dreg ran at every step.
        for name in ("log/pl_penalty", "log/r1_penalty"):
            assert np.all(run[name] > 0), (name, run[name])
    diffs = _differences(expected, actual)
    print(f"\n{label} max |distributed - single|: " + ", ".join(f"{k} {v:.2e}" for k, v in sorted(diffs.items())))
    for group, diff in diffs.items():
        record_error(f"{label}/{group} (max abs)", diff)
    assert diffs["logs"] <= LOSS_TOLERANCE, diffs
    weights = {k: v for k, v in diffs.items() if k != "logs"}
    assert max(weights.values()) <= WEIGHT_TOLERANCE, diffs


def _free_ports(count):
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class TestDistributedTraining(TestCase):
    @tensorflow_only
    def test_mirrored_strategy_matches_single_device(self, data_dir, reference, tmp_path):
        deadline = time.monotonic() + TIMEOUT
        run = _Run("MirroredStrategy run", "tf_mirrored", data_dir, tmp_path / "mirrored.npz")
        mirrored = run.result(deadline)
        _check("mirrored", reference.result(deadline), mirrored)

    @jax_only
    def test_jax_data_parallel_matches_single_device(self, data_dir, reference, tmp_path):
        deadline = time.monotonic() + TIMEOUT
        run = _Run(
            "DataParallel run", "jax_data_parallel", data_dir, tmp_path / "data_parallel.npz",
            env={"XLA_FLAGS": f"{FAST_XLA_FLAGS} --xla_force_host_platform_device_count=2"},
        )
        parallel = run.result(deadline)
        _check("data_parallel", reference.result(deadline), parallel)

    @tensorflow_only
    def test_multi_worker_matches_single_process(self, data_dir, reference, tmp_path):
        addresses = [f"127.0.0.1:{port}" for port in _free_ports(2)]
        deadline = time.monotonic() + TIMEOUT
        workers = []
        try:
            for index in range(2):
                config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
                workers.append(
                    _Run(
                        f"worker {index}", "tf_multi_worker", data_dir, tmp_path / f"worker{index}.npz",
                        env={"TF_CONFIG": json.dumps(config)},
                    )
                )
            chief = workers[0].result(deadline, others=workers[1:])
            other = workers[1].result(deadline)
        finally:
            for worker in workers:
                worker.stop()
        _check("multi_worker", reference.result(deadline), chief)
        # Both workers hold the same model.
        assert max(_differences(chief, other).values()) == 0.0


class TestStrategyHelper(TestCase):
    def test_torch_refuses_several_devices(self):
        with pytest.raises(ValueError, match="torch backend is not supported: --gpus=2"):
            make_strategy(2, backend="torch", name="--gpus")

    @pytest.mark.parametrize("value", [0, -1, 1.5, "2", True, None])
    def test_bad_device_count(self, value):
        with pytest.raises(ValueError, match=f"--gpus={value!r}"):
            make_strategy(value, name="--gpus")

    def test_unknown_backend(self):
        with pytest.raises(ValueError, match="backend='numpy'"):
            make_strategy(1, backend="numpy")

    def test_one_device_is_plain_training(self, monkeypatch):
        monkeypatch.delenv("TF_CONFIG", raising=False)
        assert make_strategy(1) is None
        with distribution_scope(1) as strategy:
            assert strategy is None
            assert distribute_dataset(strategy, lambda context: ("dataset", context)) == ("dataset", None)

    @pytest.mark.parametrize("backend_name", ["jax", "torch"])
    def test_tf_config_is_tensorflow_only(self, monkeypatch, backend_name):
        monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
        with pytest.raises(ValueError, match="only the TensorFlow backend supports"):
            make_strategy(1, backend=backend_name)

    def test_bad_tf_config(self, monkeypatch):
        monkeypatch.setenv("TF_CONFIG", '{"cluster": ')
        with pytest.raises(ValueError, match="TF_CONFIG must be JSON"):
            make_strategy(1, backend="jax")

    @jax_only
    def test_jax_device_count_errors(self):
        count = len(keras.distribution.list_devices())
        with pytest.raises(ValueError, match="XLA_FLAGS=--xla_force_host_platform_device_count"):
            make_strategy(count + 1, allow_cpu=True, name="--gpus")
        with pytest.raises(ValueError, match="only the CPU. Received: --gpus=2"):
            make_strategy(2, name="--gpus")

    @tensorflow_only
    def test_tensorflow_needs_gpus_unless_cpu_allowed(self, monkeypatch):
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            pytest.skip("this machine has GPUs")
        monkeypatch.delenv("TF_CONFIG", raising=False)
        with pytest.raises(ValueError, match="needs GPUs and TensorFlow sees none. Received: --gpus=2"):
            make_strategy(2, name="--gpus")
        monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
        with pytest.raises(ValueError, match="Received: --gpus=1"):
            make_strategy(1, name="--gpus")
        with pytest.raises(ValueError, match="one CPU, so it takes 1 device. Received: --gpus=2"):
            make_strategy(2, allow_cpu=True, name="--gpus")

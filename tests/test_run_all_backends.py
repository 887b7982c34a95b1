"""tests/run_all_backends.py: the job plan and how a backend's jobs add up."""

import os
import subprocess
import sys

import pytest

import run_all_backends as runner

pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner

PASSED = "....\n12.50s call     tests/a.py::test_x\n3.00s setup    tests/b.py::test_y\n4 passed, 2 skipped in 20.0s\n"
ONLY_SKIPPED = "ss\n2 skipped in 1.0s\n"


def test_pytorch_is_cut_in_shards_only_for_the_whole_suite():
    whole = runner.plan_jobs([])
    assert whole[:2] == [("jax", []), ("tensorflow", [])]
    assert [backend for backend, _ in whole[2:]] == ["torch"] * 5
    # The shards cover the suite once: two parts of the recipes but the notebook, two parts of all
    # but the recipes, the notebook.
    notebook = "tests/recipes/test_notebook.py::test_notebook_runs"
    part_a = ["tests/recipes/test_generate.py", "tests/recipes/test_ship_preset.py", "tests/recipes/test_benchmark.py"]
    assert [extra for _, extra in whole[2:]] == [
        part_a, ["tests/recipes", "--deselect", notebook, *(f"--ignore={p}" for p in part_a)],
        ["tests/data", "tests/utils"],
        ["tests", "--ignore=tests/recipes", "--ignore=tests/data", "--ignore=tests/utils"], [notebook]]
    assert runner.plan_jobs(["-x"])[2:] == [("torch", [])]


def test_a_backends_shards_add_up():
    ok, counts, seconds, slowest = runner.combine([(0, PASSED, 20.0), (0, "8.00s call     tests/c.py::z\n1 passed in 9.0s\n", 9.0)])
    assert ok and counts == {"passed": 5, "failed": 0, "skipped": 2, "errors": 0} and seconds == 29.0
    assert [line.split()[0] for line in slowest] == ["12.50s", "8.00s", "3.00s"]


def test_failures_and_empty_runs_fail_but_skips_only_pass():
    assert not runner.combine([(0, PASSED, 1.0), (1, "1 failed, 3 passed in 2.0s\n", 2.0)])[0]
    assert not runner.combine([(5, "no tests ran in 0.1s\n", 0.1)])[0]
    assert not runner.combine([])[0]
    assert runner.combine([(0, ONLY_SKIPPED, 1.0)])[0]  # all backend independent, run on another backend


def test_lanes_are_pinned_to_their_own_cpus():
    assert runner.lane_cpus(2, {0, 1}) == [[0], [1]]
    assert runner.lane_cpus(2, {0, 1, 2, 3, 4}) == [[0, 2, 4], [1, 3]]
    assert runner.lane_cpus(2, {3}) is None  # fewer CPUs than lanes: share them
    assert runner.lane_cpus(1, {0, 1}) is None
    assert runner.pinned_command(["python", "-m", "pytest"], None) == ["python", "-m", "pytest"]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="this platform cannot pin a process to CPUs")
def test_a_pinned_command_and_its_children_see_only_their_cpus():
    cpu = min(os.sched_getaffinity(0))
    child = "import os, subprocess, sys; print(sorted(os.sched_getaffinity(0)));" \
            "subprocess.run([sys.executable, '-c', 'import os; print(sorted(os.sched_getaffinity(0)))'])"
    out = subprocess.run(runner.pinned_command([sys.executable, "-c", child], [cpu]),
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [f"[{cpu}]", f"[{cpu}]"]

"""Runs the test suite once per Keras backend, each in its own pytest process.

Usage: python tests/run_all_backends.py [--jobs N] [pytest args...]

The runs are jobs taken in turn by `--jobs` lanes (default 2, one per core):
JAX, TensorFlow, then PyTorch's run cut in five shards (two of recipes, two of
the rest, the notebook), each taken by whichever lane frees first; each lane's
processes are pinned to its own CPUs (`lane_cpus`). With pytest arguments
PyTorch runs as one job with them. Tests marked `backend_independent` or `recipe_behaviour`
run in the PyTorch jobs only (`KERAS_CREPS_BACKEND_INDEPENDENT_ON`, see
tests/conftest.py).
Each job's pytest output is printed as a block when it finishes, followed by
a `----- <backend>: ok|FAILED` line; the last line is
`total: N passed, N failed, N skipped`, after each backend's time and its
slowest tests (pytest `--durations`, repeated at the end so that a log cut in
the middle still shows where the time went). Exits non-zero if any job
fails, a backend collects no test or no test passes.
"""

import os
import re
import subprocess
import sys
import threading
import time

BACKENDS = ("tensorflow", "jax", "torch")


def parse_args(argv):
    jobs = 2
    rest = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--jobs" or arg.startswith("--jobs="):
            text = arg.split("=", 1)[1] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "")
            i += 1 if "=" in arg else 2
            if not text.isdigit() or int(text) < 1:
                raise SystemExit(f"--jobs must be a positive integer; received {text!r}")
            jobs = int(text)
            continue
        rest.append(arg)
        i += 1
    return jobs, rest


def summary_counts(output):
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    lines = [
        line for line in output.splitlines()
        if " in " in line and any(word in line for word in ("passed", "failed", "error", "skipped"))
    ]
    if lines:
        for key, pattern in (("passed", r"(\d+) passed"), ("failed", r"(\d+) failed"),
                             ("skipped", r"(\d+) skipped"), ("errors", r"(\d+) errors?")):
            match = re.search(pattern, lines[-1])
            counts[key] = int(match.group(1)) if match else 0
    return counts


SLOWEST_SHOWN = 12
_DURATION = re.compile(r"^\d+\.\d+s (call|setup|teardown) ")


def slowest_lines(output):
    """The `--durations` lines of a pytest output (`12.34s call tests/...`), slowest first."""
    return [line for line in output.splitlines() if _DURATION.match(line)]


# Independent of the backend (see tests/conftest.py): run on one backend only.
INDEPENDENT_ON = "torch"
# PyTorch's run is cut in five; its parts fill whichever lane frees first,
# the longest first. It also runs the tests marked
# `backend_independent` and `recipe_behaviour`. Measured in a fresh-clone run
# (2 cores, 2 lanes, 2026-12-02): TensorFlow 789 s, JAX 990 s; PyTorch's recipe
# parts 284 s (generate, ship_preset, benchmark) and 268 s, the rest 194 s, the
# notebook 36 s; wall time 1294 s. With the lanes pinned to a core each
# (2026-12-02, a slower day): TensorFlow 984 s, JAX 1200 s, PyTorch 250 /
# 213 / 164 / 35 s; wall time 1432 s (1891 s unpinned that day). With
# cheaper XLA compilation and 8x8 training-test GANs (2026-12-02 evening, a
# checkout, not a fresh clone): TensorFlow 798 s, JAX 765 s, PyTorch 271 /
# 251 / 191 / 40 s, wall time 1227 s, the last lane idle for 138 s while the
# other ran the 191 s shard: that one is now cut in two (data and utils,
# ~110 s, and the rest). Then a fresh-clone .ci/run: TensorFlow 867 s, JAX
# 863 s, PyTorch 281 / 256 / 101 / 92 / 35 s, wall time 1259 s (lanes
# 1245 and 1250 s).
NOTEBOOK_TEST = "tests/recipes/test_notebook.py::test_notebook_runs"
RECIPES_A = ["tests/recipes/test_generate.py", "tests/recipes/test_ship_preset.py", "tests/recipes/test_benchmark.py"]
TORCH_SHARDS = (
    RECIPES_A,
    ["tests/recipes", "--deselect", NOTEBOOK_TEST, *(f"--ignore={path}" for path in RECIPES_A)],
    ["tests/data", "tests/utils"],
    ["tests", "--ignore=tests/recipes", "--ignore=tests/data", "--ignore=tests/utils"],
    [NOTEBOOK_TEST],
)


def plan_jobs(pytest_args):
    """`(backend, extra pytest args)` in the order lanes take them: the long runs first."""
    jobs = [("jax", []), ("tensorflow", [])]
    if pytest_args:  # the caller chose tests or options: PyTorch runs whole, with them
        return jobs + [("torch", [])]
    return jobs + [("torch", shard) for shard in TORCH_SHARDS]


def lane_cpus(lanes, available=None):
    """The CPUs each lane's jobs are pinned to: the usable CPUs dealt out among `lanes`.

    Unpinned, every backend sizes its thread pools to all the machine's cores,
    so two lanes on two cores fight: OpenMP and Eigen workers spin waiting for
    a core the other lane holds. Side by side on 2 cores (2026-12-02), the
    TensorFlow run of test_gan.py + test_learning.py beside the PyTorch run of
    those and tests/rendering: 199 s / 98 s unpinned, 153 s / 44 s pinned one
    core each (test_learning.py alone: 4 s on PyTorch, 69 s in an unpinned CI
    run). A pinned process and its subprocesses see only their lane's CPUs and
    size their pools to them. `None` (no pinning) when there are fewer usable
    CPUs than lanes or the platform cannot pin; with more CPUs than lanes
    the lanes take them in turn (5 CPUs, 2 lanes: 0,2,4 and 1,3).
    """
    if available is None:
        if not hasattr(os, "sched_getaffinity"):
            return None
        available = os.sched_getaffinity(0)
    cpus = sorted(available)
    if lanes < 2 or len(cpus) < lanes:
        return None
    return [cpus[lane::lanes] for lane in range(lanes)]


def pinned_command(command, cpus):
    """`command` run by an interpreter that first limits itself (and what it starts) to `cpus`."""
    if cpus is None:
        return command
    launcher = "import os, sys; os.sched_setaffinity(0, %r); os.execv(sys.argv[1], sys.argv[1:])" % (set(cpus),)
    return [sys.executable, "-c", launcher, *command]


def run_job(root, backend, extra, pytest_args, cpus=None):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env.setdefault("KERAS_CREPS_BACKEND_INDEPENDENT_ON", INDEPENDENT_ON)
    start = time.time()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args, *extra]
    proc = subprocess.run(
        pinned_command(command, cpus),
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return proc.returncode, proc.stdout, time.time() - start


def combine(runs):
    """One backend's `(ok, counts, seconds, slowest)` from its jobs' `(returncode, output, seconds)`."""
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    slowest, seconds, ok = [], 0.0, True
    for returncode, output, job_seconds in runs:
        job_counts = summary_counts(output)
        for key in counts:
            counts[key] += job_counts[key]
        # Any non-zero exit fails the backend, 5 (a shard that collected nothing) too.
        ok = ok and returncode == 0
        slowest += slowest_lines(output)
        seconds += job_seconds
    slowest.sort(key=lambda line: -float(line.split("s", 1)[0]))
    # Collecting nothing fails; a backend whose selected tests were all
    # backend independent (run elsewhere) passes with skips only.
    return ok and counts["passed"] + counts["skipped"] > 0, counts, seconds, slowest


def main():
    lanes, pytest_args = parse_args(sys.argv[1:])
    jobs = plan_jobs(pytest_args)
    if not any(arg.startswith("--durations") for arg in pytest_args):
        pytest_args = [f"--durations={SLOWEST_SHOWN}", *pytest_args]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lanes = min(lanes, len(jobs))
    cpus = lane_cpus(lanes)
    print(f"{lanes} lane(s) taking in turn: " + ", ".join(" ".join([b, *x]) for b, x in jobs), flush=True)
    print("lane CPUs: " + ("not pinned" if cpus is None else "; ".join(
        f"lane {i}: {','.join(map(str, group))}" for i, group in enumerate(cpus))), flush=True)

    queue = list(jobs)
    runs = {backend: [] for backend in BACKENDS}
    lock = threading.Lock()

    def run_lane(lane):
        while True:
            with lock:
                if not queue:
                    return
                backend, extra = queue.pop(0)
            returncode, output, seconds = run_job(root, backend, extra, pytest_args, cpus and cpus[lane])
            with lock:
                runs[backend].append((returncode, output, seconds))
                print(f"===== KERAS_BACKEND={backend} {' '.join(extra)} =====", flush=True)
                sys.stdout.write(output)
                print(f"----- {backend} {' '.join(extra)}: {'ok' if returncode == 0 else 'FAILED'} "
                      f"(exit {returncode}, {seconds:.0f} s)", flush=True)

    start = time.time()
    threads = [threading.Thread(target=run_lane, args=(lane,)) for lane in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    totals = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    failed = []
    for backend in BACKENDS:
        ok, counts, seconds, slowest = combine(runs[backend])
        print(f"{backend}: {seconds:.0f} s; slowest:")
        for line in slowest[:SLOWEST_SHOWN]:
            print(f"  {line}")
        for key in totals:
            totals[key] += counts.get(key, 0)
        if not ok:
            failed.append(backend)
    if totals["passed"] == 0:
        failed.append("all (no test passed)")
    print(f"failed backends: {', '.join(failed) or 'none'}")
    print(f"wall time: {time.time() - start:.0f} s with {lanes} lane(s)")
    print(f"total: {totals['passed']} passed, {totals['failed'] + totals['errors']} failed, {totals['skipped']} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs the test suite once per Keras backend, each in its own process.

Usage: python tests/run_all_backends.py [--jobs N] [pytest args...]

With `--jobs 2` (the default) the backends run in two lanes at once: JAX in
one (its run is mostly single-threaded XLA compilation), TensorFlow and then
PyTorch in the other. `--jobs 1` runs them one after another. Each backend's
pytest output is printed as a block when it finishes, followed by a
`----- <backend>: ok|FAILED` line; the last line is
`total: N passed, N failed, N skipped`, after each backend's time and its
slowest tests (pytest `--durations`, repeated at the end so that a log cut in
the middle still shows where the time went). Exits non-zero if any backend
fails or collects no test.
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
        if " in " in line and ("passed" in line or "failed" in line or "error" in line)
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


def run_backend(root, backend, pytest_args):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return proc.returncode, proc.stdout, time.time() - start


def main():
    jobs, pytest_args = parse_args(sys.argv[1:])
    if not any(arg.startswith("--durations") for arg in pytest_args):
        pytest_args = [f"--durations={SLOWEST_SHOWN}", *pytest_args]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if jobs == 1:
        lanes = [list(BACKENDS)]
    elif jobs == 2:
        lanes = [["jax"], ["tensorflow", "torch"]]
    else:
        lanes = [[backend] for backend in BACKENDS]
    print("lanes: " + " | ".join(" -> ".join(lane) for lane in lanes), flush=True)

    results = {}
    print_lock = threading.Lock()

    def run_lane(lane):
        for backend in lane:
            returncode, output, seconds = run_backend(root, backend, pytest_args)
            counts = summary_counts(output)
            ok = returncode == 0 and counts["passed"] > 0
            results[backend] = (ok, counts, seconds, slowest_lines(output))
            with print_lock:
                print(f"===== KERAS_BACKEND={backend} =====", flush=True)
                sys.stdout.write(output)
                print(f"----- {backend}: {'ok' if ok else 'FAILED'} (exit {returncode}, {seconds:.0f} s)", flush=True)

    start = time.time()
    threads = [threading.Thread(target=run_lane, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    totals = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    failed = []
    for backend in BACKENDS:
        ok, counts, seconds, slowest = results.get(backend, (False, {}, 0.0, []))
        print(f"{backend}: {seconds:.0f} s; slowest:")
        for line in slowest[:SLOWEST_SHOWN]:
            print(f"  {line}")
        for key in totals:
            totals[key] += counts.get(key, 0)
        if not ok:
            failed.append(backend)
    print(f"failed backends: {', '.join(failed) or 'none'}")
    print(f"wall time: {time.time() - start:.0f} s with {len(lanes)} lane(s)")
    print(f"total: {totals['passed']} passed, {totals['failed'] + totals['errors']} failed, {totals['skipped']} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

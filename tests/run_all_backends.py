"""Runs the test suite once per Keras backend, each in its own process.

Usage: python tests/run_all_backends.py [pytest args...]
Prints each backend's pytest summary and a final `total: N passed, N failed`
line; exits non-zero if any backend fails or collects no test.
"""

import os
import re
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    totals = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    failed_backends = []
    for backend in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        print(f"===== KERAS_BACKEND={backend} =====", flush=True)
        t0 = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *sys.argv[1:]],
            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        sys.stdout.write(proc.stdout)
        counts = {k: 0 for k in totals}
        for key, pattern in (("passed", r"(\d+) passed"), ("failed", r"(\d+) failed"),
                             ("skipped", r"(\d+) skipped"), ("errors", r"(\d+) errors?")):
            lines = [l for l in proc.stdout.splitlines() if " in " in l and ("passed" in l or "failed" in l or "error" in l)]
            if lines:
                m = re.search(pattern, lines[-1])
                counts[key] = int(m.group(1)) if m else 0
        for k in totals:
            totals[k] += counts[k]
        ok = proc.returncode == 0 and counts["passed"] > 0
        print(f"----- {backend}: {'ok' if ok else 'FAILED'} (exit {proc.returncode}, {time.time() - t0:.0f} s)", flush=True)
        if not ok:
            failed_backends.append(backend)
    print(f"failed backends: {', '.join(failed_backends) or 'none'}")
    print(f"total: {totals['passed']} passed, {totals['failed'] + totals['errors']} failed, {totals['skipped']} skipped")
    return 1 if failed_backends else 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs the official implementation's benchmarks (`shared/tools/official_*bench.py`) for `benchmark.py`.

The official code is never imported here: each run is a subprocess of the
official benchmark script, pointed at a checkout of VinAIResearch/CREPS,
with its own Python (a venv with torch and what the official package needs).
The results come back in the JSON schema `benchmark.py` compares against:
`results.<name>` for inference and `runs[]` (with `label`) for training.
"""

import json
import os
import subprocess
import tempfile

__all__ = ["OfficialRunner"]


class OfficialRunner:
    """Times one official configuration per call, in a fresh subprocess.

    Args:
        python: str. The interpreter of the official environment.
        tools: str. The directory holding `official_bench.py` and
            `official_train_bench.py`.
        repo: str. A checkout of VinAIResearch/CREPS.
        threads: int. Intra-op threads.
        timeout_s: float. Time limit of one run.
    """

    def __init__(self, python, tools, repo, threads, timeout_s):
        for script in ("official_bench.py", "official_train_bench.py"):
            if not os.path.isfile(os.path.join(tools, script)):
                raise ValueError(f"bad --official_tools {tools!r}: it has no {script}")
        if not os.path.isdir(os.path.join(repo, "training")):
            raise ValueError(f"bad --official_repo {repo!r}: not a checkout of VinAIResearch/CREPS (no training/)")
        self.python, self.tools, self.repo = python, tools, repo
        self.threads, self.timeout_s = threads, timeout_s

    def inference(self, name, runs):
        """`results[name]` of `official_bench.py --only name`, or `{"error": ...}`."""
        doc = self._run("official_bench.py", ["--only", name, "--runs", str(runs), "--threads", str(self.threads),
                                              "--child-timeout-s", str(self.timeout_s)])
        return doc.get("results", {}).get(name, {"error": "no result"}) if "error" not in doc else doc

    def training(self, res, batch, steps):
        """The run of `official_train_bench.py` at `res`, `batch`, or `{"error": ...}`."""
        doc = self._run("official_train_bench.py", ["--res", str(res), "--batch", str(batch), "--steps", str(steps),
                                                    "--threads", str(self.threads)])
        return doc["runs"][-1] if doc.get("runs") else {"error": doc.get("error", "no run")}

    def _run(self, script, args):
        with tempfile.TemporaryDirectory(prefix="official-bench-") as scratch:
            out = os.path.join(scratch, "result.json")
            cmd = [self.python, os.path.join(self.tools, script), "--official-repo", self.repo, "--out", out, *args]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                return {"error": f"timed out after {self.timeout_s}s"}
            if proc.returncode != 0 or not os.path.isfile(out):
                return {"error": (proc.stderr or proc.stdout)[-2000:]}
            with open(out) as f:
                return json.load(f)

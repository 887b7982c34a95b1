"""recipes/benchmark.py: the whole protocol with a tiny generator, official JSON schema."""

import json
import os
import subprocess
import sys

import keras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_smoke_run_writes_official_schema(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "benchmark.py"), f"--backend={keras.config.backend()}",
         "--only=smoke_16_b2", "--runs=2", "--precision=float32,bfloat16", f"--out={out}"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    r = doc["results"]["smoke_16_b2"]
    for key in ("median_s_per_batch", "images_per_s", "peak_rss_mb", "macs_per_image", "achieved_gflops",
                "rss_after_import_mb", "working_memory_mb"):
        assert key in r and r[key] > 0, key
    assert r["output_shape"] == [2, 16, 16, 3] and r["finite"]
    assert len(r["times_s"]) == 2
    assert "| smoke_16_b2 |" in proc.stdout and r["psnr_vs_float32_db"] is None
    rounded = doc["results"]["smoke_16_b2_bf16"]
    assert rounded["precision"] == "bfloat16" and rounded["finite"] and len(rounded["times_s"]) == 2
    assert 30.0 < rounded["psnr_vs_float32_db"] < 200.0  # rounded, but close
    assert "| smoke_16_b2_bf16 |" in proc.stdout

"""recipes/benchmark.py: the whole protocol with a tiny generator, official JSON schema."""

import json
import os
import subprocess
import sys

import keras
import pytest
from recipe_cases import run_cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_smoke_run_writes_official_schema(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "benchmark.py"), f"--backend={keras.config.backend()}",
         "--only=smoke_16_b2", "--runs=2", "--precision=float32,bfloat16", f"--out={out}",
         # torch.compile takes about a minute per function even for this tiny generator.
         f"--jit_compile={keras.config.backend() != 'torch'}"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    from keras_creps.utils.cpu_features import cpu_has_bfloat16

    assert doc["cpu_has_bfloat16"] is cpu_has_bfloat16()  # says how to read the bfloat16 rows
    r = doc["results"]["smoke_16_b2"]
    for key in ("median_s_per_batch", "images_per_s", "peak_rss_mb", "macs_per_image", "achieved_gflops",
                "rss_after_import_mb", "working_memory_mb"):
        assert key in r and r[key] > 0, key
    assert r["output_shape"] == [2, 16, 16, 3] and r["finite"]
    assert len(r["times_s"]) == 2
    if sys.platform.startswith("linux"):  # as configure_rendering_runtime made them here
        on_jax, on_tf = keras.config.backend() == "jax", keras.config.backend() == "tensorflow"
        assert r["rendering_runtime"] == {"keep_freed_memory": True, "one_malloc_arena": on_jax,
                                          "rendering_xla_flags": on_tf}
    assert "| smoke_16_b2 |" in proc.stdout and r["psnr_vs_float32_db"] is None
    # The matrix-product ceiling, and the row's share of it (a tiny generator reaches little of it).
    assert r["matmul_gflops"] > 1.0
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| smoke_16_b2 |"))
    share = row.split("|")[5].strip()
    assert share.endswith(f"of {r['matmul_gflops']:.0f}"), row
    assert share.startswith(f"{r['achieved_gflops'] / r['matmul_gflops']:.0%}"), row
    rounded = doc["results"]["smoke_16_b2_bf16"]
    assert rounded["precision"] == "bfloat16" and rounded["finite"] and len(rounded["times_s"]) == 2
    assert 30.0 < rounded["psnr_vs_float32_db"] < 200.0  # rounded, but close
    assert "| smoke_16_b2_bf16 |" in proc.stdout


FAKE_OFFICIAL = '''
import argparse, json, sys
parser = argparse.ArgumentParser()
parser.add_argument("--official-repo"); parser.add_argument("--out"); parser.add_argument("--only")
args, _ = parser.parse_known_args()
with open(CALLS, "a") as calls:
    calls.write(args.only + "\\n")
times = {0: 4.0, 1: 2.0}
count = sum(1 for _ in open(CALLS))
result = {"median_s_per_batch": times[(count - 1) % 2], "peak_rss_mb": 900.0, "rss_after_import_mb": 400.0}
result["images_per_s"] = 2.0 / result["median_s_per_batch"]
with open(args.out, "w") as f:
    json.dump({"results": {args.only: result}}, f)
'''


@pytest.mark.recipe_behaviour
def test_official_runs_alternate_with_ours_and_report_the_spread(tmp_path):
    tools, repo, out = tmp_path / "tools", tmp_path / "CREPS", tmp_path / "bench.json"
    (repo / "training").mkdir(parents=True)
    tools.mkdir()
    # Each official run writes into its own scratch directory: the fake counts its calls in a shared file.
    (tools / "official_bench.py").write_text(FAKE_OFFICIAL.replace("CALLS", repr(str(tmp_path / "calls"))))
    (tools / "official_train_bench.py").write_text("raise SystemExit(3)\n")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "benchmark.py"), f"--backend={keras.config.backend()}",
         "--only=smoke_16_b2", "--runs=1", "--repeat=2", f"--official_repo={repo}", f"--official_tools={tools}",
         f"--out={out}", f"--jit_compile={keras.config.backend() != 'torch'}"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "calls").read_text().split() == ["smoke_16_b2", "smoke_16_b2"]
    doc = json.loads(out.read_text())
    ours, theirs = doc["results"]["smoke_16_b2"], doc["official"]["results"]["smoke_16_b2"]
    assert ours["repeats"] == 2 and len(ours["repeats_images_per_s"]) == 2
    # Official repeats took 4 s and 2 s: the median is 3 s, 0.67 images/s, spread 0.50-1.00.
    assert theirs["median_s_per_batch"] == 3.0 and theirs["repeats_images_per_s"] == [0.5, 1.0]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| smoke_16_b2 |"))
    assert " 3.000 | 0.667 (0.50-1.00) |" in row and row.rstrip().endswith("|")
    assert proc.stdout.count("(repeat ") == 4  # ours and the official, twice each


@pytest.mark.recipe_behaviour
def test_bad_official_paths_are_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "benchmark.py"), "--only=smoke_16_b2",
         f"--official_repo={tmp_path}", f"--official_tools={tmp_path}"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode != 0 and "bad --official_tools" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.recipe_behaviour
def test_training_table_compares_speed_and_peak_memory_with_the_official(capsys):
    sys.path.insert(0, os.path.join(ROOT, "recipes"))
    import _benchmark_report as report

    train_bench = {"train_small_64_b16": dict(cfg="small", res=64, batch=16, gamma=0.5)}
    # 1 TMAC per step in 8 s: 250 GFLOP/s, half the matrix-product rate; at that rate a step would take 4 s,
    # 250 s/kimg, 4x faster than the official's 1000 s/kimg, which ran at 125 GFLOP/s.
    ours = {"mean_s_per_step": 8.0, "s_per_kimg": 500.0, "images_per_s": 2.0, "peak_rss_mb": 6000.0,
            "step_macs": {"total": 1e12}, "achieved_gflops": 250.0, "matmul_gflops": 500.0}
    official = {"results": {}, "runs": [{"label": "creps_res64_b16", "s_per_kimg": 1000.0, "peak_rss_mb": 5000.0}]}
    doc = {"backend": "torch", "results": {"train_small_64_b16": ours}}
    report.print_table(doc, official, train_bench)  # no inference configuration: no inference table
    report.print_train_table(doc, official, train_bench)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| training (torch) |") and "official peak RSS MB" in lines[0]
    assert lines[2] == ("| train_small_64_b16 | 8.000 | 500 | 2.00 | 250 | 50% of 500 | 6000 "
                        "| 1000 | 1.00 | 125 | 5000 | 2.00x | 4.00x | 1.20 |")
    # Without the matrix-product rate (--nomatmul_rate) there is no ceiling.
    del ours["matmul_gflops"]
    report.print_train_table(doc, official, train_bench)
    assert capsys.readouterr().out.splitlines()[2].endswith(" 5000 | 2.00x | - | 1.20 |")


@pytest.mark.recipe_behaviour
def test_training_run_reports_its_arithmetic_rate(tmp_path):
    out = tmp_path / "train.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "benchmark.py"), f"--backend={keras.config.backend()}",
         "--only=train_tiny_16_b4", f"--out={out}", "--jit_compile=false"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(out.read_text())["results"]["train_tiny_16_b4"]
    # 21 steps: Gmain and Dmain on each, Greg on steps 0, 4, ..., 20 and Dreg on 0 and 16, the mix counted.
    assert (r["g_iterations"], r["d_iterations"]) == (21 + 6, 21 + 2)
    macs = r["step_macs"]
    assert set(macs) == {"Gmain", "Dmain", "Greg", "Dreg", "total"} and macs["Dmain"] > macs["Gmain"] > 0
    assert r["achieved_gflops"] == pytest.approx(2 * macs["total"] / r["mean_s_per_step"] / 1e9)
    assert r["matmul_gflops"] > 1.0
    # recipes/train.py's CPU training settings (configure_training_runtime), made in the child too.
    on_tf = keras.config.backend() == "tensorflow"
    assert (r["constant_folding_off"], r["inter_op_threads"]) == (on_tf, 1 if on_tf else None), r
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| train_tiny_16_b4 |"))
    assert f"| {r['achieved_gflops']:.0f} | {r['achieved_gflops'] / r['matmul_gflops']:.0%} of" in row, row


@pytest.mark.skipif(keras.config.backend() != "tensorflow",
                    reason="checked before any configuration runs, the same on every backend")
def test_bad_input_is_one_line_and_exit_2(tmp_path):
    cases = [
        (["--only", "creps_9_b1"], "bad --only 'creps_9_b1': unknown ['creps_9_b1']"),
        (["--precision", "float32,float64"], "bad --precision 'float32,float64': choose from"),
        (["--repeat", "0"], "bad --repeat 0: at least 1"),
        (["--official_repo", str(tmp_path / "missing")], "bad --official_repo / --official_tools:"),
        (["--repeat", "two"], "benchmark.py: flag --repeat=two:"),
    ]
    results = run_cases("benchmark.py", [args for args, _ in cases])
    for (args, message), (code, stderr) in zip(cases, results):
        assert code == 2 and len(stderr.strip().splitlines()) == 1 and message in stderr, (args, code, stderr)

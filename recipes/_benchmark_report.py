"""The tables `benchmark.py` prints: ours beside the official results, with the spread over repeats."""

import json

__all__ = ["config_name", "load_json", "print_table", "print_train_table", "result_key"]

BF16_SUFFIX = "_bf16"


def result_key(name, precision):
    """The results key of configuration `name` timed in `precision`: `name`, or `name_bf16`."""
    return name if precision == "float32" else name + BF16_SUFFIX


def config_name(key):
    """The configuration a results key was timed with (the official results use these names)."""
    return key.removesuffix(BF16_SUFFIX)


def _spread(r, key, fmt):
    """` (lo-hi)` over the repeats of `r[key]`, or nothing for a single run."""
    values = r.get(f"repeats_{key}") or []
    return f" ({min(values):{fmt}}-{max(values):{fmt}})" if len(values) > 1 else ""


def _of_matmul(r):
    """Achieved GFLOP/s as a share of the same backend's rate on one large product in the same precision."""
    rate = r.get("matmul_gflops")
    return f"{r['achieved_gflops'] / rate:.0%} of {rate:.0f}" if rate else "-"


def load_json(path):
    with open(path) as f:
        return json.load(f)


def print_table(doc, official=None, train_bench=()):
    if all(config_name(name) in train_bench for name in doc["results"]):
        return  # training configurations only: print_train_table shows them
    header = (f"| config ({doc['backend']}) | s/batch | images/s | GFLOP/s | of matmul | peak RSS MB | working MB "
              f"| PSNR vs f32 |")
    rule = "|---|---|---|---|---|---|---|---|"
    if official:
        header += " official s/batch | official images/s | official working MB | speed-up | memory ratio |"
        rule += "---|---|---|---|---|"
    print(header)
    print(rule)
    for name, r in doc["results"].items():
        if config_name(name) in train_bench:
            continue
        if "median_s_per_batch" not in r:
            print(f"| {name} | {r.get('error', 'too slow')[:40]} |")
            continue
        row = (f"| {name} | {r['median_s_per_batch']:.3f} | {r['images_per_s']:.3f}{_spread(r, 'images_per_s', '.2f')} | "
               f"{r['achieved_gflops']:.0f} | {_of_matmul(r)} | "
               f"{r['peak_rss_mb']:.0f} | {r['working_memory_mb']:.0f} | "
               f"{'-' if r.get('psnr_vs_float32_db') is None else format(r['psnr_vs_float32_db'], '.1f')} |")
        # The official benchmark is float32 only: a bfloat16 row is compared with its float32 run.
        o = (official or {}).get("results", {}).get(config_name(name))
        if o and "median_s_per_batch" in o:
            o_work = o["peak_rss_mb"] - o["rss_after_import_mb"]
            row += (f" {o['median_s_per_batch']:.3f} | {o['images_per_s']:.3f}{_spread(o, 'images_per_s', '.2f')} | "
                    f"{o_work:.0f} | "
                    f"{r['images_per_s'] / o['images_per_s']:.2f}x | {r['working_memory_mb'] / o_work:.2f} |")
        print(row)
    if official:
        for name in ("sg2_256_b1", "sg2_512_b1"):
            o = official.get("results", {}).get(name)
            if o and "images_per_s" in o:
                print(f"official StyleGAN2 {name}: {o['images_per_s']:.3f} images/s")


def _official_train_run(official, spec):
    """The official_train_bench.py run with the same resolution and batch."""
    label = f"creps_res{spec['res']}_b{spec['batch']}"
    for run in (official or {}).get("runs", []):
        if run.get("label") == label:
            return run
    return None


def _ceiling(r, official_s_per_kimg, batch):
    """The speed-up over the official that a step at the matrix-product rate would reach."""
    rate, macs = r.get("matmul_gflops"), r.get("step_macs")
    if not rate or not macs:
        return "-"
    floor_s_per_kimg = 2 * macs["total"] / (rate * 1e9) * 1000 / batch
    return f"{official_s_per_kimg / floor_s_per_kimg:.2f}x"


def print_train_table(doc, official=None, train_bench=None):
    rows = [(n, r) for n, r in doc["results"].items() if config_name(n) in train_bench]
    if not rows:
        return
    header = f"| training ({doc['backend']}) | s/step | s/kimg | images/s | GFLOP/s | of matmul | peak RSS MB |"
    rule = "|---|---|---|---|---|---|---|"
    if official:
        header += (" official s/kimg | official images/s | official GFLOP/s | official peak RSS MB | speed-up "
                   "| ceiling | memory ratio |")
        rule += "---|---|---|---|---|---|---|"
    print(header)
    print(rule)
    for name, r in rows:
        if "mean_s_per_step" not in r:
            print(f"| {name} | {r.get('error', '?')[:40]} |")
            continue
        gflops = r.get("achieved_gflops")
        row = (f"| {name} | {r['mean_s_per_step']:.3f} | {r['s_per_kimg']:.0f}{_spread(r, 's_per_kimg', '.0f')} | "
               f"{r['images_per_s']:.2f} | {'-' if gflops is None else format(gflops, '.0f')} | "
               f"{_of_matmul(r) if gflops else '-'} | {r['peak_rss_mb']:.0f} |")
        spec = train_bench[config_name(name)]
        o = _official_train_run(official, spec)
        o_kimg = None if o is None else o.get("s_per_kimg")
        if o_kimg:
            o_peak = o.get("peak_rss_mb")
            # The same networks and phases: the official's GFLOP/s from our count of the step.
            o_gflops = "-" if gflops is None else format(gflops * r["s_per_kimg"] / o_kimg, ".0f")
            row += (f" {o_kimg:.0f}{_spread(o, 's_per_kimg', '.0f')} | {1000 / o_kimg:.2f} | {o_gflops} | "
                    f"{'-' if o_peak is None else format(o_peak, '.0f')} | {o_kimg / r['s_per_kimg']:.2f}x | "
                    f"{_ceiling(r, o_kimg, spec['batch'])} | "
                    f"{'-' if o_peak is None else format(r['peak_rss_mb'] / o_peak, '.2f')} |")
        print(row)

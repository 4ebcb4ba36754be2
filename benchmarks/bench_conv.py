"""Time conv2d forward+backward at the ResNet-20 CIFAR shapes, against PyTorch in the same run if importable.

    python benchmarks/bench_conv.py                # minidl only (PyTorch column left empty)
    /path/to/venv-with-torch/bin/python benchmarks/bench_conv.py
    OPENBLAS_NUM_THREADS=1 MINIDL_NUM_THREADS=1 python benchmarks/bench_conv.py   # both on one core

Each op: float32, batch 128, 3x3 kernel, padding 1, input and weight gradients (no bias, as in ResNet).
The two libraries are timed in alternating blocks with a pause between blocks, so that the busy-waiting
worker threads of one library (OpenBLAS, OpenMP) have gone to sleep before the other is timed.
Prints a table and appends it, with the machine and date, to benchmarks/RESULTS.md.
"""
import argparse
import datetime
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import minidl  # noqa: E402
from minidl import functional as F  # noqa: E402
from minidl.functional._conv_threads import thread_count as conv_threads  # noqa: E402
from _bench_common import append_section, cpu_model  # noqa: E402  (benchmarks/ is on sys.path when this script runs)

try:
    import torch
except ImportError:
    torch = None

SECTION = "## conv2d"
# (label, channels in, channels out, image side, stride): the three stages of ResNet-20, then a stage entry.
SHAPES = [("16ch @ 32x32", 16, 16, 32, 1), ("32ch @ 16x16", 32, 32, 16, 1), ("64ch @ 8x8", 64, 64, 8, 1),
          ("16->32ch @ 32x32, stride 2", 16, 32, 32, 2)]


def minidl_step(x, w, g, stride):
    xt, wt = minidl.Tensor(x, requires_grad=True), minidl.Tensor(w, requires_grad=True)

    def step():
        xt.grad = wt.grad = None
        F.conv2d(xt, wt, stride=stride, padding=1).backward(g)
    return step


def torch_step(x, w, g, stride):
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    gt = torch.tensor(g)

    def step():
        xt.grad = wt.grad = None
        torch.nn.functional.conv2d(xt, wt, stride=stride, padding=1).backward(gt)
    return step


def time_blocks(steps, runs, rounds, pause=0.3):
    """Seconds per call of each step: (median, best), timed in alternating blocks of `runs` calls after 2 warm-ups."""
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            time.sleep(pause)
            step()
            step()
            for _ in range(runs):
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(values), min(values)) for name, values in times.items()}


def sgemm_peak(size=2048, runs=5):
    """GFLOP/s of float32 matmul on the cores minidl uses: with one BLAS thread (minidl's default), that many
    2048^3 products run at once on Python threads, as minidl's conv chunks do; else one multithreaded product."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    together = conv_threads() if blas_threads() == 1 else 1
    with ThreadPoolExecutor(together) as pool:
        def products():
            list(pool.map(lambda _: a @ a, range(together)))
        products()
        best = min(_timed(products) for _ in range(runs))
    return together * 2 * size ** 3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def blas_name():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown BLAS"


def blas_threads():
    """The thread count of NumPy's BLAS: OPENBLAS_NUM_THREADS if set, else 1 (minidl sets NumPy's OpenBLAS
    to one thread when imported, see minidl/_blas.py), else all cores."""
    if os.environ.get("OPENBLAS_NUM_THREADS", "").isdigit():
        return int(os.environ["OPENBLAS_NUM_THREADS"])
    if hasattr(minidl, "_blas"):
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run(batch, runs, rounds):
    threads = max(blas_threads(), conv_threads())  # PyTorch may use as many threads as minidl does
    if torch is not None:
        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows = []
    for label, cin, cout, side, stride in SHAPES:
        out_side = (side - 1) // stride + 1
        x = rng.standard_normal((batch, cin, side, side)).astype(np.float32)
        w = (rng.standard_normal((cout, cin, 3, 3)) * (2 / (9 * cin)) ** 0.5).astype(np.float32)
        g = rng.standard_normal((batch, cout, out_side, out_side)).astype(np.float32)
        steps = {"minidl": minidl_step(x, w, g, stride)}
        if torch is not None:
            steps["torch"] = torch_step(x, w, g, stride)
        medians = time_blocks(steps, runs, rounds)
        flops = 3 * 2 * batch * cout * cin * 9 * out_side ** 2  # forward, input grad, weight grad GEMMs
        rows.append((label, medians["minidl"], flops, medians.get("torch")))
        print(f"  {label}: minidl {medians['minidl'][0] * 1e3:.1f} ms" +
              (f", PyTorch {medians['torch'][0] * 1e3:.1f} ms" if "torch" in medians else ""), flush=True)
    return rows, threads


def table(rows, peak):
    lines = ["| conv (batch 128, 3x3, pad 1), fwd+bwd | minidl ms | minidl GFLOP/s | % of sgemm peak "
             "| PyTorch ms | minidl / PyTorch (medians) | (best runs) |",
             "|---|---|---|---|---|---|---|"]
    for label, (ours, our_best), flops, theirs in rows:
        rate = flops / ours / 1e9
        ref = f"{theirs[0] * 1e3:.1f}" if theirs else "-"
        ratio = f"{ours / theirs[0]:.2f}x" if theirs else "-"
        best = f"{our_best / theirs[1]:.2f}x" if theirs else "-"
        lines.append(f"| {label} | {ours * 1e3:.1f} | {rate:.0f} | {100 * rate / peak:.0f}% | {ref} | {ratio} "
                     f"| {best} |")
    return "\n".join(lines)


def append_results(text):
    """Insert `text` at the end of the conv2d section of RESULTS.md (created if missing), atomically."""
    append_section(SECTION, text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--runs", type=int, default=7, help="timed calls per block (at least 7)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating blocks per library")
    parser.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    runs = max(args.runs, 7)
    peak = sgemm_peak()
    rows, threads = run(args.batch, runs, args.rounds)
    peak = max(peak, sgemm_peak())  # the best of two measurements: other jobs can only lower it
    versions = f"numpy {np.__version__}, BLAS {blas_name()}" + (f", torch {torch.__version__}" if torch else
                                                                 ", PyTorch not importable")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = (f"### {datetime.date.today().isoformat()}: {cpu_model()}, {os.cpu_count()} cores; threads: PyTorch {threads}, "
              f"NumPy's BLAS {blas_threads()}, minidl conv {conv_threads()}\n\n"
              f"{versions}. sgemm peak on those cores (2048^3 float32 matmuls): {peak:.0f} GFLOP/s. Median (and best) of "
              f"{runs * args.rounds} calls in {args.rounds} alternating blocks; load average {load:.1f} at the end "
              f"(other jobs on the machine inflate both columns). `python benchmarks/bench_conv.py`.\n")
    text = header + "\n" + table(rows, peak)
    print(text)
    if not args.no_append:
        append_results(text)


if __name__ == "__main__":
    main()

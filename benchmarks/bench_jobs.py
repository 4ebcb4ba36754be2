"""Units side by side: the reference suite's throughput with one training on every core against one training per
core at once (`lessons/reference_suite.py --jobs N`).

resnet20 training steps (batch 128, 32x32, float32, SGD), in rounds that alternate (a) one process whose
data-parallel step uses every core and (b) one single-thread process per core, all at once. Reports training
steps per second of the whole machine for each, as medians over rounds, and their ratio.

    python benchmarks/bench_jobs.py [--rounds 3] [--steps 6] [--no-append]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import _bench_common as common

sys.path.insert(0, os.path.join(common.ROOT, "tools"))
from step_time import ONE_RUN  # noqa: E402  (resnet20's step, as tools/step_time.py times it)


def trainings(processes, threads, steps):
    """Start `processes` trainings of `threads` threads each at once; the median seconds per step of each."""
    env = dict(os.environ, MINIDL_NUM_THREADS=str(threads), PYTHONPATH=os.environ.get("BENCH_MINIDL_ROOT", common.ROOT))
    running = [subprocess.Popen([sys.executable, "-c", ONE_RUN, str(steps)], env=env, stdout=subprocess.PIPE,
                                text=True) for _ in range(processes)]
    outputs = [p.communicate()[0] for p in running]
    if any(p.returncode for p in running):
        raise SystemExit("bench_jobs: a training process failed (its error is above)")
    return [statistics.median(json.loads(out.strip().splitlines()[-1])[0]) for out in outputs]  # [wall, cpu]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--no-append", action="store_true", help="print only; RESULTS.md stays as it is")
    args = parser.parse_args()
    cores = common.cores()
    together, apart = [], []  # machine-wide steps per second per round
    for _ in range(args.rounds):
        together.append(1 / trainings(1, cores, args.steps)[0])
        time.sleep(0.5)
        apart.append(sum(1 / t for t in trainings(cores, 1, args.steps)))
        time.sleep(0.5)
    one, many = statistics.median(together), statistics.median(apart)
    table = (f"| arrangement | steps per second, machine-wide (each round) | median |\n|---|---|---:|\n"
             f"| 1 process x {cores} threads | {', '.join(f'{v:.3f}' for v in together)} | {one:.3f} |\n"
             f"| {cores} processes x 1 thread (`--jobs {cores}`) | {', '.join(f'{v:.3f}' for v in apart)} | "
             f"{many:.3f} |\n\n"
             f"Ratio: {many / one:.2f}x the steps per second with `--jobs {cores}` (resnet20, batch 128, "
             f"{args.steps} steps after a warm-up step per process, {args.rounds} alternating rounds; "
             f"load average after the run {common.load_average():.1f}).")
    print(table)
    if not args.no_append:
        common.append_section("## Units side by side (bench_jobs.py)",
                              f"{common.machine()}; {common.versions()}\n\n{table}")


if __name__ == "__main__":
    main()

"""Median wall and CPU time of resnet20's training step (batch 128, float32, SGD) in one or more checkouts,
run alternately so that each sees the same load: the before/after check of a refactoring.

    python tools/step_time.py ROOT_A ROOT_B [--rounds 3] [--steps 5]
"""
import argparse
import json
import statistics
import subprocess
import sys

ONE_RUN = r"""
import json, sys, time
import numpy as np
import minidl
from minidl import functional as F
minidl.manual_seed(0)
model = minidl.models.create("resnet20")
opt = minidl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
rng = np.random.default_rng(0)
x = rng.standard_normal((128, 3, 32, 32)).astype(np.float32)
y = rng.integers(0, 10, 128)
wall, cpu = [], []
for i in range(int(sys.argv[1]) + 1):
    w, c = time.perf_counter(), time.process_time()
    model.train(); opt.zero_grad()
    minidl.parallel.train_step(model, x, y, F.cross_entropy)
    opt.step()
    if i:  # the first step warms caches
        wall.append(time.perf_counter() - w); cpu.append(time.process_time() - c)
print(json.dumps([wall, cpu]))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("roots", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    times = {root: ([], []) for root in args.roots}
    for _ in range(args.rounds):
        for root in args.roots:
            out = subprocess.run([sys.executable, "-c", ONE_RUN, str(args.steps)], cwd=root, check=True,
                                 capture_output=True, text=True).stdout
            wall, cpu = json.loads(out.strip().splitlines()[-1])
            times[root][0].extend(wall)
            times[root][1].extend(cpu)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    for root, (wall, cpu) in times.items():
        print(f"{root}: wall {1000 * statistics.median(wall):.0f} ms, CPU {1000 * statistics.median(cpu):.0f} ms "
              f"(medians of {len(wall)} steps; load {load})")


if __name__ == "__main__":
    main()

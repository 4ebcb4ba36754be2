"""Peak memory of one training step, what holds it, and the memory-efficient DenseNet's price in time.

    python benchmarks/bench_memory.py [--threads N] [--rounds 3]

For resnet56 (batch 128), densenet_bc100 and densenet_bc100 with memory_efficient=True (batch 64): the peak
of the memory NumPy allocates during one float32 training step (forward, backward, SGD momentum step), by
tracemalloc, above what was allocated before the step (weights, momentum buffers, the batch); and the same
in a loop that keeps `loss` bound between steps, as minidl.train does. At the end of
forward it also sorts the arrays the graph keeps alive: those the ops saved for backward, and the op outputs
that nothing saved but that the graph still references (each Function holds its input Tensors, and with them
their arrays, until the graph is freed). Then times the two DenseNets in alternating blocks (CPU time and
wall time, medians). Appends the tables to benchmarks/RESULTS.md.
"""
import argparse
import statistics
import time
import tracemalloc

import _bench_common as common

SECTION = "## Memory of a training step (bench_memory.py)"
CASES = [("resnet56", 128, {}), ("densenet_bc100", 64, {}), ("densenet_bc100", 64, {"memory_efficient": True})]
MB = 2 ** 20


def _setup(minidl, name, batch, options):
    import numpy as np
    from minidl import functional as F
    minidl.manual_seed(0)
    model = minidl.models.create(name, **options)
    opt = minidl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    rng = np.random.default_rng(0)
    x = minidl.Tensor(rng.standard_normal((batch, 3, 32, 32)).astype(np.float32))
    y = minidl.Tensor(rng.integers(0, 10, batch))

    def forward():
        return F.cross_entropy(model(x), y)

    def finish(loss):
        opt.zero_grad()
        loss.backward()
        opt.step()
    return forward, finish


def _root_array(a):
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def graph_arrays(loss):
    """(bytes saved for backward, bytes of op outputs kept only by the graph), distinct memory counted once."""
    saved, outputs, seen, stack = {}, {}, set(), [loss]
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen or tensor._ctx is None:
            continue
        seen.add(id(tensor))
        stack += [p for p in tensor._ctx.parents if p is not None]
        for array in tensor._ctx._saved:
            if hasattr(array, "nbytes"):
                root = _root_array(array)
                saved[id(root)] = root.nbytes
        root = _root_array(tensor.data)
        outputs[id(root)] = root.nbytes
    only_outputs = sum(n for key, n in outputs.items() if key not in saved)
    return sum(saved.values()), only_outputs


def measure_memory(minidl, name, batch, options):
    forward, finish = _setup(minidl, name, batch, options)
    finish(forward())  # the momentum buffers exist from the first step on
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    loss = forward()
    after_forward = tracemalloc.get_traced_memory()[0] - before
    saved, outputs = graph_arrays(loss)
    finish(loss)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return dict(peak=peak, after_forward=after_forward, saved=saved, outputs=outputs)


def measure_loop_peak(minidl, name, batch, options, steps=3):
    """Peak of the last of `steps` steps of a loop that, like minidl.train, keeps `loss` bound from one step to
    the next: whatever the previous step's graph still holds is counted too."""
    forward, finish = _setup(minidl, name, batch, options)
    tracemalloc.start()
    for step in range(steps):
        if step == steps - 1:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        loss = forward()
        finish(loss)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak, before


def time_pair(minidl, rounds, runs=2):
    """Median (CPU s, wall s) per step of the two DenseNets, timed in alternating blocks."""
    steps = {label: _setup(minidl, "densenet_bc100", 64, options) for label, options in
             (("standard", {}), ("memory_efficient", {"memory_efficient": True}))}
    times = {label: ([], []) for label in steps}
    for _ in range(rounds):
        for label, (forward, finish) in steps.items():
            finish(forward())
            for _ in range(runs):
                cpu, wall = time.process_time(), time.perf_counter()
                finish(forward())
                times[label][0].append(time.process_time() - cpu)
                times[label][1].append(time.perf_counter() - wall)
    return {label: (statistics.median(c), statistics.median(w)) for label, (c, w) in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing blocks per DenseNet")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    threads = common.set_threads(args.threads)
    minidl = common.import_minidl()
    lines = ["| model | batch | peak MB | after forward MB | saved by ops MB | outputs kept only by the graph MB "
             "| loop: held from the step before MB | loop: peak MB |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    peaks = {}
    for name, batch, options in CASES:
        label = name + (" memory_efficient" if options else "")
        r = measure_memory(minidl, name, batch, options)
        loop_peak, held = measure_loop_peak(minidl, name, batch, options)
        peaks[label] = r["peak"]
        lines.append(f"| {label} | {batch} | {r['peak'] / MB:.0f} | {r['after_forward'] / MB:.0f} | "
                     f"{r['saved'] / MB:.0f} | {r['outputs'] / MB:.0f} | {held / MB:.0f} | {loop_peak / MB:.0f} |")
        print(lines[-1], flush=True)
    times = time_pair(minidl, args.rounds)
    (cpu0, wall0), (cpu1, wall1) = times["standard"], times["memory_efficient"]
    factor = peaks["densenet_bc100"] / peaks["densenet_bc100 memory_efficient"]
    text = (f"### {common.machine()}: {common.thread_note(threads)}\n\n{common.versions()}. Load average "
            f"{common.load_average():.1f}. tracemalloc peak during one float32 training step above the memory "
            "allocated before it.\n\n" + "\n".join(lines) +
            f"\n\ndensenet_bc100 memory_efficient=True: peak {factor:.2f}x lower; time per step {cpu1:.2f} s CPU / "
            f"{wall1:.2f} s wall against {cpu0:.2f} / {wall0:.2f} s (ratio {cpu1 / cpu0:.2f} CPU, {wall1 / wall0:.2f} "
            f"wall; medians of {args.rounds} alternating blocks of 2 steps).")
    print("\n" + text)
    if not args.no_append:
        common.append_section(SECTION, text)


if __name__ == "__main__":
    main()

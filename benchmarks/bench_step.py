"""Training-step and evaluation throughput of whole zoo models at 1, 2, ... threads, against PyTorch in the same run.

    python benchmarks/bench_step.py                          # minidl only
    .bench-venv/bin/python benchmarks/bench_step.py          # with PyTorch (a venv where torch is installed)
    .bench-venv/bin/python benchmarks/bench_step.py --threads 1 2 --models resnet20 --profile
    .bench-venv/bin/python benchmarks/bench_step.py --busy   # with a second, busy process on the machine

A training step is float32 forward, cross-entropy, backward and an SGD step (momentum 0.9, weight decay
5e-4), the way `minidl.train` runs it (`minidl.parallel.train_step`: chunks of 64 images, one per thread at a time);
evaluation is a forward pass in eval mode without a graph (`minidl.parallel.forward`). Batch 128
(densenet_bc100: 64), random images. The two libraries are timed in alternating blocks with a pause between
them (so that the busy-waiting worker threads of one have gone to sleep before the other is timed), each
block after one warm-up step; the table gives medians over all blocks. Each thread count is one row: minidl
gets `threads=`, PyTorch `torch.set_num_threads`. `--busy` starts a process that keeps one core busy
for the whole run, as a second job on the machine would.
"""
import argparse
import statistics
import subprocess
import sys
import time

import _bench_common as common

MODELS = ("resnet20", "resnet56", "highway20", "rk4_resnet26", "densenet_bc100")
BATCH = {"densenet_bc100": 64}
SECTION = "## Training step and evaluation (bench_step.py)"


def minidl_steps(minidl, name, batch, rng, threads):
    import numpy as np
    from minidl import functional as F
    minidl.manual_seed(0)
    model = minidl.models.create(name)
    opt = minidl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def train():
        model.train()
        opt.zero_grad()
        minidl.parallel.train_step(model, x, y, F.cross_entropy, threads=threads)
        opt.step()

    def evaluate():
        model.eval()
        minidl.parallel.forward(model, x, threads=threads)
    return model, train, evaluate


def torch_steps(torch, name, batch, rng, threads):
    import torch_models
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model = torch_models.create(name)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.from_numpy(rng.standard_normal((batch, 3, 32, 32)).astype("float32"))
    y = torch.from_numpy(rng.integers(0, 10, batch))

    def train():
        torch.set_num_threads(threads)
        model.train()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def evaluate():
        torch.set_num_threads(threads)
        model.eval()
        with torch.no_grad():
            model(x)
    return model, train, evaluate


def time_blocks(steps, runs, rounds, pause=0.5):
    """{name: ([wall seconds per call], [process CPU seconds per call])} over `rounds` alternating blocks of
    one warm-up and `runs` timed calls. CPU time (all threads) is kept because on a shared, loaded machine
    the wall time also counts the time other processes hold the cores."""
    times = {name: ([], []) for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            time.sleep(pause)
            step()
            for _ in range(runs):
                start, cpu = time.perf_counter(), time.process_time()
                step()
                times[name][0].append(time.perf_counter() - start)
                times[name][1].append(time.process_time() - cpu)
    return times


def profile_table(minidl, train, steps=3):
    """minidl.profile() of `steps` training steps in CPU time: each op on its own thread's clock, the step on the
    process's (all threads), so that the rows share out the CPU time of a data-parallel step."""
    from minidl.profiler import profile
    train()
    with profile(steps=steps, clock=time.thread_time, block_clock=time.process_time) as prof:
        for _ in range(steps):
            train()
    return prof


def start_busy_process():
    """A second process that keeps one core busy until it is killed (as another job on the machine would)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="thread counts, one row each (default: 1 and every core)")
    parser.add_argument("--runs", type=int, default=3, help="timed steps per block")
    parser.add_argument("--rounds", type=int, default=3, help="alternating blocks per library and mode")
    parser.add_argument("--no-torch", action="store_true", help="time minidl only")
    parser.add_argument("--busy", action="store_true", help="run beside a second process that keeps a core busy")
    parser.add_argument("--profile", action="store_true", help="also print minidl.profile()'s table per model")
    parser.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--note", default="", help="a line to record with the results")
    args = parser.parse_args()
    thread_counts = sorted(set(args.threads or [1, common.cores()]))
    common.set_threads(max(thread_counts))  # pools sized for the largest count; each row sets its own
    import numpy as np
    minidl = common.import_minidl()
    minidl.keep_freed_memory()  # as minidl.train does
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            pass

    busy = start_busy_process() if args.busy else None
    try:
        load_before = common.load_average()
        rows, profiles = [], []
        for name in args.models:
            for threads in thread_counts:
                row = _measure(minidl, torch, name, threads, args)
                rows.append(row)
                print(_row_text(row), flush=True)
            if args.profile:
                prof = profile_table(minidl, minidl_steps(minidl, name, BATCH.get(name, 128),
                                                          np.random.default_rng(0), max(thread_counts))[1])
                profiles.append((name, max(thread_counts), prof))
                print(prof.table(), f"\n{prof.op_calls()} op calls per step\n", flush=True)
        load_after = common.load_average()
    finally:
        if busy is not None:
            busy.kill()

    header = (f"### {common.machine()}: threads {', '.join(map(str, thread_counts))}"
              + (", beside a busy second process" if args.busy else "") + "\n\n"
              f"{common.versions(torch, tried_torch=not args.no_torch)}. Load average (1 min) "
              f"{load_before:.1f} before, {load_after:.1f} after. Images/s, median of {args.rounds} alternating "
              f"blocks of {args.runs} steps per library, each after a warm-up step; in brackets the ratio of "
              "process CPU time per step (all threads), less sensitive to other processes' load."
              + (f" {args.note}" if args.note else ""))
    text = header + "\n\n" + _table(rows, torch is not None)
    if len(thread_counts) > 1:
        text += "\n\n" + _scaling_table(rows, thread_counts, torch is not None)
    for name, threads, prof in profiles:
        text += (f"\n\nminidl.profile() of a {name} training step at {threads} threads, CPU ms per step (ops on "
                 f"their thread's clock, the step on the process's; {prof.op_calls()} op calls):\n\n{prof.table()}")
    print("\n" + text)
    if not args.no_append:
        common.append_section(SECTION, text)


def _measure(minidl, torch, name, threads, args):
    """One row: minidl and PyTorch, train and eval, at `threads` threads."""
    import numpy as np
    batch = BATCH.get(name, 128)
    ours = minidl_steps(minidl, name, batch, np.random.default_rng(0), threads)
    theirs = torch_steps(torch, name, batch, np.random.default_rng(0), threads) if torch is not None else None
    if theirs is not None:
        n_ours = sum(p.data.size for p in ours[0].parameters())
        n_theirs = sum(p.numel() for p in theirs[0].parameters())
        if n_ours != n_theirs:
            sys.exit(f"bench_step: {name} has {n_ours:,} parameters in minidl but {n_theirs:,} in torch_models.py")
    row = dict(name=name, batch=batch, threads=threads)
    for mode, index in (("train", 1), ("eval", 2)):
        steps = {"minidl": ours[index]}
        if theirs is not None:
            steps["torch"] = theirs[index]
        times = time_blocks(steps, args.runs, args.rounds)
        for lib, (wall, cpu) in times.items():
            row[f"{lib}_{mode}"] = batch / statistics.median(wall)
            row[f"{lib}_{mode}_cpu"] = batch / statistics.median(cpu)
    return row


def _row_text(row):
    parts = [f"{row['name']} ({row['threads']} threads):"]
    for mode in ("train", "eval"):
        ours, theirs = row[f"minidl_{mode}"], row.get(f"torch_{mode}")
        parts.append(f"{mode} {ours:.1f} img/s" + (f" vs torch {theirs:.1f} ({ours / theirs:.2f}x; CPU time "
                                                   f"{row[f'minidl_{mode}_cpu'] / row[f'torch_{mode}_cpu']:.2f}x)"
                                                   if theirs else ""))
    return " ".join(parts)


def _table(rows, with_torch):
    if not with_torch:
        lines = ["| model | batch | threads | minidl train img/s | minidl eval img/s |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['name']} | {r['batch']} | {r['threads']} | {r['minidl_train']:.1f} | {r['minidl_eval']:.1f} |"
                  for r in rows]
        return "\n".join(lines)
    lines = ["| model | batch | threads | minidl train | PyTorch train | train ratio (CPU-time ratio) | minidl eval "
             "| PyTorch eval | eval ratio (CPU-time ratio) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = {mode: f"{r[f'minidl_{mode}'] / r[f'torch_{mode}']:.2f}x "
                       f"({r[f'minidl_{mode}_cpu'] / r[f'torch_{mode}_cpu']:.2f}x)" for mode in ("train", "eval")}
        lines.append(f"| {r['name']} | {r['batch']} | {r['threads']} | {r['minidl_train']:.1f} | {r['torch_train']:.1f} "
                     f"| {ratio['train']} | {r['minidl_eval']:.1f} | {r['torch_eval']:.1f} | {ratio['eval']} |")
    return "\n".join(lines)


def _scaling_table(rows, thread_counts, with_torch):
    """Speed-up of each library from the fewest to the most threads (throughput ratio)."""
    low, high = thread_counts[0], thread_counts[-1]
    libs = ("minidl", "torch") if with_torch else ("minidl",)
    head = " | ".join(f"{'PyTorch' if lib == 'torch' else lib} {mode}" for lib in libs for mode in ("train", "eval"))
    lines = [f"Scaling from {low} to {high} threads:", "", f"| model | {head} |",
             "|---|" + "---:|" * (2 * len(libs))]
    by_key = {(r["name"], r["threads"]): r for r in rows}
    for name in dict.fromkeys(r["name"] for r in rows):
        a, b = by_key[(name, low)], by_key[(name, high)]
        cells = " | ".join(f"{b[f'{lib}_{mode}'] / a[f'{lib}_{mode}']:.2f}x" for lib in libs for mode in ("train", "eval"))
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""What the fast path buys: a training step of a zoo model on the fast ops and on the textbook ops.

    python benchmarks/bench_textbook.py                      # resnet20, batch 32
    python benchmarks/bench_textbook.py --models resnet20 resnet56 --batch 64

`with minidl.textbook_ops():` empties every seam of minidl/seams.py: conv, batch norm and the pools run on their
plain versions (minidl/functional/textbook), `+ - *` keep NumPy's layouts and the batch is one chunk; everything
else (ReLU, the loss, the optimizer on the CPU) is the same code. Both
are timed in alternating blocks after a warm-up step (bench_step.time_blocks); the table gives medians.
"""
import argparse
import statistics

import _bench_common as common
from bench_step import minidl_steps, time_blocks

SECTION = "## Textbook ops against the fast path (bench_textbook.py)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet20"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--runs", type=int, default=2, help="timed steps per block")
    parser.add_argument("--rounds", type=int, default=2, help="alternating blocks per path")
    parser.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    threads = common.set_threads(args.threads)
    import numpy as np
    minidl = common.import_minidl()

    def on_textbook(step):
        def run():
            with minidl.textbook_ops():
                step()
        return run

    load_before = common.load_average()
    lines = ["| model | batch | fast ms/step (CPU ms) | textbook ms/step (CPU ms) | textbook / fast (CPU) |",
             "|---|---:|---:|---:|---:|"]
    for name in args.models:
        train = minidl_steps(minidl, name, args.batch, np.random.default_rng(0))[1]
        times = time_blocks({"fast": train, "textbook": on_textbook(train)}, args.runs, args.rounds)
        (fast, fast_cpu), (ref, ref_cpu) = [[1e3 * statistics.median(t) for t in times[path]]
                                            for path in ("fast", "textbook")]
        lines.append(f"| {name} | {args.batch} | {fast:.0f} ({fast_cpu:.0f}) | {ref:.0f} ({ref_cpu:.0f}) | "
                     f"{ref / fast:.1f}x ({ref_cpu / fast_cpu:.1f}x) |")
        print(lines[-1], flush=True)
    text = (f"### {common.machine()}: {common.thread_note(threads)}\n\n{common.versions()}. Load average (1 min) "
            f"{load_before:.1f} before, {common.load_average():.1f} after. Training step (forward, cross-entropy, "
            f"backward, SGD), float32, medians of {args.rounds} alternating blocks of {args.runs} steps.\n\n"
            + "\n".join(lines))
    print("\n" + text)
    if not args.no_append:
        common.append_section(SECTION, text)


if __name__ == "__main__":
    main()

"""Run the whole reference suite (lessons/_suite.py), resuming at the first unit not yet recorded.

    python lessons/reference_suite.py                   # every unit still missing, on the CPU
    python lessons/reference_suite.py --hours 2.5       # start no unit after 2.5 hours (a unit takes < 1 hour)
    python lessons/reference_suite.py --device cuda     # on a GPU
    python lessons/reference_suite.py --jobs 2          # two units at a time, each in its own process
    python lessons/reference_suite.py --run rk_32px     # only the RK run (two processes may share the suite
                                                        # when each runs its own runs: each run has its own file)
    python lessons/reference_suite.py --status          # what is recorded, what is missing and how long it takes

Each finished unit is written to lessons/reference/ at once with its provenance (command, commit, date, machine,
threads, device, wall time): commit the files as units finish. A stopped run loses only the unit it was in.
"""
import argparse
import signal
import statistics
import sys
import time

import _suite
import _workers
import minidl

def runs():
    """The suite's runs in running order: name -> (open its file, train its missing units, its nets). Built at each
    call from `_suite`'s constants, so the table always says what `_suite` says now."""
    return {_suite.DEPTH_RUN: (_suite.depth_run, _suite.run_depth, _suite.DEPTH_NETS),
            _suite.RK_RUN: (_suite.rk_run, _suite.run_rk, _suite.RK_NETS),
            _suite.HIGHWAY_RUN: (_suite.highway_run, _suite.run_highway, _suite.HIGHWAY_NETS),
            _suite.DENSE_RUN: (_suite.dense_run, _suite.run_dense, _suite.DENSE_NETS)}


def status():
    """Say per run what is recorded, what is missing, about how long the rest takes, and whether a process is
    training it now."""
    for name, (open_run, _, nets) in runs().items():
        run = open_run()
        names = _suite.units(nets)
        done = [u for u in names if run.done(u)]
        missing = [u for u in names if not run.done(u)]
        hours = sum(run.units[u]["provenance"]["wall_seconds"] for u in done) / 3600
        line = f"{name}: {len(done)} of {len(names)} units recorded ({hours:.1f} h of runs)"
        line += f"; next: {missing[0]}; {time_left(run, missing)}" if missing else ", complete"
        if not run.claim():
            line += "; a process is training it now"
        run.release()
        print(line)


def time_left(run, missing):
    """How long the `missing` units take if each takes the median wall time of its net's recorded units."""
    walls = {}
    for unit, entry in run.units.items():
        walls.setdefault(_suite.net_and_seed(unit)[0], []).append(entry["provenance"]["wall_seconds"])
    nets = [_suite.net_and_seed(unit)[0] for unit in missing]
    seconds = sum(statistics.median(walls[net]) for net in nets if net in walls)
    untimed = ", ".join(sorted(set(nets) - set(walls)))
    timed = f"the {len(missing)} missing take about {seconds / 3600:.1f} h at the recorded units' times"
    if not untimed:
        return timed
    if not set(nets) & set(walls):
        return f"no unit of {untimed} is recorded yet to time the rest"
    return f"{timed}, plus the units of {untimed} (none recorded yet)"


def main(argv=None):
    suite = runs()
    parser = argparse.ArgumentParser(description="Run the lessons' reference suite, resuming where it stopped.")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--hours", type=float, default=None, help="start no new unit after this many hours")
    parser.add_argument("--run", action="append", choices=tuple(suite), metavar="RUN",
                        help=f"run only this run (repeatable; one of {', '.join(suite)}); default: all, in that order")
    parser.add_argument("--jobs", type=positive, default=1,
                        help="units trained at once, each in its own process (on a CPU each gets cores / jobs "
                             "threads; on a GPU they share the device); default 1")
    parser.add_argument("--status", action="store_true", help="only say what is recorded and what is missing")
    args = parser.parse_args(argv)
    if args.status:
        status()
        return 0
    if args.device == "cuda" and not minidl.cuda.is_available():
        print("reference_suite: --device cuda needs CuPy and a CUDA GPU (minidl.cuda.is_available() is False); "
              "run on the CPU or install the gpu extra", file=sys.stderr)
        return 2
    deadline = None if args.hours is None else time.time() + 3600 * args.hours
    chosen = [name for name in suite if not args.run or name in args.run]
    failed = 0
    try:
        if args.jobs > 1:
            failed = _workers.run_parallel([(suite[name][0](), suite[name][2]) for name in chosen], args.device,
                                           deadline, args.jobs)
        else:
            for name in chosen:
                print(f"{name}:")
                suite[name][1](args.device, deadline)
    except KeyboardInterrupt:
        print("reference_suite: stopped; the finished units are recorded and the unit(s) in progress are lost: run "
              "the command again to resume", file=sys.stderr)
        return 130
    status()
    if failed:
        print(f"reference_suite: {failed} unit(s) failed (named above); the others are recorded", file=sys.stderr)
    return 1 if failed else 0


def positive(text):
    """argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def stop(signum, frame):
    raise KeyboardInterrupt  # SIGTERM (from `timeout` or a job scheduler) stops the suite as Ctrl-C does


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    sys.exit(main())

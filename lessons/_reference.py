"""Reference runs: what only a long run shows, produced by a chapter's --reference mode with minidl's own code
and committed under lessons/reference/ (histories, metrics, small arrays; never weights), with the command,
commit, date, machine, thread count and wall time that made them. Default mode draws the reader's run over them.
"""
import datetime
import json
import os
import platform
import subprocess
import sys

import minidl

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")


def provenance(wall_seconds, device, commit):
    """Where and how a result was made (`commit`: what commit() said when the run started)."""
    return {"command": " ".join(["python"] + [os.path.relpath(sys.argv[0])] + sys.argv[1:]),
            "commit": commit, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()} {_cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()}",
            "threads": minidl.parallel.thread_count(), "device": device, "wall_seconds": round(wall_seconds, 1),
            "minidl": minidl.__version__}


def save(name, results, wall_seconds, device, commit=None, folder=FOLDER):
    """Write lessons/reference/<name>.json atomically; returns its path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.json")
    temporary = os.path.join(folder, f".tmp-{name}.json")
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump({**provenance(wall_seconds, device, commit or current_commit()), "results": results}, f, indent=1)
        f.write("\n")
    os.replace(temporary, path)
    return path


def load(name, folder=FOLDER):
    """The committed reference run `name` (a dict with "results" and its provenance), or None if absent."""
    path = os.path.join(folder, f"{name}.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def relative_path(name):
    """How verdicts.json names a reference file."""
    return f"lessons/reference/{name}.json"


def current_commit():
    """The checked-out commit, marked if the package or the lessons have uncommitted changes."""
    try:
        here = os.path.dirname(os.path.dirname(FOLDER))  # the repository root: the pathspecs below are relative to it
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "minidl", "lessons/ch*.py", "lessons/_*.py"],
                               cwd=here, capture_output=True, text=True, timeout=10).stdout.strip()
        return (head + ("+uncommitted changes" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

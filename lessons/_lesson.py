"""What every chapter shares: its command line, where outputs go, a plain-text table, optional figures, and the
verdicts it ends with (_verdicts.py); the reference suite it draws on is _suite.py.

Each chapter runs alone (`python lessons/ch03_depth_and_degradation.py --quick`); this file sits beside the chapters, so
`import _lesson` finds it.
"""
import argparse
import os
import sys
import time

import numpy as np

import _verdicts
import minidl
from minidl._atomic import atomic_open

MODES = ("quick", "default", "full", "reference")


class Lesson:
    """Parsed options plus helpers: `lesson.mode`, `lesson.out`, `lesson.table(...)`, `lesson.figure(...)`."""

    def __init__(self, number, title, argv=None):
        parser = argparse.ArgumentParser(description=f"Chapter {number}: {title}")
        size = parser.add_mutually_exclusive_group()
        size.add_argument("--quick", action="store_true", help="a CI-sized run (at most a minute on 2 CPU cores)")
        size.add_argument("--full", action="store_true", help="the paper-sized experiment (may take hours)")
        size.add_argument("--reference", action="store_true",
                          help="the chapter's part of the reference suite (lessons/_suite.py), saved under "
                               "lessons/reference/ unit by unit")
        parser.add_argument("--out", default=None, help=f"output folder (default lessons/out/ch{number:02d})")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
        args = parser.parse_args(argv)
        self.number, self.title = number, title
        self.mode = ("quick" if args.quick else "full" if args.full else "reference" if args.reference
                     else "default")
        self.seed, self.device = args.seed, args.device
        here = os.path.dirname(os.path.abspath(__file__))
        self.out = args.out or os.path.join(here, "out", f"ch{number:02d}")
        os.makedirs(self.out, exist_ok=True)
        self.started = time.perf_counter()
        self.verdicts = _verdicts.Verdicts()
        minidl.manual_seed(self.seed)
        print(f"Chapter {number}: {title}  [{self.mode} mode, seed {self.seed}, device {self.device}]\n")

    def pick(self, quick, default, full):
        """The value for the current mode (--reference runs use the default mode's value)."""
        return {"quick": quick, "default": default, "full": full, "reference": default}[self.mode]

    def training_data(self, x_train, y_train, x_test, y_test, images, test):
        """A class-balanced subset of `images` training images and the first `test` test images (None: all of
        them), halved to 16x16 except in --full mode."""
        keep = minidl.data.balanced_subset(y_train, images, self.seed) if images else np.arange(len(y_train))
        data = (x_train[keep], y_train[keep], x_test[:test], y_test[:test])
        if self.mode == "full":
            return data
        return low_resolution(data[0], 16), data[1], low_resolution(data[2], 16), data[3]

    def table(self, headers, rows, title=None):
        """Print rows as an aligned plain-text table (floats to 4 significant digits)."""
        def cell(v):
            return f"{v:.4g}" if isinstance(v, float) else str(v)
        text = [[cell(v) for v in row] for row in rows]
        widths = [max(len(str(h)), *(len(r[i]) for r in text)) if text else len(str(h))
                  for i, h in enumerate(headers)]
        if title:
            print(title)
        print("  ".join(str(h).rjust(w) for h, w in zip(headers, widths)))
        print("  ".join("-" * w for w in widths))
        for r in text:
            print("  ".join(v.rjust(w) for v, w in zip(r, widths)))
        print()

    def pyplot(self):
        """matplotlib.pyplot with a file-only backend, or None (the chapter then prints tables only)."""
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            return plt
        except ImportError:
            if not getattr(self, "_warned", False):
                print("(matplotlib is not installed: figures are skipped; pip install 'minidl[plot]')\n")
                self._warned = True
            return None

    def figure(self, fig, name):
        """Save a figure as PNG in the output folder (atomically) and close it."""
        plt = self.pyplot()
        path = os.path.join(self.out, name)
        fig.tight_layout()
        with atomic_open(path, "wb") as f:
            fig.savefig(f, dpi=110, format="png")
        plt.close(fig)
        print(f"figure: {path}")
        return path

    def say(self, text):
        """Print a conclusion (chapters call this only with what their own numbers support)."""
        print(text)

    def done(self):
        """Print and save the chapter's verdicts (if it measured any), then the time it took."""
        if self.verdicts.rows:
            print(f"Verdicts of chapter {self.number} ({self.mode} mode):")
            for claim, measure, value, interval, n, budget, verdict in self.verdicts.lines():
                print(f"  [{verdict}] {claim}\n      {measure}: {value}, 95% interval {interval}, n = {n}; {budget}")
            print(f"verdicts: {self.verdicts.save(self.out)}")
        print(f"\nChapter {self.number} finished in {time.perf_counter() - self.started:.1f} s; outputs in {self.out}")
        sys.stdout.flush()


def sgd_steps(epochs, images, batch_size=128):
    """SGD steps of `epochs` epochs over `images` images (the last batch may be short)."""
    return epochs * -(-images // batch_size)


def training_budget(seeds, epochs, images, size, batch_size=128):
    """The training a verdict rests on, as verdicts.json states it: seeds x SGD steps, images and their side."""
    return (f"{seeds} seed{'s' * (seeds > 1)} x {sgd_steps(epochs, images, batch_size)} SGD steps, {images:,} images "
            f"at {size}x{size}")


def low_resolution(images, size):
    """Average-pool square (N, C, H, W) images down to size x size: 32x32 -> 16x16 leaves a quarter of the
    convolution work for the same networks (the cheap CIFAR of quick and default modes). Keeps the dtype."""
    n, c, h, w = images.shape
    if h != w or h % size:
        raise ValueError(f"low_resolution: expected square images whose side is a multiple of {size}, got {h}x{w}")
    f = h // size
    return images.reshape(n, c, size, f, size, f).mean(axis=(3, 5)).astype(images.dtype, copy=False)

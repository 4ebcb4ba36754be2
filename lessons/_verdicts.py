"""A chapter's verdicts: each claim of the book with the number that tests it, its 95% interval over seeds,
the budget it was measured at and what the interval says; saved as out/chNN/verdicts.json and printed as a table.

The rule is fixed before the run: a claim predicts that its measure lies above (or below) a threshold. If the
whole interval is on the predicted side the claim is "shown"; if the whole interval is on the other side it is
"contradicted"; if the interval straddles the threshold (or one run leaves it unknown) it is "not shown at this
budget". Nothing is tuned after the fact. A comparison one of whose sides never left chance is "confounded"
whatever its interval says: a net stuck on the chance plateau shows that it failed to start, not how it compares.
A claim not shown gets, from the spread of its own runs, the number of seeds that would likely settle it.
"""
import json
import math
import os

from minidl._atomic import atomic_open
from minidl.analysis import t_critical

SHOWN, NOT_SHOWN, CONTRADICTED, CONFOUNDED = "shown", "not shown at this budget", "contradicted", "confounded"
VERDICTS = (SHOWN, NOT_SHOWN, CONTRADICTED, CONFOUNDED)


class Verdicts:
    """Collects a chapter's verdicts in the order it measures them."""

    def __init__(self):
        self.rows = []

    def effect(self, claim, measure, interval, budget, *, above=0.0, below=None, reference=None, scale=None,
               both_trained=True):
        """A statistical claim: `interval` (minidl.analysis.mean_interval / paired_interval / proportion_interval)
        should lie above `above`, or, if `below` is given, below `below`. `scale`: the training it rests on
        (see `scale()`); `both_trained=False` when a side of the comparison never left chance."""
        threshold, side = (above, 1) if below is None else (below, -1)
        where = interval.excludes(threshold) * side
        verdict = (CONFOUNDED if not both_trained else SHOWN if where > 0 else CONTRADICTED if where < 0
                   else NOT_SHOWN)
        row = self._add(claim, measure, interval.value, interval.ci95, interval.n, budget, verdict, reference, scale)
        if verdict == NOT_SHOWN:
            row["seeds_to_settle"] = seeds_to_settle(interval, threshold)
        return row

    def exact(self, claim, measure, value, holds, budget, n=1, reference=None):
        """A claim settled by a computation rather than by sampling (a gradient check, a fitted order): no
        interval; shown if `holds`, contradicted otherwise."""
        return self._add(claim, measure, value, None, n, budget, SHOWN if holds else CONTRADICTED, reference, None)

    def _add(self, claim, measure, value, ci95, n, budget, verdict, reference, scale):
        row = {"claim": claim, "measure": measure, "value": _number(value),
               "ci95": None if ci95 is None else [_number(v) for v in ci95], "n": int(n), "budget": budget,
               "verdict": verdict, "reference": reference, "scale": scale}
        self.rows.append(row)
        return row

    def save(self, folder):
        """Write verdicts.json into `folder` (atomically: a temporary name, then a rename)."""
        path = os.path.join(folder, "verdicts.json")
        with atomic_open(path, "w") as f:
            json.dump(self.rows, f, indent=1)
            f.write("\n")
        return path

    def lines(self):
        """Each verdict as printable fields: claim, measure, value, interval, n, budget, verdict."""
        return [[r["claim"], r["measure"], _shown(r["value"]),
                 "-" if r["ci95"] is None else f"[{_shown(r['ci95'][0])}, {_shown(r['ci95'][1])}]",
                 r["n"], r["budget"] + (f"; rests on {r['reference']}" if r["reference"] else ""), r["verdict"]]
                for r in self.rows]


def scale(image_size, train_images, epochs, seeds):
    """The training a statistical verdict rests on, as verdicts.json records it."""
    return {"image_size": int(image_size), "train_images": int(train_images), "epochs": epochs, "seeds": int(seeds)}


def seeds_to_settle(interval, threshold, limit=1000):
    """The smallest number of seeds whose 95% interval, with this run's mean and spread, would exclude
    `threshold` (None where the mean sits on the threshold or the spread is unknown): a planning figure, since
    the mean and spread of more seeds will differ."""
    if interval.n < 2 or interval.n > 30 or interval.low is None:  # above 30 it counts images, not seeds
        return None
    spread = (interval.high - interval.low) / (2 * t_critical(interval.n - 1)) * math.sqrt(interval.n)  # the sd
    gap = abs(interval.value - threshold)
    if gap == 0 or spread == 0:
        return None
    for n in range(2, limit + 1):
        if t_critical(n - 1) * spread / math.sqrt(n) < gap:
            return n
    return None


def _number(value):
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"verdict: a measured value must be finite, got {value}")
    return round(value, 6 - int(math.floor(math.log10(abs(value)))) if value else 0)


def _shown(value):
    return f"{value:.3g}"

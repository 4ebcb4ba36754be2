"""95% confidence intervals for what an experiment measures over a few seeds: a mean (Student's t), a paired
difference (the t interval of the per-seed differences) and a proportion (Wilson's score interval).

The lessons turn each claim into a number per seed and ask whether the interval excludes "no effect"; with 3-5
seeds Student's t, not the normal 1.96, gives the right width (Student 1908 [student1908]).
"""
import math
from dataclasses import dataclass

import numpy as np

# Two-sided 95% critical values of Student's t for 1..30 degrees of freedom (standard tables, 3 decimals).
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
_Z95 = 1.959964


def t_critical(df):
    """The 97.5% quantile of Student's t with `df` degrees of freedom: the half-width factor of a 95% interval.
    Beyond the table, the Cornish-Fisher expansion in 1/df (Abramowitz & Stegun 26.7.5 [abramowitz1964]),
    within 1e-4 of the exact value from df = 30 on."""
    if df < 1 or int(df) != df:
        raise ValueError(f"t_critical: degrees of freedom must be a positive integer, got {df!r}")
    if df <= len(_T95):
        return _T95[int(df) - 1]
    z = _Z95
    return (z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3))


@dataclass
class Interval:
    """An estimate with its 95% interval; `low`/`high` are None where n = 1 leaves the spread unknown."""
    value: float
    low: object
    high: object
    n: int

    @property
    def ci95(self):
        return None if self.low is None else [self.low, self.high]

    def excludes(self, threshold=0.0):
        """+1 if the whole interval lies above `threshold`, -1 if below, 0 if it straddles it (or is unknown)."""
        if self.low is None:
            return 0
        return 1 if self.low > threshold else -1 if self.high < threshold else 0


def mean_interval(values):
    """Mean of independent measurements (one per seed) with Student's t 95% interval."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"mean_interval: expected at least one finite value, got {values.tolist()}")
    mean = float(values.mean())
    if values.size == 1:
        return Interval(mean, None, None, 1)
    half = t_critical(values.size - 1) * float(values.std(ddof=1)) / math.sqrt(values.size)
    return Interval(mean, mean - half, mean + half, int(values.size))


def paired_interval(a, b):
    """Mean of a - b over paired runs (same seed, same batches, same initial weights where the design allows),
    with the t interval of the differences: pairing removes what the two arms share from the noise."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired_interval: the two arms need one value per pair, got {a.size} and {b.size} values")
    return mean_interval(a - b)


def proportion_interval(successes, n):
    """Share of `successes` out of `n` trials (an accuracy on n test images) with Wilson's 95% score interval,
    which stays inside [0, 1] and is honest near 0 and 1 (Wilson 1927 [wilson1927])."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"proportion_interval: expected 0 <= successes <= n and n >= 1, got {successes} of {n}")
    p, z2 = successes / n, _Z95 ** 2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Interval(p, centre - half, centre + half, int(n))

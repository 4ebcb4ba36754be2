"""Butcher tableaux (A, b, c) of explicit Runge-Kutta methods, checked for consistency when loaded.

The coefficients come from `tableaux.py`, a generated copy of the project's verified tableaux. One step
of a method is k_i = f(x + h sum_{j<i} a_ij k_j), x_next = x + h sum_i b_i k_i; a consistent explicit
method has A strictly lower triangular, sum_i b_i = 1 and c_i = sum_j a_ij (Butcher 2016 [butcher2016],
docs/references.md). The RK8 block of the published HO-ResNet code fails sum b = 1 (tools/tableaux/README.md),
so every tableau, ours or a user's, goes through `check_tableau`.
"""
import difflib
from dataclasses import dataclass

from .tableaux import TABLEAUX

# The float64 coefficients are correctly rounded, so a sum agrees with its exact value to a few ulps of the
# magnitudes summed (Verner's rows reach |a_ij| ~ 600, so an absolute 1e-15 would be too strict).
ULPS = 16 * 2.0 ** -52


def _close(total, expected, magnitude):
    return abs(total - expected) <= ULPS * (1 + magnitude)


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge-Kutta method: A (s x s, strictly lower triangular), weights b, nodes c."""
    name: str
    A: tuple
    b: tuple
    c: tuple
    order: int
    source: str = ""

    @property
    def stages(self):
        return len(self.b)

    def __post_init__(self):
        check_tableau(self.name, self.A, self.b, self.c)


def check_tableau(name, A, b, c):
    """Raise ValueError unless A is s x s strictly lower triangular, sum(b) = 1 and c = row sums of A."""
    s = len(b)
    if len(A) != s or any(len(row) != s for row in A) or len(c) != s:
        raise ValueError(f"tableau {name!r}: expected A of shape ({s}, {s}) and c of length {s} for {s} weights b, "
                         f"got A with rows of lengths {[len(row) for row in A]} and c of length {len(c)}")
    upper = [(i, j) for i in range(s) for j in range(i, s) if A[i][j] != 0]
    if upper:
        raise ValueError(f"tableau {name!r}: an explicit method needs A strictly lower triangular, but entries "
                         f"{upper} (row, column) are non-zero")
    if not _close(sum(b), 1, sum(map(abs, b))):
        raise ValueError(f"tableau {name!r}: the weights b must sum to 1 (consistency), they sum to {sum(b)!r}")
    for i in range(s):
        if not _close(sum(A[i]), c[i], sum(map(abs, A[i]))):
            raise ValueError(f"tableau {name!r}: c[{i}] = {c[i]!r} differs from the row sum of A, {sum(A[i])!r}")


def get_tableau(name):
    """The named tableau from the copied set (`list_tableaux()` names them); a Tableau passes through."""
    if isinstance(name, Tableau):
        return name
    if name not in TABLEAUX:
        close = difflib.get_close_matches(str(name), TABLEAUX, n=3, cutoff=0.4)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown Butcher tableau {name!r}{hint}; known tableaux: {', '.join(TABLEAUX)}")
    t = TABLEAUX[name]
    return Tableau(name, tuple(tuple(row) for row in t["A"]), tuple(t["b"]), tuple(t["c"]), t["order"], t["source"])


def list_tableaux():
    """Names of the copied tableaux."""
    return list(TABLEAUX)

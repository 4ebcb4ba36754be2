"""Runge-Kutta stacks of residual branches (HO-ResNet: Luo, Sun, Zhou, Wu, Kamata 2021, arXiv 2103.15244).

A ResNet unit x + F(x) is one forward-Euler step of x' = F(x). An explicit s-stage Runge-Kutta block spends
s residual branches F_1..F_s, each with its own weights, on one step of a higher-order scheme:

    k_1 = F_1(x),   k_i = F_i(S(x) + sum_{j<i} a_ij k_j),   y = ReLU(S(x) + sum_i b_i k_i)

with (a_ij, b_i) a Butcher tableau (`butcher.py`), so Euler, midpoint, RK4 and Verner's 14-stage RK8 differ
only in their tableau, and Euler's gives back the ResNet unit exactly. As in the HO-ResNet code: the
branches have no ReLU on their input, the ReLU comes once after the final sum; where a stage begins (stride
2, more channels) the stride sits in F_1's first conv, the shortcut S (option A or B) is applied once to x,
and every later stage adds to that downsampled S(x). The branches are ResNet's post-activation residual
function, so an RK net has exactly the parameters of the ResNet with as many branches (rk4_resnet26 =
resnet26: one RK4 block replaces four Euler units per stage). The stem is He et al.'s stride-1 conv (the
HO-ResNet code's wrapper uses stride 2).
"""
from .. import functional as F
from .. import nn
from .butcher import get_tableau
from .common import CifarNet, make_shortcut, make_stages, post_activation_stem, units_per_stage
from .registry import register
from .resnet import BasicBranch

FACTOR_MODES = ("fixed", "learn", "decay")


class TableauFactors(nn.Module):
    """The factors a_ij, b_i of one block. Only the tableau's non-zero entries exist: its zero pattern is the
    scheme's structure (which stage feeds which).

    - "fixed": the tableau's numbers.
    - "learn": a_ij = a_ij(tableau) + delta_ij with delta a Parameter starting at 0, so the optimizer's
      ordinary weight decay holds the factors toward the tableau's values (minidl's choice, not the paper's).
    - "decay": the factors themselves are Parameters starting at the tableau's values, so weight decay
      pulls them toward 0 ("learnable factors subjected to weight decay", HO-ResNet's flexible factors).
    """

    def __init__(self, tableau, mode="fixed"):
        super().__init__()
        if mode not in FACTOR_MODES:
            raise ValueError(f"TableauFactors: factors must be one of {FACTOR_MODES}, got {mode!r}")
        s, A, b = tableau.stages, tableau.A, tableau.b
        self.mode, self.stages = mode, s
        self.a_entries = [(i, j) for i in range(s) for j in range(i) if A[i][j] != 0]
        self.b_entries = [i for i in range(s) if b[i] != 0]
        self.a_init = [A[i][j] for i, j in self.a_entries]
        self.b_init = [b[i] for i in self.b_entries]
        if mode != "fixed":
            start_a, start_b = ([0.0] * len(self.a_init), [0.0] * len(self.b_init)) if mode == "learn" else (
                self.a_init, self.b_init)
            if self.a_init:  # Euler has no a_ij at all
                self.a = nn.Parameter(start_a)
            self.b = nn.Parameter(start_b)

    def _value(self, init, params, k):
        if self.mode == "fixed":
            return init[k]
        return init[k] + params[k] if self.mode == "learn" else params[k]

    def forward(self):
        """(rows, weights): rows[i] lists (j, a_ij) for stage i's input, weights lists (i, b_i)."""
        a, b = getattr(self, "a", None), getattr(self, "b", None)
        rows = [[] for _ in range(self.stages)]
        for k, (i, j) in enumerate(self.a_entries):
            rows[i].append((j, self._value(self.a_init, a, k)))
        weights = [(i, self._value(self.b_init, b, k)) for k, i in enumerate(self.b_entries)]
        return rows, weights

    def extra_repr(self):
        return f"mode={self.mode!r}, {len(self.a_entries)} a_ij, {len(self.b_entries)} b_i"


def _weighted_sum(base, terms, k):
    """base + sum_j w_j k_j over terms (j, w_j); base may be None."""
    out = base
    for j, w in terms:
        term = k[j] if isinstance(w, float) and w == 1.0 else k[j] * w
        out = term if out is None else out + term
    return out


class RungeKuttaStep(nn.Module):
    """One explicit RK step over stage functions F_1..F_s; `step(x)` returns S(x) and sum_i b_i k_i."""

    def __init__(self, tableau, functions, shortcut=None, factors="fixed"):
        super().__init__()
        self.tableau = get_tableau(tableau)
        if len(functions) != self.tableau.stages:
            raise ValueError(f"{type(self).__name__}: tableau {self.tableau.name!r} has {self.tableau.stages} stages "
                             f"but {len(functions)} stage functions were given")
        self.functions = nn.ModuleList(functions)
        self.shortcut = nn.Identity() if shortcut is None else shortcut
        self.factors = TableauFactors(self.tableau, factors)

    def step(self, x):
        base = self.shortcut(x)
        rows, weights = self.factors()
        k = []
        for i, f in enumerate(self.functions):
            # k_1 = F_1(x);  k_i = F_i(S(x) + sum_{j<i} a_ij k_j)
            k.append(f(x if i == 0 else _weighted_sum(base, rows[i], k)))
        return base, _weighted_sum(None, weights, k)


class RKBlock(RungeKuttaStep):
    """y = ReLU(S(x) + sum_i b_i k_i) (activation=False drops the ReLU: a bare RK step, as the order test uses)."""

    def __init__(self, tableau, functions, shortcut=None, factors="fixed", activation=True):
        super().__init__(tableau, functions, shortcut, factors)
        self.activation = activation

    def forward(self, x):
        base, increment = self.step(x)
        out = base + increment
        return F.relu(out) if self.activation else out


class RKIncrement(RungeKuttaStep):
    """The increment sum_i b_i k_i of an RK step alone: the stage function of a nested HO-Net block."""

    def forward(self, x):
        return self.step(x)[1]


def rk_block(tableau, in_channels, out_channels, stride=1, factors="fixed", shortcut="A", inner=None,
             increment=False):
    """An RKBlock whose stage functions are ResNet branches; stage 1 takes the block's input (and stride).

    With `inner` a tableau (nested HO-Net) every stage function is itself an RKIncrement over `inner`, so
    the block holds stages(tableau) * stages(inner) branches. increment=True returns the RKIncrement.
    """
    tableau = get_tableau(tableau)

    def stage_function(c, s):
        if inner is None:
            return BasicBranch(c, out_channels, s)
        return rk_block(inner, c, out_channels, s, factors, shortcut, increment=True)

    functions = [stage_function(in_channels, stride) if i == 0 else stage_function(out_channels, 1)
                 for i in range(tableau.stages)]
    kind = RKIncrement if increment else RKBlock
    return kind(tableau, functions, make_shortcut(shortcut, in_channels, out_channels, stride), factors)


def rk_resnet(depth, num_classes=10, tableau="rk4", factors="fixed", nested=False, inner=None, shortcut="A"):
    """The (6n+2)-layer CIFAR ResNet with its n branches per stage grouped into RK blocks of `tableau`.

    nested=True: nested HO-Net; every stage function is an RK increment over `inner` (default: the same
    tableau), so a block spends stages(tableau) * stages(inner) branches. Options as `TableauFactors`.
    """
    outer = get_tableau(tableau)
    inner_tableau = get_tableau(inner or outer) if nested else None
    name = f"{outer.name}_resnet{depth}" + (f" nested over {inner_tableau.name}" if nested else "")
    n = units_per_stage(name, depth, convs_per_unit=2)
    per_block = outer.stages * (inner_tableau.stages if nested else 1)
    if n % per_block:
        raise ValueError(f"{name}: one block uses {per_block} residual branches, which does not divide the "
                         f"n = {n} branches per stage of a {depth}-layer net; use depth = 6 * {per_block} * m + 2")
    stages, features = make_stages(
        lambda c, width, stride, i: rk_block(outer, c, width, stride, factors, shortcut, inner_tableau), n // per_block)
    return CifarNet(post_activation_stem(), stages, features, num_classes)


register("midpoint_resnet26", rk_resnet, depth=26, tableau="midpoint")
register("rk4_resnet26", rk_resnet, depth=26, tableau="rk4")
register("rk4_resnet50", rk_resnet, depth=50, tableau="rk4")
register("rk8_resnet86", rk_resnet, depth=86, tableau="verner8")

"""Chapter 7: Runge-Kutta stacking. A residual unit x + F(x) is one forward-Euler step of x' = F(x); the
same parameters, regrouped into the stages of a higher-order Runge-Kutta step, give midpoint, RK4 and RK8
networks (HO-ResNet, Luo et al. 2021 [luo2021], docs/references.md).

The chapter (1) shows that the zoo's RK block with Euler's tableau IS the ResNet unit, (2) prints the
tableaux the blocks are built from, (3) measures the order of accuracy of that very block code on two real
ODEs, (4) trains Euler, midpoint and RK4 networks with equal parameter counts and (5) compares fixed,
learned and decaying RK factors. --full trains 32x32 images, all training data, 30 epochs with augmentation.
"""

import math

import numpy as np

import _lesson
import minidl
from minidl import nn
from minidl.models import BasicBlock, RKBlock, create, get_tableau, list_tableaux
from minidl.models.tableaux import TABLEAUX

METHODS = ("euler", "midpoint", "rk4", "verner8")


# ----- 1. the residual unit is an Euler step -----
def euler_is_resnet(lesson):
    block = BasicBlock(16, 16).eval()
    euler = RKBlock("euler", [block.branch]).eval()  # the same branch F, wrapped as a 1-stage RK step
    x = minidl.Tensor(np.random.default_rng(lesson.seed).standard_normal((4, 16, 8, 8)).astype(np.float32))
    difference = float(np.abs(block(x).data - euler(x).data).max())
    lesson.table(["block", "computes", "max |difference|"],
                 [["ResNet BasicBlock", "ReLU(x + F(x))", "--"],
                  ["RKBlock('euler', [F])", "ReLU(x + b1 k1), k1 = F(x), b1 = 1", difference]],
                 title="1. A residual unit and a one-stage Runge-Kutta (Euler) block with the same F")
    lesson.say("The two outputs agree to the last bit (difference 0.0): a residual unit is one forward-Euler step."
               if difference == 0 else f"The outputs differ by {difference:.3g}: the Euler block is NOT the unit.")


# ----- 2. the tableaux -----
def print_tableaux(lesson):
    rows = []
    for name in list_tableaux():
        t = get_tableau(name)
        nonzero = sum(a != 0 for row in t.A for a in row)
        rows.append([name, t.stages, t.order, f"{sum(t.b):.15g}", nonzero, sum(b != 0 for b in t.b)])
    lesson.table(["tableau", "stages s", "order", "sum b_i", "non-zero a_ij", "non-zero b_i"], rows,
                 title="2. Butcher tableaux shipped with minidl.models (checked on load: A strictly lower, "
                       "sum b = 1, c = row sums)")
    for name in ("midpoint", "rk4"):
        t = TABLEAUX[name]
        width = max(len(v) for v in t["A_exact"][-1] + t["b_exact"] + t["c_exact"]) + 1
        print(f"{name} (c | A over b); source: {t['source']}")
        for c, row in zip(t["c_exact"], t["A_exact"]):
            print(f"  {c:>{width}} |" + "".join(f"{a:>{width}}" for a in row))
        print(f"  {'':>{width}} +" + "-" * (width * len(t["b_exact"])))
        print(f"  {'':>{width}} |" + "".join(f"{b:>{width}}" for b in t["b_exact"]) + "\n")
    verner = TABLEAUX["verner8"]
    used = [i + 1 for i, b in enumerate(verner["b"]) if b != 0]
    lesson.say(f"verner8: {verner['stages']} stages, but its output uses only k_i for i in {used} "
               f"(b = {', '.join(verner['b_exact'][i - 1] for i in used)}).\n")


# ----- 3. order of accuracy on real ODEs, with the block code of the networks -----
class Field(nn.Module):
    """The stage function h * f(x) of an RK block for x' = f(x): the step size folded into F, as a net does."""

    def __init__(self, f, h):
        super().__init__()
        self.f, self.h = f, h

    def forward(self, x):
        return self.f(x) * self.h


def damped_rotation(x):
    """x' = A x with A = [[-0.1, -1], [1, -0.1]] (a damped oscillator); x is a row vector (1, 2)."""
    return x @ minidl.Tensor(np.array([[-0.1, 1.0], [-1.0, -0.1]]))


def logistic(x):
    """x' = x (1 - x)."""
    return x * (1.0 - x)


PROBLEMS = {  # name: (f, x0, T, exact x(T))
    "linear x' = Ax": (damped_rotation, np.array([[1.0, 0.0]]), 2.0,
                       lambda T: math.exp(-0.1 * T) * np.array([[math.cos(T), math.sin(T)]])),
    "logistic x' = x(1-x)": (logistic, np.array([[0.1]]), 4.0, lambda T: np.array([[1 / (1 + 9 * math.exp(-T))]])),
}


def solve(tableau, f, x0, T, steps):
    """x(T) after `steps` RK steps, each one RKBlock (no ReLU) whose stages all evaluate h f."""
    field = Field(f, T / steps)
    block = RKBlock(tableau, [field] * get_tableau(tableau).stages, activation=False)
    x = minidl.Tensor(x0)  # float64 throughout
    with minidl.no_grad():
        for _ in range(steps):
            x = block(x)
    return x.data


def fitted_slope(hs, errors, points=3, floor=1e-12):
    """Least-squares slope of log(error) against log(h) over the `points` smallest steps whose error is still
    above round-off (> floor): the asymptotic range, where error ~ C h^p. NaN if fewer than 2 qualify."""
    keep = np.flatnonzero(errors > floor)
    keep = keep[np.argsort(hs[keep])][:points]
    if len(keep) < 2:
        return float("nan")
    return float(np.polyfit(np.log(hs[keep]), np.log(errors[keep]), 1)[0])


def order_of_accuracy(lesson):
    steps = lesson.pick([2, 4, 8, 16, 32, 64], [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256],
                        [2 ** (k / 2) for k in range(2, 23)])
    steps = sorted({int(round(n)) for n in steps})
    results = {}
    for problem, (f, x0, T, exact) in PROBLEMS.items():
        hs = np.array([T / n for n in steps])
        for method in METHODS:
            errors = np.array([np.abs(solve(method, f, x0, T, n) - exact(T)).max() for n in steps])
            results[problem, method] = (hs, errors, fitted_slope(hs, errors))
    rows = []
    for method in METHODS:
        rows.append([method, get_tableau(method).order] + [results[p, method][2] for p in PROBLEMS])
    lesson.table(["method", "theory order p"] + [f"fitted slope, {p}" for p in PROBLEMS], rows,
                 title=f"3. Order of accuracy: global error at T vs step size h = T / steps ({steps[0]}..{steps[-1]} "
                       "steps); slope of log error vs log h over the 3 smallest h with error > 1e-12")
    err_rows = [[n] + [results[p, m][1][i] for p in PROBLEMS for m in METHODS] for i, n in enumerate(steps)]
    lesson.table(["steps"] + [f"{m[:6]} {'lin' if p.startswith('linear') else 'log'}" for p in PROBLEMS
                              for m in METHODS], err_rows, title="global error |x_N - x(T)| (lin = linear, log = logistic)")
    close = all(abs(results[p, m][2] - get_tableau(m).order) < 0.5 for p in PROBLEMS for m in METHODS)
    lesson.say("Every fitted slope is within 0.5 of the method's order: the network block IS an order-p integrator."
               if close else "Some fitted slopes differ from the theoretical order by 0.5 or more (see the table);"
               " the step range may not reach the asymptotic regime for them.")
    plt = lesson.pyplot()
    if plt:
        fig, axes = plt.subplots(1, len(PROBLEMS), figsize=(11, 4.4))
        for ax, problem in zip(axes, PROBLEMS):
            for method in METHODS:
                hs, errors, slope = results[problem, method]
                ax.loglog(hs, np.maximum(errors, 1e-17), marker="o", label=f"{method}: slope {slope:.2f}")
            ax.axhspan(1e-17, 1e-12, color="0.9", label="round-off (not fitted)")
            ax.set(xlabel="step size h", ylabel="global error at T", title=problem)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize="small")
        fig.suptitle("Order of accuracy of minidl's RKBlock on two ODEs (fitted slope ~ order p)")
        lesson.figure(fig, "ode_order.png")


# ----- 4 and 5. training: equal parameters, fixed/learned/decaying factors -----
def train_runs(lesson):
    size, subset, epochs = lesson.pick((16, 384, 1), (16, 5085, 2), (32, None, 30))
    x, y, xt, yt = minidl.data.cifar10(subset=subset, seed=lesson.seed)
    if size != 32:
        x, xt = _lesson.low_resolution(x, size), _lesson.low_resolution(xt, size)
    runs = [("resnet26 (Euler)", "resnet26", {}), ("midpoint_resnet26", "midpoint_resnet26", {}),
            ("rk4_resnet26 fixed", "rk4_resnet26", {}), ("rk4_resnet26 learn", "rk4_resnet26", {"factors": "learn"}),
            ("rk4_resnet26 decay", "rk4_resnet26", {"factors": "decay"})]
    print(f"4-5. Training on {len(y)} CIFAR-10 images at {size}x{size} px, {epochs} epoch(s), batch 64, SGD lr 0.05 "
          f"cosine, weight decay 5e-4, augmentation {'on' if lesson.mode == 'full' else 'off'}; test on {len(yt)}.\n")
    results = {}
    for label, name, options in runs:
        minidl.manual_seed(lesson.seed)
        model = create(name, **options)
        history = minidl.train(model, data=(x, y, xt, yt), epochs=epochs, batch_size=64, lr=0.05, schedule="cosine",
                               augment=lesson.mode == "full", seed=lesson.seed, progress=False, device=lesson.device)
        factors = sum(p.numel() for n, p in model.named_parameters() if ".factors." in n)
        results[label] = (model, history, (sum(p.numel() for p in model.parameters()) - factors, factors))
    return results, len(yt)


def as_float(factor):
    """A fixed factor is a Python float, a learned one a 0-d Tensor."""
    return factor.item() if isinstance(factor, minidl.Tensor) else float(factor)


def report_training(lesson, results, n_test):
    rows = [[label, sum(params), f"{100 * h.final['train_acc']:.1f}", f"{100 * h.final['test_acc']:.1f}",
             f"{sum(h.column('seconds')):.0f}"] for label, (_, h, params) in results.items()]
    lesson.table(["network", "parameters", "train acc %", "test acc %", "train s"], rows,
                 title="4-5. Equal parameters: Euler (ResNet) vs midpoint vs RK4 stacking, and RK4's factor modes")
    accs = {label: h.final["test_acc"] for label, (_, h, _) in results.items()}
    p = float(np.mean(list(accs.values())))
    se = 100 * math.sqrt(p * (1 - p) / n_test)
    spread = 100 * (max(accs.values()) - min(accs.values()))
    weights = {label: count for label, (_, _, count) in results.items()}
    lesson.say(f"Convolution/BN/classifier weights: {', '.join(sorted({f'{w:,}' for w, _ in weights.values()}))} "
               f"({'identical' if len({w for w, _ in weights.values()}) == 1 else 'NOT identical'} across the five "
               f"networks); RK factors that are Parameters: "
               f"{', '.join(f'{label} {f}' for label, (_, f) in weights.items() if f)}.")
    lesson.say(f"Test-set sampling noise alone: one standard error = {se:.1f} points at {100 * p:.0f}% accuracy on "
               f"{n_test} images; seed-to-seed variation adds more. The spread between runs is {spread:.1f} points.")
    if spread < 2 * 1.96 * se:
        lesson.say("That spread is within the noise: this run cannot rank the stacking schemes (HO-ResNet reports "
                   "about +2 points for higher-order stacking after full training [luo2021]).")
    else:
        best = max(accs, key=accs.get)
        lesson.say(f"{best} is best by more than twice the test noise in this run (one seed only).")
    factor_rows = []
    for label, (model, _, _) in results.items():
        if not label.startswith("rk4"):
            continue
        block = model.stages[0][0]
        rows_a, weights = block.factors()
        b = [as_float(w) for _, w in weights]
        a = [as_float(w) for row in rows_a for _, w in row]
        init = block.factors.b_init
        factor_rows.append([label, ", ".join(f"{v:.3f}" for v in a), ", ".join(f"{v:.3f}" for v in b),
                            max(abs(v - w) for v, w in zip(b, init))])
    lesson.table(["network", "a_21, a_32, a_43", "b_1..b_4", "max |b - tableau b|"], factor_rows,
                 title="RK4 factors of the first RK block (first stage of the net) after training (tableau: a = 0.5, 0.5, 1; b = 1/6, 1/3, 1/3, 1/6)")
    plt = lesson.pyplot()
    if plt:
        labels = list(results)
        accs_pct = [100 * accs[label] for label in labels]
        fig, ax = plt.subplots(figsize=(8, 4.4))
        ax.bar(range(len(labels)), accs_pct, yerr=1.96 * se, capsize=5, color=["0.6", "C0", "C1", "C2", "C3"])
        ax.set_xticks(range(len(labels)), [label.replace(" ", "\n", 1) for label in labels], fontsize="small")
        ax.set(ylabel="test accuracy (%)", title=f"Equal-parameter networks after {len(results[labels[0]][1])} "
                                                 "epoch(s) (error bars: 95% test-set noise)")
        ax.axhline(10, color="k", linestyle=":", linewidth=1, label="chance (10%)")
        ax.legend(loc="upper right")
        ax.set_ylim(0, max(accs_pct) * 1.3 + 1)
        ax.grid(axis="y", alpha=0.3)
        lesson.figure(fig, "rk_training.png")


def main():
    lesson = _lesson.Lesson(7, "Runge-Kutta stacking")
    euler_is_resnet(lesson)
    print_tableaux(lesson)
    order_of_accuracy(lesson)
    results, n_test = train_runs(lesson)
    report_training(lesson, results, n_test)
    if lesson.mode == "quick":
        lesson.say("(--quick trains a few hundred images for one epoch: far too small to compare the schemes.)")
    lesson.done()


if __name__ == "__main__":
    main()

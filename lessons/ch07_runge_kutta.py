"""Chapter 7: Runge-Kutta stacking. A residual unit x + F(x) is one forward-Euler step of x' = F(x); the
same parameters, regrouped into the stages of a higher-order Runge-Kutta step, give midpoint, RK4 and RK8
networks (HO-ResNet, Luo et al. 2021 [luo2021], docs/references.md).

The chapter (1) shows that the zoo's RK block with Euler's tableau IS the ResNet unit, (2) prints the
tableaux the blocks are built from, (3) measures the order of accuracy of that very block code on two real
ODEs, (4) trains Euler and RK4 networks with the same weights, the same start and the same batches over
3 seeds at 8x8 px and (5) in --quick and --full, trains RK4 with learned and decaying factors. --reference
runs the reference suite's RK run (Euler and RK4 at 32x32 on all 5,085 images, 30 epochs, seeds 0-4,
lessons/reference/rk_32px.json), whose verdict every mode prints; --full trains Euler, midpoint and RK4 on 32x32
images for 30 epochs with augmentation.
"""

import hashlib
import math

import numpy as np

import _curves
import _lesson
import _reference
import _suite
import _verdicts
import minidl
from minidl import analysis, nn
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
    gaps = [abs(results[p, m][2] - get_tableau(m).order) for p in PROBLEMS for m in METHODS]
    close = all(gap < 0.5 for gap in gaps)  # NaN (no slope) fails too
    lesson.verdicts.exact("an RK block has its tableau's order", "largest |fitted slope - order p| over "
                          f"{len(METHODS)} tableaux x {len(PROBLEMS)} ODEs (holds if < 0.5)",
                          max(gap if math.isfinite(gap) else 99.0 for gap in gaps), close,
                          f"{len(steps)} step counts {steps[0]}..{steps[-1]}, float64", n=len(gaps))
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


# ----- 4 and 5. training: Euler vs higher-order stacking at equal parameters, paired over seeds -----
SCHEMES = {"Euler": "resnet26", "midpoint": "midpoint_resnet26", "RK4": "rk4_resnet26"}
# The settings of the training runs: pixels, training images (None: all), epochs, seeds, schemes, and the RK4
# factor modes trained for the first seed only (section 5). --reference runs the reference suite's RK run instead.
SETTINGS = {"quick": (8, 384, 1, 2, ("Euler", "RK4"), ("learn", "decay")),
            "default": (8, None, 3, 3, ("Euler", "RK4"), ()),
            "full": (32, None, 30, 3, ("Euler", "midpoint", "RK4"), ("learn", "decay"))}


def describe(setting):
    size, subset, epochs, seeds, schemes, _ = setting
    return f"{seeds} seeds x {epochs} epoch(s), {subset or 5085:,} images at {size}x{size} px"


def initial_weights(model):
    """A fingerprint of a model's initial parameters (their bytes, in order)."""
    return hashlib.sha256(b"".join(p.data.tobytes() for p in model.parameters())).hexdigest()


def train_runs(lesson, setting):
    """Train every scheme for every seed: the same seed gives the same training images, the same batches and
    (the three nets create the same parameters in the same order) the same initial weights, so each seed
    is a paired comparison. Returns per-scheme lists (one entry per seed) and the trained RK4 factors."""
    size, subset, epochs, n_seeds, schemes, factor_modes = setting
    print(f"4-5. Training {', '.join(schemes)} ({describe(setting)}), batch 64, SGD lr 0.05 cosine, weight decay "
          f"5e-4, augmentation {'on' if size == 32 else 'off'}.\n")
    x_all, y_all, x_test, y_test = minidl.data.cifar10(verbose=False)
    if size != 32:
        x_all, x_test = _lesson.low_resolution(x_all, size), _lesson.low_resolution(x_test, size)
    runs = {scheme: {"test_acc": [], "train_acc": [], "curve": [], "train_error_curve": [], "seconds": []}
            for scheme in schemes}
    fingerprints, weights, factors = set(), set(), {}
    for seed in range(lesson.seed, lesson.seed + n_seeds):
        keep = minidl.data.balanced_subset(y_all, subset, seed) if subset else np.arange(len(y_all))
        data = (x_all[keep], y_all[keep], x_test, y_test)
        jobs = [(scheme, "fixed") for scheme in schemes]
        jobs += [("RK4", mode) for mode in factor_modes] if seed == lesson.seed else []
        for scheme, mode in jobs:
            minidl.manual_seed(seed)
            model = create(SCHEMES[scheme], **({} if mode == "fixed" else {"factors": mode}))
            if mode == "fixed":
                fingerprints.add(initial_weights(model))
                weights.add(sum(p.numel() for n, p in model.named_parameters() if ".factors." not in n))
            history = minidl.train(model, data=data, epochs=epochs, batch_size=64, lr=0.05, schedule="cosine",
                                   augment=size == 32, seed=seed, progress=False, device=lesson.device)
            if mode != "fixed":
                factors[mode] = trained_factors(model)
                continue
            run = runs[scheme]
            run["test_acc"].append(100 * history.final["test_acc"])
            run["train_acc"].append(100 * history.final["train_acc"])
            run["curve"].append([100 * a for a in history.column("test_acc")])
            run["train_error_curve"].append([1 - a for a in history.column("train_acc")])
            run["seconds"].append(sum(history.column("seconds")))
        print(f"  seed {seed}: " + ", ".join(f"{s} {runs[s]['test_acc'][-1]:.1f}%" for s in schemes), flush=True)
    same_start = len(fingerprints) == n_seeds  # one initial state per seed, shared by the schemes
    return {"setting": describe(setting), "seeds": list(range(lesson.seed, lesson.seed + n_seeds)),
            "size": size, "images": len(data[1]), "test_images": len(y_test), "weights": sorted(weights),
            "same_initial_weights": same_start, "schemes": runs, "factors": factors}


def as_float(factor):
    """A fixed factor is a Python float, a learned one a 0-d Tensor."""
    return factor.item() if isinstance(factor, minidl.Tensor) else float(factor)


def trained_factors(model):
    """a_ij and b_i of the first RK block (first stage of the net)."""
    block = model.stages[0][0]
    rows, weights = block.factors()
    return {"a": [as_float(w) for row in rows for _, w in row], "b": [as_float(w) for _, w in weights],
            "b_tableau": list(block.factors.b_init)}


def report_training(lesson, results, title):
    """The per-scheme table, the paired differences to Euler and their verdicts."""
    runs = results["schemes"]
    rows = [[scheme, f"{np.mean(r['train_acc']):.1f}", f"{np.mean(r['test_acc']):.1f}",
             ", ".join(f"{a:.1f}" for a in r["test_acc"]), f"{np.mean(r['seconds']):.0f}"]
            for scheme, r in runs.items()]
    lesson.table(["scheme", "train acc % (mean)", "test acc % (mean)", "test acc % per seed", "train s per run"],
                 rows, title=f"{title}: {results['setting']}")
    lesson.say(f"Weights (conv/BN/classifier): {', '.join(f'{w:,}' for w in results['weights'])} "
               f"({'identical' if len(results['weights']) == 1 else 'NOT identical'} across the schemes); initial "
               f"weights {'identical' if results['same_initial_weights'] else 'NOT identical'} for the same seed.")
    for scheme in runs:
        if scheme == "Euler":
            continue
        diff = analysis.paired_interval(runs[scheme]["test_acc"], runs["Euler"]["test_acc"])
        size, subset, epochs, seeds = SETTINGS[lesson.mode][:4]
        lesson.verdicts.effect(f"higher-order stacking beats Euler at equal parameters, this run at {size}x{size}",
                               f"test accuracy {scheme} - Euler (resnet26 weights), points, paired by seed", diff,
                               results["setting"], above=0.0,
                               scale=_verdicts.scale(size, subset or 5085, epochs, seeds))
        lesson.say(f"{scheme} - Euler: {diff.value:+.1f} points, 95% interval "
                   + (f"[{diff.low:+.1f}, {diff.high:+.1f}]" if diff.low is not None else "unknown (one seed)")
                   + f" over {diff.n} paired seeds.")
    print()


def report_factors(lesson, factors):
    rows = [[f"rk4_resnet26 {mode}", ", ".join(f"{v:.3f}" for v in f["a"]), ", ".join(f"{v:.3f}" for v in f["b"]),
             max(abs(v - w) for v, w in zip(f["b"], f["b_tableau"]))] for mode, f in factors.items()]
    lesson.table(["network", "a_21, a_32, a_43", "b_1..b_4", "max |b - tableau b|"], rows,
                 title="5. RK4 factors of the first RK block after training (tableau: a = 0.5, 0.5, 1; "
                       "b = 1/6, 1/3, 1/3, 1/6)")


def plot_training(lesson, panels):
    """One panel per run set (the reader's, the reference): each seed's test accuracy across the schemes."""
    plt = lesson.pyplot()
    if not plt:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.6), squeeze=False)
    for ax, (title, results) in zip(axes[0], panels):
        schemes = list(results["schemes"])
        accs = np.array([results["schemes"][s]["test_acc"] for s in schemes])  # (schemes, seeds)
        for k, seed in enumerate(results["seeds"]):
            ax.plot(range(len(schemes)), accs[:, k], marker="o", color="0.6", linewidth=1,
                    label="one seed (same start, same batches)" if k == 0 else None)
        ax.plot(range(len(schemes)), accs.mean(axis=1), marker="s", color="C3", linewidth=2, label="mean")
        ax.set_xticks(range(len(schemes)), schemes)
        ax.set_xlim(-0.4, len(schemes) - 0.6)
        ax.set(ylabel="test accuracy (%)", title=f"{title}\n{results['setting']}")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("The same resnet26 weights stacked as Euler, midpoint or RK4 steps")
    lesson.figure(fig, "rk_training.png")


def training(lesson):
    setting = SETTINGS[lesson.mode]
    results = train_runs(lesson, setting)
    report_training(lesson, results, "4. Equal parameters, this run")
    if results["factors"]:
        report_factors(lesson, results["factors"])
    plot_training(lesson, [("this run", results)])
    return results


def recorded_rk(lesson):
    """The verdict at the papers' shape, from the reference suite's RK run: resnet26 (Euler) and rk4_resnet26 with
    the same weights, trained 30 epochs at 32x32 on all 5,085 images, paired by seed (lessons/_suite.py)."""
    run = _suite.rk_run()
    rk4, euler = _suite.paired(run, "rk4_resnet26", "resnet26")
    if not rk4:
        lesson.say("(The reference suite has no finished Euler/RK4 pair yet: run `python lessons/reference_suite.py`; "
                   "the verdict at 32x32 is skipped.)")
        return
    diff = analysis.paired_interval([100 * (1 - r["test_error"]) for r in rk4], [100 * (1 - r["test_error"]) for r in euler])
    epochs = run.setting["recipe"]["epochs"]
    row = lesson.verdicts.effect(
        "higher-order stacking beats Euler at equal parameters, 32x32",
        "test accuracy rk4_resnet26 - resnet26 (Euler; the same weights), points, paired by seed", diff,
        _lesson.training_budget(diff.n, epochs, run.setting["train_images"], 32), above=0.0,
        reference=_reference.relative_path(_suite.RK_RUN),
        scale=_verdicts.scale(32, run.setting["train_images"], epochs, diff.n),
        both_trained=_suite.left_chance(rk4) and _suite.left_chance(euler))
    lesson.say(f"Reference suite, RK4 - Euler test accuracy at 32x32: {diff.value:+.1f} points"
               + (f", 95% interval [{diff.low:+.1f}, {diff.high:+.1f}]" if diff.low is not None else "")
               + f" over {diff.n} paired seed(s): {row['verdict']}.")


def plot_recorded(lesson, yours=None):
    """Training error against SGD steps from the reference suite's RK run, one line per seed, Euler and RK4 with
    the same weights; `yours` (this run's results, first seed) drawn over them, dashed."""
    run = _suite.rk_run()
    plt = lesson.pyplot()
    if plt is None or not run.units:
        return
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for scheme, color in (("Euler", "C0"), ("RK4", "C3")):
        net = SCHEMES[scheme]
        _curves.draw_reference(ax, _suite.recorded(run, net), f"{net} ({scheme})", color, run.setting["train_images"])
        if yours is not None and scheme in yours["schemes"]:
            _curves.draw_yours(ax, yours["schemes"][scheme]["train_error_curve"][0], scheme, color, yours["images"],
                               64, yours["size"])
    _curves.finish(ax, "Reference suite at 32x32: the same resnet26 weights as Euler or RK4 steps")
    ax.set_ylabel("training error (%)")
    lesson.figure(fig, "rk_32px.png")


def main():
    lesson = _lesson.Lesson(7, "Runge-Kutta stacking")
    yours = None
    if lesson.mode == "reference":  # the RK run of the reference suite
        _suite.run_rk(lesson.device)
    else:
        euler_is_resnet(lesson)
        print_tableaux(lesson)
        order_of_accuracy(lesson)
        yours = training(lesson)
    print("6. The reference suite at the papers' shape (lessons/reference/rk_32px.json)\n")
    recorded_rk(lesson)
    plot_recorded(lesson, yours)
    if lesson.mode == "quick":
        lesson.say("(--quick trains a few hundred images for one epoch: far too small to compare the schemes.)")
    lesson.done()


if __name__ == "__main__":
    main()

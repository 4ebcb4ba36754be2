"""Chapter 4: highway networks (Srivastava, Greff, Schmidhuber 2015, arXiv 1505.00387 and 1507.06228). A highway
unit mixes a transformation H(x) with its own input, element by element, under a learned gate:

    y = T(x) * H(x) + C(x) * x,   C = 1 - T,   T(x) = sigmoid(W_T x + b_T)

With b_T negative the unit starts close to the identity (carry), so a deep stack starts shallow in effect and
opens its gates as it learns. We check the formula and its limits, look at the gates at initialisation for
several gate biases, and train a deep highway net against the plain net of the same depth (chapter 3's recipe).

    python lessons/ch04_highway.py [--quick | --full | --reference] [--out DIR] [--seed N] [--device cpu|cuda]

Every claim ends in a verdict (lesson.done()): paired over seeds (the nets of a seed start from the same random
stream and see the same batches), with a 95% interval, shown only if the whole interval is on the predicted side.

quick:     plain56, highway56 (b_T=-6) and highway56 (b_T=-2), 128 images at 8x8, 2 epochs, one seed (checks the
           code runs; its verdicts say "not shown").
default:   the same three nets on 1,200 images at 8x8 for 4 epochs (40 SGD steps), seeds 0, 1, 2 (5 min).
reference: the reference suite's highway run (lessons/_suite.py): highway56 at 32x32 on all 5,085 training images,
           30 epochs, seeds 0-4, its gates read before and after training (lessons/reference/highway_32px.json);
           plain56 comes from the depth run. Every mode ends with the verdicts of the recorded units.
full:      depth 110 at 32x32 on all the training images cifar10() finds, 30 epochs, crop + flip, three seeds (days
           on a CPU).
"""

import copy
from dataclasses import dataclass

import numpy as np

import _curves
import _lesson
import _reference
import _suite
import _verdicts
import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import check_gradients, gate_statistics, gradient_flow, mean_interval, paired_interval
from minidl.models import HighwayUnit
from minidl.models.highway import default_gate_bias


# --------------------------------------------------------------------------------------------------
# 1. One highway unit: the formula, and its two limits
# --------------------------------------------------------------------------------------------------
def parts(unit, x):
    """T(x), H(x) and the carried x, computed from the unit's own sub-modules."""
    t = F.sigmoid(unit.gate(x))
    h = F.relu(unit.transform(x))
    return t, h, unit.carry(x)


def relative(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def one_unit(lesson, rng):
    """The formula, its carry and transform limits, and a gradient check in float64."""
    print("1. One highway unit (16 channels, 8x8, batch 4; H = the plain CIFAR unit: conv-BN-ReLU-conv-BN-ReLU)\n")
    x = minidl.Tensor(rng.standard_normal((4, 16, 8, 8)).astype(np.float32), requires_grad=True)
    probe = rng.standard_normal((4, 16, 8, 8)).astype(np.float32)
    rows = []
    for bias in (-10.0, -3.0, 0.0, 3.0, 10.0):
        minidl.manual_seed(lesson.seed)
        unit = HighwayUnit(16, 16, gate_bias=bias)
        y = unit(x)
        t, h, carried = parts(unit, x)
        formula = t.data * h.data + (1 - t.data) * carried.data
        x.grad = None
        (y * minidl.Tensor(probe)).sum().backward()  # x.grad = J^T probe; J = I gives back the probe itself
        rows.append([f"{bias:+g}", float(t.data.mean()), float((1 - t.data).mean()),
                     f"{np.abs(y.data - formula).max():.1e}",
                     f"{relative(y.data, x.data):.3g}", f"{relative(y.data, h.data):.3g}",
                     f"{relative(x.grad, probe):.3g}"])
    lesson.table(["gate bias b_T", "mean T", "mean C = 1-T", "|y - (T*H + C*x)|", "|y - x|/|x|", "|y - H|/|H|",
                  "|J^T r - r|/|r|"], rows)
    carry, transform = rows[0], rows[-1]
    if max(float(carry[4]), float(carry[6]), float(transform[5])) < 0.01:
        lesson.say(f"With b_T = -10 the unit passes its input through (y differs from x by {carry[4]} relative, its "
                   f"Jacobian from the identity by {carry[6]}); with b_T = +10 it is the plain unit (y differs from H(x) "
                   f"by {transform[5]}). T never reaches 0 or 1 exactly: mean T = {carry[1]:.2g} and {transform[1]:.6f}.")
    else:
        lesson.say(f"At b_T = -10, |y - x|/|x| = {carry[4]}; at b_T = +10, |y - H|/|H| = {transform[5]}.")

    unit = HighwayUnit(3, 3, gate_bias=-1.0).double()
    inputs = [minidl.Tensor(rng.standard_normal((2, 3, 4, 4)), requires_grad=True)]
    worst = max(w.abs_error for w in check_gradients(unit, inputs, max_elements=lesson.pick(16, 96, 96)))
    lesson.say(f"Gradient check of a float64 highway unit (batch-norm in training mode): worst |analytic - numeric| "
               f"{worst:.1e}.\n")


def deep_net(lesson):
    """The depth of sections 2 and 3 in this mode, and the zoo's default gate bias for it."""
    depth = lesson.pick(56, 56, 110)
    return depth, default_gate_bias(depth)


# --------------------------------------------------------------------------------------------------
# 2. Gate-bias initialisation: how open are the gates of a deep highway net at initialisation?
# --------------------------------------------------------------------------------------------------
def gates_at_init(lesson, batch, labels_of_batch):
    """Gate activity and relative gradients at initialisation for several gate biases, on one batch."""
    depth, gate_bias = deep_net(lesson)
    not_gate = lambda name, module: isinstance(module, nn.Conv2d) and not name.endswith("gate")  # noqa: E731
    print(f"2. highway{depth} at initialisation ({(depth - 2) // 2} highway units), one batch of {len(batch)} images\n")
    rows = []
    biases = lesson.pick({0.0, -2.0}, {0.0, -1.0, -2.0, -3.0}, {0.0, -1.0, -2.0, -3.0}) | {gate_bias}
    for bias in sorted(biases, reverse=True):  # the zoo's default bias (-6 for these depths) comes last
        minidl.manual_seed(lesson.seed)
        model = minidl.models.create(f"highway{depth}", gate_bias=bias).to(lesson.device)
        stats = gate_statistics(model, batch)
        flow = gradient_flow(model, batch, labels_of_batch, layers=not_gate)
        rows.append([f"{bias:+g}", f"{1 / (1 + np.exp(-bias)):.4f}", f"{stats.mean.mean():.4f}",
                     f"{stats.mean.min():.4f}-{stats.mean.max():.4f}", f"{stats.std_over_examples.mean():.4f}",
                     f"{flow.ratio[0]:.3g}", f"{np.median(flow.ratio[1:]):.3g}"])
    minidl.manual_seed(lesson.seed)
    plain = minidl.models.create(f"plain{depth}").to(lesson.device)
    flow = gradient_flow(plain, batch, labels_of_batch, layers=nn.Conv2d)
    rows.append([f"plain{depth}", "-", "(T = 1)", "-", "-", f"{flow.ratio[0]:.3g}", f"{np.median(flow.ratio[1:]):.3g}"])
    lesson.table(["gate bias", "sigmoid(b)", "mean T", "range over units", "sd over examples",
                  "|dL/dW|/|W| stem conv", "median over H convs"], rows)
    print(f"(The gate is a 1x1 conv with He-initialised weights, so W_T x spreads T around sigmoid(b). The zoo's default\n"
          f" bias for depth {depth} is {gate_bias:g}: -1/-2/-3 for depth ~10/20/30 as Srivastava et al. suggest, capped\n"
          " at -6.)")
    means = [float(r[2]) for r in rows[:-1]]
    trend = ("The more negative b_T, the more each unit carries its input: " if all(np.diff(means) < 0) else
             "Mean T does not fall steadily with b_T here: ")
    lesson.say(trend + f"mean T goes from {rows[0][2]} (b = 0) to {rows[-2][2]} (b = {gate_bias:g}). The relative "
               f"gradient of the first conv (an SGD step at lr 0.1 moves it by 0.1 x this) is {rows[0][5]} at b = 0, "
               f"{rows[-2][5]} at b = {gate_bias:g} and {rows[-1][5]} in plain{depth}; the gradient reaching each "
               f"transform H is T times the gradient of the unit's output, and their median relative gradient goes "
               f"from {rows[0][6]} to {rows[-2][6]} (plain{depth}: {rows[-1][6]}).\n")


# --------------------------------------------------------------------------------------------------
# 3. Training: a deep highway net against the plain net of the same depth, over several seeds
# --------------------------------------------------------------------------------------------------
@dataclass
class Run:
    """One trained network: its history, final training and test error, and its gates before and after."""
    history: object
    train_err: float
    test_err: float
    before: object = None   # GateStats at initialisation (highway nets only)
    after: object = None    # GateStats after training


def run_labels(depth, gate_bias):
    """The plain net, the highway net with the zoo's gate bias, and the highway net with gate bias -2."""
    return f"plain{depth}", f"highway{depth} (b_T={gate_bias:g})", f"highway{depth} (b_T=-2)"


def design(lesson):
    """Training images, resolution, epochs and seeds of this mode. Default: 8x8 images (half the cost of 16x16
    per step) so that three seeds fit."""
    images, size, epochs, seeds = lesson.pick((128, 8, 2, 1), (1200, 8, 4, 3), (None, 32, 30, 3))
    return images, size, epochs, [lesson.seed + k for k in range(seeds)]


def train_seed(lesson, data, epochs, seed, gate_batch):
    """The three nets from one seed: the same random stream at construction and the same batches in the same
    order (minidl.train's loader is seeded by `seed`), so that their differences are paired."""
    depth, gate_bias = deep_net(lesson)
    plain_run, highway_run, low_bias_run = run_labels(depth, gate_bias)
    nets = {plain_run: (f"plain{depth}", {}), highway_run: (f"highway{depth}", {}),
            low_bias_run: (f"highway{depth}", {"gate_bias": -2.0})}
    runs = {}
    for label, (name, kwargs) in nets.items():
        minidl.manual_seed(seed)
        model = minidl.models.create(name, **kwargs)
        gated = name.startswith("highway")  # read the gates of a copy: in train mode they update BN statistics
        before = gate_statistics(copy.deepcopy(model), gate_batch) if gated else None
        history = minidl.train(model, data=data, epochs=epochs, batch_size=128, lr=0.1, warmup_epochs=2,
                               augment=lesson.mode == "full", seed=seed, device=lesson.device, progress=False)
        train_err = 1 - minidl.evaluate(model, data[:2]).accuracy
        runs[label] = Run(history, train_err, 1 - history.final["test_acc"], before,
                          gate_statistics(model, gate_batch) if gated else None)
    return runs


def train_all(lesson, data, epochs, seeds, gate_batch):
    """{seed: {label: Run}} for every seed of this mode."""
    size = data[0].shape[-1]
    labels = run_labels(*deep_net(lesson))
    print(f"3. Training {', '.join(labels)} on {len(data[1]):,} images at {size}x{size} for {epochs} epochs = "
          f"{_lesson.sgd_steps(epochs, len(data[1]))} SGD steps (test: {len(data[3]):,}), seeds {', '.join(map(str, seeds))}; "
          f"chapter 3's recipe: SGD momentum 0.9, lr 0.1 with a two-epoch warm-up from 0.01, cosine, weight decay "
          f"5e-4, batch 128, {'crop + flip' if lesson.mode == 'full' else 'no augmentation'}. The three nets of a "
          "seed start from the same random stream and see the same batches.\n")
    results = {}
    for seed in seeds:
        results[seed] = train_seed(lesson, data, epochs, seed, gate_batch)
        print(f"  seed {seed}: " + ", ".join(f"{label} {100 * run.train_err:.1f}%"
                                             for label, run in results[seed].items()) + " training error")
    print()
    return results


def logit(p):
    return np.log(p) - np.log1p(-p)


def gate_measures(run):
    """Per unit, the change of its mean gate in log-odds, and the spread (sd over units) of logit(mean T)
    before and after training. Equal changes in every unit leave the spread as it was; gates that open in some
    layers and close (or open less) in others widen it."""
    before, after = logit(run.before.mean), logit(run.after.mean)
    return after - before, float(before.std(ddof=1)), float(after.std(ddof=1))


def training_verdicts(lesson, results, budget_text, scale):
    """The verdicts of section 3, paired over seeds; the rules (predicted side, threshold 0) are fixed here."""
    depth, gate_bias = deep_net(lesson)
    plain_run, highway_run, low_bias_run = run_labels(depth, gate_bias)
    err = {label: 100 * np.array([results[s][label].train_err for s in results]) for label in
           (plain_run, highway_run, low_bias_run)}
    tag = f", this run at {scale['image_size']}x{scale['image_size']}"
    left = {label: bool(np.all(err[label] < 100 * _suite.LEFT_CHANCE)) for label in err}
    lesson.verdicts.effect(f"{highway_run} trains where {plain_run} fails{tag}",
                           f"final training error {plain_run} - {highway_run}, points",
                           paired_interval(err[plain_run], err[highway_run]), budget_text, above=0.0, scale=scale,
                           both_trained=left[highway_run])  # the plain net failing to start is the claim itself
    lesson.verdicts.effect(f"gate bias matters: b_T={gate_bias:g} trains better than b_T=-2{tag}",
                           f"final training error highway{depth} b_T=-2 - b_T={gate_bias:g}, points",
                           paired_interval(err[low_bias_run], err[highway_run]), budget_text, above=0.0, scale=scale,
                           both_trained=left[low_bias_run] and left[highway_run])
    for label in (highway_run, low_bias_run):
        spreads = np.array([gate_measures(results[s][label])[1:] for s in results])
        lesson.verdicts.effect(f"gates learn to open or close per layer, {label}{tag}",
                               "sd over units of logit(mean T), after - before training",
                               paired_interval(spreads[:, 1], spreads[:, 0]), budget_text, above=0.0, scale=scale)


def report_training(lesson, results, data, epochs):
    """Error tables per seed and their paired differences."""
    depth, gate_bias = deep_net(lesson)
    plain_run, highway_run, low_bias_run = run_labels(depth, gate_bias)
    labels = (plain_run, highway_run, low_bias_run)
    seeds = list(results)
    mean_curve = {label: 100 * (1 - np.mean([results[s][label].history.column("train_acc") for s in seeds], axis=0))
                  for label in labels}
    lesson.table(["epoch"] + [f"{label} train err %" for label in labels],
                 [[e + 1] + [f"{mean_curve[label][e]:.1f}" for label in labels] for e in range(epochs)],
                 title=f"Training error during each epoch (running average, train mode), mean over {len(seeds)} "
                       f"seed{'s' * (len(seeds) > 1)}:")
    lesson.table(["seed"] + [f"{label} train / test err %" for label in labels],
                 [[s] + [f"{100 * results[s][label].train_err:.1f} / {100 * results[s][label].test_err:.1f}"
                         for label in labels] for s in seeds],
                 title="Final training error (eval mode, all training images) and test error:")
    if lesson.mode == "quick":
        lesson.say(f"Quick run: {_lesson.sgd_steps(epochs, len(data[1]))} steps on {len(data[1])} images, one seed: too few to "
                   "compare the nets; the verdicts below say so.")
        return
    plain = paired_interval([results[s][plain_run].train_err * 100 for s in seeds],
                            [results[s][highway_run].train_err * 100 for s in seeds])
    bias = paired_interval([results[s][low_bias_run].train_err * 100 for s in seeds],
                           [results[s][highway_run].train_err * 100 for s in seeds])
    mean = {label: np.mean([results[s][label].train_err for s in seeds]) * 100 for label in labels}
    lesson.say(f"Mean final training error over {len(seeds)} seeds: {plain_run} {mean[plain_run]:.1f}%, {highway_run} "
               f"{mean[highway_run]:.1f}%, {low_bias_run} {mean[low_bias_run]:.1f}% (chance: 90%). Paired per seed, "
               f"{plain_run} is {plain.value:.1f} points above {highway_run} (95% interval {interval_text(plain)}), "
               f"{low_bias_run} {bias.value:.1f} points above {highway_run} ({interval_text(bias)}).")


def interval_text(interval):
    return "unknown" if interval.low is None else f"{interval.low:.1f} to {interval.high:.1f}"


def gate_activity(lesson, results, epochs):
    """Gate activity (Srivastava et al. 2015, Fig. 2) before and after training, on one batch in train mode."""
    depth, gate_bias = deep_net(lesson)
    _, highway_run, low_bias_run = run_labels(depth, gate_bias)
    first = results[next(iter(results))][highway_run]
    before, after = first.before, first.after
    step = max(1, len(after.names) // 9)
    lesson.table(["gate", "mean T at init", "after training", "change in log-odds", "sd over examples after"],
                 [[after.names[i], f"{before.mean[i]:.4f}", f"{after.mean[i]:.4f}",
                   f"{logit(after.mean[i]) - logit(before.mean[i]):+.3f}", f"{after.std_over_examples[i]:.4f}"]
                  for i in range(0, len(after.names), step)],
                 title=f"Transform-gate activity of {highway_run}, seed {next(iter(results))}, one unit in {step} "
                       f"({len(first.before.per_example)} training images, train mode):")
    rows = []
    for label in (highway_run, low_bias_run):
        for seed, runs in results.items():
            run = runs[label]
            change, spread_before, spread_after = gate_measures(run)
            rows.append([label, seed, f"{run.before.mean.mean():.4f} -> {run.after.mean.mean():.4f}",
                         f"{change.mean():+.3f}", f"{change.min():+.3f} to {change.max():+.3f}",
                         f"{int((change > 0).sum())}/{len(change)}", f"{spread_before:.3f} -> {spread_after:.3f}"])
    lesson.table(["net", "seed", "mean T over units", "mean change, log-odds", "range over units", "units opened",
                  "sd over units of logit(mean T)"], rows,
                 title=f"Gates per unit after {epochs} epochs: change of each unit's mean T in log-odds, and the spread "
                       "of the units:")



def plot_gates_and_training(lesson, results, data, epochs):
    """Gate activity per unit (first seed), and the mean training error per epoch of the reader's run (skipped
    without matplotlib)."""
    depth, gate_bias = deep_net(lesson)
    _, highway_run, _ = run_labels(depth, gate_bias)
    size = data[0].shape[-1]
    plt = lesson.pyplot()
    if plt is None:
        return
    fig, (ax_gate, ax_err) = plt.subplots(1, 2, figsize=(12, 4.3))
    first = results[next(iter(results))][highway_run]
    units = np.arange(1, len(first.after.names) + 1)
    for stats, style, label in ((first.before, ".-", "at initialisation"), (first.after, "o-", f"after {epochs} epochs")):
        line, = ax_gate.plot(units, stats.mean, style, label=label)
        p10, p90 = np.percentile(stats.per_example, [10, 90], axis=0)  # spread of each example's mean T
        ax_gate.fill_between(units, p10, p90, color=line.get_color(), alpha=0.2)
    ax_gate.axhline(1 / (1 + np.exp(-gate_bias)), color="gray", linestyle=":", label=f"sigmoid(b_T = {gate_bias:g})")
    ax_gate.set_yscale("log")
    ax_gate.set(xlabel="highway unit (1 = next to the input)", ylabel="mean transform gate T (log scale)",
                title=f"{highway_run}, seed {next(iter(results))}: gate activity (bands: 10-90% of examples)")
    ax_gate.legend(fontsize=8)
    ax_gate.grid(alpha=0.3, which="both")
    for i, label in enumerate(run_labels(depth, gate_bias)):
        curves = [100 * (1 - np.array(runs[label].history.column("train_acc"))) for runs in results.values()]
        ax_err.plot(np.arange(1, len(curves[0]) + 1), np.mean(curves, axis=0), "-o", color=f"C{i}",
                    label=f"{label} (mean of {len(curves)} seed{'s' * (len(curves) > 1)})")
    ax_err.axhline(90, color="gray", linestyle=":", linewidth=1, label="chance")
    ax_err.set(xlabel=f"epoch ({-(-len(data[1]) // 128)} SGD steps)", ylabel="training error, running average (%)",
               ylim=(0, 100), title=f"Training: {len(data[1]):,} images at {size}x{size}")
    ax_err.legend(fontsize=7)
    ax_err.grid(alpha=0.3)
    lesson.figure(fig, "highway_gates_and_training.png")


# --------------------------------------------------------------------------------------------------
# 4. The reference suite at the papers' shape: highway56 and plain56 trained 30 epochs at 32x32
# --------------------------------------------------------------------------------------------------
GATES_DIFFER = 0.5  # log-odds: the claim predicts layers whose gates moved by amounts this far apart (sd over layers)


def layer_changes(result):
    """Per highway layer, how far training moved its mean gate, in log-odds (after - before): a measure that
    where the gates started cannot inflate."""
    before = np.array([np.mean(c) for c in result["gates_before"]])
    after = np.array([np.mean(c) for c in result["gates_after"]])
    return logit(after) - logit(before)


def recorded_highway(lesson):
    """The verdicts at 32x32 from the reference suite: highway56 (lessons/reference/highway_32px.json) against the
    depth run's plain56 of the same seeds (same recipe, same batches), and what training did to the gates.
    Returns the paired results for the figure."""
    highway, depth = _suite.highway_run(), _suite.depth_run()
    seeds = [s for s in _suite.SEEDS if highway.done(_suite.unit_name("highway56", s))
             and depth.done(_suite.unit_name("plain56", s))]
    if not seeds:
        lesson.say("(The reference suite has no finished highway56/plain56 pair yet: run "
                   "`python lessons/reference_suite.py`; the verdicts at 32x32 are skipped.)")
        return None
    gated = [highway.result(_suite.unit_name("highway56", s)) for s in seeds]
    plain = [depth.result(_suite.unit_name("plain56", s)) for s in seeds]
    epochs, images = highway.setting["recipe"]["epochs"], highway.setting["train_images"]
    budget = _lesson.training_budget(len(seeds), epochs, images, 32)
    scale = _verdicts.scale(32, images, epochs, len(seeds))
    gap = paired_interval([100 * r["train_error"] for r in plain], [100 * r["train_error"] for r in gated])
    row = lesson.verdicts.effect("highway56 trains better than plain56, 32x32",
                                 "final training error plain56 (from the depth run) - highway56 (points), paired by "
                                 "seed", gap, budget, reference=_reference.relative_path(_suite.HIGHWAY_RUN), scale=scale,
                                 both_trained=_suite.left_chance(plain) and _suite.left_chance(gated))
    lesson.say(f"Reference suite at 32x32: plain56 - highway56 training error {gap.value:+.1f} points over "
               f"{gap.n} seed(s): {row['verdict']}.")
    spread = mean_interval([layer_changes(r).std(ddof=1) for r in gated])
    row = lesson.verdicts.effect("highway gates learn different amounts per layer (not where they started), 32x32",
                                 "sd over the 27 layers of each layer's change of mean T in log-odds (after - before); "
                                 f"claim: above {GATES_DIFFER}", spread, budget, above=GATES_DIFFER,
                                 reference=_reference.relative_path(_suite.HIGHWAY_RUN), scale=scale)
    closed = [100 * np.mean([np.mean(a) < np.mean(b) for a, b in zip(r["gates_after"], r["gates_before"])])
              for r in gated]
    channels = [100 * np.mean(np.concatenate(r["gates_after"]) < np.concatenate(r["gates_before"])) for r in gated]
    lesson.say(f"Gates per layer after training: the layers' changes spread by {spread.value:.2f} log-odds (sd over "
               f"layers, mean of {spread.n} seeds): {row['verdict']}. Layers whose mean gate closed during training: "
               f"{np.mean(closed):.0f}% (per seed {', '.join(f'{c:.0f}' for c in closed)}); single channels whose gate "
               f"closed: {np.mean(channels):.1f}%.\n")
    return gated, plain


def plot_recorded(lesson, recorded, yours=None):
    """Srivastava et al.'s Fig. 2 from the reference suite: each layer's mean gate before and after training with
    its spread over channels, one line per seed; and the training error curves of highway56 and plain56, with
    `yours` (this run's (results, data), first seed) drawn over them, dashed."""
    plt = lesson.pyplot()
    if plt is None or recorded is None:
        return
    gated, plain = recorded
    fig, (ax_gate, ax_err) = plt.subplots(1, 2, figsize=(12, 4.3))
    layers = np.arange(1, len(gated[0]["gates_after"]) + 1)
    for k, r in enumerate(gated):
        for key, color, label in (("gates_before", "C7", "at initialisation"), ("gates_after", "C2", "after training")):
            channels = [np.array(c) for c in r[key]]
            ax_gate.plot(layers, [c.mean() for c in channels], color=color, linewidth=1,
                         label=f"{label} (each seed)" if k == 0 else None)
            if k == 0:
                ax_gate.fill_between(layers, [np.percentile(c, 10) for c in channels],
                                     [np.percentile(c, 90) for c in channels], color=color, alpha=0.2)
    ax_gate.set_yscale("log")
    ax_gate.set(xlabel="highway layer (1 = next to the input)", ylabel="mean transform gate T (log scale)",
                title="highway56 gates: mean over channels (band: 10-90% of channels, first seed)")
    ax_gate.legend(fontsize=8)
    ax_gate.grid(alpha=0.3, which="both")
    images = _suite.highway_run().setting["train_images"]
    for runs, color, name in ((plain, "C0", "plain56"), (gated, "C2", "highway56")):
        _curves.draw_reference(ax_err, runs, name, color, images)
    if yours is not None:
        results, data = yours
        first = results[next(iter(results))]
        for (label, run), color in zip(first.items(), ("C0", "C2", "C1")):
            _curves.draw_yours(ax_err, [1 - a for a in run.history.column("train_acc")], label, color, len(data[1]),
                               128, data[0].shape[-1])
    _curves.finish(ax_err, "Training error during each epoch (running average)")
    ax_err.set_ylabel("training error (%)")
    lesson.figure(fig, "highway_32px.png")


def chosen_batch(lesson, x_train, y_train):
    """The fixed batch on which the gates are read, at initialisation and after training."""
    chosen = np.random.default_rng(lesson.seed).choice(len(y_train), lesson.pick(16, 64, 128), replace=False)
    return x_train[chosen], y_train[chosen]


def main():
    lesson = _lesson.Lesson(4, "Highway networks")
    yours = None
    if lesson.mode == "reference":  # the highway run of the reference suite (its plain56 comes from the depth run)
        _suite.run_highway(lesson.device)
    else:
        yours = train_and_measure(lesson)
    print("4. The reference suite at the papers' shape (lessons/reference/highway_32px.json, depth_32px.json)\n")
    plot_recorded(lesson, recorded_highway(lesson), yours)
    lesson.done()


def train_and_measure(lesson):
    """Sections 1-3: one unit, the gates at initialisation, and the three nets trained in this mode; returns the
    training results and their data."""
    rng = np.random.default_rng(lesson.seed)
    x_train, y_train, x_test, y_test = minidl.data.cifar10(seed=lesson.seed)
    batch, labels_of_batch = chosen_batch(lesson, x_train, y_train)
    one_unit(lesson, rng)
    gates_at_init(lesson, batch, labels_of_batch)
    images, size, epochs, seeds = design(lesson)
    data = lesson.training_data(x_train, y_train, x_test, y_test, images, lesson.pick(200, 500, None))
    if size < data[0].shape[-1]:
        data = _lesson.low_resolution(data[0], size), data[1], _lesson.low_resolution(data[2], size), data[3]
    gate_batch = _lesson.low_resolution(batch, size) if size < batch.shape[-1] else batch
    results = train_all(lesson, data, epochs, seeds, gate_batch)
    report_training(lesson, results, data, epochs)
    gate_activity(lesson, results, epochs)
    training_verdicts(lesson, results, _lesson.training_budget(len(seeds), epochs, len(data[1]), data[0].shape[-1]),
                      _verdicts.scale(data[0].shape[-1], len(data[1]), epochs, len(seeds)))
    plot_gates_and_training(lesson, results, data, epochs)
    return results, data


if __name__ == "__main__":
    main()

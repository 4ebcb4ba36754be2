"""Chapter 4: highway networks (Srivastava, Greff, Schmidhuber 2015, arXiv 1505.00387 and 1507.06228). A highway
unit mixes a transformation H(x) with its own input, element by element, under a learned gate:

    y = T(x) * H(x) + C(x) * x,   C = 1 - T,   T(x) = sigmoid(W_T x + b_T)

With b_T negative the unit starts close to the identity (carry), so a deep stack starts shallow in effect and
opens its gates as it learns. We check the formula and its limits, look at the gates at initialisation for
several gate biases, and train a deep highway net against the plain net of the same depth (chapter 3's recipe).

    python lessons/ch04_highway.py [--quick | --full] [--out DIR] [--seed N] [--device cpu|cuda]

quick:   plain56 and highway56 trained on 128 images at 16x16 for 2 epochs (too small to compare them: it checks
         that the code runs).
default: plain56, highway56 and highway56 with gate bias -2 on 1,200 images at 16x16 for 8 epochs (5 min).
full:    the same at depth 110 and 32x32 on all the training images cifar10() finds, 30 epochs, crop + flip.
"""

import copy

import numpy as np

import _lesson
import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import check_gradients, gate_statistics, gradient_flow
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
def gates_at_init(lesson, rng, x_train, y_train):
    """Gate activity and relative gradients at initialisation for several gate biases; returns the batch."""
    depth, gate_bias = deep_net(lesson)
    chosen = rng.choice(len(y_train), lesson.pick(16, 64, 128), replace=False)
    batch, labels_of_batch = x_train[chosen], y_train[chosen]
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
    return batch


# --------------------------------------------------------------------------------------------------
# 3. Training: a deep highway net against the plain net of the same depth
# --------------------------------------------------------------------------------------------------
def run_labels(depth, gate_bias):
    """The plain net, the highway net with the zoo's gate bias, and the highway net with gate bias -2."""
    return f"plain{depth}", f"highway{depth} (b_T={gate_bias:g})", f"highway{depth} (b_T=-2)"


def sgd_steps(epochs, images, batch_size=128):
    return epochs * -(-images // batch_size)


def train_runs(lesson, data, train_batch):
    """Chapter 3's recipe for every run; returns the histories, (final training error, test error) of each,
    and the highway net with the zoo's gate bias with its gate statistics before training."""
    depth, gate_bias = deep_net(lesson)
    epochs = lesson.pick(2, 8, 30)
    augment = lesson.mode == "full"
    size = data[0].shape[-1]
    steps = sgd_steps(epochs, len(data[1]))
    plain_run, highway_run, low_bias_run = run_labels(depth, gate_bias)
    runs = {plain_run: (plain_run, {}), highway_run: (f"highway{depth}", {})}  # label: (zoo name, keyword arguments)
    if lesson.mode != "quick":
        runs[low_bias_run] = (f"highway{depth}", {"gate_bias": -2.0})
    print(f"3. Training {', '.join(runs)} (the zoo's gate bias is {gate_bias:g}) on {len(data[1]):,} images at "
          f"{size}x{size} for {epochs} epochs = {steps} SGD steps (test: {len(data[3]):,}); chapter 3's recipe: SGD "
          f"momentum 0.9, lr 0.1 with a two-epoch warm-up from 0.01, cosine, weight decay 5e-4, batch 128, "
          f"{'crop + flip' if augment else 'no augmentation'}.\n")
    histories, final = {}, {}
    for label, (name, kwargs) in runs.items():
        minidl.manual_seed(lesson.seed)
        model = minidl.models.create(name, **kwargs)
        if label == highway_run:  # read the gates of a copy: gate_statistics in train mode updates BN statistics
            trained, before = model, gate_statistics(copy.deepcopy(model), train_batch)
        histories[label] = minidl.train(model, data=data, epochs=epochs, batch_size=128, lr=0.1, warmup_epochs=2,
                                        augment=augment, seed=lesson.seed, device=lesson.device,
                                        progress=lesson.mode != "quick")
        final[label] = (1 - minidl.evaluate(model, data[:2]).accuracy, 1 - histories[label].final["test_acc"])
    return histories, final, trained, before


def report_training(lesson, histories, final, data):
    """The error tables, and whether the highway net trains where the plain net does not."""
    depth, gate_bias = deep_net(lesson)
    epochs = len(next(iter(histories.values())))
    steps = sgd_steps(epochs, len(data[1]))
    plain_run, highway_run, low_bias_run = run_labels(depth, gate_bias)
    lesson.table(["epoch"] + [f"{m} train err %" for m in histories],
                 [[e + 1] + [f"{100 * (1 - h[e]['train_acc']):.1f}" for h in histories.values()] for e in range(epochs)],
                 title="Training error during each epoch (running average, train mode):")
    lesson.table(["model", "final training error %", "test error %"],
                 [[m, f"{100 * tr:.1f}", f"{100 * te:.1f}"] for m, (tr, te) in final.items()])
    plain, highway = final[plain_run][0], final[highway_run][0]
    if lesson.mode == "quick":
        lesson.say(f"Quick run: {plain_run} ended at {100 * plain:.1f}% training error, "
                   f"{highway_run} at {100 * highway:.1f}%; {len(data[1])} images and {steps} steps are too few to "
                   "compare them.")
    else:
        if plain > 0.85 and highway < plain - 0.05:
            lesson.say(f"{highway_run} trains where {plain_run} stays near chance: {100 * highway:.1f}% vs "
                       f"{100 * plain:.1f}% training error (chance: 90%).")
        else:
            lesson.say(f"{highway_run} ended at {100 * highway:.1f}% training error, {plain_run} at {100 * plain:.1f}% "
                       "(chance: 90%).")
        low = final[low_bias_run][0]
        outcome = (f"higher than the {100 * highway:.1f}% of the more carrying start: the gate-bias initialisation "
                   "matters at this depth" if highway < low - 0.05 else
                   f"lower than the {100 * highway:.1f}% with b_T = {gate_bias:g}: here the less carrying start trained "
                   "better" if low < highway - 0.05 else
                   f"about the same as with b_T = {gate_bias:g} ({100 * highway:.1f}%)")
        lesson.say(f"With gate bias -2 instead of {gate_bias:g}, highway{depth} ended at {100 * low:.1f}% training "
                   f"error, {outcome}.")


def gate_activity(lesson, trained, before, train_batch, epochs, steps):
    """Gate activity (Srivastava et al. 2015, Fig. 2) before and after training, on one batch in train mode;
    returns the statistics after training."""
    after = gate_statistics(trained, train_batch)
    print()
    step = max(1, len(after.names) // 9)
    lesson.table(["gate", "mean T at init", "after training", "sd over examples after"],
                 [[after.names[i], f"{before.mean[i]:.4f}", f"{after.mean[i]:.4f}", f"{after.std_over_examples[i]:.4f}"]
                  for i in range(0, len(after.names), step)],
                 title=f"Transform-gate activity, one unit in {step} ({len(train_batch)} training images, train mode):")
    opened = after.mean > before.mean
    lesson.say(f"After {epochs} epochs the mean gate opened in {int(opened.sum())} of {len(opened)} units (mean T over "
               f"units {before.mean.mean():.4f} -> {after.mean.mean():.4f}, largest {after.mean.max():.4f} in "
               f"{after.names[int(after.mean.argmax())]}).")
    if lesson.mode == "quick":
        lesson.say(f"(quick mode: {steps} SGD steps are too few for the gates to move much.)")
    return after


def plot_gates_and_training(lesson, before, after, histories, data):
    """Gate activity per unit, and training and test error per epoch (skipped without matplotlib)."""
    depth, gate_bias = deep_net(lesson)
    epochs, size = len(next(iter(histories.values()))), data[0].shape[-1]
    plt = lesson.pyplot()
    if plt is None:
        return
    fig, (ax_gate, ax_err) = plt.subplots(1, 2, figsize=(12, 4.3))
    units = np.arange(1, len(after.names) + 1)
    for stats, style, label in ((before, ".-", "at initialisation"), (after, "o-", f"after {epochs} epochs")):
        line, = ax_gate.plot(units, stats.mean, style, label=label)
        p10, p90 = np.percentile(stats.per_example, [10, 90], axis=0)  # spread of each example's mean T
        ax_gate.fill_between(units, p10, p90, color=line.get_color(), alpha=0.2)
    ax_gate.axhline(1 / (1 + np.exp(-gate_bias)), color="gray", linestyle=":", label=f"sigmoid(b_T = {gate_bias:g})")
    ax_gate.set_yscale("log")
    ax_gate.set(xlabel="highway unit (1 = next to the input)", ylabel="mean transform gate T (log scale)",
                title=f"highway{depth}: gate activity (bands: 10-90% of examples)")
    ax_gate.legend(fontsize=8)
    ax_gate.grid(alpha=0.3, which="both")
    for i, (name, h) in enumerate(histories.items()):
        ax_err.plot(h.column("epoch"), [100 * (1 - a) for a in h.column("train_acc")], "-o", color=f"C{i}",
                    label=f"{name} training")
        ax_err.plot(h.column("epoch"), [100 * (1 - a) for a in h.column("test_acc")], "--", color=f"C{i}",
                    alpha=0.6, label=f"{name} test")
    ax_err.axhline(90, color="gray", linestyle=":", linewidth=1, label="chance")
    ax_err.set(xlabel="epoch", ylabel="error (%)", ylim=(0, 100),
               title=f"Training: {len(data[1]):,} images at {size}x{size}, {epochs} epochs")
    ax_err.set_xticks(range(1, epochs + 1))
    ax_err.legend(fontsize=8)
    ax_err.grid(alpha=0.3)
    lesson.figure(fig, "highway_gates_and_training.png")


def main():
    lesson = _lesson.Lesson(4, "Highway networks")
    rng = np.random.default_rng(lesson.seed)
    x_train, y_train, x_test, y_test = minidl.data.cifar10(seed=lesson.seed)
    one_unit(lesson, rng)
    batch = gates_at_init(lesson, rng, x_train, y_train)
    images, test = lesson.pick((128, 200), (1200, 500), (None, None))
    data = lesson.training_data(x_train, y_train, x_test, y_test, images, test)
    train_batch = _lesson.low_resolution(batch, 16) if lesson.mode != "full" else batch  # gates are read on it
    histories, final, trained, before = train_runs(lesson, data, train_batch)
    report_training(lesson, histories, final, data)
    epochs = len(next(iter(histories.values())))
    after = gate_activity(lesson, trained, before, train_batch, epochs, sgd_steps(epochs, len(data[1])))
    plot_gates_and_training(lesson, before, after, histories, data)
    lesson.done()


if __name__ == "__main__":
    main()

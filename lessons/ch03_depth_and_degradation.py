"""Chapter 3: depth and degradation. Stacking more layers on a plain (shortcut-free) CNN makes it *harder to
train*: He et al. (2015, arXiv 1512.03385, Fig. 6) found that plain-56 has a higher training error than plain-20
on CIFAR-10. We measure (1) the per-layer gradient norms of plain and residual nets at initialisation and (2) the
training error of plain20 against plain56 (and residual nets of the same depths) under one recipe.

With batch norm the plain nets' gradients do not simply vanish: He et al. report healthy backward norms and
conjecture slow convergence; mean-field analyses predict *exploding* input gradients with depth in BN nets
(Yang et al. 2019, arXiv 1902.08129). Section 1 prints what the numbers of this run say.

    python lessons/ch03_depth_and_degradation.py [--quick | --full] [--out DIR] [--seed N] [--device cpu|cuda]

quick:   gradient norms of depths 20/56 on 16 images; plain20/plain56 trained on 128 images at 16x16, 2 epochs
         (far too small to show degradation: it checks that the code runs).
default: gradient norms of depths 20/56/110 over 3 seeds; plain20/56 and resnet20/56 trained on 1,200 images
         downsampled to 16x16 (2x2 averages: a quarter of the compute, same networks) for 8 epochs (about 3 min).
full:    gradient norms over 5 seeds on 128 images; plain20/56/110 and resnet20/56/110 trained at 32x32 on all the
         training images cifar10() finds, 30 epochs each with crop+flip augmentation (hours on a CPU).
"""

import numpy as np

import _lesson
import minidl
from minidl import nn
from minidl.analysis import gradient_flow

LR = 0.1
WARMUP = 2  # epochs of linear warm-up from LR / 10 (see section 2)


# --------------------------------------------------------------------------------------------------
# 1. Gradient norms per conv layer at initialisation (one batch, train mode, cross-entropy)
# --------------------------------------------------------------------------------------------------
def geometric_mean(rows):
    return np.exp(np.log(np.asarray(rows)).mean(axis=0))


def gradient_setup(lesson):
    """Section 1 in this mode: the depths compared, the seeds averaged over, the batch size."""
    depths = lesson.pick((20, 56), (20, 56, 110), (20, 56, 110))
    return depths, lesson.pick(1, 3, 5), lesson.pick(16, 32, 128)


def measure_gradients(lesson, x_train, y_train):
    """Per-conv gradient norms (and gradient/weight ratios) of plain and residual nets at initialisation."""
    depths, seeds, batch_size = gradient_setup(lesson)
    print(f"1. Per-layer gradients at initialisation: one batch of {batch_size} CIFAR-10 images (32x32), train mode, "
          f"cross-entropy; geometric mean over {seeds} seed(s)\n")
    flows = {}
    for family in ("plain", "resnet"):
        for depth in depths:
            name = f"{family}{depth}"
            runs = []
            for seed in range(seeds):
                minidl.manual_seed(lesson.seed + seed)
                model = minidl.models.create(name).to(lesson.device)
                batch = np.random.default_rng(lesson.seed + seed).choice(len(y_train), batch_size, replace=False)
                runs.append(gradient_flow(model, x_train[batch], y_train[batch], layers=nn.Conv2d))
            flows[name] = dict(grad=geometric_mean([r.weight_grad_norm for r in runs]),
                               ratio=geometric_mean([r.ratio for r in runs]), loss=np.mean([r.loss for r in runs]))
    return flows


def report_gradients(lesson, flows):
    """The table and what it says; returns the deepest plain net and how far one SGD step would move its
    first conv (relative to the weights' norm), which section 2 quotes."""
    depths = gradient_setup(lesson)[0]
    rows = []
    for name, f in flows.items():
        g, r = f["grad"], f["ratio"]
        rows.append([name, len(g), f["loss"], f"{g[0]:.3g}", f"{g[-1]:.3g}", f"{g[0] / g[-1]:.3g}",
                     f"{g.max() / g.min():.3g}",
                     f"{r[0]:.3g}", f"{r[-1]:.3g}"])
    lesson.table(["model", "convs", "loss", "|dL/dW| first conv", "last conv", "first/last", "max/min",
                  "|dL/dW|/|W| first", "last"], rows)

    for depth in depths:
        lesson.say(describe(f"plain{depth}", flows) + "  " + describe(f"resnet{depth}", flows))
    deepest = f"plain{depths[-1]}"
    step = LR * flows[deepest]["ratio"][0]
    vanished = [d for d in depths if flows[f"plain{d}"]["grad"][0] < 0.1 * flows[f"plain{d}"]["grad"][-1]]
    lesson.say(("So with batch norm the plain nets' gradients do not vanish here. " if not vanished else
                f"Gradients vanish toward the input in plain{', plain'.join(map(str, vanished))}. ") +
               f"In {deepest} the first conv's gradient is {step / LR:.3g} times "
               f"its own weight norm, so one SGD step at lr {LR} would move it by {step:.3g}x its norm "
               f"(resnet{depths[-1]}: {LR * flows[f'resnet{depths[-1]}']['ratio'][0]:.3g}x).\n")
    return deepest, step


def describe(name, flows):
    g = flows[name]["grad"]
    ratio = g[0] / g[-1]
    if ratio > 10:
        return f"{name}: the gradient GROWS toward the input, {ratio:.3g}x larger at the first conv than at the last."
    if ratio < 0.1:
        return f"{name}: the gradient SHRINKS toward the input, {1 / ratio:.3g}x smaller at the first conv."
    return f"{name}: the gradient stays within a factor 10 from the last conv to the first ({ratio:.3g}x)."


def plot_gradients(lesson, flows):
    """Gradient norm against layer index, plain and residual side by side (skipped without matplotlib)."""
    depths, seeds, batch_size = gradient_setup(lesson)
    plt = lesson.pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, family in zip(axes, ("plain", "resnet")):
        for depth in depths:
            g = flows[f"{family}{depth}"]["grad"]
            ax.plot(np.arange(1, len(g) + 1), g, marker=".", label=f"{family}{depth}")
        ax.set_yscale("log")
        ax.set(xlabel="conv layer (1 = next to the input)",
               title=f"{'plain' if family == 'plain' else 'residual'} nets at initialisation")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    axes[0].set_ylabel("||dL/dW|| of the conv layer (log scale)")
    fig.suptitle(f"Gradient norm per layer, one batch of {batch_size}, geometric mean of {seeds} seed(s)")
    lesson.figure(fig, "gradient_norms_at_init.png")


# --------------------------------------------------------------------------------------------------
# 2. Training: does the deeper plain net reach a lower training error? (He et al. 2015, Fig. 6)
# --------------------------------------------------------------------------------------------------
def train_plain_and_residual(lesson, x_train, y_train, x_test, y_test, deepest, step):
    """One recipe for every net; returns the models trained, their histories, (final training error, test
    error) of each, and the data they saw."""
    images, epochs, test = lesson.pick((128, 2, 200), (1200, 8, 500), (None, 30, None))
    models = lesson.pick(("plain20", "plain56"), ("plain20", "plain56", "resnet20", "resnet56"),
                         ("plain20", "plain56", "plain110", "resnet20", "resnet56", "resnet110"))
    data = lesson.training_data(x_train, y_train, x_test, y_test, images, test)
    augment = lesson.mode == "full"
    size = data[0].shape[-1]
    print(f"2. Training {', '.join(models)} on {len(data[1]):,} images at {size}x{size} for {epochs} epochs (test: "
          f"{len(data[3]):,} images). One recipe for all: SGD momentum 0.9, lr {LR} with a linear warm-up from "
          f"{LR / 10:g} over the first {WARMUP} epochs, then cosine; weight decay 5e-4; batch 128; "
          f"{'crop + flip augmentation' if augment else 'no augmentation (training error measures optimisation only)'}. "
          f"The warm-up (He et al. warm up ResNet-110 at lr 0.01) keeps the first steps small: section 1 measured that one "
          f"step at lr {LR} would move {deepest}'s first conv by {step:.3g}x its norm.\n")

    histories, final = {}, {}
    for name in models:
        minidl.manual_seed(lesson.seed)
        model = minidl.models.create(name)
        histories[name] = minidl.train(model, data=data, epochs=epochs, batch_size=128, lr=LR, warmup_epochs=WARMUP,
                                       augment=augment, seed=lesson.seed, device=lesson.device,
                                       progress=lesson.mode != "quick")
        train_eval = minidl.evaluate(model, data[:2])  # the final weights on the training set, in eval mode
        final[name] = (1 - train_eval.accuracy, 1 - histories[name].final["test_acc"])
        print(f"{name}: training error {100 * final[name][0]:.1f}%, test error {100 * final[name][1]:.1f}% "
              f"({sum(histories[name].column('seconds')):.0f} s)")
    print()
    return models, histories, final, data


def report_training(lesson, models, histories, final, data):
    """The error tables, then what they say about degradation."""
    epochs = len(histories[models[0]])
    rows = []
    for epoch in range(epochs):
        rows.append([epoch + 1] + [f"{100 * (1 - histories[m][epoch]['train_acc']):.1f}" for m in models])
    lesson.table(["epoch"] + [f"{m} train err %" for m in models], rows,
                 title="Training error during each epoch (running average over the epoch's batches, train mode):")
    lesson.table(["model", "final training error %", "test error %"],
                 [[m, f"{100 * final[m][0]:.1f}", f"{100 * final[m][1]:.1f}"] for m in models],
                 title="After training (training error of the final weights in eval mode):")

    shallow, deep = final["plain20"][0], final["plain56"][0]
    if lesson.mode == "quick":
        lesson.say(f"Quick run: plain20 ended at {100 * shallow:.1f}% training error, plain56 at {100 * deep:.1f}%. "
                   f"{len(data[1])} images and {epochs} epochs are far too few to show degradation reliably; run the "
                   "default mode for the comparison.")
    elif versus(deep, shallow) == "higher than":
        lesson.say(f"plain56 ended with HIGHER training error than plain20 ({100 * deep:.1f}% vs {100 * shallow:.1f}%): "
                   "the deeper plain net fits its own training data worse, although (He et al.'s argument) it could copy "
                   "plain20 and set its extra layers close to the identity. This is the degradation problem: an "
                   "optimisation failure, not overfitting.")
    else:
        lesson.say(f"In this run plain56 did NOT end with a clearly higher training error than plain20 "
                   f"({100 * deep:.1f}% vs {100 * shallow:.1f}%).")
    if "resnet56" in final and lesson.mode != "quick":
        res, res20 = final["resnet56"][0], final["resnet20"][0]
        steps = epochs * -(-len(data[1]) // 128)
        lesson.say(f"resnet56, the same 56 layers with identity shortcuts, ended at {100 * res:.1f}% training error, "
                   f"{versus(res, deep)} plain56's {100 * deep:.1f}%; resnet20 at {100 * res20:.1f}%.")
        lesson.say(f"The residual net gains from depth here ({100 * res:.1f}% < {100 * res20:.1f}%)."
                   if versus(res, res20) == "lower than" else
                   f"In {steps} SGD steps the residual net does not (yet) gain from depth ({100 * res:.1f}% vs "
                   f"{100 * res20:.1f}% for resnet20); He et al. train for 64,000 steps.")
    if lesson.mode == "default":
        lesson.say(f"(A small budget: {len(data[1]):,} images at 16x16 for {epochs} epochs. --full trains at 32x32 for "
                   "30 epochs.)")


def versus(a, b, margin=0.05):
    """'higher' / 'lower' / 'about the same as' for error a against error b (within 5 points: about the same)."""
    return "higher than" if a > b + margin else "lower than" if a < b - margin else "about the same as"


def plot_training(lesson, models, histories, data):
    """Training and test error per epoch of every net (skipped without matplotlib)."""
    epochs, size = len(histories[models[0]]), data[0].shape[-1]
    plt = lesson.pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for i, m in enumerate(models):
        color = f"C{i}"
        axis = histories[m].column("epoch")
        ax.plot(axis, [100 * (1 - a) for a in histories[m].column("train_acc")], "-o", color=color,
                label=f"{m} training")
        ax.plot(axis, [100 * (1 - a) for a in histories[m].column("test_acc")], "--", color=color, alpha=0.6,
                label=f"{m} test")
    ax.axhline(90, color="gray", linestyle=":", linewidth=1, label="chance (90% error)")
    ax.set(xlabel="epoch", ylabel="error (%)", ylim=(0, 100),
           title=f"Plain vs residual: {len(data[1]):,} images at {size}x{size}, {epochs} epochs")
    ax.set_xticks(range(1, epochs + 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    lesson.figure(fig, "training_error.png")


def main():
    lesson = _lesson.Lesson(3, "Depth and degradation")
    x_train, y_train, x_test, y_test = minidl.data.cifar10(seed=lesson.seed)
    flows = measure_gradients(lesson, x_train, y_train)
    deepest, step = report_gradients(lesson, flows)
    plot_gradients(lesson, flows)
    models, histories, final, data = train_plain_and_residual(lesson, x_train, y_train, x_test, y_test,
                                                              deepest, step)
    report_training(lesson, models, histories, final, data)
    plot_training(lesson, models, histories, data)
    lesson.done()


if __name__ == "__main__":
    main()

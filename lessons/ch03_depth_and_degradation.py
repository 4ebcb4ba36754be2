"""Chapter 3: depth and degradation. Stacking more layers on a plain (shortcut-free) CNN makes it *harder to
train*: He et al. (2015, arXiv 1512.03385, Fig. 6) found that plain-56 has a higher training error than plain-20
on CIFAR-10. We measure (1) the per-layer gradient norms of plain and residual nets at initialisation and (2) the
training error of plain20 against plain56 (and residual nets of the same depths) under one recipe.

With batch norm the plain nets' gradients do not simply vanish: He et al. report healthy backward norms and
conjecture slow convergence; mean-field analyses predict *exploding* input gradients with depth in BN nets
(Yang et al. 2019, arXiv 1902.08129). Section 1 prints what the numbers of this run say.

    python lessons/ch03_depth_and_degradation.py [--quick | --full] [--out DIR] [--seed N] [--device cpu|cuda]

quick:     gradient norms of depths 20/56 on 16 images; plain20/plain56 trained on 128 images at 8x8, 2 epochs
           (far too small to show degradation: it checks that the code runs).
default:   gradient norms of depths 20/56/110 over 3 seeds; plain20 and plain56 trained on 1,200 images downsampled
           to 8x8 (4x4 averages: a sixteenth of the pixels, same networks) for 8 epochs with 3 seeds, paired;
           resnet20 and resnet56 with the first seed (about 5 min on 2 cores).
reference: the reference suite's depth run (lessons/_suite.py): plain20, resnet20, plain56, resnet56 at 32x32 on all
           5,085 training images, 30 epochs, He et al.'s recipe, seeds 0-4, one unit per net and seed, resumable
           (lessons/reference/depth_32px.json). Every mode ends with the verdicts of its recorded units at 32x32.
full:      gradient norms over 5 seeds on 128 images; plain20/56/110 and resnet20/56/110 trained at 32x32 on all the
           training images cifar10() finds, 30 epochs each with crop+flip augmentation, 3 seeds (hours on a CPU).
"""

import numpy as np

import _curves
import _lesson
import _reference
import _suite
import _verdicts
import minidl
from minidl import nn
from minidl.analysis import gradient_flow, paired_interval

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
                               ratio=geometric_mean([r.ratio for r in runs]), loss=np.mean([r.loss for r in runs]),
                               first_over_last=[r.weight_grad_norm[0] / r.weight_grad_norm[-1] for r in runs])
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
    gradient_verdict(lesson, flows)
    return deepest, step


def gradient_verdict(lesson, flows):
    """Explode in plain, flat with shortcuts: log10 of |dL/dW| first conv / last conv, plain56 minus resnet56,
    paired by seed (same batch, same seed); the claim predicts more than one decade (10x) of difference."""
    plain, residual = (np.log10(flows[f"{family}56"]["first_over_last"]) for family in ("plain", "resnet"))
    gap = paired_interval(plain, residual)
    _, seeds, batch_size = gradient_setup(lesson)
    row = lesson.verdicts.effect("gradient norms at init grow toward the input in plain BN nets, stay flat with "
                                 "shortcuts", "log10(|dL/dW| first conv / last conv), plain56 - resnet56, paired by "
                                 "seed; claim: above 1 (10x)", gap, f"{seeds} seed(s) x one batch of {batch_size} at "
                                 "initialisation", above=1.0, scale=_verdicts.scale(32, batch_size, 0, seeds))
    lesson.say(f"plain56 spans 10^{np.mean(plain):.2f} from the last conv to the first, resnet56 10^{np.mean(residual):.2f}"
               f"; difference {gap.value:.2f} decades" + (f", 95% interval [{gap.low:.2f}, {gap.high:.2f}]"
                                                           if gap.low is not None else "")
               + f" over {gap.n} seed(s): {row['verdict']}.\n")


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
COLORS = {"plain20": "C0", "plain56": "C1", "resnet20": "C2", "resnet56": "C3", "plain110": "C4", "resnet110": "C5"}


def training_setup(lesson):
    """Section 2 in this mode: (images, epochs, test images, image side, seeds, models)."""
    return lesson.pick((128, 2, 200, 8, 1, ("plain20", "plain56")),
                       (1200, 8, 500, 8, 3, ("plain20", "plain56", "resnet20", "resnet56")),
                       (None, 30, None, 32, 3, ("plain20", "plain56", "plain110", "resnet20", "resnet56", "resnet110")))


def train_plain_and_residual(lesson, x_train, y_train, x_test, y_test, deepest, step):
    """One recipe for every net and every seed (a seed fixes the initial weights and the order of the batches,
    so the nets of one seed form a pair); returns {name: [run per seed]} with each run's history and final
    (training error, test error), and the data they saw. In default mode the residual nets train with the
    first seed only: the verdict on them rests on the reference suite."""
    images, epochs, test, size, seeds, models = training_setup(lesson)
    data = lesson.training_data(x_train, y_train, x_test, y_test, images, test)
    if size != data[0].shape[-1]:
        data = (_lesson.low_resolution(data[0], size), data[1], _lesson.low_resolution(data[2], size), data[3])
    augment = lesson.mode == "full"
    print(f"2. Training {', '.join(models)} on {len(data[1]):,} images at {size}x{size} for {epochs} epochs "
          f"({seeds} seed(s); test: {len(data[3]):,} images). One recipe for all: SGD momentum 0.9, lr {LR} with a "
          f"linear warm-up from {LR / 10:g} over the first {WARMUP} epochs, then cosine; weight decay 5e-4; batch 128; "
          f"{'crop + flip augmentation' if augment else 'no augmentation (training error measures optimisation only)'}. "
          f"The warm-up (He et al. warm up ResNet-110 at lr 0.01) keeps the first steps small: section 1 measured that one "
          f"step at lr {LR} would move {deepest}'s first conv by {step:.3g}x its norm.\n")

    runs = {name: [] for name in models}
    for offset in range(seeds):
        seed = lesson.seed + offset
        for name in models:
            if lesson.mode == "default" and name.startswith("resnet") and offset > 0:
                continue  # the residual nets' verdict rests on the reference suite
            minidl.manual_seed(seed)
            model = minidl.models.create(name)
            history = minidl.train(model, data=data, epochs=epochs, batch_size=128, lr=LR, warmup_epochs=WARMUP,
                                   augment=augment, seed=seed, device=lesson.device, progress=lesson.mode != "quick")
            train_eval = minidl.evaluate(model, data[:2])  # the final weights on the training set, in eval mode
            run = dict(seed=seed, train_error=1 - train_eval.accuracy, test_error=1 - history.final["test_acc"],
                       train_error_curve=[1 - a for a in history.column("train_acc")],
                       test_error_curve=[1 - a for a in history.column("test_acc")],
                       seconds=sum(history.column("seconds")))
            runs[name].append(run)
            print(f"{name} seed {seed}: training error {100 * run['train_error']:.1f}%, test error "
                  f"{100 * run['test_error']:.1f}% ({run['seconds']:.0f} s)")
    print()
    return runs, data


def report_training(lesson, runs, data):
    """The error tables, then this run's verdict on plain56 against plain20 (paired by seed)."""
    models = list(runs)
    first = {m: runs[m][0] for m in models}
    epochs = len(first[models[0]]["train_error_curve"])
    rows = [[epoch + 1] + [f"{100 * first[m]['train_error_curve'][epoch]:.1f}" for m in models]
            for epoch in range(epochs)]
    lesson.table(["epoch"] + [f"{m} train err %" for m in models], rows,
                 title=f"Training error during each epoch, seed {lesson.seed} (running average over the epoch's "
                       "batches, train mode):")
    lesson.table(["model", "seeds", "final training error % (each seed)", "mean", "test error % (mean)"],
                 [[m, len(runs[m]), " ".join(f"{100 * r['train_error']:.1f}" for r in runs[m]),
                   f"{100 * np.mean([r['train_error'] for r in runs[m]]):.1f}",
                   f"{100 * np.mean([r['test_error'] for r in runs[m]]):.1f}"] for m in models],
                 title="After training (training error of the final weights in eval mode):")

    if "plain56" in runs:
        plain_depth_verdict(lesson, runs, data, epochs)
    if lesson.mode == "quick":
        lesson.say(f"Quick run: {len(data[1])} images, {epochs} epochs and one seed are far too few to show "
                   "degradation reliably; run the default mode for the comparison.")
    if "resnet56" in runs and "plain56" in runs:
        res, res20 = first["resnet56"]["train_error"], first["resnet20"]["train_error"]
        lesson.say(f"resnet56, the same 56 layers with identity shortcuts, ended at {100 * res:.1f}% training error "
                   f"(plain56: {100 * first['plain56']['train_error']:.1f}%), resnet20 at {100 * res20:.1f}% "
                   f"(seed {lesson.seed}, {epochs} epochs).")


def plain_depth_verdict(lesson, runs, data, epochs):
    """He et al.'s degradation: plain56's final training error above plain20's, paired by seed."""
    gap = paired_interval([100 * r["train_error"] for r in runs["plain56"]],
                          [100 * r["train_error"] for r in runs["plain20"]])
    size = data[0].shape[-1]
    row = lesson.verdicts.effect(f"deeper plain nets train worse (plain56 vs plain20), this run at {size}x{size}",
                                 "final training error plain56 - plain20 (points), paired by seed", gap,
                                 _lesson.training_budget(gap.n, epochs, len(data[1]), size),
                                 scale=_verdicts.scale(size, len(data[1]), epochs, gap.n),
                                 both_trained=_suite.left_chance(runs["plain56"]) and _suite.left_chance(runs["plain20"]))
    lesson.say(f"plain56 - plain20 training error: {gap.value:+.1f} points over {gap.n} seed(s)"
               + (f", 95% interval [{gap.low:+.1f}, {gap.high:+.1f}]" if gap.low is not None else "")
               + f": {row['verdict']}." + (" The deeper plain net fits its own training data worse, although (He et "
               "al.'s argument) it could copy plain20 and set its extra layers close to the identity: the degradation "
               "problem, an optimisation failure, not overfitting." if row["verdict"] == "shown" else ""))


def recorded_verdicts(lesson):
    """The two degradation claims at the papers' shape, from the reference suite's depth run (32x32, all 5,085
    training images, 30 epochs, paired seeds): plain56 above plain20, and resnet56 no worse than resnet20 (+1
    point). A comparison one of whose nets never left chance is confounded."""
    run = _suite.depth_run()
    for deep, shallow, claim, options in (
            ("plain56", "plain20", "deeper plain nets train worse (plain56 vs plain20), 32x32", dict(above=0.0)),
            ("resnet56", "resnet20", "deeper residual nets do not degrade (resnet56 at most 1 point above resnet20), "
                                     "32x32", dict(below=1.0))):
        a, b = _suite.paired(run, deep, shallow)
        if not a:
            lesson.say(f"(The reference suite has no finished {deep}/{shallow} pair yet: run "
                       "`python lessons/reference_suite.py`; the verdict on this claim is skipped.)")
            continue
        gap = paired_interval([100 * r["train_error"] for r in a], [100 * r["train_error"] for r in b])
        epochs = run.setting["recipe"]["epochs"]
        row = lesson.verdicts.effect(
            claim, f"final training error {deep} - {shallow} (points, eval mode, all training images), paired by seed"
            + ("; claim: below +1" if "below" in options else ""), gap,
            _lesson.training_budget(gap.n, epochs, run.setting["train_images"], 32),
            reference=_reference.relative_path(_suite.DEPTH_RUN),
            scale=_verdicts.scale(32, run.setting["train_images"], epochs, gap.n),
            both_trained=_suite.left_chance(a) and _suite.left_chance(b), **options)
        each = ", ".join(f"{100 * r['train_error']:.1f}/{100 * s['train_error']:.1f}" for r, s in zip(a, b))
        lesson.say(f"Reference suite, {deep} vs {shallow} at 32x32 ({epochs} epochs): training error per seed "
                   f"{deep}/{shallow} (%) {each}; difference {gap.value:+.1f} points"
                   + (f", 95% interval [{gap.low:+.1f}, {gap.high:+.1f}]" if gap.low is not None else "")
                   + f" over {gap.n} seed(s): {row['verdict']}."
                   + (f" About {row['seeds_to_settle']} seeds with this spread would settle it."
                      if row.get("seeds_to_settle") else ""))


def plot_recorded(lesson, yours=None):
    """He et al.'s Fig. 6 from the reference suite: training error against SGD steps, one line per seed, plain
    nets left and residual nets right; `yours` (this run's (runs, data)) is drawn over them, dashed (skipped
    without matplotlib or recorded units)."""
    run = _suite.depth_run()
    plt = lesson.pyplot()
    if plt is None or not run.units:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3), sharey=True)
    for ax, family in zip(axes, ("plain", "resnet")):
        for net in (f"{family}20", f"{family}56"):
            _curves.draw_reference(ax, _suite.recorded(run, net), net, COLORS[net], run.setting["train_images"])
            if yours is not None and net in yours[0]:
                runs, data = yours
                _curves.draw_yours(ax, runs[net][0]["train_error_curve"], net, COLORS[net], len(data[1]), 128,
                                   data[0].shape[-1])
        _curves.finish(ax, f"{'plain' if family == 'plain' else 'residual'} nets")
    axes[0].set_ylabel("training error (%)")
    fig.suptitle("Training error per epoch, reference suite at 32x32 (cf. He et al. 2015, Fig. 6)"
                 + ("; dashed: this run" if yours is not None else ""))
    lesson.figure(fig, "degradation_32px.png")


def plot_training(lesson, runs, data):
    """Training and test error per epoch of every net of this run (first seed; skipped without matplotlib)."""
    models = list(runs)
    epochs, size = len(runs[models[0]][0]["train_error_curve"]), data[0].shape[-1]
    plt = lesson.pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    axis = np.arange(1, epochs + 1)
    for m in models:
        run = runs[m][0]
        ax.plot(axis, [100 * e for e in run["train_error_curve"]], "-o", color=COLORS[m], label=f"{m} training (this run)")
        ax.plot(axis, [100 * e for e in run["test_error_curve"]], "--", color=COLORS[m], alpha=0.6, label=f"{m} test")
    ax.axhline(90, color="gray", linestyle=":", linewidth=1, label="chance (90% error)")
    ax.set(xlabel="epoch", ylabel="error (%)", ylim=(0, 100),
           title=f"Plain vs residual: {len(data[1]):,} images at {size}x{size}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    lesson.figure(fig, "training_error.png")


def main():
    lesson = _lesson.Lesson(3, "Depth and degradation")
    yours = None
    if lesson.mode == "reference":  # the depth run of the reference suite: plain/resnet 20/56 at 32x32, 5 seeds
        _suite.run_depth(lesson.device)
    else:
        x_train, y_train, x_test, y_test = minidl.data.cifar10(seed=lesson.seed)
        flows = measure_gradients(lesson, x_train, y_train)
        deepest, step = report_gradients(lesson, flows)
        plot_gradients(lesson, flows)
        runs, data = train_plain_and_residual(lesson, x_train, y_train, x_test, y_test, deepest, step)
        report_training(lesson, runs, data)
        plot_training(lesson, runs, data)
        yours = runs, data
    print("3. The reference suite at the papers' shape (lessons/reference/depth_32px.json)\n")
    recorded_verdicts(lesson)
    plot_recorded(lesson, yours)
    lesson.done()


if __name__ == "__main__":
    main()

"""Chapter 6: Dense networks. Instead of adding a layer's input to its output, DenseNet concatenates: layer l
of a block reads [x_0, x_1, ..., x_{l-1}] and adds k (the growth rate) new maps (Huang et al. 2017
[huang2017], docs/references.md). The chapter counts what concatenation, growth rate, bottlenecks and
compression cost, trains small DenseNets next to small ResNets, and draws the feature-reuse heat map.

DenseNet is slow on a CPU (its concatenations copy every earlier map), so quick and default modes train
small custom `densenet(depth, growth_rate, ...)` variants on 16x16 images. --full trains densenet40,
densenet_bc100, resnet20, resnet56 and resnet110 on all training images at 32x32 for 40 epochs (many hours).
"""

import math

import numpy as np

import _lesson
import minidl
from minidl import analysis
from minidl.models import DenseLayer, Transition, create
from minidl.models.densenet import densenet
from minidl.models.resnet import resnet


def count(module):
    return sum(p.numel() for p in module.parameters())


# ----- 1. concatenation, growth, bottleneck, compression -----
def anatomy(lesson):
    k0, k = 16, 12
    layer = DenseLayer(k0, k).eval()
    x = minidl.Tensor(np.random.default_rng(lesson.seed).standard_normal((2, k0, 8, 8)).astype(np.float32))
    y = layer(x)
    kept = float(np.abs(y.data[:, :k0] - x.data).max())
    lesson.say(f"1. A dense layer maps {tuple(x.shape)} to {tuple(y.shape)}: its input comes out unchanged in the first "
               f"{k0} channels (max |y[:, :{k0}] - x| = {kept}) and H(x) adds k = {k} new maps.\n")
    rows = []
    for layer_index in (1, 6, 12, 16):
        channels = 2 * k + k * (layer_index - 1)  # DenseNet-BC stem: 2k maps
        rows.append([layer_index, channels, count(DenseLayer(channels, k)), count(DenseLayer(channels, k, True))])
    lesson.table(["layer l", "input channels k0 + k(l-1)", "params H = BN-ReLU-conv3x3",
                  "params B: BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3"], rows,
                 title=f"Growth rate k = {k}, k0 = 2k: each layer reads every earlier map; the bottleneck (B) caps the "
                       "3x3 conv's input at 4k channels")
    block_out = 2 * k + 16 * k
    transition = Transition(block_out, block_out // 2)
    z = transition(minidl.Tensor(np.zeros((1, block_out, 8, 8), np.float32)))
    lesson.say(f"A transition with compression theta = 0.5 turns the {block_out} maps of a 16-layer block at 8x8 into "
               f"{tuple(z.shape)[1:]} ({count(transition)} parameters).\n")


def variants(lesson):
    table = [("densenet40", 40, 12, False, 1.0, "1,019,722"), ("densenet40-B", 40, 12, True, 1.0, "--"),
             ("densenet40-C", 40, 12, False, 0.5, "--"), ("densenet40-BC", 40, 12, True, 0.5, "--"),
             ("densenet100", 100, 12, False, 1.0, "6,979,642"), ("densenet_bc100", 100, 12, True, 0.5, "769,162")]
    if lesson.mode != "quick":  # building these takes a few seconds
        table += [("densenet100 k=24", 100, 24, False, 1.0, "27,249,082"),
                  ("densenet_bc250 k=24", 250, 24, True, 0.5, "15,324,406"),
                  ("densenet_bc190 k=40", 190, 40, True, 0.5, "25,624,430")]
    rows = [[name, depth, k, "yes" if b else "no", theta, f"{count(densenet(depth, k, b, theta)):,}", ref]
            for name, depth, k, b, theta, ref in table]
    lesson.table(["variant", "L", "k", "bottleneck", "theta", "parameters", "[computed2026]"], rows,
                 title="2. DenseNet variants: parameter counts (built with minidl.models.densenet.densenet)")


# ----- 3. parameters against accuracy, next to ResNet -----
def contenders(lesson):
    """(label, family, builder) of the networks trained in this mode."""
    small = [("resnet8", "ResNet", lambda: resnet(8)),
             ("densenet16 k=12", "DenseNet", lambda: densenet(16, 12))]
    default = small + [("resnet20", "ResNet", lambda: create("resnet20")),
                       ("densenet_bc28 k=12", "DenseNet", lambda: densenet(28, 12, True, 0.5)),
                       ("densenet22 k=12", "DenseNet", lambda: densenet(22, 12))]
    full = [("resnet20", "ResNet", lambda: create("resnet20")), ("resnet56", "ResNet", lambda: create("resnet56")),
            ("resnet110", "ResNet", lambda: create("resnet110")), ("densenet40", "DenseNet", lambda: create("densenet40")),
            ("densenet_bc100", "DenseNet", lambda: create("densenet_bc100"))]
    return lesson.pick(small, default, full)


def compare(lesson):
    size, subset, epochs = lesson.pick((16, 256, 1), (16, 3000, 2), (32, None, 40))
    x, y, xt, yt = minidl.data.cifar10(subset=subset, seed=lesson.seed)
    if size != 32:
        x, xt = _lesson.low_resolution(x, size), _lesson.low_resolution(xt, size)
    print(f"3. Training on {len(y)} images at {size}x{size} px for {epochs} epoch(s) (batch 64, SGD lr 0.05, cosine, "
          f"weight decay 5e-4); test on {len(yt)} images.\n")
    results, rows = [], []
    for label, family, build in contenders(lesson):
        minidl.manual_seed(lesson.seed)
        model = build()
        before = [analysis.feature_reuse(stage) for stage in model.stages] if family == "DenseNet" else None
        history = minidl.train(model, data=(x, y, xt, yt), epochs=epochs, batch_size=64, lr=0.05,
                               augment=lesson.mode == "full", seed=lesson.seed, progress=False, device=lesson.device)
        results.append((label, family, count(model), history.final["test_acc"], model, before))
        rows.append([label, f"{count(model):,}", f"{100 * history.final['train_acc']:.1f}",
                     f"{100 * history.final['test_acc']:.1f}", f"{sum(history.column('seconds')):.0f}"])
    lesson.table(["network", "parameters", "train acc %", "test acc %", "train s"], rows,
                 title="Parameters against accuracy (same data, epochs and recipe)")
    best = {fam: max((r for r in results if r[1] == fam), key=lambda r: r[3]) for fam in ("ResNet", "DenseNet")}
    p = float(np.mean([r[3] for r in results]))
    se = 100 * math.sqrt(p * (1 - p) / len(yt))
    gap = 100 * (best["DenseNet"][3] - best["ResNet"][3])
    lesson.say(f"Best DenseNet: {best['DenseNet'][0]} ({100 * best['DenseNet'][3]:.1f}%, {best['DenseNet'][2]:,} params); "
               f"best ResNet: {best['ResNet'][0]} ({100 * best['ResNet'][3]:.1f}%, {best['ResNet'][2]:,} params); "
               f"gap {gap:+.1f} points, test noise one s.e. = {se:.1f} points.")
    if lesson.mode == "quick" or abs(gap) < 2 * 1.96 * se:
        lesson.say("The gap is within test-set noise (or the run is a --quick one): no ranking of the families "
                   "follows from it. Huang et al. [huang2017] find DenseNet-BC more accurate per parameter after "
                   "300 epochs.")
    else:
        lesson.say(f"{'DenseNet' if gap > 0 else 'ResNet'} is ahead by more than twice the test noise in this "
                   "short, single-seed run.")
    plt = lesson.pyplot()
    if plt:
        fig, ax = plt.subplots(figsize=(7, 4.4))
        for family, marker, offset in (("ResNet", "o", (6, -12)), ("DenseNet", "s", (6, 6))):
            pts = sorted((r[2], 100 * r[3], r[0]) for r in results if r[1] == family)
            ax.errorbar([q[0] for q in pts], [q[1] for q in pts], yerr=1.96 * se, marker=marker, capsize=3,
                        label=family)
            for params, acc, label in pts:
                ax.annotate(label, (params, acc), textcoords="offset points", xytext=offset, fontsize="small")
        ax.set_xscale("log")
        ax.set(xlabel="parameters", ylabel="test accuracy (%)",
               title=f"Accuracy vs parameters, {epochs} epoch(s) on {len(y)} images (bars: 95% test noise)")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        lesson.figure(fig, "params_vs_accuracy.png")
    return [r for r in results if r[1] == "DenseNet"]


# ----- 4. feature reuse -----
def reuse(lesson, dense_results):
    label, _, _, _, model, before = max(dense_results, key=lambda r: len(r[4].stages[0]))
    after = [analysis.feature_reuse(stage) for stage in model.stages]
    rows, changes = [], []
    for b, (init, trained) in enumerate(zip(before, after)):
        change = 100 * (trained.matrix / init.matrix - 1)  # % change of mean |w| per (target, source) pair
        changes.append(change)
        normalized = trained.row_normalized()
        valid = ~np.isnan(normalized)
        rows.append([b + 1, f"{100 * float(np.mean(normalized[valid] >= 0.5)):.0f}%", float(np.nanmean(change[:, 0])),
                     float(np.nanmean(np.diagonal(change))), float(np.nanmean(change)), float(np.nanstd(change))])
    lesson.table(["dense block", "pairs >= 0.5 of row max", "change % from block input", "from the layer just before",
                  "all pairs", "sd over pairs"], rows,
                 title=f"4. Feature reuse in {label}: mean |w| from each source to each target layer (the transition "
                       "counts as the last target); change of each pair through training")
    spread = max(r[5] for r in rows)
    lesson.say(f"Largest spread of the per-pair changes: {spread:.1f}%. "
               + ("Training has barely moved the weights from their (uniform) initialisation, so the heat map still "
                  "shows the initialisation, not learned reuse (Huang et al. trained 300 epochs)." if spread < 5 else
                  "Training has reshaped the connections: the lower row of the figure shows which sources each "
                  "layer came to read more (red) or less (blue)."))
    plt = lesson.pyplot()
    if plt:
        fig, axes = plt.subplots(2, len(after), figsize=(4.6 * len(after), 8.4))
        limit = max(float(np.nanmax(np.abs(c))) for c in changes)
        for b, (trained, change) in enumerate(zip(after, changes)):
            n = change.shape[0]
            targets = [str(t) for t in range(1, n)] + (["T"] if b < len(after) - 1 else [str(n)])
            for row, (values, cmap, low, high, what) in enumerate(
                    ((trained.row_normalized(), "magma", 0, 1, "mean |w| / row max"),
                     (change, "RdBu_r", -limit, limit, "change since init (%)"))):
                ax = axes[row, b]
                image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=low, vmax=high)
                ax.set_xticks(range(n), ["in"] + [str(s) for s in range(1, n)], fontsize="small")
                ax.set_yticks(range(n), targets, fontsize="small")
                ax.set(xlabel="source layer (in = block input)", ylabel="target layer (T = transition)",
                       title=f"block {b + 1}: {what}")
                fig.colorbar(image, ax=ax, shrink=0.8)
        fig.suptitle(f"Feature reuse in the trained {label}")
        lesson.figure(fig, "feature_reuse.png")


def main():
    lesson = _lesson.Lesson(6, "Dense networks")
    anatomy(lesson)
    variants(lesson)
    dense = compare(lesson)
    reuse(lesson, dense)
    if lesson.mode == "quick":
        lesson.say("(--quick trains 256 images for one epoch: too small for any accuracy conclusion.)")
    lesson.done()


if __name__ == "__main__":
    main()

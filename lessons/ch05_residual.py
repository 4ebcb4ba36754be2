"""Chapter 5: Residual networks. y = x + F(x): the identity shortcut gives every layer a path to the loss with
no weight in the way (He et al. 2015 [he2015], 2016 [he2016]), and the measurements here say why that helps:
flat gradient norms, gradients that stay correlated [balduzzi2017], an ensemble of short paths that survives
lesions [veit2016], and input-output Jacobians whose singular values stay near 1 [pennington2017]. The keys
in brackets are entries of docs/references.md.

--full: gradient norms of plain110/resnet110, 20 seeds of shattering, and the lesion study on plain56 and
resnet56 trained 40 epochs on all training images at 32x32 with augmentation (hours on a CPU).
"""

import numpy as np

import _lesson
import minidl
from minidl import analysis, nn
from minidl.models import BasicBlock, create
from minidl.models.bottleneck import BottleneckBlock
from minidl.models.preact import preact_block
from minidl.models.resnet import resnet


def count(module):
    return sum(p.numel() for p in module.parameters())


# ----- 1. the three residual units -----
def units(lesson):
    rng = np.random.default_rng(lesson.seed)
    designs = [("basic (post-act.)", "ReLU(x + BN(conv3(ReLU(BN(conv3 x)))))", BasicBlock(64, 64), 64),
               ("bottleneck", "ReLU(x + BN(conv1(..conv3(..conv1 x))))", BottleneckBlock(256, 64), 256),
               ("pre-activation", "x + conv3(ReLU(BN(conv3(ReLU(BN x)))))", preact_block(64, 64), 64)]
    rows = []
    for name, formula, unit, channels in designs:
        unit.eval()
        x = minidl.Tensor(rng.standard_normal((2, channels, 8, 8)).astype(np.float32))
        y = unit(x)
        last = [m for m in unit.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))][-1]
        nn.init.zeros_(last.weight)  # F(x) = 0: what is left is the shortcut alone
        out = unit(x).data
        rows.append([name, formula, f"{channels}->{y.shape[1]}", count(unit), float(np.abs(out - x.data).max()),
                     float(np.abs(out - np.maximum(x.data, 0)).max())])
    lesson.table(["unit", "computes", "channels", "parameters", "F=0: max|y - x|", "F=0: max|y - ReLU(x)|"], rows,
                 title="1. Three residual units on a (2, C, 8, 8) Gaussian input (bottleneck: 256 -> 64 -> 64 -> 256); "
                       "then the branch's last layer zeroed")
    lesson.say("With the branch zeroed, a unit is what its shortcut path makes of x: the pre-activation unit returns x "
               "itself where the max |y - x| above is 0, a post-activation unit returns ReLU(x) where max|y - ReLU(x)| "
               "is 0 (the same thing inside a net, whose units receive x >= 0).\n")
    rows = [[name, count(create(name))] for name in
            ("plain20", "resnet20", "resnet20_b", "preact_resnet20", "resnet56", "resnet110", "resnet164_bottleneck",
             "preact_resnet164_bottleneck")]
    lesson.table(["network", "parameters"], rows, title="Whole networks (He et al.: ResNet-110 1.7M, ResNet-164 1.7M)")


# ----- 2. gradient norms per layer at initialisation -----
def gradient_norms(lesson, batch):
    depth, seeds = lesson.pick((20, 2), (56, 5), (110, 10))
    x, y = batch
    stats = {}
    for kind in ("plain", "resnet"):
        runs = []
        for seed in range(seeds):
            minidl.manual_seed(lesson.seed + seed)
            runs.append(analysis.gradient_flow(resnet(depth, shortcut=None if kind == "plain" else "A"), x, y))
        stats[kind] = (np.mean([r.weight_grad_norm for r in runs], axis=0),
                       np.mean([r.grad_out_norm for r in runs], axis=0), runs[0].names)
    rows = []
    for kind, (weight_grad, out_grad, _) in stats.items():
        convs = weight_grad[:-1]  # the last layer is the classifier
        rows.append([f"{kind}{depth}", convs[0], convs[len(convs) // 2], convs[-1], convs.max() / convs.min(),
                     out_grad[0] / out_grad[-2]])
    lesson.table(["network", "|dL/dW| conv 1", "conv middle", "last conv", "max/min over convs",
                  "|dL/dy| conv1 / last conv"], rows,
                 title=f"2. Gradient norms at initialisation, train-mode BN, batch of {len(y)} CIFAR images "
                       f"({x.shape[-1]} px), mean of {seeds} seeds")
    plain_spread, res_spread = rows[0][4], rows[1][4]
    first_to_last = {kind: rows[i][1] / rows[i][3] for i, kind in enumerate(stats)}
    lesson.say(f"Measured: the per-layer weight-gradient norms span a factor {plain_spread:.3g} in plain{depth} and "
               f"{res_spread:.3g} in resnet{depth} (first conv / last conv: {first_to_last['plain']:.3g} and "
               f"{first_to_last['resnet']:.3g}, i.e. gradients {'grow' if first_to_last['plain'] > 1 else 'shrink'} "
               "toward the input of the plain net); "
               + ("the residual net's are flatter." if res_spread < plain_spread else
                  "here the residual net's are NOT flatter.")
               + " (He et al. report that with BN plain nets' gradients do not vanish either [he2015]: size is "
                 "not the whole story.)\n")
    plt = lesson.pyplot()
    if plt:
        fig, ax = plt.subplots(figsize=(7, 4.4))
        for kind, (weight_grad, _, _) in stats.items():
            ax.semilogy(np.arange(1, len(weight_grad)), weight_grad[:-1], marker=".", label=f"{kind}{depth}")
        ax.set(xlabel="conv layer (input side -> output side)", ylabel="||dL/dW|| (mean over seeds)",
               title=f"Weight-gradient norm per layer at initialisation ({seeds} seeds)")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        lesson.figure(fig, "gradient_norms.png")


# ----- 3. shattered gradients -----
def shattered(lesson):
    depths, seeds, kinds = lesson.pick(((1, 8, 16), 2, ("plain+BN", "resnet+BN")),
                                       ((1, 8, 16, 24, 50), 10, ("plain", "plain+BN", "resnet+BN")),
                                       ((1, 8, 16, 24, 50), 20, ("plain", "plain+BN", "resnet+BN")))
    table = analysis.shattering_table(depths, kinds, seeds=range(lesson.seed, lesson.seed + seeds))
    rows = [[kind] + [f"{m:.2f} +-{s:.2f}" for m, s in zip(table.mean[i], table.std[i])]
            for i, kind in enumerate(table.kinds)]
    lesson.table(["net \\ depth"] + [str(d) for d in depths], rows,
                 title=f"3. Shattered gradients: lag-1 autocorrelation of dy/dx along 256 inputs in [-2, 2), "
                       f"width 200, mean +- sd over {seeds} seeds ([computed2026]: plain+BN 0.64/-0.03 and "
                       "resnet+BN 0.62/0.36 at 8/16)")
    white = {}
    for i, kind in enumerate(table.kinds):
        noisy = [d for d, r in zip(depths, table.mean[i]) if abs(r) < 0.1]
        white[kind] = f"white noise (|r| < 0.1) from depth {noisy[0]}" if noisy else \
            f"not white noise up to depth {depths[-1]} (r = {table.mean[i, -1]:.2f} there)"
    lesson.say("Measured: " + "; ".join(f"{kind}: {text}" for kind, text in white.items()) + ".")
    plt = lesson.pyplot()
    if plt:
        xs = analysis.line_inputs()
        curves = {"1 layer": analysis.shattered_mlp(1, seed=lesson.seed),
                  f"plain+BN, {max(depths)} layers": analysis.shattered_mlp(max(depths), batch_norm=True, seed=lesson.seed),
                  f"resnet+BN, {max(depths)} blocks": analysis.shattered_mlp(max(depths), residual=True, batch_norm=True,
                                                                             seed=lesson.seed)}
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
        for label, model in curves.items():
            g = analysis.input_gradients(model, xs)
            axes[0].plot(xs[:, 0], g / np.abs(g).max(), linewidth=1, label=label)
        axes[0].set(xlabel="input x", ylabel="dy/dx (scaled to max 1)", title="Input gradient along a line of inputs")
        axes[0].legend(fontsize="small")
        for i, kind in enumerate(table.kinds):
            axes[1].errorbar(depths, table.mean[i], yerr=table.std[i], marker="o", capsize=3, label=kind)
        axes[1].axhline(0, color="gray", linewidth=1)
        axes[1].set(xlabel="depth (layers or residual blocks)", ylabel="lag-1 autocorrelation of dy/dx",
                    title=f"Gradient correlation vs depth ({seeds} seeds)")
        axes[1].legend()
        lesson.figure(fig, "shattered_gradients.png")


# ----- 4. lesion study -----
def lesion(lesson, data):
    depth, epochs = lesson.pick((14, 2), (20, 4), (56, 40))
    x, y, xt, yt = data
    print(f"4. Lesion study: plain{depth} and resnet{depth} trained {epochs} epochs on {len(y)} images "
          f"({x.shape[-1]} px), then blocks removed at test time ({len(yt)} test images).\n")
    results, models = {}, {}
    for kind in ("plain", "resnet"):
        minidl.manual_seed(lesson.seed)
        model = resnet(depth, shortcut=None if kind == "plain" else "A")
        minidl.train(model, data=data, epochs=epochs, batch_size=64, lr=0.05, augment=lesson.mode == "full",
                     seed=lesson.seed, progress=False, device=lesson.device)
        results[kind] = analysis.lesion_study(model, (xt, yt), blocks=BasicBlock)
        models[kind] = model
    rows = []
    for i, block in enumerate(results["resnet"].blocks):
        cells = []
        for kind in ("plain", "resnet"):
            acc = results[kind].single_accuracies()[i]
            cells.append("cannot (shape)" if np.isnan(acc) else f"{100 * acc:.1f}")
        rows.append([i + 1, block] + cells)
    rows.append(["--", "none (intact)"] + [f"{100 * results[k].baseline:.1f}" for k in ("plain", "resnet")])
    lesson.table(["#", "block removed", f"plain{depth} acc %", f"resnet{depth} acc %"], rows,
                 title="Test accuracy after deleting one block (plain: the block becomes the identity; resnet: only "
                       "its shortcut is left)")
    drops = {k: results[k].baseline - np.nanmean(results[k].single_accuracies()) for k in results}
    base = {k: results[k].baseline for k in results}
    lesson.say(f"Mean drop from one lesion: plain {100 * drops['plain']:.1f} points (intact {100 * base['plain']:.1f}%), "
               f"resnet {100 * drops['resnet']:.1f} points (intact {100 * base['resnet']:.1f}%).")
    if min(base.values()) < 0.3:
        lesson.say("The intact nets are barely trained (< 30%), so these drops say little about the claim "
                   "(Veit et al.: a trained ResNet loses little from one lesion, a plain net falls to chance).")
    elif drops["resnet"] < drops["plain"]:
        lesson.say("The residual net loses less than the plain net, as Veit et al. report (one seed, small net).")
    else:
        lesson.say("In this run the residual net does NOT lose less than the plain net.")
    k_rows = multi_lesions(lesson, results["resnet"], results["plain"], models["resnet"], (xt, yt))
    plt = lesson.pyplot()
    if plt:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), gridspec_kw={"width_ratios": [3, 2]})
        for kind, result in results.items():
            line, = axes[0].plot(np.arange(1, len(result.blocks) + 1), 100 * result.single_accuracies(), marker="o",
                                 label=f"{kind}{depth}")
            axes[0].axhline(100 * result.baseline, color=line.get_color(), linestyle="--", linewidth=1)
        axes[0].axhline(10, color="k", linestyle=":", linewidth=1, label="chance")
        axes[0].set(xlabel="block removed (gaps: plain blocks that change shape)", ylabel="test accuracy (%)",
                    title="Deleting one block (dashed: intact net)")
        axes[0].legend()
        axes[1].errorbar([r[0] for r in k_rows], [r[1] for r in k_rows], yerr=[r[2] for r in k_rows], marker="o",
                         capsize=3, label=f"resnet{depth}")
        axes[1].axhline(10, color="k", linestyle=":", linewidth=1, label="chance")
        axes[1].set_xticks([r[0] for r in k_rows])
        axes[1].set(xlabel="blocks deleted at once (k)", ylabel="test accuracy (%)",
                    title="Deleting k random blocks (mean, sd)")
        axes[1].legend()
        lesson.figure(fig, "lesion.png")
    return models["resnet"]


def multi_lesions(lesson, single, plain, model, test):
    """Accuracy of the residual net with k random blocks removed together, among the blocks that keep the shape
    (those the plain net could lose too)."""
    removable = [b for b, acc in zip(single.blocks, plain.single_accuracies()) if not np.isnan(acc)]
    ks, count_per_k = lesson.pick(((1, 2), 2), ((1, 2, 3, 4), 4), ((1, 2, 3, 4, 6, 8), 10))
    rows = [[0, 100 * single.baseline, 0.0]]
    for k in ks:
        sets = analysis.random_lesions(removable, k, count_per_k, seed=lesson.seed)
        accs = [l.accuracy for l in analysis.lesion_study(model, test, blocks=BasicBlock, lesions=sets).lesions]
        rows.append([k, 100 * float(np.mean(accs)), 100 * float(np.std(accs))])
    lesson.table(["blocks removed k", "mean acc %", "sd"], rows,
                 title=f"Residual net: k random blocks (of the {len(removable)} not at a downsampling) removed together, "
                       f"{count_per_k} random sets each")
    return rows


# ----- 5. paths -----
def paths(lesson, model, batch):
    lengths = analysis.path_lengths(54)
    lesson.table(["quantity", "measured", "expected [computed2026]"],
                 [["paths through n = 54 blocks (ResNet-110)", f"2^54 = {2 ** 54:.3e}", "2^54"],
                  ["mean path length", lengths.mean, 27.0], ["sd of path length", round(lengths.std, 3), 3.67],
                  ["share with 19..35 blocks", f"{100 * lengths.fraction(19, 35):.1f}%", "98%"],
                  ["share with 5..17 blocks (10-34 layers)", f"{100 * lengths.fraction(5, 17):.2f}%", "0.45%"]],
                 title="5. Residual nets as ensembles of paths: path lengths ~ Binomial(54, 1/2)")
    trials = lesson.pick(2, 5, 20)
    x, y = batch
    effective = analysis.effective_path_gradients(model, x, y, blocks=BasicBlock, trials=trials, seed=lesson.seed)
    n = len(effective.ks) - 1
    share = effective.share()
    rows = [[int(k), effective.grad_mean[i], effective.counts[i], 100 * share[i]] for i, k in enumerate(effective.ks)]
    lesson.table(["path length k", "|dL/dx| of one path", "paths C(n,k)", "share of total gradient %"], rows,
                 title=f"Gradient carried by paths of each length in the trained resnet (n = {n} blocks, "
                       f"{trials} random paths per k)")
    mean_len = float((effective.ks * share).sum())
    lesson.say(f"Gradient-weighted mean path length {mean_len:.2f} vs {n / 2:.1f} for the path count alone: "
               + (f"the gradient is shifted toward shorter paths by {n / 2 - mean_len:.2f} blocks (Veit et al.: "
                  "in ResNet-110 most gradient comes from paths of 5-17 of its 54 blocks)."
                  if mean_len < n / 2 else "no shift toward short paths in this net."))
    plt = lesson.pyplot()
    if plt:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
        axes[0].bar(lengths.lengths, 100 * lengths.probabilities, color="lightsteelblue")
        axes[0].axvspan(4.5, 17.5, color="salmon", alpha=0.3, label="5-17 blocks: most of the gradient (Veit)")
        axes[0].set(xlabel="path length (residual branches passed)", ylabel="share of paths (%)",
                    title="Path lengths through 54 residual blocks (ResNet-110)")
        axes[0].legend(fontsize="small", loc="upper left")
        axes[1].bar(effective.ks - 0.2, 100 * effective.counts / effective.counts.sum(), width=0.4,
                    color="lightsteelblue", label="share of paths")
        axes[1].bar(effective.ks + 0.2, 100 * share, width=0.4, color="darkred", label="share of gradient")
        axes[1].set(xlabel="path length k", ylabel="%", title=f"Trained resnet with {n} blocks: paths vs gradient")
        axes[1].legend()
        lesson.figure(fig, "paths.png")


# ----- 6. Jacobian singular values -----
class Stack(nn.Module):
    """`depth` float64 layers of width w: plain (act(W x)) or residual (x + scale * W2 ReLU(W1 x))."""

    def __init__(self, width, depth, residual, activation="relu", orthogonal=False, scale=1.0):
        super().__init__()
        self.residual, self.scale = residual, scale
        self.act = minidl.functional.relu if activation == "relu" else minidl.functional.tanh
        self.layers = nn.ModuleList([nn.Linear(width, width, bias=False, dtype=np.float64)
                                     for _ in range(depth * (2 if residual else 1))])
        for layer in self.layers:
            if orthogonal:
                nn.init.orthogonal_(layer.weight)
            else:
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")

    def forward(self, x):
        if not self.residual:
            for layer in self.layers:
                x = self.act(layer(x))
            return x
        for first, second in zip(self.layers[0::2], self.layers[1::2]):
            x = x + second(self.act(first(x))) * self.scale
        return x


def jacobians(lesson):
    width, depth = lesson.pick((32, 8), (64, 16), (128, 32))
    variants = {"plain ReLU, He init": Stack(width, depth, False),
                "plain tanh, orthogonal": Stack(width, depth, False, "tanh", orthogonal=True),
                "residual ReLU, He branches": Stack(width, depth, True),
                f"residual, branches x 1/sqrt({depth})": Stack(width, depth, True, scale=depth ** -0.5)}
    # A small input keeps tanh in its linear range (Pennington et al.'s isometric regime); the ReLU stacks have
    # no biases, so their Jacobians do not depend on the input's scale.
    x = 0.1 * np.random.default_rng(lesson.seed).standard_normal((1, width))
    spectra, rows = {}, []
    for name, model in variants.items():
        s = analysis.jacobian_spectrum(model, x, batched=True)
        spectra[name] = s
        rows.append([name, s.max, float(np.median(s.singular_values)), s.min, s.mean_squared,
                     f"{100 * s.fraction_within():.0f}%"])
    lesson.table(["stack", "max s", "median s", "min s", "mean s^2", "s in [0.5, 2]"], rows,
                 title=f"6. Singular values of the input-output Jacobian at an input x ~ N(0, 0.1^2), {depth} layers/"
                       f"blocks of width {width}, no biases, float64")
    names = list(spectra)
    relu_best = max(names[:1] + names[2:], key=lambda k: spectra[k].fraction_within())
    lesson.say(f"Among the ReLU stacks the most isometric is '{relu_best}' "
               f"({100 * spectra[relu_best].fraction_within():.0f}% of singular values in [0.5, 2]). The plain ReLU stack "
               f"loses rank (median s {np.median(spectra[names[0]].singular_values):.2g}); unscaled He branches blow "
               f"the spectrum up (mean s^2 {spectra[names[2]].mean_squared:.3g}): J = prod(I + dF/dx) stays near I only "
               f"while the branches are small. tanh with orthogonal weights in its linear range: "
               f"{100 * spectra[names[1]].fraction_within():.0f}% in [0.5, 2] (Pennington et al.: ReLU nets cannot be "
               "isometric, such tanh nets can).")
    plt = lesson.pyplot()
    if plt:
        fig, ax = plt.subplots(figsize=(7, 4.4))
        for name, s in spectra.items():
            ax.semilogy(np.arange(1, len(s.singular_values) + 1), np.maximum(s.singular_values, 1e-8), label=name)
        ax.axhline(1, color="gray", linestyle="--", linewidth=1)
        ax.set_ylim(0.5e-8, None)
        ax.set(xlabel="index (descending)", ylabel="singular value of dy/dx (clipped at 1e-8)",
               title=f"Jacobian spectra of {depth}-deep stacks (width {width})")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3, which="both")
        lesson.figure(fig, "jacobian_spectra.png")


def main():
    lesson = _lesson.Lesson(5, "Residual networks")
    size, subset = lesson.pick((16, 512), (16, None), (32, None))
    x, y, xt, yt = minidl.data.cifar10(subset=subset, seed=lesson.seed)
    if size != 32:
        x, xt = _lesson.low_resolution(x, size), _lesson.low_resolution(xt, size)
    units(lesson)
    batch = (x[:lesson.pick(16, 32, 128)], y[:lesson.pick(16, 32, 128)])
    gradient_norms(lesson, batch)
    shattered(lesson)
    model = lesion(lesson, (x, y, xt, yt))
    paths(lesson, model, batch)
    jacobians(lesson)
    lesson.done()


if __name__ == "__main__":
    main()

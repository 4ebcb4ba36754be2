"""Chapter 8: Loss landscapes. Li, Xu, Taylor, Studer and Goldstein (2018 [li2018], docs/references.md)
look at the loss around a trained network along random directions, each filter rescaled to the norm of
the weights' filter ("filter normalisation", so that slices of scale-invariant ReLU+BN nets compare). Without
shortcuts the landscape of a deep net turns chaotic; with them it stays a smooth basin.

The chapter trains a plain and a residual net of the same depth for a short while, then measures 1-D slices
f(a) = L(theta + a d) and 2-D surfaces f(a, b) = L(theta + a d + b e) on a fixed batch of training images with
`minidl.analysis.loss_slice_1d` / `loss_surface_2d`, for several seeds, and ends in a verdict: is the plain net's
surface near the minimum less convex than the residual net's (paired over seeds, 95% interval)?

    python lessons/ch08_loss_landscape.py [--quick | --full | --reference] [--out DIR] [--seed N]

quick:     plain14 vs resnet14, 512 images at 8x8, 1 epoch, one seed, a 7 x 7 grid (checks the code runs).
default:   plain32 vs resnet32, 5,085 images at 8x8, 2 epochs, seeds 0, 1, 2, an 11 x 11 grid on [-0.5, 0.5]^2 on
           128 images (about 4 minutes).
reference: the reference suite's depth run (lessons/_suite.py), which measures an 11 x 11 surface on [-1, 1]^2 (512
           training images) around each of plain20, resnet20, plain56 and resnet56 after 30 epochs at 32x32, seeds
           0-4 (lessons/reference/depth_32px.json). Every mode ends with the verdicts of its recorded units.
full:      plain56 vs resnet56, 32x32 images, 40 epochs, a 51 x 51 grid on [-1, 1]^2 on 2,048 images, three seeds
           (the paper's grid; days on a CPU).
"""

import numpy as np

import _lesson
import _reference
import _suite
import _verdicts
import minidl
from minidl import analysis
from minidl.models.resnet import resnet

RADIUS = 0.5  # "near the minimum": grid points with |a|, |b| <= RADIUS
CHANCE_LOSS = 2.0  # below ln 10 = 2.30 with a margin: a net whose loss is higher has not left chance


def design(lesson):
    """Depth, image size, training images, epochs, landscape batch, seeds, 1-D and 2-D grid points of this mode.
    Default: 8x8 images (a quarter of 16x16's work) so that three seeds of a 32-layer pair fit, and a 2-D grid on
    [-0.5, 0.5]^2 only, where the claim is measured."""
    depth, size, images, epochs, batch, seeds, points_1d, points_2d, extent = lesson.pick(
        (14, 8, 512, 1, 64, 1, 11, 7, RADIUS), (32, 8, None, 2, 128, 3, 21, 11, RADIUS),
        (56, 32, None, 40, 2048, 3, 51, 51, 1.0))
    return dict(depth=depth, size=size, images=images, epochs=epochs, batch=batch,
                seeds=[lesson.seed + k for k in range(seeds)], points_1d=points_1d, points_2d=points_2d, extent=extent)


def train_pair(lesson, data, depth, epochs, seed):
    """plain{depth} and resnet{depth} from the same seed: with option-A shortcuts (no parameters) both nets have the
    same parameters, so they start from the same weights, see the same batches and get the same random directions."""
    models, rows = {}, []
    for kind in ("plain", "resnet"):
        minidl.manual_seed(seed)
        model = resnet(depth, shortcut=None if kind == "plain" else "A")
        history = minidl.train(model, data=data, epochs=epochs, batch_size=64, lr=0.05, augment=lesson.mode == "full",
                               seed=seed, progress=False, device=lesson.device)
        models[f"{kind}{depth}"] = model.eval()
        rows.append([seed, f"{kind}{depth}", f"{history.final['train_loss']:.3f}",
                     f"{100 * history.final['train_acc']:.1f}", f"{100 * history.final['test_acc']:.1f}",
                     f"{sum(history.column('seconds')):.0f}"])
    return models, rows


def nonconvexity(z, coordinates, radius=1.0):
    """Share of interior grid points with |a|, |b| <= radius where the finite-difference Hessian of z has a
    negative eigenvalue, and the number of strict local minima among the interior points (1 for one basin)."""
    zaa = z[1:-1, 2:] - 2 * z[1:-1, 1:-1] + z[1:-1, :-2]
    zbb = z[2:, 1:-1] - 2 * z[1:-1, 1:-1] + z[:-2, 1:-1]
    zab = (z[2:, 2:] - z[2:, :-2] - z[:-2, 2:] + z[:-2, :-2]) / 4
    smallest = (zaa + zbb) / 2 - np.sqrt(((zaa - zbb) / 2) ** 2 + zab ** 2)  # lower eigenvalue of [[zaa, zab], [zab, zbb]]
    inner = np.abs(coordinates[1:-1]) <= radius + 1e-9
    inside = inner[:, None] & inner[None, :]
    centre = z[1:-1, 1:-1]
    neighbours = [z[1 + di:z.shape[0] - 1 + di, 1 + dj:z.shape[1] - 1 + dj]
                  for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj]
    minima = int(np.sum(np.all([centre < n for n in neighbours], axis=0)))
    return float(np.mean(smallest[inside] < 0)), minima


def landscape(model, batch, plan, seed):
    """The 1-D slice along d on [-1, 1] and the 2-D surface along (d, e) on [-extent, extent]^2 of one model,
    and the numbers the chapter compares."""
    alphas = np.linspace(-1, 1, plan["points_1d"])
    grid = np.linspace(-plan["extent"], plan["extent"], plan["points_2d"])
    line = analysis.loss_slice_1d(model, batch, alphas, seed=seed)
    surface = analysis.loss_surface_2d(model, batch, grid, seed=seed)  # d as in the slice, e from seed + 1
    s, z = line.losses, surface.losses
    centre = float(s[len(s) // 2])
    share, minima = nonconvexity(z, grid, radius=RADIUS)
    return {"loss": centre, "rise": float(np.mean([np.interp(a, alphas, s) for a in (-0.5, 0.5)])) - centre,
            "max_rise": float(s.max()) - centre, "range_2d": float(z.max() - z.min()), "nonconvex": share,
            "minima": minima, "alphas": alphas.tolist(), "slice": s.tolist(), "grid": grid.tolist(),
            "surface": z.tolist()}


def run(lesson, plan, x, y, xt, yt):
    """Train and measure the pair for every seed: {seed: {name: landscape numbers}} and the training table."""
    batch = (x[:plan["batch"]], y[:plan["batch"]])
    results, rows = {}, []
    for seed in plan["seeds"]:
        models, trained = train_pair(lesson, (x, y, xt, yt), plan["depth"], plan["epochs"], seed)
        rows += trained
        results[seed] = {name: landscape(model, batch, plan, seed) for name, model in models.items()}
        print(f"  seed {seed}: non-convex share near the minimum " + ", ".join(
            f"{name} {100 * r['nonconvex']:.0f}%" for name, r in results[seed].items()))
    print()
    lesson.table(["seed", "network", "train loss", "train acc %", "test acc %", "train s"], rows,
                 title=f"1. Plain and residual nets of depth {plan['depth']}, trained {plan['epochs']} epoch(s) on "
                       f"{len(y):,} images ({x.shape[-1]} px), one pair per seed")
    return results


def budget(plan, images):
    return (_lesson.training_budget(len(plan["seeds"]), plan["epochs"], images, plan["size"], batch_size=64)
            + f"; {plan['points_2d']}^2 grid on {len(plan['seeds'])} pair(s) of directions, "
            f"{plan['batch']} images")


def report(lesson, results, plan, title):
    """Per seed: the shape numbers of both nets; returns the paired interval of the non-convex share."""
    rows = []
    for seed, pair in results.items():
        for name, r in pair.items():
            rows.append([seed, name, r["loss"], r["rise"], r["max_rise"], r["range_2d"],
                         f"{100 * r['nonconvex']:.0f}%", r["minima"]])
    lesson.table(["seed", "network", "loss at theta", "rise at |a|=0.5", "max rise, |a|<=1", "2-D range",
                  f"non-convex |a|,|b|<={RADIUS:g}", "local minima"], rows, title=title)
    plain, res = (f"{kind}{plan['depth']}" for kind in ("plain", "resnet"))
    return analysis.paired_interval([100 * results[s][plain]["nonconvex"] for s in results],
                                    [100 * results[s][res]["nonconvex"] for s in results])


def verdict(lesson, plan, interval, images, results):
    """The claim predicts more non-convex points around a plain net's minimum than around the residual net's; a net
    still at chance (loss near ln 10) sits on a plateau, and the comparison is then confounded."""
    depth = plan["depth"]
    trained = all(pair[name]["loss"] < CHANCE_LOSS for pair in results.values() for name in pair)
    lesson.verdicts.effect(f"shortcuts smooth the loss landscape, depth {depth} (Li et al. 2018), this run at "
                           f"{plan['size']}x{plan['size']}",
                           f"non-convex share of grid points |a|,|b|<={RADIUS:g}, plain{depth} - resnet{depth}, points",
                           interval, budget(plan, images), above=0.0,
                           scale=_verdicts.scale(plan["size"], images, plan["epochs"], len(plan["seeds"])),
                           both_trained=trained)


def say_interval(lesson, interval, results, depth):
    """The paired difference, and how far each net got from the chance plateau (loss ln 10 = 2.30): a net that
    has not left it sits on a flat, saddle-like surface, which the measure counts as non-convex too."""
    text = "unknown with one seed" if interval.low is None else f"{interval.low:.1f} to {interval.high:.1f}"
    loss = {kind: np.mean([pair[f"{kind}{depth}"]["loss"] for pair in results.values()]) for kind in ("plain", "resnet")}
    lesson.say(f"Near the minimum plain{depth} has {interval.value:.1f} points more non-convex grid points than "
               f"resnet{depth} (mean over {interval.n} paired seed{'s' * (interval.n > 1)}, 95% interval {text}). "
               f"The surfaces are centred at different heights: mean loss at theta {loss['plain']:.2f} (plain) and "
               f"{loss['resnet']:.2f} (resnet), chance ln 10 = 2.30; Li et al. compare nets trained to convergence.")


def plot(lesson, runs):
    """1-D slices of every seed and 2-D surfaces of the first seed; `runs` maps a caption to (plan, results)."""
    plt = lesson.pyplot()
    if not plt:
        return
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for style, (caption, (plan, results)) in zip(("-", "--"), runs.items()):
        for i, kind in enumerate(("plain", "resnet")):
            name = f"{kind}{plan['depth']}"
            for k, pair in enumerate(results.values()):
                r = pair[name]
                ax.plot(r["alphas"], r["slice"], style, marker="." if style == "-" else None, color=f"C{i}",
                        alpha=0.8 if style == "-" else 0.5, label=f"{name}, {caption}" if k == 0 else None)
    ax.set_yscale("log")
    ax.set(xlabel="alpha (step along the filter-normalised direction)", ylabel="cross-entropy loss (log scale)",
           title="1-D loss slices around the trained weights, one line per seed")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    lesson.figure(fig, "landscape_1d.png")
    panels = [(caption, plan, name, next(iter(results.values()))[name])
              for caption, (plan, results) in runs.items() for name in next(iter(results.values()))]
    fig, axes = plt.subplots(len(runs), 2, figsize=(12, 5 * len(runs)), squeeze=False)
    # Levels from the lowest loss to 10x it (Li et al. also cap their contours): the basin, not the far walls,
    # gets the colours; higher losses share the top colour.
    z_all = np.concatenate([np.ravel(r["surface"]) for _, _, _, r in panels])
    low = max(float(z_all.min()), 1e-3)
    levels = np.geomspace(low, min(float(z_all.max()), 10 * low), 25)
    for ax, (caption, plan, name, r) in zip(axes.ravel(), panels):
        grid, z = np.array(r["grid"]), np.array(r["surface"])
        filled = ax.contourf(grid, grid, z, levels=levels, cmap="viridis", extend="max")
        ax.contour(grid, grid, z, levels=levels, colors="white", linewidths=0.4)
        ax.plot([0], [0], marker="*", color="red", markersize=12, label="trained weights")
        ax.set(xlabel="alpha (direction d)", ylabel="beta (direction e)", title=f"{name}, {caption}, first seed",
               aspect="equal")
        ax.legend(loc="upper right", fontsize="small")
        fig.colorbar(filled, ax=ax, label="loss (same levels in every panel)", shrink=0.85)
    fig.suptitle("2-D loss surfaces, filter-normalised directions")
    lesson.figure(fig, "landscape_2d.png")


def recorded_landscapes(lesson):
    """The verdicts at the papers' shape: the 2-D surfaces the reference suite measured around plain and residual
    nets trained 30 epochs at 32x32 (lessons/_suite.py), paired by seed (same directions for both nets of a seed).
    Returns {net: [surface per seed]} of the seeds with both nets of a depth, for the figure."""
    run = _suite.depth_run()
    shown = {}
    for depth in (56, 20):
        plain, res = _suite.paired(run, f"plain{depth}", f"resnet{depth}")
        if not plain:
            lesson.say(f"(The reference suite has no finished plain{depth}/resnet{depth} pair yet: run "
                       f"`python lessons/reference_suite.py`; the depth-{depth} verdict is skipped.)")
            continue
        grid = np.array(plain[0]["landscape"]["grid"])
        shares = {kind: [100 * nonconvexity(np.array(r["landscape"]["surface"]), grid, radius=RADIUS)[0]
                         for r in runs] for kind, runs in (("plain", plain), ("resnet", res))}
        interval = analysis.paired_interval(shares["plain"], shares["resnet"])
        setting = run.setting
        lesson.table(["seed", f"plain{depth} train err %", f"resnet{depth} train err %",
                      f"plain{depth} non-convex %", f"resnet{depth} non-convex %"],
                     [[k, f"{100 * p['train_error']:.1f}", f"{100 * r['train_error']:.1f}", f"{a:.0f}", f"{b:.0f}"]
                      for k, (p, r, a, b) in enumerate(zip(plain, res, shares["plain"], shares["resnet"]))],
                     title=f"Reference suite, depth {depth}: nets trained {setting['recipe']['epochs']} epochs at 32x32 "
                           f"on {setting['train_images']:,} images; {setting['landscape']['points']}^2 grid on "
                           f"[-1, 1]^2, {setting['landscape']['images']} training images")
        row = lesson.verdicts.effect(
            f"shortcuts smooth the loss landscape around trained minima, depth {depth} (Li et al. 2018), 32x32",
            f"non-convex share of grid points |a|,|b|<={RADIUS:g}, plain{depth} - resnet{depth}, points, paired by seed",
            interval, _lesson.training_budget(interval.n, setting["recipe"]["epochs"], setting["train_images"], 32)
            + f"; {setting['landscape']['points']}^2 grid", reference=_reference.relative_path(_suite.DEPTH_RUN),
            scale=_verdicts.scale(32, setting["train_images"], setting["recipe"]["epochs"], interval.n),
            both_trained=_suite.left_chance(plain) and _suite.left_chance(res))
        lesson.say(f"Depth {depth}: plain - resnet non-convex share {interval.value:+.1f} points"
                   + (f", 95% interval [{interval.low:+.1f}, {interval.high:+.1f}]" if interval.low is not None else "")
                   + f" over {interval.n} seed(s): {row['verdict']}.\n")
        shown.update({f"plain{depth}": plain, f"resnet{depth}": res})
    return shown


def plot_recorded(lesson, shown):
    """The recorded 2-D surfaces of the first seed, plain beside residual, on one colour scale (Li et al. Fig. 5)."""
    plt = lesson.pyplot()
    if not plt or not shown:
        return
    names = [n for n in ("plain56", "resnet56", "plain20", "resnet20") if n in shown]
    surfaces = {n: np.array(shown[n][0]["landscape"]["surface"]) for n in names}
    grid = np.array(shown[names[0]][0]["landscape"]["grid"])
    low = max(min(float(z.min()) for z in surfaces.values()), 1e-3)
    levels = np.geomspace(low, 10 * low, 25)  # one scale for every panel: the basin, not the far walls
    fig, axes = plt.subplots(len(names) // 2, 2, figsize=(11, 5 * (len(names) // 2)), squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        filled = ax.contourf(grid, grid, surfaces[name], levels=levels, cmap="viridis", extend="max")
        ax.contour(grid, grid, surfaces[name], levels=levels, colors="white", linewidths=0.4)
        ax.plot([0], [0], marker="*", color="red", markersize=12)
        ax.set(xlabel="alpha (direction d)", ylabel="beta (direction e)", aspect="equal",
               title=f"{name}, trained 30 epochs at 32x32, seed {_suite.SEEDS[0]}")
        fig.colorbar(filled, ax=ax, label="loss (same levels in every panel)", shrink=0.85)
    fig.suptitle("Reference suite: 2-D loss surfaces around trained nets, filter-normalised directions")
    lesson.figure(fig, "landscape_2d_32px.png")


def main():
    lesson = _lesson.Lesson(8, "Loss landscapes")
    if lesson.mode == "reference":  # the depth run of the reference suite trains and measures the nets
        _suite.run_depth(lesson.device)
        plot_recorded(lesson, recorded_landscapes(lesson))
        lesson.done()
        return
    plan = design(lesson)
    x, y, xt, yt = minidl.data.cifar10(subset=plan["images"], seed=lesson.seed)
    if plan["size"] != 32:
        x, xt = _lesson.low_resolution(x, plan["size"]), _lesson.low_resolution(xt, plan["size"])
    print(f"Each seed trains the pair (SGD momentum 0.9, lr 0.05, cosine, batch 64) and measures both nets along the "
          f"same filter-normalised directions d, e on the same {plan['batch']} training images (BN in eval mode): a "
          f"1-D slice of {plan['points_1d']} points on [-1, 1], a {plan['points_2d']}x{plan['points_2d']} grid on "
          f"[-{plan['extent']:g}, {plan['extent']:g}]^2. Non-convex: the grid's finite-difference Hessian has a "
          "negative eigenvalue there.\n")
    results = run(lesson, plan, x, y, xt, yt)
    interval = report(lesson, results, plan, f"2. Shape of the landscape, depth {plan['depth']}")
    verdict(lesson, plan, interval, len(y), results)
    if lesson.mode == "quick":
        lesson.say("(--quick uses one seed, a tiny grid, batch and training run: too coarse to judge smoothness.)")
    else:
        say_interval(lesson, interval, results, plan["depth"])
    plot(lesson, {"this run": (plan, results)})
    print("3. The reference suite at the papers' shape (lessons/reference/depth_32px.json)\n")
    plot_recorded(lesson, recorded_landscapes(lesson))
    lesson.done()


if __name__ == "__main__":
    main()

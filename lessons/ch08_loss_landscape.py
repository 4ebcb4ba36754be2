"""Chapter 8: Loss landscapes. Li, Xu, Taylor, Studer and Goldstein (2018 [li2018], docs/references.md)
look at the loss around a trained network along random directions, each filter rescaled to the norm of
the weights' filter ("filter normalisation", so that slices of scale-invariant ReLU+BN nets compare). Without
shortcuts the landscape of a deep net turns chaotic; with them it stays a smooth basin.

The chapter trains a plain and a residual net of the same depth for a short while, then measures 1-D slices
f(a) = L(theta + a d) and 2-D surfaces f(a, b) = L(theta + a d + b e) on a fixed batch of training images with
`minidl.analysis.loss_slice_1d` / `loss_surface_2d`. --full: plain56 vs resnet56, 32x32 images, 40 epochs,
a 51 x 51 grid on 2,048 images (the paper's grid; many hours on a CPU).
"""

import numpy as np

import _lesson
import minidl
from minidl import analysis
from minidl.models.resnet import resnet


def train_pair(lesson, data, depth, epochs):
    x, y, xt, yt = data
    models, rows = {}, []
    for kind in ("plain", "resnet"):
        minidl.manual_seed(lesson.seed)
        model = resnet(depth, shortcut=None if kind == "plain" else "A")
        history = minidl.train(model, data=data, epochs=epochs, batch_size=64, lr=0.05, augment=lesson.mode == "full",
                               seed=lesson.seed, progress=False, device=lesson.device)
        models[f"{kind}{depth}"] = model.eval()
        rows.append([f"{kind}{depth}", f"{history.final['train_loss']:.3f}", f"{100 * history.final['train_acc']:.1f}",
                     f"{100 * history.final['test_acc']:.1f}", f"{sum(history.column('seconds')):.0f}"])
    lesson.table(["network", "train loss", "train acc %", "test acc %", "train s"], rows,
                 title=f"1. Plain and residual nets of depth {depth}, trained {epochs} epoch(s) on {len(y)} images "
                       f"({x.shape[-1]} px)")
    return models


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


def landscapes(lesson, models, batch):
    points_1d, points_2d = lesson.pick((11, 5), (21, 13), (51, 51))
    alphas = np.linspace(-1, 1, points_1d)
    grid = np.linspace(-1, 1, points_2d)
    slices, surfaces = {}, {}
    for name, model in models.items():
        slices[name] = analysis.loss_slice_1d(model, batch, alphas, seed=lesson.seed)
        surfaces[name] = analysis.loss_surface_2d(model, batch, grid, seed=lesson.seed)
    names = list(models)
    show = range(0, len(alphas), -(-len(alphas) // 11))  # at most 11 rows
    lesson.table(["alpha"] + [f"loss {n}" for n in names],
                 [[f"{alphas[i]:+.2f}"] + [float(slices[n].losses[i]) for n in names] for i in show],
                 title=f"2. 1-D slices f(a) = L(theta + a d), one filter-normalised direction, {len(batch[1])} training "
                       "images, BN in eval mode")
    rows, shape = [], {}
    for name in names:
        s, z = slices[name].losses, surfaces[name].losses
        centre = float(s[len(s) // 2])
        rise = float(np.mean([np.interp(a, alphas, s) for a in (-0.5, 0.5)])) - centre
        basin, minima = nonconvexity(z, surfaces[name].alphas, radius=0.5)
        whole, _ = nonconvexity(z, surfaces[name].alphas)
        shape[name] = (centre, rise, basin)
        rows.append([name, centre, rise, float(s.max()) - centre, float(z.max() - z.min()), f"{100 * basin:.0f}%",
                     f"{100 * whole:.0f}%", minima])
    lesson.table(["network", "loss at theta", "rise at |a|=0.5", "max rise, |a|<=1", "2-D range",
                  "non-convex |a|,|b|<=0.5", "whole grid", "local minima"], rows,
                 title=f"3. Shape of the landscape ({points_2d}x{points_2d} grid on [-1, 1]^2; non-convex: the grid's "
                       "finite-difference Hessian has a negative eigenvalue there)")
    (plain_loss, plain_rise, plain_share), (res_loss, res_rise, res_share) = shape[names[0]], shape[names[1]]
    if lesson.mode == "quick":
        lesson.say("(--quick uses a tiny grid, batch and training run: too coarse to judge smoothness.)")
        return plot(lesson, alphas, slices, surfaces)
    lesson.say(f"Around the minimum (|a|, |b| <= 0.5) {names[1]} has {100 * res_share:.0f}% non-convex points, "
               f"{names[0]} {100 * plain_share:.0f}%: "
               + ("the residual net's basin is the more convex one, as Li et al. report." if res_share < plain_share
                  else "the residual net's basin is NOT the more convex one here.")
               + f" The loss rises {res_rise:.3g} ({names[1]}) and {plain_rise:.3g} ({names[0]}) at |a| = 0.5 from "
               f"minima at {res_loss:.3g} and {plain_loss:.3g}. One pair of random directions, one seed; Li et al.'s "
               "plain nets turn chaotic as depth grows (their flagship figure compares 56-layer nets).")
    plot(lesson, alphas, slices, surfaces)


def plot(lesson, alphas, slices, surfaces):
    plt = lesson.pyplot()
    if not plt:
        return
    fig, ax = plt.subplots(figsize=(7, 4.4))
    for name, s in slices.items():
        ax.plot(alphas, s.losses, marker=".", label=name)
    ax.set_yscale("log")
    ax.set(xlabel="alpha (step along the filter-normalised direction)", ylabel="cross-entropy loss (log scale)",
           title="1-D loss slices around the trained weights")
    ax.grid(alpha=0.3)
    ax.legend()
    lesson.figure(fig, "landscape_1d.png")
    fig, axes = plt.subplots(1, len(surfaces), figsize=(6 * len(surfaces), 5))
    # Levels from the lowest loss to 10x it (Li et al. also cap their contours): the basin, not the far walls,
    # gets the colours; higher losses share the top colour.
    z_all = np.concatenate([s.losses.ravel() for s in surfaces.values()])
    low = max(float(z_all.min()), 1e-3)
    levels = np.geomspace(low, min(float(z_all.max()), 10 * low), 25)
    for ax, (name, surface) in zip(axes, surfaces.items()):
        filled = ax.contourf(surface.alphas, surface.betas, surface.losses, levels=levels, cmap="viridis",
                             extend="max")
        ax.contour(surface.alphas, surface.betas, surface.losses, levels=levels, colors="white", linewidths=0.4)
        ax.plot([0], [0], marker="*", color="red", markersize=12, label="trained weights")
        ax.set(xlabel="alpha (direction d)", ylabel="beta (direction e)", title=name, aspect="equal")
        ax.legend(loc="upper right", fontsize="small")
        fig.colorbar(filled, ax=ax, label="loss (same levels in both panels, capped at 10x the lowest)", shrink=0.85)
    fig.suptitle("2-D loss surfaces, filter-normalised directions")
    lesson.figure(fig, "landscape_2d.png")


def main():
    lesson = _lesson.Lesson(8, "Loss landscapes")
    depth, size, subset, epochs, batch_size = lesson.pick((14, 16, 512, 1, 64), (20, 16, 5085, 3, 256),
                                                          (56, 32, None, 40, 2048))
    x, y, xt, yt = minidl.data.cifar10(subset=subset, seed=lesson.seed)
    if size != 32:
        x, xt = _lesson.low_resolution(x, size), _lesson.low_resolution(xt, size)
    models = train_pair(lesson, (x, y, xt, yt), depth, epochs)
    landscapes(lesson, models, (x[:batch_size], y[:batch_size]))
    lesson.done()


if __name__ == "__main__":
    main()

"""Figures for the analysis results, drawn with matplotlib when it is installed (the `plot` extra).

Every function saves one PNG and returns its path, or returns None without drawing when matplotlib is
missing, so a lesson can print its tables either way and say that figures were skipped. Figures are built
with matplotlib's object interface (no pyplot, no display needed) and written to a temporary name first.
Arguments named `results` take a dict {label: result} to compare models in one figure (one result is fine).
"""
import os

import numpy as np

from .paths import path_lengths


def matplotlib_available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width=6.4, height=4.4):
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots()


def _save(figure, path):
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    root, ext = os.path.splitext(path)
    temporary = f"{root}.tmp{os.getpid()}{ext or '.png'}"
    figure.savefig(temporary, dpi=120)
    os.replace(temporary, path)
    return path


def _labelled(results):
    return results if isinstance(results, dict) else {"": results}


def _finish(figure, ax, path, title, xlabel, ylabel, legend=True):
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if legend and ax.get_legend_handles_labels()[1]:
        ax.legend()
    return _save(figure, path)


def plot_gradient_flow(results, path, field="weight_grad_norm", title=None):
    """FlowStats field against layer index (log scale), one line per model."""
    if not matplotlib_available():
        return None
    figure, ax = _figure()
    for label, stats in _labelled(results).items():
        values = getattr(stats, field)
        ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=label or None)
    ax.set_yscale("log")
    names = {"weight_grad_norm": "||dL/dW||", "ratio": "||dL/dW|| / ||W||", "grad_out_norm": "||dL/dy||",
             "act_std": "std of layer output", "weight_norm": "||W||", "act_mean": "mean of layer output"}
    if field == "act_mean":
        ax.set_yscale("linear")
    return _finish(figure, ax, path, title or f"{names.get(field, field)} per layer", "layer", names.get(field, field))


def plot_flow_history(history, path, field="weight_grad_norm", title=None):
    """A recorder's history as an image: training step against layer, colour = log10 of the field."""
    if not matplotlib_available():
        return None
    figure, ax = _figure()
    values = np.log10(np.asarray(history[field], dtype=np.float64))
    steps = history["step"]
    image = ax.imshow(values.T, aspect="auto", origin="lower", cmap="viridis",
                      extent=(steps[0] - 0.5, steps[-1] + 0.5, 0.5, values.shape[1] + 0.5))
    figure.colorbar(image, ax=ax, label=f"log10 {field}")
    return _finish(figure, ax, path, title or f"{field} during training", "training step", "layer", legend=False)


def plot_singular_values(results, path, title=None):
    """Sorted Jacobian singular values (JacobianSpectrum or arrays), one line per model; 1 marked."""
    if not matplotlib_available():
        return None
    figure, ax = _figure()
    largest = 0.0
    for label, spectrum in _labelled(results).items():
        s = np.asarray(getattr(spectrum, "singular_values", spectrum), dtype=np.float64)
        largest = max(largest, s.max())
        ax.plot(np.arange(1, len(s) + 1), s, label=label or None)
    ax.axhline(1.0, color="gray", linestyle="--", linewidth=1)
    ax.set_yscale("log")
    top = 2 * max(largest, 1.0)
    ax.set_ylim(1e-4 * top, top)  # (numerically) zero singular values would squash the rest
    return _finish(figure, ax, path, title or "Jacobian singular values", "index (descending)", "singular value")


def plot_input_gradients(results, path, xs=None, title=None):
    """dy/dx along the input line, one panel per network ({label: gradient array})."""
    if not matplotlib_available():
        return None
    from matplotlib.figure import Figure
    results = _labelled(results)
    figure = Figure(figsize=(6.4, 1.8 * len(results) + 0.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(len(results), 1, sharex=True))
    for ax, (label, g) in zip(axes, results.items()):
        x = np.linspace(-2, 2, len(g), endpoint=False) if xs is None else np.asarray(xs).reshape(-1)
        ax.plot(x, g, linewidth=1)
        ax.set_ylabel("dy/dx")
        ax.set_title(label, fontsize="medium")
    axes[-1].set_xlabel("input x")
    figure.suptitle(title or "Input gradients along a line of inputs")
    return _save(figure, path)


def plot_shattering(table, path, title=None):
    """ShatterTable: autocorrelation against depth, one line per kind, with the spread over seeds."""
    if not matplotlib_available():
        return None
    figure, ax = _figure()
    for i, kind in enumerate(table.kinds):
        ax.errorbar(table.depths, table.mean[i], yerr=table.std[i], marker="o", capsize=3, label=kind)
    ax.axhline(0.0, color="gray", linewidth=1)
    return _finish(figure, ax, path, title or "Shattered gradients", "depth (layers or blocks)",
                   f"lag-{table.lag} autocorrelation of dy/dx")


def plot_lesions(results, path, title=None):
    """LesionResult: accuracy with each single block removed, one line per model, intact accuracy dashed."""
    if not matplotlib_available():
        return None
    figure, ax = _figure()
    for label, result in _labelled(results).items():
        line, = ax.plot(np.arange(1, len(result.blocks) + 1), 100 * result.single_accuracies(), marker="o",
                        label=label or None)
        ax.axhline(100 * result.baseline, color=line.get_color(), linestyle="--", linewidth=1)
    return _finish(figure, ax, path, title or "Accuracy after removing one block (dashed: intact)",
                   "block removed", "test accuracy (%)")


def plot_path_lengths(n, path, effective=None, title=None):
    """Binomial path-length distribution for n blocks; with EffectivePaths, also the gradient share by length."""
    if not matplotlib_available():
        return None
    figure, ax = _figure()
    lengths = path_lengths(n)
    ax.bar(lengths.lengths, lengths.probabilities, color="lightsteelblue", label="share of paths")
    if effective is not None:
        ax.plot(effective.ks, effective.share(), color="darkred", marker=".", label="share of total gradient")
    return _finish(figure, ax, path, title or f"Path lengths through {n} residual blocks",
                   "path length (residual branches passed)", "fraction")


def plot_landscape_1d(results, path, title=None):
    """Slice1D curves f(alpha), one per model."""
    if not matplotlib_available():
        return None
    figure, ax = _figure()
    for label, s in _labelled(results).items():
        ax.plot(s.alphas, s.losses, label=label or None)
    return _finish(figure, ax, path, title or "Loss along a filter-normalised direction", "alpha", "loss")


def plot_landscape_2d(surface, path, levels=30, title=None):
    """Surface2D as a contour plot (log-spaced levels when the loss spans more than a decade)."""
    if not matplotlib_available():
        return None
    figure, ax = _figure(5.6, 4.8)
    from matplotlib.colors import LogNorm, Normalize
    z = np.asarray(surface.losses, dtype=np.float64)
    low, high = np.nanmin(z), np.nanmax(z)
    logarithmic = low > 0 and high / low > 10
    contour_levels = (np.geomspace if logarithmic else np.linspace)(low, high, levels)
    norm = (LogNorm if logarithmic else Normalize)(vmin=low, vmax=high)
    contours = ax.contour(surface.alphas, surface.betas, z, levels=contour_levels, cmap="viridis", norm=norm)
    figure.colorbar(contours, ax=ax, label="loss")
    ax.plot([0], [0], marker="*", color="red", markersize=10)
    return _finish(figure, ax, path, title or "Loss surface (filter-normalised directions)", "alpha", "beta",
                   legend=False)


def plot_feature_reuse(reuse, path, normalized=True, title=None):
    """FeatureReuse as a heat map: target layer (rows) against source layer (columns)."""
    if not matplotlib_available():
        return None
    figure, ax = _figure(5.6, 4.8)
    matrix = reuse.row_normalized() if normalized else reuse.matrix
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap="magma", origin="upper")
    figure.colorbar(image, ax=ax, label="mean |w| (row-normalised)" if normalized else "mean |w|")
    n = matrix.shape[0]
    ax.set_xticks(range(n), labels=["in"] + [str(s) for s in range(1, n)])
    ax.set_yticks(range(n), labels=[str(t) for t in range(1, n + 1)])
    return _finish(figure, ax, path, title or "Feature reuse in a dense block", "source layer (0 = block input)",
                   "target layer", legend=False)


def plot_gates(results, path, title=None):
    """GateStats: mean T per layer with its spread over examples; sigmoid(b_T) dotted."""
    if not matplotlib_available():
        return None
    figure, ax = _figure()
    for label, stats in _labelled(results).items():
        layers = np.arange(1, len(stats.names) + 1)
        bars = ax.errorbar(layers, stats.mean, yerr=stats.std_over_examples, marker="o", capsize=3,
                           label=label or None)
        ax.plot(layers, stats.bias_sigmoid, linestyle=":", color=bars.lines[0].get_color())
    ax.set_ylim(0, 1)
    return _finish(figure, ax, path, title or "Transform-gate activity (dotted: sigmoid of the gate bias)",
                   "highway layer", "mean T(x)")

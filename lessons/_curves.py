"""Training-error curves of the reference suite with the reader's own short run drawn over them.

The suite trains for 30 epochs on 5,085 images at 32x32; a chapter's default run trains a few epochs on fewer,
smaller images. Both are drawn against SGD steps on a log scale, so the reader sees where the short run sits on
the road the long one took.
"""
import numpy as np

import _suite


def epoch_ends(curve, images, batch_size):
    """The SGD step at which each epoch of `curve` ends (the last batch of an epoch may be short)."""
    return -(-images // batch_size) * np.arange(1, len(curve) + 1)


def draw_reference(ax, results, name, color, images, batch_size=_suite.RECIPE["batch_size"]):
    """One line per recorded seed: each unit's training error during each epoch (augmented batches)."""
    for k, result in enumerate(results):
        curve = result["train_error_curve"]
        ax.plot(epoch_ends(curve, images, batch_size), [100 * e for e in curve], color=color, linewidth=1.2,
                label=f"{name}, suite ({len(results)} seed{'s' * (len(results) > 1)})" if k == 0 else None)


def draw_yours(ax, curve, name, color, images, batch_size, size):
    """The reader's run: dashed, one marker per epoch, labelled with its own scale."""
    ax.plot(epoch_ends(curve, images, batch_size), [100 * e for e in curve], "--o", color=color, linewidth=1,
            markersize=3, label=f"{name}, this run ({size}x{size}, {images:,} images)")


def finish(ax, title):
    """Log-scale steps, the chance line, a grid and the legend."""
    ax.set_xscale("log")
    ax.axhline(100 * _suite.CHANCE_ERROR, color="gray", linestyle=":", linewidth=1, label="chance")
    ax.set(xlabel="SGD steps (log scale)", ylim=(0, 100), title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)

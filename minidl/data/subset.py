"""A class-balanced, seeded subset: the same N images for the same seed, as close to N/10 per class as the data allows."""
import numpy as np


def _quotas(counts, n, rng):
    """How many images to take from each class: equal shares, a class that runs out passing its rest on,
    and the last few left over (n not divisible) going to classes drawn with `rng`."""
    quota = np.zeros_like(counts)
    while quota.sum() < n:
        open_classes = np.flatnonzero(quota < counts)
        share, extra = divmod(n - quota.sum(), len(open_classes))
        quota[open_classes] += np.minimum(share, counts[open_classes] - quota[open_classes])
        if share == 0:
            quota[rng.choice(open_classes, extra, replace=False)] += 1
    return quota


def balanced_subset(labels, n, seed=0, num_classes=10):
    """Indices (sorted, so the subset keeps the data's order) of n images balanced over the classes.

    Each class contributes n // num_classes images where it has them; seed fixes both which images are
    taken and which classes receive the remainder.
    """
    labels = np.asarray(labels)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(labels):
        raise ValueError(f"subset: expected an int between 1 and {len(labels)} (the number of images), got {n!r}")
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels, minlength=num_classes)
    quota = _quotas(counts, int(n), rng)
    chosen = [rng.permutation(np.flatnonzero(labels == k))[:quota[k]] for k in range(len(counts))]
    return np.sort(np.concatenate(chosen))

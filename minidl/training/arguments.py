"""train()'s arguments and data checked before anything runs: each error names the argument, its value and what
is expected."""
import math
import numbers


def whole(name, value, low):
    """An int (not a bool, not a float such as 1.5) >= low."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"train: {name} must be an int >= {low}, got {value!r} ({type(value).__name__})")
    if value < low:
        raise ValueError(f"train: {name} must be >= {low}, got {value}")


def real(name, value, low=0.0, below=None):
    """A finite real number (not a string such as "0.1") >= low and, when given, < below."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"train: {name} must be a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value) or value < low or (below is not None and value >= below):
        wanted = f">= {low:g}" + (f" and < {below:g}" if below is not None else "")
        raise ValueError(f"train: {name} must be a finite number {wanted}, got {value}")


def check_train_arguments(epochs, batch_size, lr, momentum, weight_decay, warmup_epochs, label_smoothing, subset,
                          seed):
    whole("epochs", epochs, 0)
    whole("batch_size", batch_size, 1)
    for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay),
                        ("warmup_epochs", warmup_epochs)):
        real(name, value)
    real("label_smoothing", label_smoothing, below=1.0)
    if subset is not None:
        whole("subset", subset, 1)
    whole("seed", seed, 0)


def check_data(train_set, x_test, y_test):
    if len(train_set) == 0:
        raise ValueError("train: the training data holds no images")
    check_test_data("train", x_test, y_test)


def check_test_data(caller, x, y):
    if len(y) == 0:
        raise ValueError(f"{caller}: the test data holds no images (the accuracy of none is undefined)")
    if len(x) != len(y):
        raise ValueError(f"{caller}: the test data has {len(x)} images but {len(y)} labels")

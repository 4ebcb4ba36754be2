"""Chapter 2: the pieces of a CNN. Convolution, batch norm, pooling and concatenation: what each computes (a tiny
worked example, and a direct loop over the definition) and its gradient (a hand formula), both checked against
the package's plain textbook ops (minidl/functional/textbook, run with `minidl.textbook_ops()`), which the
fast ops must match too, and against float64 differences. Then a small CNN made of exactly these pieces is
trained on the CIFAR-10 subset with minidl.train.

    python lessons/ch02_cnn_building_blocks.py [--quick | --full] [--out DIR] [--seed N] [--device cpu|cuda]

quick: 512 training images, 2 epochs; default: the 5,085-image subset, 15 epochs (about 1 minute); full: 60
epochs on whatever minidl.data.cifar10() finds (the whole 50,000 images if MINIDL_DATA points at them).
"""

import contextlib
import math

import numpy as np

import _lesson
import _verdicts
import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import check_gradients, proportion_interval



def t64(array, grad=True):
    return minidl.Tensor(np.asarray(array, dtype=np.float64), requires_grad=grad)


def show(name, array):
    print(f"{name} =\n{np.array2string(np.asarray(array), precision=3, suppress_small=True)}\n")


def gradcheck_error(lesson, fn, inputs):
    """Worst |analytic - numeric| over every input, in float64 (check_gradients)."""
    return max(w.abs_error for w in check_gradients(fn, inputs, max_elements=lesson.pick(24, 128, 1000)))


def backward_with(out, g):
    """Backpropagate a fixed upstream gradient g, i.e. the gradients of L = sum(out * g)."""
    out.backward(minidl.Tensor(g))


def on_both_paths(fn, arrays, g):
    """fn(*arrays) and its input gradients (for upstream g) by the package's textbook ops, and the largest
    difference of the fast ops from them."""
    runs = []
    for path in (minidl.textbook_ops(), contextlib.nullcontext()):
        tensors = [t64(a) for a in arrays]
        with path:
            out = fn(*tensors)
        backward_with(out, g)
        runs.append([out.data] + [t.grad for t in tensors])
    reference, fast = runs
    return reference[0], reference[1:], max(np.abs(a - b).max() for a, b in zip(reference, fast))


def add_check(lesson, checks, name, fn, arrays, g, forward_by_definition, grads_by_hand):
    """One row of the summary: the definition, the hand formula and the fast ops, each against the textbook op."""
    out, grads, fast_error = on_both_paths(fn, arrays, g)
    checks.append([name, np.abs(forward_by_definition - out).max(),
                   max(np.abs(mine - ref).max() for mine, ref in zip(grads_by_hand, grads)), fast_error,
                   gradcheck_error(lesson, fn, [t64(a) for a in arrays])])


# --------------------------------------------------------------------------------------------------
# 1. Convolution: y[n,o,i,j] = sum_{c,u,v} w[o,c,u,v] * xpad[n, c, i*s + u, j*s + v]  (+ b[o])
# --------------------------------------------------------------------------------------------------
def conv_by_definition(x, w, stride, padding):
    """The formula above as plain loops over the output positions."""
    n, _, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]  # (n, c, k, k)
            y[:, :, i, j] = np.einsum("ncuv,ocuv->no", window, w)
    return y, xp


def conv_grads_by_hand(xp, w, g, stride, padding, shape):
    """dL/dw: correlate the padded input with g; dL/dx: each output gradient sends g * w back to its window."""
    k = w.shape[2]
    dw, dxp = np.zeros_like(w), np.zeros_like(xp)
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            rows, cols = slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)
            dw += np.einsum("no,ncuv->ocuv", g[:, :, i, j], xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("no,ocuv->ncuv", g[:, :, i, j], w)
    return dw, dxp[:, :, padding:padding + shape[2], padding:padding + shape[3]]


def convolution(lesson, rng, checks):
    """A worked example, then the strided and the Winograd path against the definition and hand gradients."""
    print("1. Convolution (cross-correlation, as in PyTorch): a vertical-edge kernel on a 5x5 image\n")
    image = np.zeros((1, 1, 5, 5))
    image[..., 2:] = 1.0  # dark left, bright right: one vertical edge
    kernel = np.array([[[[1.0, 0.0, -1.0]] * 3]])
    show("image", image[0, 0])
    show("kernel", kernel[0, 0])
    y = F.conv2d(t64(image, grad=False), t64(kernel, grad=False))
    show("conv2d(image, kernel) (3x3 output: no padding)", y.data[0, 0])
    print("The kernel answers -3 where the window straddles the edge and 0 on flat regions.\n")

    for name, stride, size in (("conv2d 3x3, stride 2, pad 1 (fast: im2col)", 2, 7),
                               ("conv2d 3x3, stride 1, pad 1 (fast: Winograd)", 1, 6)):
        x, w = rng.standard_normal((2, 3, size, size)), rng.standard_normal((4, 3, 3, 3))
        g = rng.standard_normal((2, 4, 4 if stride == 2 else size, 4 if stride == 2 else size))
        direct, xpad = conv_by_definition(x, w, stride=stride, padding=1)
        dw, dx = conv_grads_by_hand(xpad, w, g, stride=stride, padding=1, shape=x.shape)
        add_check(lesson, checks, name, lambda a, b, s=stride: F.conv2d(a, b, stride=s, padding=1), [x, w], g,
                  direct, [dx, dw])


# --------------------------------------------------------------------------------------------------
# 2. Batch norm: per channel, y = gamma * (x - mean) / sqrt(var + eps) + beta over the batch (and positions)
# --------------------------------------------------------------------------------------------------
def batch_norm(lesson, rng, checks):
    """A worked example by hand, then the training-mode backward against its formula."""
    print("2. Batch norm: 4 examples, 2 channels (one value each); gamma = (2, 0.5), beta = (1, -1)\n")
    values = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [6.0, 60.0]])
    bn = nn.BatchNorm2d(2).double()
    bn.weight.data[:] = [2.0, 0.5]
    bn.bias.data[:] = [1.0, -1.0]
    y = bn(t64(values[:, :, None, None], grad=False)).data[:, :, 0, 0]
    mean, var = values.mean(0), values.var(0)
    by_hand = np.array([2.0, 0.5]) * (values - mean) / np.sqrt(var + bn.eps) + np.array([1.0, -1.0])
    rows = [[c, float(mean[c]), float(var[c]), " ".join(f"{v:.3f}" for v in y[:, c]), float(y[:, c].mean()),
             float(y[:, c].std())] for c in range(2)]
    lesson.table(["channel", "batch mean", "batch var (biased)", "outputs", "output mean", "output std"], rows)
    print(f"Outputs differ from the formula by {np.abs(y - by_hand).max():.1e}; each channel comes out with mean "
          "beta and std gamma (up to eps), whatever the scale of its input (channel 1 is 10x channel 0).")
    expected_running = (0.9 * 0 + 0.1 * mean, 0.9 * 1 + 0.1 * values.var(0, ddof=1))
    print(f"Running statistics after this one step (momentum 0.1, unbiased variance): mean {bn.running_mean.data}, var "
          f"{np.round(bn.running_var.data, 4)}; by hand {expected_running[0]}, {np.round(expected_running[1], 4)}.\n")

    x = rng.standard_normal((4, 3, 3, 3)) * 2 + 1
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    g = rng.standard_normal(x.shape)
    axes = (0, 2, 3)
    mu, inv_std = x.mean(axes, keepdims=True), 1 / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    x_hat = (x - mu) * inv_std
    c = (1, 3, 1, 1)
    # The batch statistics depend on every example, hence the two centring terms:
    #   dL/dx = gamma * inv_std * (g - mean(g) - x_hat * mean(g * x_hat)),  means over N, H, W
    dx = gamma.reshape(c) * inv_std * (g - g.mean(axes, keepdims=True) - x_hat * (g * x_hat).mean(axes, keepdims=True))
    add_check(lesson, checks, "batch_norm (training)",
              lambda a, b, d: F.batch_norm(a, None, None, b, d, training=True), [x, gamma, beta], g,
              gamma.reshape(c) * x_hat + beta.reshape(c), [dx, (g * x_hat).sum(axes), g.sum(axes)])


# --------------------------------------------------------------------------------------------------
# 3. Pooling: max routes the gradient to the winner of each window; average spreads it evenly
# --------------------------------------------------------------------------------------------------
def pooling(lesson, rng, checks):
    """Max and average pooling on a worked example, then their gradients against the routing rules."""
    print("3. Pooling, 2x2 windows with stride 2, on a 4x4 input\n")
    grid = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 2, 6, 7], [9, 1, 3, 5]], dtype=np.float64)[None, None]
    show("input", grid[0, 0])
    for name, pool in (("max_pool2d", F.max_pool2d), ("avg_pool2d", F.avg_pool2d)):
        xt = t64(grid)
        out = pool(xt, 2)
        out.sum().backward()
        show(f"{name} output", out.data[0, 0])
        show(f"{name}: gradient of the output's sum w.r.t. the input", xt.grad[0, 0])
    x = rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) * 0.1  # distinct values: no ties within a window
    windows = x.reshape(2, 2, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 2, 3, 3, 4)
    g = rng.standard_normal((2, 2, 3, 3))
    for name, pool, direct, route in (
            ("max_pool2d 2x2", F.max_pool2d, windows.max(-1), lambda w: (w == w.max(-1, keepdims=True)).astype(float)),
            ("avg_pool2d 2x2", F.avg_pool2d, windows.mean(-1), lambda w: np.full(w.shape, 0.25))):
        share = route(windows) * g[..., None]  # each window element's share of its output's gradient
        dx = share.reshape(2, 2, 3, 3, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)
        add_check(lesson, checks, name, lambda a, p=pool: p(a, 2), [x], g, direct, [dx])


# --------------------------------------------------------------------------------------------------
# 4. Concatenation: stack feature maps along the channel axis; the gradient is cut back into the pieces
# --------------------------------------------------------------------------------------------------
def concatenation(lesson, rng, checks):
    """cat along channels: the gradient of each input is its slice of the output gradient."""
    a, b = rng.standard_normal((2, 2, 3, 3)), rng.standard_normal((2, 3, 3, 3))
    g = rng.standard_normal((2, 5, 3, 3))
    out = F.cat([t64(a), t64(b)], dim=1)
    print(f"4. Concatenation: cat of {a.shape} and {b.shape} along channels gives {out.shape}; the gradient of "
          f"each input is its slice of the output gradient, channels 0-1 and 2-4.\n")
    add_check(lesson, checks, "cat (channels)", lambda p, q: F.cat([p, q], 1), [a, b], g, np.concatenate([a, b], 1),
              [g[:, :2], g[:, 2:]])


def summary(lesson, checks):
    """The table of sections 1-4."""
    lesson.table(["piece", "definition", "hand gradient", "fast ops", "gradcheck |analytic - numeric|"],
                 [[r[0]] + [f"{v:.1e}" for v in r[1:]] for r in checks],
                 title="Max |difference| from the package's textbook op (float64) of: the loop over the definition, "
                       "the hand-derived gradients, the fast ops (forward and backward); then the float64 gradient "
                       "check:")
    worst = max(max(r[1:]) for r in checks)
    lesson.say(f"Every forward value and gradient above matches its definition to {worst:.0e} or better."
               if worst < 1e-8 else f"The largest disagreement is {worst:.2g}: look at the table.")
    lesson.verdicts.exact("conv, batch norm, pooling and concatenation compute their definitions and gradients",
                          "largest |difference| from the definitions and hand gradients (float64); claim: below 1e-8",
                          worst, worst < 1e-8, f"{len(checks)} pieces on worked examples", n=len(checks))
    print("The textbook ops (minidl/functional/textbook) are these definitions written once, as Functions; "
          "`with minidl.textbook_ops():` runs any model on them.")
    print()


# --------------------------------------------------------------------------------------------------
# 5. A small CNN made of these pieces, trained with minidl.train
# --------------------------------------------------------------------------------------------------
def conv_bn_relu(cin, cout, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class SmallCNN(nn.Module):
    """conv 16 -> pool -> [x, conv(x)] concatenated (32 channels) -> pool -> conv 64 -> global pool -> linear."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = conv_bn_relu(3, 16)
        self.grow = conv_bn_relu(16, 16)     # its output is concatenated to its input: 16 + 16 channels
        self.mix = conv_bn_relu(32, 64)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes))

    def forward(self, x):
        x = self.pool(self.stem(x))                      # 16 x 16 x 16
        x = self.pool(F.cat([x, self.grow(x)], dim=1))   # 32 x 8 x 8
        return self.head(self.mix(x))                    # 64 x 8 x 8 -> 10 scores


def train_small_cnn(lesson):
    """Section 5: returns the model, its history and the sizes of the training and test sets."""
    images, epochs = lesson.pick((512, 2), (None, 15), (None, 60))
    x_train, y_train, x_test, y_test = minidl.data.cifar10(subset=images, seed=lesson.seed)
    if lesson.mode == "quick":
        x_test, y_test = x_test[:300], y_test[:300]
    model = SmallCNN()
    params = sum(p.data.size for p in model.parameters())
    print(f"5. Training a small CNN ({params:,} parameters) on {len(x_train):,} CIFAR-10 images for {epochs} epoch(s), "
          f"testing on {len(x_test):,}: SGD momentum 0.9, lr 0.1 cosine, weight decay 5e-4, batch 128, crop + flip\n")
    history = minidl.train(model, data=(x_train, y_train, x_test, y_test), epochs=epochs, batch_size=128, lr=0.1,
                           seed=lesson.seed, device=lesson.device, progress=lesson.mode != "quick")
    print("(train loss/acc: running averages over each epoch's augmented batches; test: the whole test set after it)")
    lesson.table(["epoch", "train loss", "train acc %", "test loss", "test acc %", "lr", "seconds"],
                 [[r["epoch"], r["train_loss"], 100 * r["train_acc"], r["test_loss"], 100 * r["test_acc"], r["lr"],
                   r["seconds"]] for r in history])
    accuracy = history.final["test_acc"]
    standard_error = math.sqrt(0.1 * 0.9 / len(y_test))  # of the accuracy of a random guesser (10 classes)
    z = (accuracy - 0.1) / standard_error
    lesson.say(f"Test accuracy {100 * accuracy:.1f}% against 10% for guessing: {z:.1f} standard errors above chance"
               + (" -- the pieces learn." if z > 3 else " -- not clearly above chance in a run this small."))
    correct = int(round(accuracy * len(y_test)))
    lesson.verdicts.effect("a CNN built from these pieces learns (test accuracy above chance)",
                           "test accuracy (Wilson interval over the test images); claim: above 0.1",
                           proportion_interval(correct, len(y_test)), f"1 seed, {epochs} epochs on "
                           f"{len(x_train):,} images, {len(y_test):,} test images", above=0.1,
                           scale=_verdicts.scale(x_train.shape[-1], len(x_train), epochs, 1))
    if lesson.mode == "quick":
        lesson.say("(quick mode: 512 images and two epochs show that the pipeline runs, not how well the CNN can "
                   "learn.)")
    return model, history, len(x_train), len(x_test)


def figures(lesson, model, history, n_train, n_test):
    """Loss and accuracy per epoch, and the first layer's filters (skipped without matplotlib)."""
    plt = lesson.pyplot()
    if plt is None:
        return
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    epochs_axis = history.column("epoch")
    for split, style in (("train", "o-"), ("test", "s--")):
        ax_loss.plot(epochs_axis, history.column(f"{split}_loss"), style, label=split)
        ax_acc.plot(epochs_axis, [100 * v for v in history.column(f"{split}_acc")], style, label=split)
    ax_acc.axhline(10, color="gray", linestyle=":", label="chance (10%)")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
        ax.set_xticks(epochs_axis)
    fig.suptitle(f"Small CNN on {n_train:,} CIFAR-10 training images (test: {n_test:,})")
    lesson.figure(fig, "small_cnn_history.png")
    filters = model.stem[0].weight.numpy()  # (16, 3, 3, 3): the first layer's RGB filters, on the CPU
    fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
    for ax, f in zip(axes.flat, filters):
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        ax.imshow(f.transpose(1, 2, 0), interpolation="nearest")
        ax.axis("off")
    fig.suptitle(f"First-layer 3x3 filters after {len(history)} epoch(s) (each scaled to 0-1)")
    lesson.figure(fig, "small_cnn_filters.png")


def main():
    lesson = _lesson.Lesson(2, "Convolution, batch norm, pooling, concatenation")
    rng = np.random.default_rng(lesson.seed)
    checks = []  # rows of the summary table: piece, forward vs definition, backward vs hand formula, gradcheck
    for section in (convolution, batch_norm, pooling, concatenation):
        section(lesson, rng, checks)
    summary(lesson, checks)
    figures(lesson, *train_small_cnn(lesson))
    lesson.done()


if __name__ == "__main__":
    main()

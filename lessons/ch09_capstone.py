"""Chapter 9: Capstone. Train the best network the budget allows with `minidl.train` (augmentation, SGD with
momentum, cosine schedule: the recipe of He et al. 2015 in miniature), then look at what it gets wrong:
per-class accuracy, the confusion matrix, and the test images it misclassifies most confidently.

Default: resnet20 on all training images minidl finds, 32x32, a few epochs. --full: resnet56 for 100
epochs (point MINIDL_DATA at the full 50,000-image CIFAR-10 to train on all of it; hours on a CPU).
"""
import os


import math

import numpy as np

import _lesson
import _verdicts
import minidl
from minidl.analysis import proportion_interval
from minidl.data import CLASSES, MEAN, STD
from minidl.models import create
from minidl.models.resnet import resnet


def train(lesson):
    subset, epochs, name = lesson.pick((384, 1, "resnet8"), (None, 5, "resnet20"), (None, 100, "resnet56"))
    warmup = min(1, epochs - 1)
    x, y, xt, yt = minidl.data.cifar10(subset=subset, seed=lesson.seed)
    minidl.manual_seed(lesson.seed)
    model = resnet(8) if name == "resnet8" else create(name)
    params = sum(p.numel() for p in model.parameters())
    print(f"1. Training {name} ({params:,} parameters) on {len(y):,} images (32x32, random crop + flip) for {epochs} "
          f"epoch(s): batch 128, SGD momentum 0.9, lr 0.1 ({warmup} warm-up epoch, then cosine), weight decay 5e-4.\n")
    checkpoint = os.path.join(lesson.out, f"{name}.npz")
    history = minidl.train(model, data=(x, y, xt, yt), epochs=epochs, batch_size=128, lr=0.1, schedule="cosine",
                           warmup_epochs=warmup, augment=True, seed=lesson.seed, progress=False,
                           checkpoint=checkpoint, device=lesson.device)
    lesson.table(["epoch", "lr", "train loss", "train acc %", "test loss", "test acc %", "seconds"],
                 [[r["epoch"], f"{r['lr']:.3g}", r["train_loss"], f"{100 * r['train_acc']:.1f}", r["test_loss"],
                   f"{100 * r['test_acc']:.1f}", f"{r['seconds']:.0f}"] for r in history], title="Training history")
    print(f"checkpoint (model, optimizer, history; minidl.load reads it): {checkpoint}\n")
    if lesson.pyplot():
        path = os.path.join(lesson.out, "training_curves.png")
        history.plot(path, title=f"{name} on {len(y):,} CIFAR-10 images")
        print(f"figure: {path}")
    return model, xt, yt, f"{name}, {epochs} epoch(s) on {len(y):,} images", _verdicts.scale(32, len(y), epochs, 1)


def predict(model, x, batch_size=500):
    """Softmax probabilities of `model` (eval mode) on x, batch by batch."""
    model.eval()
    out = []
    with minidl.no_grad():
        for start in range(0, len(x), batch_size):
            out.append(model(minidl.Tensor(x[start:start + batch_size])).softmax(1).numpy())
    return np.concatenate(out)


def confusion(lesson, probs, yt, budget, scale):
    predicted = probs.argmax(1)
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (yt, predicted), 1)
    accuracy = float(np.trace(matrix)) / len(yt)
    short = [c[:5] for c in CLASSES]
    lesson.table(["true \\ predicted"] + short, [[CLASSES[i]] + list(matrix[i]) for i in range(10)],
                 title=f"2. Confusion matrix on {len(yt)} test images (overall accuracy {100 * accuracy:.1f}%)")
    rows = []
    for i in range(10):
        n = int(matrix[i].sum())
        off = matrix[i].copy()
        off[i] = -1
        worst = int(off.argmax())
        rows.append([CLASSES[i], n, f"{100 * matrix[i, i] / n:.1f}", f"{CLASSES[worst]} ({matrix[i, worst]})"])
    lesson.table(["class", "test images", "accuracy %", "most often mistaken for"], rows, title="Per-class accuracy")
    per_class = np.diag(matrix) / matrix.sum(1)
    se = 100 * math.sqrt(0.25 / (len(yt) / 10))
    best, worst = int(per_class.argmax()), int(per_class.argmin())
    pair = np.unravel_index(np.argmax(matrix + matrix.T - 2 * np.diag(np.diag(matrix))), matrix.shape)
    lesson.say(f"Best class {CLASSES[best]} ({100 * per_class[best]:.1f}%), worst {CLASSES[worst]} "
               f"({100 * per_class[worst]:.1f}%); the most confused pair is {CLASSES[pair[0]]} <-> {CLASSES[pair[1]]} "
               f"({matrix[pair] + matrix[pair[::-1]]} test images). With about {len(yt) // 10} images per class a "
               f"per-class accuracy is uncertain by up to +-{se:.0f} points (one standard error).")
    lesson.verdicts.effect("the capstone network learns CIFAR-10 (test accuracy above chance)",
                           "test accuracy (Wilson interval over the test images); claim: above 0.1",
                           proportion_interval(int(np.trace(matrix)), len(yt)),
                           f"1 seed, {budget}, {len(yt):,} test images", above=0.1, scale=scale)
    plt = lesson.pyplot()
    if plt:
        fig, ax = plt.subplots(figsize=(7.2, 6.2))
        image = ax.imshow(matrix / matrix.sum(1, keepdims=True), cmap="Blues", vmin=0, vmax=1)
        for i in range(10):
            for j in range(10):
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize="small",
                        color="white" if matrix[i, j] > 0.5 * matrix[i].sum() else "black")
        ax.set_xticks(range(10), CLASSES, rotation=45, ha="right")
        ax.set_yticks(range(10), CLASSES)
        ax.set(xlabel="predicted class", ylabel="true class",
               title=f"Confusion matrix (counts), test accuracy {100 * accuracy:.1f}%")
        fig.colorbar(image, ax=ax, label="share of the true class")
        lesson.figure(fig, "confusion_matrix.png")


def misclassified(lesson, probs, xt, yt, count=24):
    predicted = probs.argmax(1)
    wrong = np.flatnonzero(predicted != yt)
    order = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:count]
    lesson.table(["test index", "true", "predicted", "confidence", "p(true class)"],
                 [[int(i), CLASSES[yt[i]], CLASSES[predicted[i]], f"{probs[i, predicted[i]]:.2f}",
                   f"{probs[i, yt[i]]:.2f}"] for i in order[:8]],
                 title=f"3. The most confident mistakes ({len(wrong)} of {len(yt)} test images are misclassified)")
    plt = lesson.pyplot()
    if plt and len(order):
        columns = 6
        rows = math.ceil(len(order) / columns)
        fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.45 * rows))
        images = xt[order] * np.asarray(STD).reshape(1, 3, 1, 1) + np.asarray(MEAN).reshape(1, 3, 1, 1)
        for ax in np.atleast_1d(axes).ravel():
            ax.axis("off")
        for ax, i, image in zip(np.atleast_1d(axes).ravel(), order, images):
            ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1), interpolation="nearest")
            ax.set_title(f"true: {CLASSES[yt[i]]}\npred: {CLASSES[predicted[i]]} ({probs[i, predicted[i]]:.2f})",
                         fontsize=9)
        fig.suptitle("Most confident mistakes on the test set (predicted probability in brackets)")
        lesson.figure(fig, "misclassified.png")


def main():
    lesson = _lesson.Lesson(9, "Capstone: train the best model and inspect its mistakes")
    model, xt, yt, budget, scale = train(lesson)
    probs = predict(model, xt)
    confusion(lesson, probs, yt, budget, scale)
    misclassified(lesson, probs, xt, yt)
    if lesson.mode == "quick":
        lesson.say("(--quick trains resnet8 on 384 images for one epoch: a smoke test, not a result.)")
    lesson.done()


if __name__ == "__main__":
    main()

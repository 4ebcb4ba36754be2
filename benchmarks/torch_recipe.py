"""minidl.train's default recipe in plain PyTorch, as a yardstick for `python -m minidl train resnet20 --epochs 30`.

PyTorch's twin of the model (torch_models.py) with PyTorch's own random numbers everywhere: torch.manual_seed
for the init, torch.randperm for the order, a per-image random crop of the black-padded uint8 image and a flip
(what torchvision's RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize do), SGD momentum
0.9, weight decay 5e-4 on every parameter, cosine annealing stepped per epoch (the usual PyTorch idiom) or per
step (as minidl.train). Only the CIFAR-10 files are read with minidl.

    .bench-venv/bin/python benchmarks/torch_recipe.py --seed 0 --epochs 30 --history out.json
"""
import argparse
import json
import time

import numpy as np
import torch
from torch.nn import functional as F

from minidl.data import CIFAR10, MEAN, STD
from torch_models import plain, resnet


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", choices=("resnet", "plain"), default="resnet")
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--cosine-per", choices=("epoch", "step"), default="epoch")
    parser.add_argument("--init", choices=("he", "fan_in", "default"), default="he",
                        help="he: the twin's He fan-out init (as minidl); fan_in: kaiming_normal_ fan-in on convs "
                             "and the classifier (the popular PyTorch CIFAR port); default: PyTorch's layer init")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--history", help="write the per-epoch history to this JSON file")
    return parser.parse_args()


def normalise(images):
    """uint8 (N, 3, H, W) -> float32, per-channel (x / 255 - mean) / std."""
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


def augment(images):
    """Each image: a random 32x32 crop of the image padded with 4 black pixels, mirrored with probability 1/2."""
    n, _, h, w = images.shape
    padded = F.pad(images, (4, 4, 4, 4))
    out = torch.empty_like(images)
    for i in range(n):
        top, left = torch.randint(0, 9, (2,)).tolist()
        crop = padded[i, :, top:top + h, left:left + w]
        out[i] = crop.flip(-1) if torch.rand(()) < 0.5 else crop
    return out


def evaluate(model, images, labels):
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(normalise(images[i:i + 500])) for i in range(0, len(images), 500)])
    model.train()
    return F.cross_entropy(logits, labels).item(), (logits.argmax(1) == labels).float().mean().item()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_set, test_set = CIFAR10(train=True), CIFAR10(train=False)
    x_train, y_train = torch.from_numpy(train_set.data), torch.from_numpy(train_set.targets)
    x_test, y_test = torch.from_numpy(test_set.data), torch.from_numpy(test_set.targets)
    model = (resnet if args.model == "resnet" else plain)(args.depth)
    for m in model.modules():
        if args.init == "default" and isinstance(m, torch.nn.Conv2d):
            m.reset_parameters()  # kaiming_uniform(a=sqrt(5)): std 1/sqrt(3 fan_in), 2.4x below He's
        if args.init == "fan_in" and isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight)  # std sqrt(2 / fan_in)
    steps_per_epoch = -(-len(y_train) // 128)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    t_max = args.epochs if args.cosine_per == "epoch" else args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max)
    history = []
    for epoch in range(1, args.epochs + 1):
        start, seen, correct, loss_sum = time.perf_counter(), 0, 0, 0.0
        order = torch.randperm(len(y_train))
        for b in range(steps_per_epoch):
            idx = order[b * 128:(b + 1) * 128]
            x, y = normalise(augment(x_train[idx])), y_train[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if args.cosine_per == "step":
                sched.step()
            seen += len(y)
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
        if args.cosine_per == "epoch":
            sched.step()
        test_loss, test_acc = evaluate(model, x_test, y_test)
        history.append(dict(epoch=epoch, train_loss=loss_sum / seen, train_acc=correct / seen, test_loss=test_loss,
                            test_acc=test_acc, seconds=time.perf_counter() - start))
        print(f"epoch {epoch}: train {100 * correct / seen:.2f}% test {100 * test_acc:.2f}% "
              f"({history[-1]['seconds']:.1f}s)", flush=True)
    if args.history:
        with open(args.history, "w") as f:
            json.dump(dict(config=vars(args), history=history), f, indent=1)


if __name__ == "__main__":
    main()

"""Train minidl's resnet20 and its PyTorch twin side by side, from the same weights on the same batches, and print
how far their losses and weights drift: a step-by-step check that model, loss, BN and SGD + cosine schedule
match PyTorch, so that an accuracy gap between the two cannot come from them.

    .bench-venv/bin/python benchmarks/parity_torch.py --steps 40 --dtype float64
    .bench-venv/bin/python benchmarks/parity_torch.py --steps 12 --nudge 1e-14   # PyTorch against itself

--nudge E replaces minidl by a second PyTorch twin whose every weight is multiplied by (1 + E * N(0, 1)): how fast
two runs that differ only by rounding drift apart, the yardstick for minidl's drift.

Needs PyTorch (in its own environment, see README.md); uses the data minidl finds (MINIDL_DATA or the bundled subset).
"""
import argparse

import numpy as np
import torch

import minidl
from minidl.data import CIFAR10, DataLoader
from minidl.training.recipe import make_optimizer, make_schedule
from torch_models import resnet


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="training steps (40 = one epoch of the subset)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--nudge", type=float, default=None, help="compare PyTorch with itself, every weight nudged by this fraction")
    return parser.parse_args()


def twin_from(model, dtype):
    """The PyTorch resnet20 holding a copy of `model`'s parameters and BN buffers."""
    twin = resnet(20).to(dtype=getattr(torch, dtype))
    state = {name: torch.from_numpy(np.array(value.data)) for name, value in model.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    return twin


def _array(p):
    return p.detach().numpy() if isinstance(p, torch.Tensor) else p.data


def max_relative_difference(model, twin):
    """Largest |minidl - torch| / max|torch| over the parameter tensors, and the name where it occurs."""
    theirs = dict(twin.named_parameters())
    return max((float(np.abs(_array(p) - theirs[name].detach().numpy()).max() /
                      max(theirs[name].detach().abs().max().item(), 1e-30)), name)
               for name, p in model.named_parameters())


def nudged(args, twin):
    """Train `twin` and a copy with every weight nudged by args.nudge of itself on the same batches; print the drift."""
    other = twin_from_torch(twin)
    with torch.no_grad():
        for p in other.parameters():
            p.mul_(1 + args.nudge * torch.randn(p.shape, dtype=p.dtype))
    loader = DataLoader(CIFAR10(train=True, verbose=False), batch_size=128, shuffle=True, seed=args.seed,
                        augment=args.augment)
    opts = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4) for m in (twin, other)]
    t_max = -(-args.steps // len(loader)) * len(loader)  # as main(): cosine over whole epochs, stepped per batch
    scheds = [torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max) for opt in opts]
    loader.set_epoch(1)
    print(f"{'step':>4} {'|loss difference|':>17} {'weights':>10}")
    for step, (x, y) in enumerate(loader, 1):
        if step > args.steps:
            break
        x, y = torch.from_numpy(x.data.astype(args.dtype)), torch.from_numpy(y.data)
        losses = []
        for model, opt, sched in zip((twin, other), opts, scheds):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        print(f"{step:4d} {abs(losses[0] - losses[1]):17.3e} {max_relative_difference(other, twin)[0]:10.3e}")


def twin_from_torch(twin):
    other = resnet(20).to(dtype=next(twin.parameters()).dtype)
    other.load_state_dict(twin.state_dict())
    return other


def main():
    args = parse_args()
    torch.set_num_threads(1)
    minidl.set_default_dtype(args.dtype)
    minidl.manual_seed(args.seed)
    model = minidl.models.create("resnet20")
    twin = twin_from(model, args.dtype)
    if args.nudge is not None:
        return nudged(args, twin)

    data = CIFAR10(train=True, verbose=False)
    loader = DataLoader(data, batch_size=128, shuffle=True, seed=args.seed, augment=args.augment)
    epochs = -(-args.steps // len(loader))
    opt = make_optimizer("sgd", model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sched = make_schedule("cosine", opt, epochs, len(loader))
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    twin_sched = torch.optim.lr_scheduler.CosineAnnealingLR(twin_opt, T_max=epochs * len(loader))

    print(f"{'step':>4} {'minidl loss':>12} {'torch loss':>12} {'|difference|':>12} {'weights':>10}")
    step = 0
    for epoch in range(1, epochs + 1):
        loader.set_epoch(epoch)
        for x, y in loader:
            step += 1
            if step > args.steps:
                break
            x = x.data.astype(args.dtype)
            loss = minidl.functional.cross_entropy(model(minidl.Tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            twin_loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y.data))
            twin_opt.zero_grad()
            twin_loss.backward()
            twin_opt.step()
            twin_sched.step()
            print(f"{step:4d} {loss.item():12.6f} {twin_loss.item():12.6f} {abs(loss.item() - twin_loss.item()):12.3e} "
                  f"{max_relative_difference(model, twin)[0]:10.3e}")
    difference, name = max_relative_difference(model, twin)
    print(f"after {min(step, args.steps)} steps ({args.dtype}): largest relative weight difference {difference:.3e} ({name})")


if __name__ == "__main__":
    main()

"""Optimizer and learning-rate schedule from the short names `train()` and the CLI accept."""
from .. import optim
from ..optim import lr_scheduler

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("cosine", "step", "multistep", "onecycle", "constant")


def make_optimizer(name, parameters, lr, momentum=0.9, weight_decay=5e-4):
    """SGD (momentum, the He et al. recipe), Adam or AdamW."""
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(parameters, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}: expected one of {', '.join(OPTIMIZERS)}")


def make_schedule(name, optimizer, epochs, steps_per_epoch, warmup_epochs=0):
    """A per-step schedule over the whole run, after an optional linear warm-up from lr/10.

    step and multistep follow He et al. 2015 in proportion: /10 at 50% (step), and at 50% and 75%
    (multistep: 32k and 48k of 64k iterations).
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}: expected one of {', '.join(SCHEDULES)}")
    total = epochs * steps_per_epoch
    warmup = min(int(round(warmup_epochs * steps_per_epoch)), total)
    main_steps = max(total - warmup, 1)
    if name == "onecycle":
        if warmup:
            raise ValueError("onecycle has its own warm-up; use warmup_epochs=0 with it")
        max_lr = optimizer.param_groups[0]["lr"]
        return lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(total, 2))
    if name == "cosine":
        main = lr_scheduler.CosineAnnealingLR(optimizer, T_max=main_steps)
    elif name == "step":
        main = lr_scheduler.StepLR(optimizer, step_size=max(main_steps // 2, 1), gamma=0.1)
    elif name == "multistep":
        main = lr_scheduler.MultiStepLR(optimizer, milestones=[main_steps // 2, (3 * main_steps) // 4], gamma=0.1)
    else:
        main = lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    if not warmup:
        return main
    ramp = lr_scheduler.LinearLR(optimizer, start_factor=0.1, end_factor=1.0, total_iters=warmup)
    return lr_scheduler.SequentialLR(optimizer, [ramp, main], milestones=[warmup])

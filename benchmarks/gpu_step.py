"""Training-step throughput on one GPU, minidl (CuPy + its kernels + cuBLAS) against PyTorch + cuDNN, same run.

    python benchmarks/gpu_step.py --out OUT_DIR                 # resnet20, batch 128, float32
    python benchmarks/gpu_step.py --device cpu --steps 2 --blocks 1   # a dry run of the code paths, no GPU

A step is forward, cross-entropy, backward and SGD (momentum 0.9, weight decay 5e-4) on random images. The
two libraries are timed in alternating blocks of --steps steps (device synchronised at both ends of a block,
one warm-up step before); the table gives the median images/s. TF32 is off in PyTorch, as in CuPy, so both
compute in float32. Kernel launches and host synchronisations per step are read with PyTorch's profiler
(CUPTI sees every kernel of the process, CuPy's too): kernels executed, and device-to-host copies (each a
blocking read such as .item()). Writes gpu_step.json and gpu_step.md into --out.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # torch_models.py beside this file


def training_step(model, opt, loss_function, x, y):
    """One SGD training step of `model` on the fixed batch (x, y); the same code for both libraries."""
    def step():
        model.train()
        loss = loss_function(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def random_batch(batch):
    """The same float32 images and int64 labels for both libraries."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, batch)


def minidl_step(name, batch, device):
    import minidl
    from minidl import functional as F
    minidl.manual_seed(0)
    model = minidl.models.create(name).to(device)
    opt = minidl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x, y = (minidl.Tensor(a).to(device) for a in random_batch(batch))
    sync = minidl.backend.cp.cuda.Device().synchronize if device == "cuda" else lambda: None
    return training_step(model, opt, F.cross_entropy, x, y), sync


def torch_step(torch, name, batch, device):
    import torch_models
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    model = torch_models.create(name).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x, y = (torch.from_numpy(a).to(device) for a in random_batch(batch))
    sync = torch.cuda.synchronize if device == "cuda" else lambda: None
    return training_step(model, opt, torch.nn.functional.cross_entropy, x, y), sync


def time_blocks(libraries, steps, blocks):
    """{library: [seconds per step of each block]}, blocks alternating between the libraries."""
    times = {name: [] for name in libraries}
    for _ in range(blocks):
        for name, (step, sync) in libraries.items():
            step()
            sync()
            start = time.perf_counter()
            for _ in range(steps):
                step()
            sync()
            times[name].append((time.perf_counter() - start) / steps)
    return times


def count_per_step(torch, step, sync, steps=3):
    """(kernels, device-to-host copies) per step, from a CUPTI trace of `steps` steps; None without one."""
    if torch is None or not torch.cuda.is_available():
        return None
    from torch.profiler import ProfilerActivity, profile
    step()
    sync()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as trace:
        for _ in range(steps):
            step()
        sync()
    kernels = copies = 0
    for event in trace.events():
        if event.device_type != torch.autograd.DeviceType.CUDA:
            continue
        if "memcpy" in event.name.lower():
            copies += "dtoh" in event.name.lower().replace(" ", "")
        elif "memset" not in event.name.lower():
            kernels += 1
    if kernels == 0:  # the trace saw no kernel at all: CUPTI did not see this library's launches
        return None
    return kernels / steps, copies / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet20"])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed block")
    parser.add_argument("--blocks", type=int, default=5, help="timed blocks per library")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    rows = []
    for name in args.models:
        libraries = {"minidl": minidl_step(name, args.batch, args.device)}
        if torch is not None:
            libraries["torch"] = torch_step(torch, name, args.batch, args.device)
        times = time_blocks(libraries, args.steps, args.blocks)
        row = {"model": name, "batch": args.batch, "device": args.device}
        for library, seconds in times.items():
            row[f"{library}_images_per_s"] = args.batch / statistics.median(seconds)
            row[f"{library}_launches_syncs_per_step"] = count_per_step(torch, *libraries[library])
        if "torch_images_per_s" in row:
            row["ratio_minidl_over_torch"] = row["minidl_images_per_s"] / row["torch_images_per_s"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    gpu = torch.cuda.get_device_name() if torch is not None and torch.cuda.is_available() else args.device
    lines = [f"GPU: {gpu}; float32, TF32 off, batch {args.batch}, median of {args.blocks} blocks of {args.steps} steps",
             "", "| model | minidl img/s | torch img/s | ratio | minidl kernels/step | minidl D2H reads/step | "
             "torch kernels/step |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        ours, theirs = row["minidl_launches_syncs_per_step"], row.get("torch_launches_syncs_per_step")
        lines.append(f"| {row['model']} | {row['minidl_images_per_s']:.0f} | {row.get('torch_images_per_s', 0):.0f} | "
                     f"{row.get('ratio_minidl_over_torch', float('nan')):.2f} | {ours[0] if ours else 'n/a'} | "
                     f"{ours[1] if ours else 'n/a'} | {theirs[0] if theirs else 'n/a'} |")
    from minidl._atomic import atomic_open
    os.makedirs(args.out, exist_ok=True)
    with atomic_open(os.path.join(args.out, "gpu_step.json"), "w") as f:
        json.dump({"gpu": gpu, "rows": rows}, f, indent=1)
    with atomic_open(os.path.join(args.out, "gpu_step.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

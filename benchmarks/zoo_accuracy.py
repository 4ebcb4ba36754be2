"""Train each family's small member with one recipe, keep each history, and append their table to RESULTS.md.

    MINIDL_DATA=../shared/data python benchmarks/zoo_accuracy.py --epochs 30 plain20 resnet20 ...

A model whose history for (epochs, seed, warm-up) is already in --out is not trained again, so two processes
can share the list (`--no-table` in each) and a last call with every model only writes the table. Every row is
reproducible with `python -m minidl train MODEL --epochs E --batch-size 128 --lr 0.1 --weight-decay 5e-4
--schedule cosine --seed S` (plus --warmup-epochs if given).
"""
import argparse
import json
import os
import statistics

import minidl
from _bench_common import machine  # benchmarks/ is on sys.path when this script runs

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="registry names, with options as densenet_bc100:depth=40")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--warmup-epochs", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", choices=("zoo", "fan_in"), default="zoo",
                        help="zoo: the models' own init; fan_in: init_he(model, 'fan_in', classifier=True)")
    parser.add_argument("--out", default=os.path.join(HERE, "zoo_runs"))
    parser.add_argument("--no-table", action="store_true", help="train only; write no table")
    parser.add_argument("--note", default="", help="a sentence added under the table's heading")
    return parser.parse_args(argv)


def split_spec(spec):
    """'densenet_bc100:depth=40' -> ('densenet_bc100', {'depth': 40}, 'densenet_bc100(depth=40)')."""
    name, _, options = spec.partition(":")
    kwargs = {k: int(v) for k, v in (item.split("=") for item in options.split(",") if item)}
    return name, kwargs, f"{name}({', '.join(options.split(','))})" if options else name


def history_path(args, spec):
    stem = spec.replace(":", "_").replace(",", "_").replace("=", "")
    warmup = f"_w{args.warmup_epochs:g}" if args.warmup_epochs else ""
    init = "_fanin" if args.init == "fan_in" else ""
    return os.path.join(args.out, f"{stem}_e{args.epochs}_s{args.seed}{warmup}{init}.json")


def train_one(args, spec, path):
    name, kwargs, label = split_spec(spec)
    minidl.manual_seed(args.seed)
    model = minidl.models.create(name, **kwargs)
    if args.init == "fan_in":
        minidl.models.init_he(model, "fan_in", classifier=True)
    history = minidl.train(model, data="cifar10", epochs=args.epochs, batch_size=128, lr=0.1, weight_decay=5e-4,
                           schedule="cosine", warmup_epochs=args.warmup_epochs, seed=args.seed, progress=False,
                           checkpoint=path + ".npz", resume=True)
    history.to_json(path, model=label, args=vars(args))
    os.remove(path + ".npz")
    return history


def table(args):
    lines = [f"\n## Zoo accuracy, {args.epochs} epochs ({machine()})\n",
             f"Recipe: SGD momentum 0.9, batch 128, lr 0.1 cosine, weight decay 5e-4, crop+flip, seed {args.seed}, "
             f"warm-up {args.warmup_epochs:g} epochs, init {args.init}; data: {os.environ.get('MINIDL_DATA') or 'bundled subset'} "
             f"(5,085 train / 1,017 test). {args.note}\n",
             f"Command: `python benchmarks/zoo_accuracy.py --epochs {args.epochs} --seed {args.seed}"
             f"{' --warmup-epochs %g' % args.warmup_epochs if args.warmup_epochs else ''}"
             f"{' --init ' + args.init if args.init != 'zoo' else ''} {' '.join(args.models)}`\n",
             "| model | parameters | final test acc % | best test acc % | final train acc % | s/epoch (median) |",
             "|---|---|---|---|---|---|"]
    for spec in args.models:
        with open(history_path(args, spec)) as f:
            stored = json.load(f)
        epochs = stored["epochs"]
        accs = [100 * e["test_acc"] for e in epochs]
        name, kwargs, label = split_spec(spec)
        params = sum(p.numel() for p in minidl.models.create(name, **kwargs).parameters())
        lines.append(f"| {label} | {params:,} | {accs[-1]:.2f} | {max(accs):.2f} | "
                     f"{100 * epochs[-1]['train_acc']:.2f} | {statistics.median(e['seconds'] for e in epochs):.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for spec in args.models:
        path = history_path(args, spec)
        if os.path.exists(path):
            continue
        final = train_one(args, spec, path).final
        print(f"{spec}: final test {100 * final['test_acc']:.2f}%, {path}", flush=True)
    if not args.no_table:
        text = table(args)
        with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
            f.write(text)
        print(text)


if __name__ == "__main__":
    main()

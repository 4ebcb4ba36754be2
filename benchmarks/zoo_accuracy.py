"""Train each family's small member with one recipe and append a table to benchmarks/RESULTS.md.

    MINIDL_DATA=../shared/data python benchmarks/zoo_accuracy.py --epochs 10 plain20 resnet20 ...

Every row is reproducible with `python -m minidl train MODEL --epochs E --batch-size 128 --lr 0.1
--weight-decay 5e-4 --schedule cosine --seed S` (plus --warmup-epochs if given).
"""
import argparse
import json
import os
import sys

import minidl
from _bench_common import machine  # benchmarks/ is on sys.path when this script runs

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--warmup-epochs", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(HERE, "zoo_runs"))
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    data = minidl.data.cifar10(seed=args.seed)
    rows = []
    for spec in args.models:
        name, _, options = spec.partition(":")  # e.g. densenet_bc100:depth=40
        kwargs = {k: int(v) for k, v in (item.split("=") for item in options.split(",") if item)}
        minidl.manual_seed(args.seed)
        model = minidl.models.create(name, **kwargs)
        name = spec.replace(":", "(").replace(",", ", ") + (")" if options else "")
        params = sum(p.numel() for p in model.parameters())
        history = minidl.train(model, data=data, epochs=args.epochs, batch_size=128, lr=0.1, weight_decay=5e-4,
                               schedule="cosine", warmup_epochs=args.warmup_epochs, seed=args.seed,
                               progress=False)
        history.to_json(os.path.join(args.out, f"{spec.replace(':', '_').replace(',', '_').replace('=', '')}"
                                              f"_e{args.epochs}_s{args.seed}.json"), model=name,
                        args=vars(args))
        accs = history.column("test_acc")
        seconds = history.column("seconds")
        row = (name, params, 100 * accs[-1], 100 * max(accs), 100 * history.final["train_acc"],
               sum(seconds) / len(seconds))
        rows.append(row)
        print(f"{name}: params {params:,}, final test {row[2]:.2f}%, best {row[3]:.2f}%, "
              f"final train {row[4]:.2f}%, {row[5]:.1f} s/epoch", flush=True)
    lines = [f"\n## Zoo accuracy, {args.epochs} epochs ({machine()})\n",
             f"Recipe: SGD momentum 0.9, batch 128, lr 0.1 cosine, weight decay 5e-4, crop+flip, seed {args.seed}, "
             f"warm-up {args.warmup_epochs} epochs; data: {os.environ.get('MINIDL_DATA') or 'bundled subset'} "
             "(5,085 train / 1,017 test). " + args.note + "\n",
             f"Command: `python benchmarks/zoo_accuracy.py --epochs {args.epochs} --seed {args.seed}"
             f"{' --warmup-epochs ' + str(args.warmup_epochs) if args.warmup_epochs else ''} {' '.join(args.models)}`\n",
             "| model | parameters | final test acc % | best test acc % | final train acc % | s/epoch |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]:,} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.1f} |" for r in rows]
    with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
        f.write("\n".join(lines) + "\n")
    json.dump(rows, sys.stdout)
    print()


if __name__ == "__main__":
    main()

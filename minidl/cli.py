"""The command line: `python -m minidl train MODEL ...`, `python -m minidl models`, `python -m minidl summary MODEL`."""
import argparse
import math
import os
import sys
import traceback
import warnings

from ._cli_errors import describe_error
from .training.outputs import prepare_output, same_file
from .training.recipe import OPTIMIZERS, SCHEDULES


DEBUG_VARIABLE = "MINIDL_DEBUG"
INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)


class _Parser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr and exit code 2, never a traceback."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _number(kind, low, strict=False):
    """An argparse type: an int or finite float >= low (> low when strict), with a message naming the rule."""
    rule = f"{'>' if strict else '>='} {low}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'} {rule}, "
                                             f"got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'a whole' if kind is int else 'a finite'} number {rule}, "
                                             f"got {text!r}")
        return value
    return parse


_non_negative_int, _positive_int, _non_negative_float = _number(int, 0), _number(int, 0, strict=True), _number(float, 0)


def build_parser():
    parser = _Parser(prog="python -m minidl", description="minidl: train and inspect the model zoo")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("train", help="train a zoo model on CIFAR-10 (the bundled subset by default)")
    run.add_argument("model", help="a name from `python -m minidl models`, e.g. resnet20")
    run.add_argument("--epochs", type=_non_negative_int, default=10)
    run.add_argument("--batch-size", type=_positive_int, default=128)
    run.add_argument("--lr", type=_non_negative_float, default=0.1)
    run.add_argument("--momentum", type=_non_negative_float, default=0.9)
    run.add_argument("--weight-decay", type=_non_negative_float, default=5e-4)
    run.add_argument("--schedule", choices=SCHEDULES, default="cosine")
    run.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    run.add_argument("--warmup-epochs", type=_non_negative_float, default=0.0)
    run.add_argument("--label-smoothing", type=_non_negative_float, default=0.0)
    run.add_argument("--no-augment", action="store_true", help="no random crops and flips")
    run.add_argument("--subset", type=_positive_int, default=None, help="a class-balanced subset of N training images")
    run.add_argument("--data", default=None, help="folder holding cifar-10-batches-py (default: MINIDL_DATA, "
                                                  "the cache, then the bundled subset)")
    run.add_argument("--download", action="store_true", help="download the full CIFAR-10 (170 MB) if not cached")
    run.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                     help="where to train; a checkpoint made on the other device resumes here")
    run.add_argument("--seed", type=_non_negative_int, default=0)
    run.add_argument("--history", default=None, help="write the per-epoch history to this JSON file")
    run.add_argument("--checkpoint", default=None, help="save a checkpoint (.npz) after every epoch")
    run.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    run.add_argument("--no-progress", action="store_true")

    listing = commands.add_parser("models", help="list the model zoo with parameter counts")
    summary = commands.add_parser("summary", help="layers, output shapes, parameters and multiply-adds of a model")
    summary.add_argument("model")
    summary.add_argument("--input-size", type=_positive_int, default=32)
    for command in (run, listing, summary):
        command.add_argument("--debug", action="store_true",
                             help=f"show the traceback of an error (or set {DEBUG_VARIABLE}=1)")
    return parser


def _check_model(parser, name):
    from . import models
    if name not in models.list_models():
        import difflib
        close = difflib.get_close_matches(name, models.list_models(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `python -m minidl models`"
        parser.error(f"unknown model {name!r}{hint}")


def _train(parser, args):
    import minidl
    from . import models
    _check_model(parser, args.model)
    if args.data is not None and not os.path.isdir(args.data):
        parser.error(f"--data {args.data}: no such folder")
    if args.resume and not args.checkpoint:
        parser.error("--resume needs --checkpoint FILE.npz")
    if args.device == "cuda" and not minidl.cuda.is_available():
        parser.error("--device cuda: CuPy or a CUDA GPU is missing (install the `gpu` extra on a GPU machine)")
    if args.checkpoint and args.history and same_file(args.checkpoint, args.history):
        parser.error(f"--checkpoint and --history name the same file {args.checkpoint}; one would overwrite "
                     "the other: give them different names")
    for option, path in (("--checkpoint", args.checkpoint), ("--history", args.history)):
        if path is not None:
            prepare_output(path, option)  # before the data is loaded: a bad path fails at once
    minidl.parallel.thread_count()  # and so does a bad MINIDL_NUM_THREADS
    data = minidl.data.cifar10(root=args.data, subset=args.subset, seed=args.seed, download=args.download)
    minidl.manual_seed(args.seed)
    model = models.create(args.model)
    try:
        history = minidl.train(model, data=data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                               momentum=args.momentum, weight_decay=args.weight_decay, optimizer=args.optimizer,
                               schedule=args.schedule, warmup_epochs=args.warmup_epochs,
                               label_smoothing=args.label_smoothing, augment=not args.no_augment, device=args.device,
                               seed=args.seed, progress=not args.no_progress, checkpoint=args.checkpoint,
                               resume=args.resume)
    except minidl.training.TrainingDiverged as error:
        _write_history(error.history, args)  # the epochs that finished before
        raise
    _write_history(history, args)
    if history.interrupted:  # train() said where the run stopped and what the checkpoint holds
        return INTERRUPTED
    if history.final is not None:
        final = history.final
        seconds = sum(history.column("seconds"))
        print(f"{args.model}: final test accuracy {100 * final['test_acc']:.2f}% after {final['epoch']} epochs "
              f"({seconds:.0f} s of training)")
    return 0


def _write_history(history, args):
    if args.history and history is not None and len(history):
        history.to_json(args.history, model=args.model, args={k: v for k, v in vars(args).items() if k != "debug"})


def _models():
    from . import models
    for name in models.list_models():
        count = sum(p.numel() for p in models.create(name).parameters())
        print(f"{name:32s} {count:>12,d}")
    return 0


def _summary(parser, args):
    import minidl
    from . import models
    _check_model(parser, args.model)
    minidl.summary(models.create(args.model), (1, 3, args.input_size, args.input_size))
    return 0


def main(argv=None):
    """Run one command; expected failures print one line and return 1 (2: bad arguments, 130: Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
    with warnings.catch_warnings():
        if not debug:
            _one_line_warnings()
        try:
            if args.command == "train":
                return _train(parser, args)
            if args.command == "models":
                return _models()
            return _summary(parser, args)
        except KeyboardInterrupt:
            if debug:
                traceback.print_exc()
            sys.stderr.write("python -m minidl: interrupted\n")
            return INTERRUPTED
        except Exception as error:  # noqa: BLE001 -- every failure becomes one line (the traceback with --debug)
            if debug:
                raise
            sys.stderr.write(f"python -m minidl: error: {describe_error(error)}\n")
            return 1


def _one_line_warnings():
    """Warnings as one line each; NumPy's overflow warnings are dropped (a diverging run is stopped and named)."""
    for text in ("overflow encountered", "invalid value encountered", "divide by zero encountered"):
        warnings.filterwarnings("ignore", message=text, category=RuntimeWarning)
    warnings.showwarning = lambda message, *rest, **kw: sys.stderr.write(f"python -m minidl: warning: {message}\n")


if __name__ == "__main__":
    sys.exit(main())

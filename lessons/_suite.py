"""The reference suite: the trainings the book's headline claims rest on, at the papers' shape. All 5,085 training
images of the bundled CIFAR-10 subset at 32x32 and its 1,017 test images, He et al.'s recipe (2015, section 4.2:
SGD with momentum 0.9, weight decay, batch 128, 4-pixel crops of the mean-subtracted image and flips), five seeds
fixed here before any run, one unit per net and seed.

A seed fixes a net's initial weights and the order of its batches, so units of one seed are paired: plain and
residual nets of one depth have the same parameters (option-A shortcuts add none) and start from the same weights.
Each unit is written to its file as soon as it ends (`_reference.RecordedRun`); several chapters read one file.

    python lessons/reference_suite.py [--device cuda] [--hours H]     # every run, resuming where it stopped
"""
import copy
import time

import numpy as np

import _reference
import minidl
from minidl import analysis
from minidl.analysis._common import as_input, to_numpy
from minidl.models.densenet import DenseLayer

SEEDS = (0, 1, 2, 3, 4)
CHANCE_ERROR = 0.9
LEFT_CHANCE = 0.8  # a net whose final training error is above this never left chance (10 classes)

RECIPE = dict(epochs=30, batch_size=128, lr=0.1, momentum=0.9, weight_decay=5e-4, schedule="cosine", warmup_epochs=2,
              augment="random 32x32 crop of the image padded by 4 pixels of the mean colour, and a random flip")
# The loss landscape around each trained net (Li et al. 2018): a 2-D slice along two filter-normalised directions
# of the seed (the same for every net of one seed), on the first `images` training images, BN in eval mode.
LANDSCAPE = dict(images=512, points=11, extent=1.0)

# The runs, in the order the suite runs them: name -> the nets it trains and whether each unit measures a landscape.
DEPTH_RUN = "depth_32px"   # chapters 3 and 8: degradation (He et al. Fig. 1, 6) and landscapes (Li et al. Fig. 5)
DEPTH_NETS = ("plain20", "resnet20", "plain56", "resnet56")
RK_RUN = "rk_32px"         # chapter 7: the resnet26 weights stacked as Euler or RK4 steps (HO-ResNet)
RK_NETS = ("resnet26", "rk4_resnet26")
HIGHWAY_RUN = "highway_32px"  # chapter 4: highway56 against the depth run's plain56; its gates (Srivastava Fig. 2)
HIGHWAY_NETS = ("highway56",)
DENSE_RUN = "dense_32px"   # chapter 6: accuracy against parameters (Huang et al. Fig. 4) and feature reuse (Fig. 5)
DENSE_NETS = ("resnet8", "resnet14", "densenet_bc28", "densenet_bc40")  # 75k, 173k; 103k, 176k parameters
# Unit names that are not zoo names: (zoo name, constructor arguments).
NETS = {"resnet8": ("resnet20", {"depth": 8}), "resnet14": ("resnet20", {"depth": 14}),
        "densenet_bc28": ("densenet_bc100", {"depth": 28}), "densenet_bc40": ("densenet_bc100", {"depth": 40})}
GATE_IMAGES = 256  # the first training images, on which gates are read (train mode) before and after training


def setting(nets, landscape, **extra):
    """Everything that defines a run; a file made with another setting is started over."""
    return dict(image_size=32, train_images=5085, test_images=1017, seeds=list(SEEDS), nets=list(nets),
                recipe=RECIPE, landscape=LANDSCAPE if landscape else None,
                measures="training error of the final weights in eval mode on all training images (no augmentation)",
                **extra)


def depth_setting():
    return setting(DEPTH_NETS, landscape=True)


def units(nets):
    """Unit names in running order: seed by seed, so that a run stopped part-way leaves whole pairs."""
    return [unit_name(net, seed) for seed in SEEDS for net in nets]


def unit_name(net, seed):
    """The unit name "plain56/seed3" of `net` trained from `seed`; net_and_seed reads it back."""
    return f"{net}/seed{seed}"


def net_and_seed(unit):
    """("plain56", 3) from the unit name "plain56/seed3"."""
    net, seed = unit.split("/seed")
    return net, int(seed)


def depth_run():
    return _reference.RecordedRun(DEPTH_RUN, depth_setting())


def rk_run():
    return _reference.RecordedRun(RK_RUN, setting(RK_NETS, landscape=False))


def highway_run():
    return _reference.RecordedRun(HIGHWAY_RUN, setting(HIGHWAY_NETS, landscape=False, gate_images=GATE_IMAGES))


def dense_run():
    return _reference.RecordedRun(DENSE_RUN, setting(DENSE_NETS, landscape=False, feature_reuse=True))


def run_depth(device="cpu", deadline=None):
    """Run the depth run's missing units (until `deadline`, a time.time() value, if given); returns the run."""
    return run_missing(depth_run(), DEPTH_NETS, device, deadline, landscape=True)


def run_rk(device="cpu", deadline=None):
    return run_missing(rk_run(), RK_NETS, device, deadline, landscape=False)


def run_highway(device="cpu", deadline=None):
    return run_missing(highway_run(), HIGHWAY_NETS, device, deadline, landscape=False)


def run_dense(device="cpu", deadline=None):
    return run_missing(dense_run(), DENSE_NETS, device, deadline, landscape=False)


def run_missing(run, nets, device, deadline, landscape):
    """Train the units of `run` not recorded yet, starting none after `deadline` (a time.time() value)."""
    if not run.claim():
        print(busy(run))
        return run
    data = None
    try:
        for unit in units(nets):
            if run.done(unit):
                continue
            if deadline is not None and time.time() > deadline:
                print(f"time is up: {run.name} stops before unit {unit}; run the command again to resume there")
                break
            data = data or cifar10_32px()
            net, seed = net_and_seed(unit)
            run.run(unit, lambda: train_unit(net, seed, data, device, landscape), device)
    finally:
        run.release()
    return run


def busy(run):
    """What a process says when another one holds `run`."""
    return (f"{_reference.relative_path(run.name)}: another process is running this run, so this one skips it "
            "(give each process its own runs with --run)")


def cifar10_32px():
    """The bundled subset (or whatever cifar10() finds), normalised: zero is the mean colour, so a crop's padding
    is the mean colour, as in He et al.'s mean-subtracted input."""
    return minidl.data.cifar10()


def train_unit(net, seed, data, device="cpu", with_landscape=True):
    """Train `net` with `seed` under RECIPE and measure what the chapters compare: per-epoch curves, the final
    training and test error, and the loss landscape around the final weights."""
    x, y, xt, yt = data
    minidl.manual_seed(seed)
    name, kwargs = NETS.get(net, (net, {}))
    model = minidl.models.create(name, **kwargs)
    before = readings(model, x[:GATE_IMAGES])
    recipe = {k: v for k, v in RECIPE.items() if k != "augment"}
    history = minidl.train(model, data=data, augment=True, seed=seed, device=device, progress=False, **recipe)
    train_eval = minidl.evaluate(model, (x, y), device=device)
    result = dict(train_error=1 - train_eval.accuracy, train_loss=train_eval.loss,
                  test_error=1 - history.final["test_acc"], test_loss=history.final["test_loss"],
                  train_error_curve=[1 - a for a in history.column("train_acc")],
                  train_loss_curve=history.column("train_loss"),
                  test_error_curve=[1 - a for a in history.column("test_acc")],
                  seconds=sum(history.column("seconds")), parameters=int(sum(p.data.size for p in model.parameters())))
    result.update({f"{key}_before": value for key, value in before.items()})
    result.update({f"{key}_after": value for key, value in readings(model, x[:GATE_IMAGES]).items()})
    if with_landscape:
        result["landscape"] = landscape(model.eval(), x[:LANDSCAPE["images"]], y[:LANDSCAPE["images"]], seed)
    print(f"  {net} seed {seed}: training error {100 * result['train_error']:.1f}%, test error "
          f"{100 * result['test_error']:.1f}% ({result['seconds']:.0f} s training)")
    return result


def readings(model, x):
    """What a net's own structure lets us read before and after training: a highway net's gates (each gate's mean
    T per channel over `x`, train mode, on a copy so that BN's running statistics stay as they were), a DenseNet's
    feature-reuse maps (Huang et al. Fig. 5: mean |w| from each source to each layer of each dense block)."""
    if any(analysis.gates.is_gate(name, m) for name, m in model.named_modules()):
        return {"gates": gate_channel_means(copy.deepcopy(model).train(), x)}
    if any(isinstance(m, DenseLayer) for m in model.modules()):
        return {"feature_reuse": [[[None if np.isnan(v) else round(float(v), 6) for v in row]  # JSON has no NaN
                                   for row in analysis.feature_reuse(stage).matrix] for stage in model.stages]}
    return {}


def gate_channel_means(model, x):
    """[[mean T of each channel] per gate], T = sigmoid of the gate conv's output, over the examples and positions."""
    gates = [m for name, m in model.named_modules() if analysis.gates.is_gate(name, m)]
    means, handles = [None] * len(gates), []
    for i, gate in enumerate(gates):
        handles.append(gate.register_forward_hook(lambda m, args, out, i=i: means.__setitem__(
            i, (1 / (1 + np.exp(-to_numpy(out.data).astype(np.float64)))).mean(axis=(0, 2, 3)))))
    try:
        with minidl.no_grad():
            model(as_input(x, model))
    finally:
        for handle in handles:
            handle.remove()
    return [np.round(m, 6).tolist() for m in means]


def landscape(model, x, y, seed):
    """The loss on a grid of LANDSCAPE['points']^2 around the weights, along directions drawn from `seed`."""
    grid = np.linspace(-LANDSCAPE["extent"], LANDSCAPE["extent"], LANDSCAPE["points"])
    surface = analysis.loss_surface_2d(model, (x, y), grid, seed=seed)
    return {"grid": grid.tolist(), "surface": surface.losses.tolist()}


def left_chance(results):
    """True if every run in `results` ended below LEFT_CHANCE training error."""
    return all(r["train_error"] < LEFT_CHANCE for r in results)


def recorded(run, net):
    """The results of `net`'s recorded units in `run`, in seed order."""
    return [run.result(unit_name(net, s)) for s in SEEDS if run.done(unit_name(net, s))]


def paired_seeds(run, first, second):
    """The seeds whose units of both `first` and `second` are done, in order."""
    return [s for s in SEEDS if run.done(unit_name(first, s)) and run.done(unit_name(second, s))]


def paired(run, first, second):
    """(results of `first`, results of `second`) over the seeds where both units are done, in seed order."""
    seeds = paired_seeds(run, first, second)
    return [run.result(unit_name(first, s)) for s in seeds], [run.result(unit_name(second, s)) for s in seeds]

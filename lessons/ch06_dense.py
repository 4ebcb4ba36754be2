"""Chapter 6: Dense networks. Instead of adding a layer's input to its output, DenseNet concatenates: layer l
of a block reads [x_0, x_1, ..., x_{l-1}] and adds k (the growth rate) new maps (Huang et al. 2017
[huang2017], docs/references.md). The chapter counts what concatenation, growth rate, bottlenecks and
compression cost, trains a small DenseNet against a ResNet of the same size (paired: same seed, same images,
same batches), and tests the feature-reuse heat map against its own initialisation.

DenseNet is slow on a CPU (its concatenations copy every earlier map), so quick and default modes train
densenet13 k=12 (76,018 parameters) against resnet8 (75,290) on 8x8 images, over 3 seeds. --reference runs the
reference suite's DenseNet run (lessons/_suite.py): DenseNet-BC of depth 28 and 40 and ResNets of depth 8 and 14
at 32x32 on all 5,085 images, 30 epochs, seeds 0-4 (lessons/reference/dense_32px.json), whose verdicts every mode
prints; --full trains densenet_bc100 against resnet56 at 32x32 for 40 epochs, 3 seeds (many hours).
"""

import numpy as np

import _lesson
import _reference
import _suite
import _verdicts
import minidl
from minidl import analysis
from minidl.models import DenseLayer, Transition, create
from minidl.models.densenet import densenet
from minidl.models.resnet import resnet


def count(module):
    return sum(p.numel() for p in module.parameters())


# ----- 1. concatenation, growth, bottleneck, compression -----
def anatomy(lesson):
    k0, k = 16, 12
    layer = DenseLayer(k0, k).eval()
    x = minidl.Tensor(np.random.default_rng(lesson.seed).standard_normal((2, k0, 8, 8)).astype(np.float32))
    y = layer(x)
    kept = float(np.abs(y.data[:, :k0] - x.data).max())
    lesson.say(f"1. A dense layer maps {tuple(x.shape)} to {tuple(y.shape)}: its input comes out unchanged in the first "
               f"{k0} channels (max |y[:, :{k0}] - x| = {kept}) and H(x) adds k = {k} new maps.\n")
    rows = []
    for layer_index in (1, 6, 12, 16):
        channels = 2 * k + k * (layer_index - 1)  # DenseNet-BC stem: 2k maps
        rows.append([layer_index, channels, count(DenseLayer(channels, k)), count(DenseLayer(channels, k, True))])
    lesson.table(["layer l", "input channels k0 + k(l-1)", "params H = BN-ReLU-conv3x3",
                  "params B: BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3"], rows,
                 title=f"Growth rate k = {k}, k0 = 2k: each layer reads every earlier map; the bottleneck (B) caps the "
                       "3x3 conv's input at 4k channels")
    block_out = 2 * k + 16 * k
    transition = Transition(block_out, block_out // 2)
    z = transition(minidl.Tensor(np.zeros((1, block_out, 8, 8), np.float32)))
    lesson.say(f"A transition with compression theta = 0.5 turns the {block_out} maps of a 16-layer block at 8x8 into "
               f"{tuple(z.shape)[1:]} ({count(transition)} parameters).\n")


def variants(lesson):
    table = [("densenet40", 40, 12, False, 1.0, "1,019,722"), ("densenet40-B", 40, 12, True, 1.0, "--"),
             ("densenet40-C", 40, 12, False, 0.5, "--"), ("densenet40-BC", 40, 12, True, 0.5, "--"),
             ("densenet100", 100, 12, False, 1.0, "6,979,642"), ("densenet_bc100", 100, 12, True, 0.5, "769,162")]
    if lesson.mode != "quick":  # building these takes a few seconds
        table += [("densenet100 k=24", 100, 24, False, 1.0, "27,249,082"),
                  ("densenet_bc250 k=24", 250, 24, True, 0.5, "15,324,406"),
                  ("densenet_bc190 k=40", 190, 40, True, 0.5, "25,624,430")]
    rows = [[name, depth, k, "yes" if b else "no", theta, f"{count(densenet(depth, k, b, theta)):,}", ref]
            for name, depth, k, b, theta, ref in table]
    lesson.table(["variant", "L", "k", "bottleneck", "theta", "parameters", "[computed2026]"], rows,
                 title="2. DenseNet variants: parameter counts (built with minidl.models.densenet.densenet)")


# ----- 3. accuracy per parameter: a DenseNet and a ResNet of the same size, paired over seeds -----
# (label, builder) of the DenseNet and the ResNet compared in each mode: within 1% of each other in parameters
# (densenet13 k=12: 76,018; resnet8: 75,290) or, in --full, the DenseNet-BC with fewer (769,162 vs 853,018).
SMALL = (("densenet13 k=12", lambda: densenet(13, 12)), ("resnet8", lambda: resnet(8)))
PAIRS = {"quick": SMALL, "default": SMALL,
         "full": (("densenet_bc100", lambda: create("densenet_bc100")), ("resnet56", lambda: create("resnet56")))}
# pixels, training images (None: all 5,085 of the local copy), epochs, seeds
SETTINGS = {"quick": (8, 256, 1, 2), "default": (8, None, 4, 3), "full": (32, None, 40, 3)}
# Feature reuse needs weights that move: the same DenseNet on few images for many steps (batch 32, lr 0.1).
REUSE_SETTINGS = {"quick": (8, 128, 2, 2), "default": (8, 500, 24, 3), "full": (32, None, 40, 3)}


def describe(setting, batch=64):
    size, subset, epochs, seeds = setting
    steps = epochs * -(-(subset or 5085) // batch)
    return f"{seeds} seeds x {epochs} epoch(s) ({steps:,} steps), {subset or 5085:,} images at {size}x{size} px"


def early_share(maps):
    """How much the deepest layer of each block (the transition, in the last block its last layer) draws on
    the early half of its sources: mean over those sources / mean over all its sources (1 = as much as on
    any source, 0 = nothing), averaged over the blocks."""
    shares = []
    for matrix in maps:
        row = matrix[-1][~np.isnan(matrix[-1])]
        shares.append(row[: len(row) // 2].mean() / row.mean())
    return float(np.mean(shares))


def shape_spread(maps, initial=None):
    """RMS over all (source, target) pairs of the log of each pair's mean |w| relative to its row (target),
    in %: how uneven the heat map is. With `initial`, the same for the ratio trained / initial: how far
    training reshaped the map."""
    logs = []
    for b, matrix in enumerate(maps):
        log = np.log(matrix if initial is None else matrix / initial[b])
        logs.append((log - np.nanmean(log, axis=1, keepdims=True))[~np.isnan(log)])
    return float(100 * np.sqrt(np.mean(np.concatenate(logs) ** 2)))


def seed_data(setting, seed):
    """The training images of one seed (a class-balanced subset, or all) and the test images, at the
    setting's resolution."""
    size, subset, _, _ = setting
    x, y, x_test, y_test = minidl.data.cifar10(verbose=False)
    keep = minidl.data.balanced_subset(y, subset, seed) if subset else np.arange(len(y))
    x, y = x[keep], y[keep]
    if size != 32:
        x, x_test = _lesson.low_resolution(x, size), _lesson.low_resolution(x_test, size)
    return x, y, x_test, y_test


def train_pair(lesson, setting):
    """Train the DenseNet and the ResNet of this mode for every seed: per seed the same training images, the
    same batches and the same recipe (the initial weights cannot match: the networks differ)."""
    size, _, epochs, n_seeds = setting
    (dense_label, build_dense), (res_label, build_res) = PAIRS[lesson.mode]
    print(f"3. {dense_label} against {res_label}: {describe(setting)}, batch 64, SGD lr 0.05 cosine, weight decay "
          f"5e-4, augmentation {'on' if size == 32 else 'off'}; the same images and batches for both per seed.\n")
    runs = {label: {"params": 0, "test_acc": [], "train_acc": [], "seconds": []} for label in (dense_label, res_label)}
    for seed in range(lesson.seed, lesson.seed + n_seeds):
        data = seed_data(setting, seed)
        for label, build in ((dense_label, build_dense), (res_label, build_res)):
            minidl.manual_seed(seed)
            model = build()
            history = minidl.train(model, data=data, epochs=epochs, batch_size=64, lr=0.05, schedule="cosine",
                                   augment=size == 32, seed=seed, progress=False, device=lesson.device)
            run = runs[label]
            run["params"] = count(model)
            run["test_acc"].append(100 * history.final["test_acc"])
            run["train_acc"].append(100 * history.final["train_acc"])
            run["seconds"].append(sum(history.column("seconds")))
        print(f"  seed {seed}: " + ", ".join(f"{label} {runs[label]['test_acc'][-1]:.1f}%" for label in runs),
              flush=True)
    return {"setting": describe(setting), "seeds": list(range(lesson.seed, lesson.seed + n_seeds)),
            "test_images": len(data[3]), "dense": dense_label, "resnet": res_label, "runs": runs}


def train_reuse(lesson, setting):
    """Train the DenseNet alone on few images for many steps, so that its weights move, and keep its
    feature-reuse maps (mean |w| per source and target) at initialisation and after training, per seed."""
    size, _, epochs, n_seeds = setting
    label, build = PAIRS[lesson.mode][0]
    print(f"4. Feature reuse in {label}: {describe(setting, 32)}, batch 32, SGD lr 0.1 cosine, weight decay 5e-4; "
          "mean |w| from each source to each target layer of a dense block (Huang et al. [huang2017], Fig. 5), "
          "at initialisation and after training.\n")
    maps = {"initial": [], "trained": []}
    for seed in range(lesson.seed, lesson.seed + n_seeds):
        minidl.manual_seed(seed)
        model = build()
        maps["initial"].append([analysis.feature_reuse(stage).matrix.tolist() for stage in model.stages])
        history = minidl.train(model, data=seed_data(setting, seed), epochs=epochs, batch_size=32, lr=0.1,
                               schedule="cosine", augment=size == 32, seed=seed, progress=False, device=lesson.device)
        maps["trained"].append([analysis.feature_reuse(stage).matrix.tolist() for stage in model.stages])
        print(f"  seed {seed}: train acc {100 * history.final['train_acc']:.1f}%, test acc "
              f"{100 * history.final['test_acc']:.1f}%", flush=True)
    return {"setting": describe(setting, 32), "seeds": list(range(lesson.seed, lesson.seed + n_seeds)),
            "dense": label, "maps": maps}


def as_arrays(maps):
    """JSON lists (seed -> block -> rows) back to NumPy, with NaN where a layer cannot read a source."""
    return [[np.array(m, dtype=np.float64) for m in seed] for seed in maps]


def whose(reference):
    """What a verdict's measure adds when it rests on a committed reference run."""
    return " (reference run)" if reference else ""


def at(scale):
    """What a verdict's claim adds to say the images it was measured on."""
    return "" if scale is None else f", {scale['image_size']}x{scale['image_size']}"


def report_pair(lesson, results, title, reference=None, scale=None):
    """Accuracy table and the paired verdict on accuracy per parameter."""
    runs, dense, res = results["runs"], results["dense"], results["resnet"]
    rows = [[label, f"{r['params']:,}", f"{np.mean(r['train_acc']):.1f}", f"{np.mean(r['test_acc']):.1f}",
             ", ".join(f"{a:.1f}" for a in r["test_acc"]), f"{np.mean(r['seconds']):.0f}"] for label, r in runs.items()]
    lesson.table(["network", "parameters", "train acc % (mean)", "test acc % (mean)", "test acc % per seed",
                  "train s per run"], rows, title=f"{title}: {results['setting']}")
    diff = analysis.paired_interval(runs[dense]["test_acc"], runs[res]["test_acc"])
    lesson.verdicts.effect("DenseNet: more accuracy per parameter than ResNet" + at(scale),
                           f"test accuracy {dense} ({runs[dense]['params']:,} params) - {res} "
                           f"({runs[res]['params']:,}), points, paired by seed" + whose(reference), diff,
                           results["setting"], above=0.0, reference=reference, scale=scale,
                           both_trained=all(a > 100 * (1 - _suite.LEFT_CHANCE)
                                            for a in runs[dense]["train_acc"] + runs[res]["train_acc"]))
    lesson.say(f"{dense} - {res}: {diff.value:+.1f} points, 95% interval "
               + (f"[{diff.low:+.1f}, {diff.high:+.1f}]" if diff.low is not None else "unknown (one seed)")
               + f" over {diff.n} paired seeds; the DenseNet took {np.mean(runs[dense]['seconds']):.0f} s per run, "
               f"the ResNet {np.mean(runs[res]['seconds']):.0f} s.\n")


def report_reuse(lesson, results, title, reference=None, scale=None):
    """The heat map's two measures, fixed before the runs, per seed. (1) Did training reshape the map by more
    than the unevenness its random start already has? If not, the map shows the initialisation, and (2) the
    share of weight the deepest layers keep on early sources says nothing about learned reuse: the reuse
    verdict is then "not shown at this budget" whatever (2) is."""
    initial, trained = as_arrays(results["maps"]["initial"]), as_arrays(results["maps"]["trained"])
    spread0 = [shape_spread(i) for i in initial]
    moved = [shape_spread(t, i) for t, i in zip(trained, initial)]
    share0, share = [early_share(i) for i in initial], [early_share(t) for t in trained]
    rows = [[seed, f"{a:.1f}", f"{b:.1f}", f"{c:.2f}", f"{d:.2f}"]
            for seed, a, b, c, d in zip(results["seeds"], spread0, moved, share0, share)]
    lesson.table(["seed", "unevenness of the initial map %", "reshaped by training %", "early share at init",
                  "early share trained"], rows,
                 title=f"{title}: mean |w| maps of {results['dense']} ({results['setting']}); early share: weight of "
                       "each block's deepest layer on its early half of sources / on all (1 = even)")
    budget = results["setting"]
    reshaped = analysis.paired_interval(moved, spread0)
    moved_row = lesson.verdicts.effect(
        "training reshapes the DenseNet heat map beyond its random start" + at(scale), "RMS reshaping of the "
        "row-normalised mean |w| map by training - its initial RMS unevenness, % points" + whose(reference), reshaped,
        budget, above=0.0, reference=reference, scale=scale)
    reuse_row = lesson.verdicts.effect(
        "DenseNet reuses early features (Huang et al. 2017 Fig. 5 heat map)" + at(scale), "early share of |w| of each "
        "block's deepest layer after training (1 = even; > 0.5 = reuse; decided only if the map was reshaped)"
        + whose(reference),
        analysis.mean_interval(share), budget, above=0.5, reference=reference, scale=scale)
    if moved_row["verdict"] != _verdicts.SHOWN:
        reuse_row["verdict"] = _verdicts.NOT_SHOWN
    verdict = moved_row["verdict"]
    lesson.say(f"Training reshaped the map by {np.mean(moved):.1f}% (RMS over pairs) against an unevenness of "
               f"{np.mean(spread0):.1f}% at initialisation: "
               + (f"the heat map shows learned structure, and the deepest layers keep {np.mean(share):.2f} of their "
                  "average weight on early sources." if verdict == _verdicts.SHOWN else
                  "less than its random start's own unevenness, so the heat map still shows that start."
                  if verdict == _verdicts.CONTRADICTED else
                  "not clearly more than its random start's own unevenness (the interval includes 0), so the heat "
                  "map cannot yet be read as learned reuse.") + " (Huang et al. trained 300 epochs.)\n")


def plot_pair(lesson, panels):
    """Per-seed accuracies of the DenseNet and the ResNet (paired lines), this run and the reference."""
    plt = lesson.pyplot()
    if not plt:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.6), squeeze=False)
    for ax, (title, results) in zip(axes[0], panels):
        labels = [results["dense"], results["resnet"]]
        accs = np.array([results["runs"][label]["test_acc"] for label in labels])
        for k in range(accs.shape[1]):
            ax.plot([0, 1], accs[:, k], marker="o", color="0.6", label="one seed (same images, same batches)"
                    if k == 0 else None)
        ax.plot([0, 1], accs.mean(axis=1), marker="s", color="C3", linewidth=2, label="mean")
        ax.set_xticks([0, 1], [f"{label}\n{results['runs'][label]['params']:,} params" for label in labels])
        ax.set_xlim(-0.4, 1.4)
        ax.set(ylabel="test accuracy (%)", title=f"{title}\n{results['setting']}")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("A DenseNet and a ResNet of the same size, paired by seed")
    lesson.figure(fig, "params_vs_accuracy.png")


def plot_reuse(lesson, panels, name="feature_reuse.png"):
    """First seed's maps: trained mean |w| divided by each row's largest (Huang et al.'s shading), and each
    pair's change since initialisation (%), for this run and, if committed, the reference run."""
    plt = lesson.pyplot()
    if not plt:
        return
    rows = []
    for title, results in panels:
        initial, trained = as_arrays(results["maps"]["initial"])[0], as_arrays(results["maps"]["trained"])[0]
        rows.append((f"{title}: |w| / row max", [t / np.nanmax(t, axis=1, keepdims=True) for t in trained],
                     "magma", 0, 1))
        change = [100 * (t / i - 1) for t, i in zip(trained, initial)]
        limit = max(float(np.nanmax(np.abs(c))) for c in change)
        rows.append((f"{title}: change since init %", change, "RdBu_r", -limit, limit))
    fig, axes = plt.subplots(len(rows), 3, figsize=(12.5, 3.6 * len(rows)), squeeze=False)
    for r, (what, maps, cmap, low, high) in enumerate(rows):
        for b, matrix in enumerate(maps):
            n = matrix.shape[0]
            ax = axes[r, b]
            image = ax.imshow(np.ma.masked_invalid(matrix), cmap=cmap, vmin=low, vmax=high)
            ax.set_xticks(range(n), ["in"] + [str(s) for s in range(1, n)], fontsize="small")
            ax.set_yticks(range(n), [str(t) for t in range(1, n)] + (["T"] if b < 2 else [str(n)]), fontsize="small")
            ax.set(xlabel="source (in = block input)", ylabel="target (T = transition)")
            ax.set_title(f"{what}, block {b + 1}", fontsize="small")
            fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle("Feature reuse: mean |w| from each source to each target layer (first seed)")
    lesson.figure(fig, name)


def experiments(lesson):
    results = {"pair": train_pair(lesson, SETTINGS[lesson.mode]),
               "reuse": train_reuse(lesson, REUSE_SETTINGS[lesson.mode])}
    size, subset, epochs, seeds = SETTINGS[lesson.mode]
    report_pair(lesson, results["pair"], "3. Accuracy per parameter, this run",
                scale=_verdicts.scale(size, subset or 5085, epochs, seeds))
    plot_pair(lesson, [("this run", results["pair"])])
    size, subset, epochs, seeds = REUSE_SETTINGS[lesson.mode]
    report_reuse(lesson, results["reuse"], "4. Feature reuse, this run",
                 scale=_verdicts.scale(size, subset or 5085, epochs, seeds))
    plot_reuse(lesson, [("this run", results["reuse"])])
    return results


# ----- 5. the reference suite at the papers' shape: DenseNet-BC and ResNets of two sizes each, 32x32 -----
CURVES = {"ResNet": (("resnet8", _suite.DENSE_RUN), ("resnet14", _suite.DENSE_RUN), ("resnet20", _suite.DEPTH_RUN),
                     ("resnet56", _suite.DEPTH_RUN)),
          "DenseNet-BC (k=12)": (("densenet_bc28", _suite.DENSE_RUN), ("densenet_bc40", _suite.DENSE_RUN))}
EQUAL_SIZE = ("densenet_bc40", "resnet14")  # 176,122 and 172,506 parameters: within 2.1%


def recorded_dense(lesson):
    """The verdicts at 32x32 from the reference suite's DenseNet run (lessons/reference/dense_32px.json): the pair
    of (nearly) equal size, paired by seed, and the feature-reuse maps of densenet_bc40 after 30 epochs."""
    run = _suite.dense_run()
    dense, res = EQUAL_SIZE
    a, b = _suite.paired(run, dense, res)
    if not a:
        lesson.say("(The reference suite has no finished DenseNet/ResNet pair yet: run "
                   "`python lessons/reference_suite.py`; the verdicts at 32x32 are skipped.)")
        return
    epochs, images = run.setting["recipe"]["epochs"], run.setting["train_images"]
    setting = _lesson.training_budget(len(a), epochs, images, 32)
    scale = _verdicts.scale(32, images, epochs, len(a))
    path = _reference.relative_path(_suite.DENSE_RUN)
    as_run = {name: {"params": r[0]["parameters"], "train_acc": [100 * (1 - u["train_error"]) for u in r],
                     "test_acc": [100 * (1 - u["test_error"]) for u in r], "seconds": [u["seconds"] for u in r]}
              for name, r in ((dense, a), (res, b))}
    report_pair(lesson, {"runs": as_run, "dense": dense, "resnet": res, "setting": setting},
                "5. Reference suite, accuracy per parameter at 32x32", path, scale)
    reuse = {"maps": {"initial": [u["feature_reuse_before"] for u in a], "trained": [u["feature_reuse_after"] for u in a]},
             "seeds": _suite.paired_seeds(run, dense, res), "dense": dense, "setting": setting}
    report_reuse(lesson, reuse, "6. Reference suite, feature reuse at 32x32", path, scale)
    plot_reuse(lesson, [("reference suite, 32x32", reuse)], "feature_reuse_32px.png")


def plot_curves(lesson, yours=None):
    """Huang et al.'s Fig. 4 from the reference suite: test accuracy against parameters, one curve per family
    (mean over the recorded seeds, each seed as a dot); `yours` (this run's pair) as open markers."""
    plt = lesson.pyplot()
    runs = {_suite.DENSE_RUN: _suite.dense_run(), _suite.DEPTH_RUN: _suite.depth_run()}
    if plt is None or not runs[_suite.DENSE_RUN].units:
        return
    fig, ax = plt.subplots(figsize=(7, 4.6))
    for k, (family, members) in enumerate(CURVES.items()):
        points = []
        for net, source in members:
            results = _suite.recorded(runs[source], net)
            if results:
                accs = [100 * (1 - r["test_error"]) for r in results]
                ax.scatter([results[0]["parameters"]] * len(accs), accs, color=f"C{k}", alpha=0.4, s=12)
                points.append((results[0]["parameters"], np.mean(accs), net))
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], "-o", color=f"C{k}", label=family)
            for x, y, net in points:
                ax.annotate(net, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    if yours is not None:
        for label, color in ((yours["resnet"], "C0"), (yours["dense"], "C1")):
            r = yours["runs"][label]
            ax.scatter([r["params"]], [np.mean(r["test_acc"])], facecolors="none", edgecolors=color, s=40,
                       label=f"{label}, this run ({yours['setting']})")
    ax.set_xscale("log")
    ax.set(xlabel="parameters (log scale)", ylabel="test accuracy (%)",
           title="Accuracy against parameters, 32x32, 30 epochs (cf. Huang et al. 2017, Fig. 4)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    lesson.figure(fig, "accuracy_vs_parameters_32px.png")


def main():
    lesson = _lesson.Lesson(6, "Dense networks")
    yours = None
    if lesson.mode == "reference":  # the DenseNet run of the reference suite
        _suite.run_dense(lesson.device)
    else:
        anatomy(lesson)
        variants(lesson)
        yours = experiments(lesson)["pair"]
        if lesson.mode == "quick":
            lesson.say("(--quick trains 256 images for one epoch: too small for any accuracy conclusion.)")
    recorded_dense(lesson)
    plot_curves(lesson, yours)
    lesson.done()


if __name__ == "__main__":
    main()

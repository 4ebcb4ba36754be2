"""Chapter 1: autograd from scratch. A Tensor records the ops applied to it as a graph; backward walks that graph
in reverse and applies the chain rule. We differentiate a tiny graph by hand and by autograd, then check every
op of the engine against float64 central differences (CS231n's gradient-check notes [cs231n2015], docs/references.md).

    python lessons/ch01_autograd.py [--quick | --full] [--out DIR] [--seed N] [--device cpu|cuda]
"""
import math
import time

import numpy as np

import _lesson
import minidl
from minidl import functional as F
from minidl.analysis import check_gradients
from minidl.autograd.engine import topological_order
from minidl.autograd.function import Function
from minidl.functional.dropout import DropoutFunction


# --------------------------------------------------------------------------------------------------
# 1. A tiny graph by hand: one sigmoid neuron a = sigmoid(w1*x1 + w2*x2 + b) and a squared error.
# --------------------------------------------------------------------------------------------------
def tiny_graph(lesson):
    """A sigmoid neuron and a squared error, differentiated by hand and by autograd."""
    print("1. A tiny graph: L = (sigmoid(w1*x1 + w2*x2 + b) - t)^2, with x1=2, x2=-1, w1=-3, w2=1, b=4, t=1\n")
    values = dict(x1=2.0, x2=-1.0, w1=-3.0, w2=1.0, b=4.0)
    leaves = {k: minidl.tensor(v, requires_grad=True, dtype="float64") for k, v in values.items()}
    target = 1.0
    z = leaves["w1"] * leaves["x1"] + leaves["w2"] * leaves["x2"] + leaves["b"]
    a = F.sigmoid(z)
    loss = (a - target) ** 2

    names = {id(t): k for k, t in leaves.items()}
    names.update({id(z): "z", id(a): "a", id(loss): "L"})
    rows = []
    for node in topological_order(loss):
        op = node.grad_fn.name if node.grad_fn is not None else "(leaf)"
        inputs = ", ".join(names.get(id(p), "tmp") for p in (node.grad_fn.parents if node.grad_fn else ()) if p is not None)
        rows.append([names.get(id(node), "tmp"), op, inputs or "-", float(node.item())])
    lesson.table(["node", "made by", "from", "value"], rows,
                 title="The graph in topological order (backward visits it bottom-up; 'tmp' = an unnamed intermediate):")

    loss.backward()
    zv = sum(values[w] * values[x] for w, x in (("w1", "x1"), ("w2", "x2"))) + values["b"]
    av = 1 / (1 + math.exp(-zv))
    dL_dz = 2 * (av - target) * av * (1 - av)  # chain rule: dL/da = 2(a - t), da/dz = a(1 - a)
    by_hand = {"w1": dL_dz * values["x1"], "w2": dL_dz * values["x2"], "b": dL_dz,
               "x1": dL_dz * values["w1"], "x2": dL_dz * values["w2"]}
    formulas = {"w1": "2(a-t) a(1-a) x1", "w2": "2(a-t) a(1-a) x2", "b": "2(a-t) a(1-a)",
                "x1": "2(a-t) a(1-a) w1", "x2": "2(a-t) a(1-a) w2"}
    rows = [[f"dL/d{k}", formulas[k], by_hand[k], float(leaves[k].grad), abs(by_hand[k] - float(leaves[k].grad))]
            for k in ("w1", "w2", "b", "x1", "x2")]
    lesson.table(["gradient", "hand derivation", "by hand", "autograd", "|difference|"], rows,
                 title=f"z = {zv:g}, a = sigmoid(z) = {av:.6f}, L = {float(loss.item()):.6f}:")

    # A value used twice: its gradients from both uses add up (the engine accumulates them).
    x = minidl.tensor(3.0, requires_grad=True, dtype="float64")
    (x * x + x).backward()
    lesson.table(["function", "d/dx by hand at x=3", "autograd"], [["x*x + x", 2 * 3.0 + 1, float(x.grad)]],
                 title="A shared node: both paths from x to the output contribute (2x + 1):")
    worst_by_hand = max(r[-1] for r in rows)
    lesson.say(f"Autograd agrees with the hand derivation to {worst_by_hand:.1e} (float64 round-off)."
               if worst_by_hand < 1e-12 else f"Autograd and the hand derivation differ by up to {worst_by_hand:.3g}.")
    print()


# --------------------------------------------------------------------------------------------------
# 2. Gradient-check every op: analytic gradients against central differences in float64.
# --------------------------------------------------------------------------------------------------
def gradcheck_cases(lesson, rng):
    """(family, op and variant, function, inputs) of every op checked; the inputs are drawn from rng."""
    def tensor(*shape, low=None, grad=True):
        """A float64 leaf tensor of standard-normal data (or low + |normal| when low is given)."""
        data = rng.standard_normal(shape)
        if low is not None:
            data = low + np.abs(data)
        return minidl.Tensor(data, requires_grad=grad, device=lesson.device)


    def away_from_kinks(*shape, gap=0.2):
        """Standard-normal data with |x| >= gap, so that x +- eps never crosses the kink of relu/abs/clamp at 0."""
        data = rng.standard_normal(shape)
        data = np.sign(data) * (gap + np.abs(data))
        return minidl.Tensor(data, requires_grad=True, device=lesson.device)


    def distinct(*shape, spacing=0.05):
        """A random permutation of well-separated values: no ties for max/max-pool even after +- eps."""
        data = rng.permutation(np.prod(shape)).reshape(shape) * spacing
        return minidl.Tensor(data - data.mean(), requires_grad=True, device=lesson.device)


    def distinct_pair(*shape):
        """Two tensors whose values all differ from each other by at least 0.05 (for maximum/minimum)."""
        both = distinct(2, *shape).data
        return [minidl.Tensor(both[0], requires_grad=True, device=lesson.device),
                minidl.Tensor(both[1], requires_grad=True, device=lesson.device)]


    def labels(n, classes):
        return minidl.Tensor(rng.integers(0, classes, n), device=lesson.device)

    def conv_case(n, c, h, k, o, **kw):
        groups = kw.get("groups", 1)
        return lambda x, w: F.conv2d(x, w, **kw), [tensor(n, c, h, h), tensor(o, c // groups, k, k)]


    def batch_norm_eval():
        mean, var = tensor(3, grad=False), tensor(3, low=0.5, grad=False)
        return (lambda x, w, b: F.batch_norm(x, mean.data, var.data, w, b, training=False),
                [tensor(4, 3, 3, 3), tensor(3), tensor(3)])


    def fixed_dropout():
        keep = rng.random((4, 5)) >= 0.5  # drop with p = 1/2 and scale what is kept by 1/(1-p) = 2, as F.dropout does
        mask = minidl.Tensor(keep * 2.0, device=lesson.device).data
        return lambda x: DropoutFunction.apply(x, mask), [tensor(4, 5)]


    def small_cnn():
        """conv -> batch norm -> relu -> max pool -> linear -> cross-entropy: errors compound through layers."""
        y = labels(4, 3)
        def net(x, w, g, b, v):
            h = F.relu(F.batch_norm(F.conv2d(x, w, padding=1), None, None, g, b, training=True))
            return F.cross_entropy(F.linear(F.flatten(F.max_pool2d(h, 2), 1), v), y)
        return net, [tensor(4, 2, 6, 6), tensor(3, 2, 3, 3), tensor(3, low=0.5), tensor(3), tensor(3, 27)]


    Y = labels(6, 4)  # class labels for the losses, fixed for every call of the checked function
    cases = [  # (family, op and variant, function, inputs)
        ("elementwise", "add (broadcast)", F.add, [tensor(3, 4), tensor(4)]),
        ("elementwise", "sub (broadcast)", F.sub, [tensor(2, 1, 5), tensor(3, 1)]),
        ("elementwise", "mul (broadcast)", F.mul, [tensor(3, 4), tensor(3, 1)]),
        ("elementwise", "div (broadcast)", F.div, [tensor(3, 4), tensor(4, low=0.5)]),
        ("elementwise", "pow (tensor exponent)", F.pow, [tensor(3, 4, low=0.5), tensor(4)]),
        ("elementwise", "pow (x ** 3)", lambda x: x ** 3, [tensor(3, 4)]),
        ("elementwise", "neg", F.neg, [tensor(3, 4)]),
        ("elementwise", "exp", F.exp, [tensor(3, 4)]),
        ("elementwise", "log", F.log, [tensor(3, 4, low=0.2)]),
        ("elementwise", "sqrt", F.sqrt, [tensor(3, 4, low=0.2)]),
        ("elementwise", "abs", F.abs, [away_from_kinks(3, 4)]),
        ("elementwise", "clamp(-0.5, 0.5)", lambda x: F.clamp(x, -0.5, 0.5), [away_from_kinks(3, 4, gap=0.55)]),
        ("elementwise", "maximum", F.maximum, distinct_pair(3, 4)),
        ("elementwise", "minimum", F.minimum, distinct_pair(3, 4)),
        ("elementwise", "where", lambda a, b: F.where(a.data > 0, a, b), [away_from_kinks(3, 4), tensor(3, 4)]),
        ("elementwise", "matmul (2-D)", F.matmul, [tensor(3, 4), tensor(4, 5)]),
        ("elementwise", "matmul (batched, broadcast)", F.matmul, [tensor(2, 3, 4), tensor(4, 2)]),
        ("activation", "relu", F.relu, [away_from_kinks(4, 5)]),
        ("activation", "leaky_relu", lambda x: F.leaky_relu(x, 0.1), [away_from_kinks(4, 5)]),
        ("activation", "sigmoid", F.sigmoid, [tensor(4, 5)]),
        ("activation", "tanh", F.tanh, [tensor(4, 5)]),
        ("activation", "softplus", F.softplus, [tensor(4, 5)]),
        ("activation", "gelu", F.gelu, [tensor(4, 5)]),
        ("activation", "gelu (tanh approx.)", lambda x: F.gelu(x, approximate="tanh"), [tensor(4, 5)]),
        ("activation", "softmax", lambda x: F.softmax(x, 1), [tensor(4, 5)]),
        ("activation", "log_softmax", lambda x: F.log_softmax(x, 1), [tensor(4, 5)]),
        ("reduction", "sum (all)", lambda x: x.sum(), [tensor(3, 4)]),
        ("reduction", "sum (dim 1, keepdim)", lambda x: x.sum(1, keepdim=True), [tensor(3, 4, 2)]),
        ("reduction", "mean (dims 0, 2)", lambda x: x.mean((0, 2)), [tensor(3, 4, 2)]),
        ("reduction", "var (unbiased)", lambda x: x.var(1), [tensor(3, 5)]),
        ("reduction", "max (dim 1)", lambda x: x.max(1), [distinct(3, 5)]),
        ("reduction", "min (all)", lambda x: x.min(), [distinct(3, 5)]),
        ("reduction", "amax (dim 0)", lambda x: F.amax(x, 0), [distinct(3, 5)]),
        ("shape", "reshape", lambda x: x.reshape(6, 2), [tensor(3, 4)]),
        ("shape", "flatten", lambda x: x.flatten(1), [tensor(2, 3, 4)]),
        ("shape", "transpose", lambda x: x.transpose(0, 2), [tensor(2, 3, 4)]),
        ("shape", "permute", lambda x: x.permute(2, 0, 1), [tensor(2, 3, 4)]),
        ("shape", "squeeze / unsqueeze", lambda x: x.squeeze(1).unsqueeze(0), [tensor(3, 1, 4)]),
        ("shape", "expand", lambda x: x.expand(3, 2, 4), [tensor(2, 1)]),
        ("shape", "stack", lambda a, b: F.stack([a, b], 1), [tensor(3, 4), tensor(3, 4)]),
        ("shape", "split", lambda x: F.split(x, [1, 3], 1), [tensor(2, 4)]),
        ("shape", "chunk", lambda x: F.chunk(x, 2, 0), [tensor(4, 3)]),
        ("shape", "cat (dim 1)", lambda a, b: F.cat([a, b], 1), [tensor(2, 3, 2), tensor(2, 1, 2)]),
        ("shape", "pad", lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), [tensor(2, 3, 4)]),
        ("indexing", "basic slices", lambda x: x[1:, ::2], [tensor(4, 5)]),
        ("indexing", "integer array, repeats", lambda x: x[[0, 2, 0, 3]], [tensor(4, 3)]),
        ("indexing", "boolean mask", lambda x: x[x.data > 0], [away_from_kinks(4, 3)]),
        ("linear", "linear (with bias)", F.linear, [tensor(5, 4), tensor(3, 4), tensor(3)]),
        ("convolution", "conv2d 3x3 s1 p1 (Winograd)", *conv_case(2, 3, 6, 3, 4, padding=1)),
        ("convolution", "conv2d 3x3 stride 2", *conv_case(2, 3, 7, 3, 4, stride=2, padding=1)),
        ("convolution", "conv2d 1x1", *conv_case(2, 3, 5, 1, 4)),
        ("convolution", "conv2d 5x5 pad 2 + bias",
         lambda x, w, b: F.conv2d(x, w, b, padding=2), [tensor(2, 2, 6, 6), tensor(3, 2, 5, 5), tensor(3)]),
        ("convolution", "conv2d dilation 2", *conv_case(2, 2, 7, 3, 3, dilation=2, padding=2)),
        ("convolution", "conv2d groups 2", *conv_case(2, 4, 5, 3, 4, groups=2, padding=1)),
        ("pooling", "max_pool2d 2x2", lambda x: F.max_pool2d(x, 2), [distinct(2, 2, 4, 4)]),
        ("pooling", "max_pool2d 3x3 s2 p1", lambda x: F.max_pool2d(x, 3, 2, 1), [distinct(2, 2, 5, 5)]),
        ("pooling", "avg_pool2d 2x2", lambda x: F.avg_pool2d(x, 2), [tensor(2, 2, 4, 4)]),
        ("pooling", "avg_pool2d 3x3 s2 p1", lambda x: F.avg_pool2d(x, 3, 2, 1), [tensor(2, 2, 5, 5)]),
        ("pooling", "adaptive_avg_pool2d 1", lambda x: F.adaptive_avg_pool2d(x, 1), [tensor(2, 3, 4, 4)]),
        ("pooling", "adaptive_avg_pool2d (2, 3)", lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
         [tensor(2, 2, 5, 6)]),
        ("normalisation", "batch_norm (train: batch stats)",
         lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [tensor(4, 3, 3, 3), tensor(3),
                                                                                   tensor(3)]),
        ("normalisation", "batch_norm (eval: running stats)", *batch_norm_eval()),
        ("regularisation", "dropout (fixed mask)", *fixed_dropout()),
        ("loss", "cross_entropy", lambda x: F.cross_entropy(x, Y), [tensor(6, 4)]),
        ("loss", "cross_entropy (smoothing 0.1)", lambda x: F.cross_entropy(x, Y, label_smoothing=0.1),
         [tensor(6, 4)]),
        ("loss", "nll_loss (of log_softmax)", lambda x: F.nll_loss(F.log_softmax(x, 1), Y),
         [tensor(6, 4)]),
        ("loss", "mse_loss", F.mse_loss, [tensor(5, 3), tensor(5, 3)]),
        ("textbook ops", "conv2d 3x3 s2 p1 groups 2 + bias",
         on_textbook_ops(lambda x, w, b: F.conv2d(x, w, b, 2, 1, groups=2)),
         [tensor(2, 4, 7, 7), tensor(4, 2, 3, 3), tensor(4)]),
        ("textbook ops", "conv2d 3x3 dilation 2 'same'",
         on_textbook_ops(lambda x, w: F.conv2d(x, w, padding="same", dilation=2)),
         [tensor(2, 2, 7, 7), tensor(3, 2, 3, 3)]),
        ("textbook ops", "batch_norm (train: batch stats)",
         on_textbook_ops(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
         [tensor(4, 3, 3, 3), tensor(3), tensor(3)]),
        ("textbook ops", "max_pool2d 3x3 s2 p1", on_textbook_ops(lambda x: F.max_pool2d(x, 3, 2, 1)),
         [distinct(2, 2, 5, 5)]),
        ("textbook ops", "avg_pool2d 3x3 s2 p1 (real pixels only)",
         on_textbook_ops(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)), [tensor(2, 2, 5, 5)]),
        ("textbook ops", "adaptive_avg_pool2d (2, 3)",
         on_textbook_ops(lambda x: F.adaptive_avg_pool2d(x, (2, 3))), [tensor(2, 2, 5, 6)]),
        ("textbook ops", "cat (channels)", on_textbook_ops(lambda a, b: F.cat([a, b], 1)),
         [tensor(2, 2, 3, 3), tensor(2, 3, 3, 3)]),
        ("composite", "conv-BN-relu-pool-linear-CE", *small_cnn()),
    ]
    return cases


def on_textbook_ops(fn):
    """fn run on the package's plain textbook ops (minidl/functional/textbook) instead of the fast ones."""
    def run(*inputs):
        with minidl.textbook_ops():
            return fn(*inputs)
    return run


def verdict(rel):
    """CS231n's reading of a relative error [cs231n2015]."""
    return "good" if rel <= 1e-7 else "ok (kinks)" if rel < 1e-4 else "suspicious" if rel < 1e-2 else "WRONG"


def max_elements(lesson):
    """How many elements of each input the gradient check probes (two forward passes per element)."""
    return lesson.pick(quick=16, default=256, full=100_000)


def check(fn, inputs, lesson):
    """Worst element-wise relative error, worst absolute error, that error relative to the input's largest
    gradient, elements checked and pass/fail, over the inputs (check_gradients leaves the analytic grads in .grad)."""
    report = check_gradients(fn, inputs, max_elements=max_elements(lesson), seed=lesson.seed)
    scaled = []
    for w in report:
        largest = float(abs(inputs[w.input].grad).max())
        scaled.append(w.abs_error / largest if largest > 0 else w.abs_error)
    return dict(rel=max(w.rel_error for w in report), abs=max(w.abs_error for w in report), scaled=max(scaled),
                count=sum(w.checked for w in report), passed=all(w.passed for w in report))


def check_every_op(lesson, cases):
    """The table of section 2; returns (op, error relative to its largest gradient) for the figure."""
    print("2. Gradient check of every op (float64, central differences, eps 1e-6; "
          f"at most {max_elements(lesson)} elements per input)\n")
    started = time.perf_counter()
    rows, results = [], []
    for family, name, fn, inputs in cases:
        r = check(fn, inputs, lesson)
        results.append((name, r["scaled"]))
        rows.append([family, name, r["count"], f"{r['rel']:.1e}", f"{r['abs']:.1e}", f"{r['scaled']:.1e}",
                     verdict(r["scaled"]), "yes" if r["passed"] else "NO"])
    lesson.table(["family", "op", "elements", "rel. error", "abs. error", "error/max|grad|", "reading", "gradcheck"],
                 rows)
    print("rel. error: |analytic - numeric| / (|analytic| + |numeric|) at the worst element (the one furthest beyond\n"
          "gradcheck's tolerance 1e-5 + 1e-3 |numeric|). Float64 differences match a derivative to about 1e-10 in\n"
          "absolute terms, so where that element's gradient is itself tiny (1e-7, say) this ratio is large although\n"
          "nothing is wrong; error/max|grad| divides by the input's largest gradient instead, and 'reading' applies\n"
          "CS231n's thresholds to it (<= 1e-7 good, < 1e-4 ok for kinks, < 1e-2 suspicious, else wrong).\n")
    failed = [r[1] for r in rows if r[-1] != "yes"]
    worst_name, worst = max(results, key=lambda r: r[1])
    lesson.say(f"All {len(rows)} checks pass; the worst error relative to the largest gradient is {worst:.1e} "
               f"({worst_name})."
               if not failed else f"{len(failed)} of {len(rows)} checks FAIL: {', '.join(failed)}.")
    print(f"({time.perf_counter() - started:.1f} s)\n")
    elements = sum(r[2] for r in rows)
    lesson.verdicts.exact("every op's gradient is right (float64 checks)",
                          "worst |analytic - numeric| / max|gradient| over every check; claim: every check passes "
                          "gradcheck's tolerance", worst, not failed,
                          f"{len(rows)} checks, {elements:,} elements, central differences eps 1e-6", n=len(rows))
    return results


# --------------------------------------------------------------------------------------------------
# 3. The check catches a wrong gradient; and the step size matters.
# --------------------------------------------------------------------------------------------------
class SigmoidForgotOneFactor(Function):
    """sigmoid with a typical bug in backward: s instead of s (1 - s)."""

    def forward(self, x):
        s = 1 / (1 + np.exp(-x))
        self.save_for_backward(s)
        return s

    def backward(self, grad):
        (s,) = self.saved
        return (grad * s,)


def wrong_backward_and_step_size(lesson, rng):
    """Section 3; returns the step sizes tried and the error of each, for the figure."""
    bad_input = minidl.Tensor(rng.standard_normal((4, 5)), requires_grad=True, device=lesson.device)
    r = check(SigmoidForgotOneFactor.apply, [bad_input], lesson)
    lesson.table(["op", "rel. error", "error/max|grad|", "reading", "gradcheck"],
                 [["sigmoid with backward s instead of s(1-s)", f"{r['rel']:.2g}", f"{r['scaled']:.2g}",
                   verdict(r["scaled"]),
                   "yes" if r["passed"] else "NO"]],
                 title="3. A deliberately wrong backward:")
    lesson.verdicts.exact("the check catches a wrong backward (sigmoid without its factor 1 - s)",
                          "worst |analytic - numeric| / max|gradient|; claim: gradcheck fails", r["scaled"],
                          not r["passed"], f"1 check, {r['count']} elements")

    eps_values = [10.0 ** -k for k in range(1, 13)]
    x = minidl.tensor(np.array([0.7]), requires_grad=True)
    step_rows, step_errors = [], []
    for eps in eps_values:
        report = check_gradients(lambda v: F.tanh(v) * 3.0, [x], eps=eps)[0]
        step_errors.append(max(report.rel_error, 1e-17))
        step_rows.append([f"{eps:.0e}", f"{report.rel_error:.1e}"])
    lesson.table(["eps", "rel. error"], step_rows,
                 title="Step size of the central difference, d/dx 3 tanh(x) at x = 0.7:")
    best = eps_values[int(np.argmin(step_errors))]
    lesson.say(f"Too large a step leaves truncation error (O(eps^2)), too small a step round-off (O(1e-16/eps)); "
               f"here the smallest error came at eps = {best:.0e} (CS231n suggests about 1e-5: round-off ~ 1e-16/eps "
               "meets truncation ~ eps^2).")
    return eps_values, step_errors


def figures(lesson, results, eps_values, step_errors):
    """The error of every op, and the error against the step size (skipped without matplotlib)."""
    plt = lesson.pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 0.2 * len(results) + 1.2))
    shown = [max(r, 1e-17) for _, r in results]
    ax.barh(range(len(results)), shown, color=["tab:red" if r >= 1e-4 else "tab:blue" for r in shown])
    ax.set_yticks(range(len(results)), [n for n, _ in results], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1e-7, color="gray", linestyle="--", label="1e-7: good (CS231n)")
    ax.axvline(1e-4, color="tab:red", linestyle=":", label="1e-4: suspicious above")
    ax.set(xlabel="worst |analytic - numeric| / largest |gradient| (log scale; 1e-17 = exact)",
           title="Gradient check of every op (float64)")
    ax.legend(loc="lower right", fontsize=8)
    lesson.figure(fig, "gradcheck_per_op.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(eps_values, step_errors, marker="o")
    ax.set(xlabel="step eps of the central difference", ylabel="relative error",
           title="Gradient check error against step size (3 tanh(x) at 0.7)")
    ax.grid(alpha=0.3, which="both")
    lesson.figure(fig, "gradcheck_step_size.png")


def main():
    lesson = _lesson.Lesson(1, "Autograd from scratch")
    rng = np.random.default_rng(lesson.seed)
    tiny_graph(lesson)
    results = check_every_op(lesson, gradcheck_cases(lesson, rng))
    eps_values, step_errors = wrong_backward_and_step_size(lesson, rng)
    figures(lesson, results, eps_values, step_errors)
    lesson.done()


if __name__ == "__main__":
    main()

"""Gradient flow: activation statistics and gradient norms on a network whose gradients are known by hand."""
import numpy as np

import minidl
from minidl import nn
from minidl.analysis import GradientFlowRecorder, gradient_flow


def _two_linear():
    net = nn.Sequential(nn.Linear(2, 3, bias=False), nn.Linear(3, 1, bias=False)).double()
    net[0].weight.data[...] = [[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]]
    net[1].weight.data[...] = [[2.0, -1.0, 0.5]]
    return net


def _sum_loss(out, y):
    return out.sum()


def test_norms_match_the_hand_computed_gradients():
    net = _two_linear()
    w1, w2 = net[0].weight.data.copy(), net[1].weight.data.copy()
    x = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 3.0], [2.0, -2.0]])
    stats = gradient_flow(net, x, np.zeros(4), loss_fn=_sum_loss)
    y1 = x @ w1.T
    y2 = y1 @ w2.T
    # L = sum(y2): dL/dy2 = 1, dL/dy1 = 1 w2 (every row), dL/dW2 = column sums of y1, dL/dW1 = w2^T (1^T x).
    assert stats.names == ["0", "1"]
    np.testing.assert_allclose(stats.act_mean, [y1.mean(), y2.mean()], rtol=1e-12)
    np.testing.assert_allclose(stats.act_std, [y1.std(), y2.std()], rtol=1e-12)
    np.testing.assert_allclose(stats.grad_out_norm, [np.sqrt(4) * np.linalg.norm(w2), np.sqrt(4)], rtol=1e-12)
    np.testing.assert_allclose(stats.weight_norm, [np.linalg.norm(w1), np.linalg.norm(w2)], rtol=1e-12)
    grad_w1 = np.outer(w2[0], x.sum(axis=0))
    grad_w2 = y1.sum(axis=0)
    np.testing.assert_allclose(stats.weight_grad_norm, [np.linalg.norm(grad_w1), np.linalg.norm(grad_w2)], rtol=1e-12)
    np.testing.assert_allclose(stats.ratio, stats.weight_grad_norm / stats.weight_norm)
    assert stats.loss == y2.sum()
    assert "ratio" in stats.table() and len(stats.table().splitlines()) == 3


def test_model_state_is_untouched():
    minidl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3))
    weights = [p.data.copy() for p in net.parameters()]
    mean = net[1].running_mean.data.copy()
    stats = gradient_flow(net, np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32), np.arange(8) % 3)
    assert stats.names == ["0", "3"] and np.all(np.isfinite(stats.weight_grad_norm))
    assert all(p.grad is None for p in net.parameters())
    assert all(np.array_equal(w, p.data) for w, p in zip(weights, net.parameters()))
    assert np.array_equal(mean, net[1].running_mean.data) and int(net[1].num_batches_tracked.data) == 0


def test_recorder_follows_a_training_loop_and_ignores_evaluation():
    minidl.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    rng = np.random.default_rng(1)
    x, y = minidl.Tensor(rng.standard_normal((6, 3)).astype(np.float32)), minidl.Tensor(np.arange(6) % 2)
    seen = []
    with GradientFlowRecorder(net, layers=nn.Linear, every=2) as recorder:
        for step in range(5):
            net.zero_grad()
            loss = minidl.functional.cross_entropy(net(x), y)
            loss.backward()
            seen.append(np.linalg.norm(net[2].weight.grad))
            for p in net.parameters():  # a plain SGD step
                p.data -= 0.1 * p.grad
            with minidl.no_grad():
                net.eval()
                net(x)  # an evaluation pass between steps is not a training step
                net.train()
    history = recorder.history()
    assert history["step"].tolist() == [0, 2, 4]
    assert history["weight_grad_norm"].shape == (3, 2)
    np.testing.assert_allclose(history["weight_grad_norm"][:, 1], [seen[0], seen[2], seen[4]], rtol=1e-5)
    assert np.all(history["grad_out_norm"] > 0) and np.all(history["act_std"] > 0)
    net(x)  # detached: nothing more is recorded
    assert len(recorder.records) == 3


def test_recorder_attached_during_minidl_train():
    minidl.manual_seed(2)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, 10))
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((20, 3, 8, 8)).astype(np.float32), rng.integers(0, 10, 20)
    with GradientFlowRecorder(net) as recorder:
        minidl.train(net, data=(x, y, x[:5], y[:5]), epochs=2, batch_size=10, augment=False, progress=False)
    history = recorder.history()
    assert history["step"].tolist() == [0, 1, 2, 3]          # 2 epochs of 2 batches; evaluation is not a step
    assert history["names"] == ["0", "4"] and np.all(np.isfinite(history["ratio"]))
    assert len(set(history["weight_norm"][:, 0])) == 4       # the weights moved between the recorded steps

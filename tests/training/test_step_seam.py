"""train()'s step seam: the fast data-parallel step by default, the plain one inside textbook_ops(), or the one
given; the plain and the fast step compute the same loss and gradients (float64)."""
import numpy as np

import minidl
from minidl import functional as F
from minidl import seams
from minidl.parallel import step as parallel_step
from minidl.training import step as plain_step


def test_the_seams_give_the_fast_step_by_default_and_the_plain_one_inside_textbook_ops():
    assert seams.choose("train_step", plain_step.train_step) is parallel_step.train_step
    assert seams.choose("forward", plain_step.forward) is parallel_step.forward
    with minidl.textbook_ops():
        assert seams.choose("train_step", plain_step.train_step) is plain_step.train_step
        assert seams.choose("forward", plain_step.forward) is plain_step.forward
    assert not seams.textbook_active()


def test_train_runs_the_step_it_is_given_once_per_batch(tiny_data, small_cnn):
    calls = []

    def counted(*args):
        calls.append(len(args[1]))
        return plain_step.train_step(*args)

    history = minidl.train(small_cnn(), data=tiny_data, epochs=1, batch_size=100, progress=False, step=counted)
    assert calls == [100] * 6 and len(history) == 1


def test_the_plain_and_the_fast_step_agree_in_float64(tiny_data, small_cnn):
    x = tiny_data[0][:150].astype(np.float64)  # three chunks of 50 on the fast step
    y = tiny_data[1][:150]
    results = []
    minidl.set_default_dtype(np.float64)
    try:
        for run in (plain_step.train_step, lambda *a: parallel_step.train_step(*a, chunk_size=50)):
            model = small_cnn(3)  # float64 parameters, the default dtype now
            loss, logits = run(model, x, y, F.cross_entropy)
            results.append((loss, logits, [p.grad.copy() for p in model.parameters()]))
    finally:
        minidl.set_default_dtype(np.float32)
    (loss_a, logits_a, grads_a), (loss_b, logits_b, grads_b) = results
    assert grads_a[0].dtype == np.float64
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-12)
    np.testing.assert_allclose(logits_a, logits_b, rtol=1e-10, atol=1e-12)
    for a, b in zip(grads_a, grads_b):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)

"""gradcheck must pass correct gradients, catch wrong ones and report the worst element."""
import numpy as np
import pytest

import minidl
from minidl.analysis import GradcheckError, check_gradients, gradcheck
from minidl.autograd import Function


class WrongSquare(Function):
    """x**2 with a deliberately wrong backward (3x instead of 2x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, grad):
        (x,) = self.saved
        return (grad * 3 * x,)


def test_passes_a_correct_gradient(t64):
    assert gradcheck(lambda x: (x * x).sum(), [t64(3, 2)])


def test_catches_a_wrong_gradient_and_names_the_worst_element(t64):
    x = t64(3, 2)
    with pytest.raises(GradcheckError, match=r"input 0, index \(\d, \d\): analytic .* numeric"):
        gradcheck(lambda x: WrongSquare.apply(x), [x])
    assert gradcheck(lambda x: WrongSquare.apply(x), [x], raise_exception=False) is False


def test_report_lists_each_checked_input(t64):
    a, b = t64(2, 2), t64(2)
    report = check_gradients(lambda a, b, c: a * b * c, [a, b, minidl.tensor([2.0])])
    assert [w.input for w in report] == [0, 1] and all(w.passed for w in report)
    assert report[0].checked == 4


def test_big_inputs_are_sampled(t64):
    report = check_gradients(lambda x: x.exp(), [t64(40, 40)], max_elements=50)
    assert report[0].checked == 50 and report[0].passed


def test_refuses_float32_inputs():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda x: x * 2, [minidl.tensor(np.ones(2, np.float32), requires_grad=True)])


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck(lambda x: x * 2, [minidl.tensor(np.ones(2))])


def test_tuple_outputs_are_checked(t64):
    assert gradcheck(lambda x: (x.exp(), x.sum()), [t64(3)])


def test_perturbs_non_contiguous_inputs_in_place(rng):
    """A transposed (non-contiguous) input must really be perturbed: reshape(-1) would copy it."""
    x = minidl.Tensor(rng.standard_normal((3, 4)).T, requires_grad=True)
    assert not x.data.flags.c_contiguous
    assert gradcheck(lambda x: (x * x).sum(), [x])
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: WrongSquare.apply(x), [x])

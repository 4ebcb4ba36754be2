"""MINIDL_NUM_THREADS that is not a whole number >= 1 is an error naming the variable, not a silent "all cores"."""
import pytest

import minidl
from minidl import parallel


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "2,2"])
def test_an_unreadable_minidl_num_threads_is_an_error(monkeypatch, value):
    monkeypatch.setenv("MINIDL_NUM_THREADS", value)
    with pytest.raises(ValueError, match=rf"MINIDL_NUM_THREADS='{value}': expected a whole number of threads >= 1; "
                                         "unset it to use every core this process may use$"):
        parallel.thread_count()


def test_train_refuses_it_before_loading_any_data(monkeypatch):
    monkeypatch.setenv("MINIDL_NUM_THREADS", "0")
    with pytest.raises(ValueError, match="MINIDL_NUM_THREADS='0'"):
        minidl.train(minidl.nn.Linear(2, 2), data="not read")


def test_an_empty_value_means_unset_and_omp_lists_are_left_to_openmp(monkeypatch):
    monkeypatch.setenv("MINIDL_NUM_THREADS", " ")
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")  # OpenMP's nested form, not minidl's to judge
    assert parallel.thread_count() >= 1

"""Pooling (stub: being written)."""


def max_pool2d(input, kernel_size, stride=None, padding=0):
    raise NotImplementedError("max_pool2d is not written yet")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    raise NotImplementedError("avg_pool2d is not written yet")


def adaptive_avg_pool2d(input, output_size):
    raise NotImplementedError("adaptive_avg_pool2d is not written yet")

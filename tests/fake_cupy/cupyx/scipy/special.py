"""erf on device arrays, computed with math.erf per element."""
import math

import numpy

from cupy._array import counter, unwrap, wrap

_erf = numpy.vectorize(math.erf)


def erf(x):
    counter.launches += 1
    a = unwrap(x, "cupyx.scipy.special.erf")
    return wrap(_erf(a).astype(a.dtype))

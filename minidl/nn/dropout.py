"""`Dropout`: zeroes each element with probability p during training (inverted dropout, Srivastava et al. 2014)."""
from .. import functional as F
from .module import Module


class Dropout(Module):
    """Active only in training mode; the survivors are scaled by 1/(1-p) so eval needs no rescaling."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"

"""conv2d, the textbook way: one multiply-add of whole arrays per kernel offset (u, v) and group.

    y[n, o, i, j] = b[o] + sum over c, u, v of  w[o, c, u, v] * x_pad[n, c', i*sh + u*dh, j*sw + v*dw]

where c runs over the weight's C/groups input channels and c' = c + (the group of o) * C/groups. For a
fixed (u, v), the pixels x_pad[..., i*sh + u*dh, j*sw + v*dw] of all (i, j) form one strided slice (the
"patch" below), so the sum is kh*kw matrix products. Backward runs the same loop:

    dw[o, c, u, v] = sum over n, i, j of  dy[n, o, i, j] * patch[n, c, i, j]
    dx_pad[patch of (u, v)] += sum over o of  w[o, c, u, v] * dy[n, o, i, j]     (then crop the padding)
    db[o] = sum over n, i, j of dy[n, o, i, j]
"""
from ... import backend
from . import TextbookFunction


def _patch(xpad, u, v, stride, dilation, out):
    """The slice of the padded input that kernel offset (u, v) reads for every output pixel: (N, C, Ho, Wo)."""
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out
    return xpad[:, :, u * dh: u * dh + sh * (ho - 1) + 1: sh, v * dw: v * dw + sw * (wo - 1) + 1: sw]


class TextbookConv2d(TextbookFunction):
    op = "conv2d"

    def forward(self, x, weight, bias, stride, pads, dilation, groups):
        xp = backend.get_array_module(x)
        top, bottom, left, right = pads
        xpad = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        o, cg, kh, kw = weight.shape
        out = tuple((xpad.shape[2 + a] - dilation[a] * (k - 1) - 1) // stride[a] + 1 for a, k in enumerate((kh, kw)))
        y = xp.zeros((x.shape[0], o, *out), dtype=x.dtype)
        og = o // groups
        for g in range(groups):
            ins, outs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
            for u in range(kh):
                for v in range(kw):
                    patch = _patch(xpad[:, ins], u, v, stride, dilation, out)
                    y[:, outs] += xp.einsum("nchw,oc->nohw", patch, weight[outs, :, u, v])
        if bias is not None:
            y += bias.reshape(1, o, 1, 1)
        self.args = (stride, pads, dilation, groups, out, x.shape, bias is not None)
        self.save_for_backward(xpad, weight)
        return y

    def backward(self, grad):
        xpad, weight = self.saved
        stride, (top, _, left, _), dilation, groups, out, shape, has_bias = self.args
        xp = backend.get_array_module(grad)
        o, cg, kh, kw = weight.shape
        og = o // groups
        grad_xpad, grad_w = xp.zeros_like(xpad), xp.zeros_like(weight)
        for g in range(groups):
            ins, outs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
            for u in range(kh):
                for v in range(kw):
                    patch = _patch(xpad[:, ins], u, v, stride, dilation, out)
                    grad_w[outs, :, u, v] = xp.einsum("nohw,nchw->oc", grad[:, outs], patch)
                    grad_patch = _patch(grad_xpad[:, ins], u, v, stride, dilation, out)  # a view: += writes through
                    grad_patch += xp.einsum("nohw,oc->nchw", grad[:, outs], weight[outs, :, u, v])
        grad_x = grad_xpad[:, :, top:top + shape[2], left:left + shape[3]]
        grad_b = grad.sum(axis=(0, 2, 3)) if has_bias else None
        return grad_x, grad_w, grad_b, None, None, None, None

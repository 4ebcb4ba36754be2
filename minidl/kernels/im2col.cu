// im2col and col2im, the GPU twins of _im2col and _col2im in minidl/functional/_conv_im2col.py: conv2d is
// then one GEMM (cuBLAS, through cupy.matmul) of the column matrix with the weight matrix.
//
// cols[g][r][k], one row r = (b*Ho + i)*Wo + j per output pixel and one column k = (u*kw + v)*Cg + c per
// kernel tap of group g, holds the input pixel that tap reads (zero where it falls in the padding):
//     cols[g][r][k] = x[b, i*sh + u*dh - top, j*sw + v*dw - left, g*Cg + c]
// x is read through its element strides (xn, xh, xw, xc), so NCHW and channels-last inputs need no copy.
// `real` is float or double, set when the module is compiled (-Dreal=...). One thread per element.

extern "C" __global__ void im2col(const real* x, int xn, int xh, int xw, int xc,
                                  int batch, int height, int width, int channels, int groups,
                                  int out_height, int out_width, int kh, int kw,
                                  int sh, int sw, int dh, int dw, int top, int left, real* cols) {
    int cg = channels / groups, depth = kh * kw * cg, rows = batch * out_height * out_width;
    int index = blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= groups * rows * depth) return;
    int k = index % depth, r = index / depth % rows, g = index / depth / rows;
    int c = k % cg, v = k / cg % kw, u = k / cg / kw;
    int j = r % out_width, i = r / out_width % out_height, b = r / out_width / out_height;
    int y = i * sh + u * dh - top, x_ = j * sw + v * dw - left;
    bool inside = y >= 0 && y < height && x_ >= 0 && x_ < width;
    cols[index] = inside ? x[b * xn + y * xh + x_ * xw + (g * cg + c) * xc] : (real)0;
}

// The adjoint of im2col: grad_x (contiguous N, H, W, C) sums, for every input pixel, the entries of
// grad_cols that im2col copied from it. Each thread gathers its own pixel's entries (no atomics, so the
// result is deterministic), over the taps (u, v) in the order the NumPy twin adds them.
extern "C" __global__ void col2im(const real* grad_cols, int batch, int height, int width, int channels,
                                  int groups, int out_height, int out_width, int kh, int kw,
                                  int sh, int sw, int dh, int dw, int top, int left, real* grad_x) {
    int cg = channels / groups, depth = kh * kw * cg, rows = batch * out_height * out_width;
    int index = blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= batch * height * width * channels) return;
    int channel = index % channels, x_ = index / channels % width;
    int y = index / channels / width % height, b = index / channels / width / height;
    int g = channel / cg, c = channel % cg;
    real total = 0;
    for (int u = 0; u < kh; ++u) {
        int i = y + top - u * dh;  // = i_out * sh for the output row whose tap u reads row y
        if (i < 0 || i % sh != 0 || i / sh >= out_height) continue;
        for (int v = 0; v < kw; ++v) {
            int j = x_ + left - v * dw;
            if (j < 0 || j % sw != 0 || j / sw >= out_width) continue;
            int r = (b * out_height + i / sh) * out_width + j / sw;
            total += grad_cols[((long long)g * rows + r) * depth + (u * kw + v) * cg + c];
        }
    }
    grad_x[index] = total;
}

// max_pool2d forward and backward, the GPU twins of MaxPool2d in minidl/functional/pool.py.
//
// out and index are laid out like the input (channels-last when channels_last is 1, else NCHW), one
// thread per element. index holds the winning tap u*kw + v of each window; padding counts as -inf.
// `real` is float or double, set when the module is compiled (-Dreal=...).

// Position of element (b, c, y, x) of a contiguous (batch, channels, height, width) array in either layout.
__device__ int position(int b, int c, int y, int x, int channels, int height, int width, int channels_last) {
    if (channels_last) return ((b * height + y) * width + x) * channels + c;
    return ((b * channels + c) * height + y) * width + x;
}

// The inverse: (b, c, y, x) of the element at `id`.
__device__ void decode(int id, int channels, int height, int width, int channels_last, int* b, int* c, int* y,
                       int* x) {
    if (channels_last) {
        *c = id % channels; *x = id / channels % width; *y = id / channels / width % height;
        *b = id / channels / width / height;
    } else {
        *x = id % width; *y = id / width % height; *c = id / width / height % channels;
        *b = id / width / height / channels;
    }
}

extern "C" __global__ void max_pool2d_forward(const real* x, int xn, int xc, int xh, int xw,
                                              int batch, int channels, int height, int width,
                                              int out_height, int out_width, int kh, int kw,
                                              int sh, int sw, int ph, int pw, int channels_last,
                                              real lowest, real* out, int* index) {
    int id = blockIdx.x * blockDim.x + threadIdx.x;
    if (id >= batch * channels * out_height * out_width) return;
    int b, c, i, j;  // the output element this thread computes
    decode(id, channels, out_height, out_width, channels_last, &b, &c, &i, &j);
    real best = lowest;
    int winner = 0;
    for (int u = 0; u < kh; ++u) {
        for (int v = 0; v < kw; ++v) {
            int y = i * sh + u - ph, x_ = j * sw + v - pw;
            real value = (y >= 0 && y < height && x_ >= 0 && x_ < width)
                             ? x[b * xn + c * xc + y * xh + x_ * xw] : lowest;
            // As the NumPy twin: a strictly larger value wins (the first maximum stays on ties), a NaN always wins
            // (value != value is the NaN test: NaN alone is unequal to itself).
            if ((u == 0 && v == 0) || value > best || value != value) {
                best = value;
                winner = u * kw + v;
            }
        }
    }
    out[id] = best;
    index[id] = winner;
}

// grad_x (laid out like the input) gathers, for every input pixel, the gradients of the windows whose
// winner it was, over the taps in the order the NumPy twin adds them. grad is read through its strides.
extern "C" __global__ void max_pool2d_backward(const real* grad, int gn, int gc, int gh, int gw, const int* index,
                                               int batch, int channels, int height, int width,
                                               int out_height, int out_width, int kh, int kw,
                                               int sh, int sw, int ph, int pw, int channels_last, real* grad_x) {
    int id = blockIdx.x * blockDim.x + threadIdx.x;
    if (id >= batch * channels * height * width) return;
    int b, c, y, x_;  // the input pixel this thread gathers for
    decode(id, channels, height, width, channels_last, &b, &c, &y, &x_);
    real total = 0;
    for (int u = 0; u < kh; ++u) {
        int i = y + ph - u;  // = i_out * sh for the window whose tap u covers row y
        if (i < 0 || i % sh != 0 || i / sh >= out_height) continue;
        for (int v = 0; v < kw; ++v) {
            int j = x_ + pw - v;
            if (j < 0 || j % sw != 0 || j / sw >= out_width) continue;
            int window = position(b, c, i / sh, j / sw, channels, out_height, out_width, channels_last);
            if (index[window] == u * kw + v) total += grad[b * gn + c * gc + (i / sh) * gh + (j / sw) * gw];
        }
    }
    grad_x[id] = total;
}

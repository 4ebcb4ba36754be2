// Batch norm in training mode, the GPU twins of batch_statistics and batch_norm_backward in
// minidl/functional/norm.py: 5 launches forward (4 for the statistics, then normalise) and 3 backward (2 for
// the sums, then the input gradient), where the array-op version needs about a dozen each.
//
// x is the (count x channels) matrix of ChannelView (norm.py's helper): element m of channel c sits at
// m * channels + c in channels-last memory, else at ((m / spatial) * channels + c) * spatial + m % spatial.
//
// Every per-channel sum is a two-pass 2-D reduction, deterministic (a fixed order, no atomics):
//   pass 1 (*_chunks): the rows are cut into chunks, and block (k, g) adds chunk k of the channels of group g,
//          one partial sum per channel: enough blocks to fill a large GPU (batch_norm.py chooses the chunks);
//   pass 2 (finish_*): one block per channel adds that channel's partial sums and derives the statistics.
// In pass 1 neighbouring threads read neighbouring memory: in channels-last memory thread t takes channel
// g * lanes + t % lanes (up to 32 lanes) of row t / lanes; in NCHW memory a group is one channel (one lane)
// and thread t takes row t, both striding down the chunk. Like the NumPy twin the statistics take two passes
// over x (the mean, then the squared deviations from it), because E[x^2] - E[x]^2 cancels catastrophically
// when the mean is large against the spread. Summation order differs from NumPy's, so results agree to
// rounding, not bit for bit. `real` is float or double and THREADS a power of two (-Dreal=... -DTHREADS=...).

__device__ int offset(int m, int c, int channels, int spatial, int channels_last) {
    if (channels_last) return m * channels + c;
    return ((m / spatial) * channels + c) * spatial + m % spatial;
}

// Pass 1 of TERMS per-channel sums at once: each `term(at, c, part)` adds the terms of element `at` (of
// channel c) to part[0..TERMS). Writes partial[(q * channels + c) * chunks + k], chunks = gridDim.x.
template <int TERMS, typename Term>
__device__ void chunk_sums(Term term, int count, int channels, int spatial, int channels_last, int lanes,
                           int rows_per_chunk, real* partial) {
    __shared__ real sums[TERMS][THREADS];
    int lane = threadIdx.x % lanes, row = threadIdx.x / lanes, rows = THREADS / lanes;
    int c = blockIdx.y * lanes + lane;
    int first = blockIdx.x * rows_per_chunk;
    int end = count - first < rows_per_chunk ? count : first + rows_per_chunk;
    real part[TERMS] = {};
    if (row < rows && c < channels) {
        for (int m = first + row; m < end; m += rows) term(offset(m, c, channels, spatial, channels_last), c, part);
    }
    for (int q = 0; q < TERMS; ++q) sums[q][threadIdx.x] = part[q];
    __syncthreads();
    for (int step = 1; step < rows; step *= 2) {  // a tree over the rows: row r adds row r + step, r % 2step = 0
        if (row % (2 * step) == 0 && row + step < rows) {
            for (int q = 0; q < TERMS; ++q) sums[q][threadIdx.x] += sums[q][threadIdx.x + step * lanes];
        }
        __syncthreads();
    }
    if (row == 0 && c < channels) {
        for (int q = 0; q < TERMS; ++q) partial[(q * channels + c) * gridDim.x + blockIdx.x] = sums[q][lane];
    }
}

struct Values {  // sum(x)
    const real* x;
    __device__ void operator()(int at, int, real* part) const { part[0] += x[at]; }
};

struct SquaredDeviations {  // sum((x - mean)^2)
    const real *x, *mean;
    __device__ void operator()(int at, int c, real* part) const {
        real d = x[at] - mean[c];
        part[0] += d * d;
    }
};

struct GradientSums {  // sum(g) and sum(g * (x - mean))
    const real *g, *x, *mean;
    __device__ void operator()(int at, int c, real* part) const {
        part[0] += g[at];
        part[1] += g[at] * (x[at] - mean[c]);
    }
};

extern "C" __global__ void sum_chunks(const real* x, int count, int channels, int spatial, int channels_last,
                                      int lanes, int rows_per_chunk, real* partial) {
    chunk_sums<1>(Values{x}, count, channels, spatial, channels_last, lanes, rows_per_chunk, partial);
}

extern "C" __global__ void squared_deviation_chunks(const real* x, const real* mean, int count, int channels,
                                                    int spatial, int channels_last, int lanes, int rows_per_chunk,
                                                    real* partial) {
    chunk_sums<1>(SquaredDeviations{x, mean}, count, channels, spatial, channels_last, lanes, rows_per_chunk,
                  partial);
}

extern "C" __global__ void gradient_chunks(const real* g, const real* x, const real* mean, int count, int channels,
                                           int spatial, int channels_last, int lanes, int rows_per_chunk,
                                           real* partial) {
    chunk_sums<2>(GradientSums{g, x, mean}, count, channels, spatial, channels_last, lanes, rows_per_chunk,
                  partial);
}

// The sum over the block of every thread's `value`, returned to all threads. `sums` is shared, THREADS long.
__device__ real block_sum(real* sums, real value) {
    sums[threadIdx.x] = value;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half /= 2) {  // halve the live part until sums[0] holds all
        if (threadIdx.x < half) sums[threadIdx.x] += sums[threadIdx.x + half];
        __syncthreads();
    }
    real total = sums[0];
    __syncthreads();  // every thread has read sums[0] before the next call overwrites it
    return total;
}

// Pass 2: the sum of the `chunks` partial sums from partial[0], returned to every thread of the block.
__device__ real sum_of_chunks(const real* partial, int chunks) {
    __shared__ real sums[THREADS];
    real part = 0;
    for (int k = threadIdx.x; k < chunks; k += THREADS) part += partial[k];
    return block_sum(sums, part);
}

// mean = sum(x) / count, one block per channel.
extern "C" __global__ void finish_mean(const real* partial, int chunks, int count, real* mean) {
    int c = blockIdx.x;
    real total = sum_of_chunks(partial + c * chunks, chunks);
    if (threadIdx.x == 0) mean[c] = total / count;
}

// The biased var, inv_std = 1 / sqrt(var + eps) and scale = inv_std * weight of each channel.
extern "C" __global__ void finish_variance(const real* partial, int chunks, int count, const real* weight, real eps,
                                           real* var, real* inv_std, real* scale) {
    int c = blockIdx.x;
    real sigma2 = sum_of_chunks(partial + c * chunks, chunks) / count;
    if (threadIdx.x == 0) {
        real s = 1 / sqrt(sigma2 + eps);
        var[c] = sigma2;
        inv_std[c] = s;
        scale[c] = s * weight[c];
    }
}

// Per channel: g_bias = sum(g), g_centred = sum(g * (x - mean)) and g_weight = g_centred * inv_std.
extern "C" __global__ void finish_gradient_sums(const real* partial, int chunks, int channels, const real* inv_std,
                                                real* g_bias, real* g_centred, real* g_weight) {
    int c = blockIdx.x;
    real total_g = sum_of_chunks(partial + c * chunks, chunks);
    real total_gc = sum_of_chunks(partial + (channels + c) * chunks, chunks);
    if (threadIdx.x == 0) {
        g_bias[c] = total_g;
        g_centred[c] = total_gc;
        g_weight[c] = total_gc * inv_std[c];
    }
}

// out = (x - mean) * scale + bias, per channel; out has x's layout. One thread per element.
extern "C" __global__ void batch_norm_forward(const real* x, const real* mean, const real* scale, const real* bias,
                                              int size, int channels, int spatial, int channels_last, real* out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= size) return;
    int c = channels_last ? i % channels : i / spatial % channels;
    out[i] = (x[i] - mean[c]) * scale[c] + bias[c];
}

// g_x = ((x - mean) * (-inv_std^2 * g_centred / count) + g - g_bias / count) * scale: the batch mean and
// variance depend on every sample, hence the two centring terms (see the NumPy twin's docstring).
extern "C" __global__ void batch_norm_backward(const real* g, const real* x, const real* mean, const real* inv_std,
                                               const real* scale, const real* g_bias, const real* g_centred,
                                               int size, int channels, int spatial, int channels_last, real* g_x) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= size) return;
    int c = channels_last ? i % channels : i / spatial % channels;
    int count = size / channels;
    real slope = -(inv_std[c] * inv_std[c]) * g_centred[c] / count;
    g_x[i] = ((x[i] - mean[c]) * slope + g[i] - g_bias[c] / count) * scale[c];
}

// The running buffers move toward the batch: running = (1 - momentum) * running + momentum * batch statistic,
// with the unbiased variance (momentum * count / (count - 1) * var). One thread per channel.
extern "C" __global__ void update_running_stats(real* running_mean, real* running_var, const real* mean,
                                                const real* var, int channels, real keep, real momentum,
                                                real unbiased_momentum) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    running_mean[c] = running_mean[c] * keep + momentum * mean[c];
    running_var[c] = running_var[c] * keep + unbiased_momentum * var[c];
}

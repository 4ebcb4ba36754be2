// Batch norm in training mode, the GPU twins of batch_statistics and batch_norm_backward in
// minidl/functional/norm.py: 2 launches forward (statistics, then normalise) and 2 backward (sums, then
// the input gradient), where the array-op version needs about a dozen each.
//
// x is the (count x channels) matrix of ChannelView (norm.py's helper): element m of channel c sits at
// m * channels + c in channels-last memory, else at ((m / spatial) * channels + c) * spatial + m % spatial.
//
// Statistics: one block per channel. Its threads sum strided parts of the channel, and a shared-memory
// tree reduction adds the partial sums. Like the NumPy twin it makes two passes over the channel (the mean,
// then the sum of squared deviations from it), because E[x^2] - E[x]^2 cancels catastrophically when the
// mean is large against the spread; the second pass reads the channel from the L2 cache. Both passes are in
// one launch. Summation order differs from NumPy's, so results agree to rounding, not bit for bit.
// `real` is float or double, set when the module is compiled (-Dreal=...).

#define THREADS 256  // threads per block for the per-channel kernels: a power of two, for the tree

__device__ int offset(int m, int c, int channels, int spatial, int channels_last) {
    if (channels_last) return m * channels + c;
    return ((m / spatial) * channels + c) * spatial + m % spatial;
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

// mean, biased var, inv_std = 1 / sqrt(var + eps) and scale = inv_std * weight of each channel.
extern "C" __global__ void batch_statistics(const real* x, int count, int channels, int spatial, int channels_last,
                                            const real* weight, real eps, real* mean, real* var, real* inv_std,
                                            real* scale) {
    __shared__ real sums[THREADS];
    int c = blockIdx.x;
    real part = 0;
    for (int m = threadIdx.x; m < count; m += THREADS) part += x[offset(m, c, channels, spatial, channels_last)];
    real mu = block_sum(sums, part) / count;
    part = 0;
    for (int m = threadIdx.x; m < count; m += THREADS) {
        real d = x[offset(m, c, channels, spatial, channels_last)] - mu;
        part += d * d;
    }
    real sigma2 = block_sum(sums, part) / count;
    if (threadIdx.x == 0) {
        real s = 1 / sqrt(sigma2 + eps);
        mean[c] = mu;
        var[c] = sigma2;
        inv_std[c] = s;
        scale[c] = s * weight[c];
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

// Per channel: g_bias = sum(g), g_centred = sum(g * (x - mean)) and g_weight = g_centred * inv_std.
extern "C" __global__ void batch_norm_backward_sums(const real* g, const real* x, const real* mean,
                                                    const real* inv_std, int count, int channels, int spatial,
                                                    int channels_last, real* g_bias, real* g_centred,
                                                    real* g_weight) {
    __shared__ real sums[THREADS];
    int c = blockIdx.x;
    real part_g = 0, part_gc = 0;
    for (int m = threadIdx.x; m < count; m += THREADS) {
        int at = offset(m, c, channels, spatial, channels_last);
        part_g += g[at];
        part_gc += g[at] * (x[at] - mean[c]);
    }
    real total_g = block_sum(sums, part_g);
    real total_gc = block_sum(sums, part_gc);
    if (threadIdx.x == 0) {
        g_bias[c] = total_g;
        g_centred[c] = total_gc;
        g_weight[c] = total_gc * inv_std[c];
    }
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

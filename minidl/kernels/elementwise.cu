// Fused elementwise chains of a ResNet step: one pass over memory where the array ops make two or three.
// Twins: relu(a + b) (the residual unit's output, F.add_relu) and t * h + (1 - t) * c (the highway unit's
// gate, F.highway_combine); with their backward. Operands share one memory layout and are walked flat, one
// thread per element. `real` is float or double (-Dreal=...).

extern "C" __global__ void add_relu(const real* a, const real* b, int size, real* out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= size) return;
    real s = a[i] + b[i];
    out[i] = s < 0 ? (real)0 : s;
}

// The gradient through a ReLU whose output was `out`: grad where out > 0, else 0 (grad * 0, as NumPy).
extern "C" __global__ void relu_backward(const real* grad, const real* out, int size, real* grad_x) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= size) return;
    grad_x[i] = grad[i] * (real)(out[i] > 0);
}

extern "C" __global__ void highway_combine(const real* t, const real* h, const real* c, int size, real* out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= size) return;
    out[i] = t[i] * h[i] + (1 - t[i]) * c[i];
}

// d/dt = g * h - g * c, d/dh = g * t, d/dc = g * (1 - t).
extern "C" __global__ void highway_combine_backward(const real* grad, const real* t, const real* h, const real* c,
                                                    int size, real* grad_t, real* grad_h, real* grad_c) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= size) return;
    real g = grad[i];
    grad_t[i] = g * h[i] - g * c[i];
    grad_h[i] = g * t[i];
    grad_c[i] = g * (1 - t[i]);
}

// One SGD step of one parameter, the GPU twin of SGD.step in minidl/optim/sgd.py (torch.optim.SGD's rule):
//     g = grad + weight_decay * p
//     buf = g on the first step, else buf = momentum * buf + (1 - dampening) * g
//     p -= lr * (nesterov ? g + momentum * buf : buf)
// One launch per parameter where the array ops make six or seven. One thread per element; p, grad and buf
// share one memory layout. `real` is float or double, set when the module is compiled (-Dreal=...).

extern "C" __global__ void sgd_momentum_step(real* p, const real* grad, real* buf, int size, real lr, real momentum,
                                             real one_minus_dampening, real weight_decay, int nesterov, int first) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= size) return;
    real g = weight_decay != 0 ? grad[i] + weight_decay * p[i] : grad[i];
    real b = first ? g : buf[i] * momentum + one_minus_dampening * g;
    buf[i] = b;
    p[i] -= lr * (nesterov ? g + momentum * b : b);
}

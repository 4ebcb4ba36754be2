// Just enough of CUDA C for minidl's kernels to compile as C++ and run on the CPU (see emulation.py).
//
// A launch runs every block of the grid in turn, and every thread of a block one after another, with
// threadIdx / blockIdx set for it: the "one loop iteration per thread" of the CUDA programming model.
// Kernels that call __syncthreads() run each thread of a block as a coroutine (ucontext) instead: a thread
// runs until it reaches the barrier, then the next thread runs; once all threads of the block wait there,
// they all continue. The order of memory accesses is then one that a real GPU may also produce, so
// a kernel that is correct under CUDA's rules gives the same result here. Warp-synchronous code (relying on
// 32 threads moving in lockstep without a barrier) is outside those rules and is not emulated.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>
#include <ucontext.h>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

// One emulated thread runs at a time, so plain globals suffice for the built-in index variables.
static dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __shared__ static  // one instance; blocks run one after another, so each block sees its own

using std::sqrt;  // the float and double overloads, as CUDA's device sqrt

namespace emulation {

const size_t STACK_BYTES = 1 << 16;  // per coroutine thread; minidl's kernels keep little on the stack

struct Block {
    std::vector<ucontext_t> threads;
    std::vector<std::vector<char>> stacks;
    std::vector<bool> finished;
    ucontext_t scheduler;
    unsigned current = 0;
    const std::function<void()> *body = nullptr;
    bool cooperative = false;
};
static Block block;

inline void fail(const char *message) {
    std::fprintf(stderr, "cuda_emulation: %s\n", message);
    std::abort();
}

inline dim3 index_of(unsigned linear, dim3 shape) {
    dim3 index;
    index.x = linear % shape.x;
    index.y = linear / shape.x % shape.y;
    index.z = linear / (shape.x * shape.y);
    return index;
}

inline void run_thread() {  // entry point of one coroutine thread
    (*block.body)();
    block.finished[block.current] = true;
}  // returning resumes uc_link, the scheduler

// Run one block's threads as coroutines, round after round, each round up to the next barrier. False when
// some threads returned while others wait at a barrier (undefined behaviour on a GPU).
inline bool run_block_cooperatively(const std::function<void()> &body) {
    unsigned count = blockDim.x * blockDim.y * blockDim.z;
    block.threads.assign(count, ucontext_t());
    block.stacks.resize(count, std::vector<char>(STACK_BYTES));
    block.finished.assign(count, false);
    block.body = &body;
    for (unsigned t = 0; t < count; ++t) {
        getcontext(&block.threads[t]);
        block.threads[t].uc_stack.ss_sp = block.stacks[t].data();
        block.threads[t].uc_stack.ss_size = STACK_BYTES;
        block.threads[t].uc_link = &block.scheduler;
        makecontext(&block.threads[t], run_thread, 0);
    }
    for (;;) {
        unsigned done = 0;
        for (unsigned t = 0; t < count; ++t) {
            if (block.finished[t]) { ++done; continue; }
            block.current = t;
            threadIdx = index_of(t, blockDim);
            swapcontext(&block.scheduler, &block.threads[t]);
            done += block.finished[t];
        }
        if (done == count) return true;
        if (done != 0) return false;
    }
}

// Run the kernel `body` over the grid; false if a block failed at a barrier (see above).
inline bool launch(dim3 grid, dim3 threads, const std::function<void()> &body, bool cooperative) {
    gridDim = grid;
    blockDim = threads;
    block.cooperative = cooperative;
    unsigned blocks = grid.x * grid.y * grid.z, per_block = threads.x * threads.y * threads.z;
    for (unsigned b = 0; b < blocks; ++b) {
        blockIdx = index_of(b, grid);
        if (cooperative) {
            if (!run_block_cooperatively(body)) return false;
            continue;
        }
        for (unsigned t = 0; t < per_block; ++t) {
            threadIdx = index_of(t, threads);
            body();
        }
    }
    return true;
}

}  // namespace emulation

// The barrier: hand control back to the scheduler, which resumes this thread once the others arrive.
inline void __syncthreads() {
    if (!emulation::block.cooperative) emulation::fail("__syncthreads() in a kernel emulated without barriers");
    swapcontext(&emulation::block.threads[emulation::block.current], &emulation::block.scheduler);
}

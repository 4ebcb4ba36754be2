"""What makes a training run differ between machines: one epoch of resnet20 (512 images at 16x16, seed 0) under
1 and 2 threads, with NumPy's AVX-512 loops switched off, and with OpenBLAS forced to its Haswell kernels.

    python benchmarks/machine_rounding.py

Each setting runs in a fresh process (NumPy and OpenBLAS read these variables when they load); the table prints
the final training and test loss to the last digit. Equal rows mean bit-identical runs.
"""
import os
import subprocess
import sys

SETTINGS = [("1 thread", {"MINIDL_NUM_THREADS": "1"}), ("2 threads", {"MINIDL_NUM_THREADS": "2"}),
            ("2 threads, NumPy without AVX-512", {"MINIDL_NUM_THREADS": "2", "NPY_DISABLE_CPU_FEATURES":
                                                  "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"}),
            ("2 threads, OpenBLAS Haswell kernels", {"MINIDL_NUM_THREADS": "2", "OPENBLAS_CORETYPE": "Haswell"})]

ONE_EPOCH = """
import numpy as np, minidl
x, y, xt, yt = minidl.data.cifar10(subset=512, verbose=False)
x, xt = (a.reshape(len(a), 3, 16, 2, 16, 2).mean(axis=(3, 5)).astype(np.float32) for a in (x, xt[:200]))
minidl.manual_seed(0)
h = minidl.train(minidl.models.create("resnet20"), data=(x, y, xt, yt[:200]), epochs=1, lr=0.1, progress=False)
print(repr(h.final["train_loss"]), repr(h.final["test_loss"]))
"""


def main():
    print(f"{'setting':<38}{'train loss':>22}{'test loss':>22}")
    for name, variables in SETTINGS:
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}
        out = subprocess.run([sys.executable, "-c", ONE_EPOCH], env={**env, **variables}, capture_output=True,
                             text=True, check=True).stdout.split()
        print(f"{name:<38}{out[0]:>22}{out[1]:>22}")


if __name__ == "__main__":
    main()

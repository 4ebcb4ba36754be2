#!/usr/bin/env bash
# The GPU check of minidl, one script, under 8 minutes on an H100/H200 (each part has its own time limit):
#   1. the GPU tests (pytest -m gpu: every kernel and the ops that use them, against the CPU);
#   2. one epoch of resnet20 on the bundled CIFAR-10 subset with --device cuda;
#   3. the training-step benchmark against PyTorch + cuDNN, same GPU, same run (benchmarks/gpu_step.py);
#   4. with the time left of the 8 minutes (at least a minute), each lesson's --quick run with --device cuda,
#      chapter after chapter, until the time is up (the GPU path of the lessons' code);
#   5. with what is then left (at least two minutes), the lessons' reference suite on the GPU
#      (lessons/reference_suite.py --device cuda --jobs 8: eight units at a time, each in its own process, so
#      that one unit's kernels run while another's Python works), which resumes at its first unrecorded unit;
#      the reference files it extended are copied to $OUT. On its own: python lessons/reference_suite.py
#      --device cuda --jobs 8.
# Needs CuPy, numpy, pytest, tqdm (PyTorch for part 3); runs from the checkout (no install, PYTHONPATH=.).
# Results go to $OUT (default ./gpu_check_out): 8 files and the reference files part 5 extended, no sub-folders. Exit status 1 if any part failed.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu_check_out}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
status=0

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  "$PY" -c "import sys, numpy, cupy; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__)"
  "$PY" -c "import torch; print('torch', torch.__version__, 'cudnn', torch.backends.cudnn.version())"
  git log -1 --oneline; } > "$OUT/machine.txt" 2>&1

BUDGET=480  # seconds for the whole check
SECONDS=0

echo "== 1/5 GPU tests"
timeout 200 "$PY" -m pytest -q -m gpu -rs -p no:cacheprovider tests 2>&1 | tee "$OUT/pytest_gpu.txt" || status=1

echo "== 2/5 one epoch of resnet20 on the bundled subset, --device cuda"
timeout 120 "$PY" -m minidl train resnet20 --epochs 1 --device cuda --no-progress \
    --history "$OUT/resnet20_epoch.json" 2>&1 | tee "$OUT/train_epoch.txt" || status=1

echo "== 3/5 training step against PyTorch + cuDNN"
timeout 120 "$PY" benchmarks/gpu_step.py --models resnet20 --out "$OUT" 2>&1 | tee "$OUT/gpu_step.txt" || status=1

echo "== 4/5 the lessons' --quick runs on the GPU, in the $((BUDGET - SECONDS)) s left"
lesson_out=$(mktemp -d)
for chapter in lessons/ch[0-9][0-9]_*.py; do
  left=$((BUDGET - SECONDS - 10))
  if [ "$left" -lt 60 ]; then echo "$chapter: not run, $left s left"; continue; fi
  echo "-- $chapter"
  timeout "$left" "$PY" "$chapter" --quick --device cuda --out "$lesson_out/$(basename "$chapter" .py)"
  code=$?
  if [ "$code" -eq 124 ]; then echo "$chapter: stopped at the time limit"
  elif [ "$code" -ne 0 ]; then echo "$chapter: FAILED (exit $code)"; fi
done 2>&1 | tee "$OUT/lessons_gpu.txt"
grep -q ": FAILED (exit" "$OUT/lessons_gpu.txt" && status=1
rm -rf "$lesson_out"

left=$((BUDGET - SECONDS - 10))
echo "== 5/5 the reference suite on the GPU, in the $left s left"
if [ "$left" -ge 120 ]; then
  # start no unit in the last minute; a unit still running at the limit is lost, the recorded ones are kept
  timeout "$left" "$PY" lessons/reference_suite.py --device cuda --jobs 8 --hours "$(awk "BEGIN {print ($left - 60) / 3600}")" \
      2>&1 | tee "$OUT/reference_suite.txt"
  cp lessons/reference/*.json "$OUT"/ 2>/dev/null
else
  echo "not run: $left s left" | tee "$OUT/reference_suite.txt"
fi

echo "gpu_check: status $status, results in $OUT"
exit $status

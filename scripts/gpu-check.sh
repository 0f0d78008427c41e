#!/usr/bin/env bash
# Runs on a lent GPU machine, from the repository root, with the bundle made by
# `make gpu-bundle` carried along (gpu-bundle/, git-ignored). Usage on the device:
#   bash scripts/gpu-check.sh [TEST_FILTER] [BENCH_MODELS]     (TEST_FILTER "none" skips the test;
#   MODES="plain channels-last amp" picks the throughput comparisons)
# e.g. bash scripts/gpu-check.sh 'gpu::fashion_alexnet_fits_random_labels' alexnet,resnet18
# Everything it measures goes to $OUT (or gpu-bundle/out) as logs and JSON.
set -euo pipefail
filter=${1:-gpu::fashion_alexnet_fits_random_labels}
models=${2:-alexnet,resnet18}
out=${OUT:-gpu-bundle/out}
mkdir -p "$out"
torch_lib=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torch_lib:${LD_LIBRARY_PATH:-}"
export RETHINK_DATA_DIR="$PWD/gpu-bundle/data"
export RETHINK_ROOT="$PWD"
# The test's run directories (config, per-epoch metrics, summary) go here and come back as
# one archive.
export RETHINK_RESULTS_DIR="$PWD/gpu-bundle/results"
b=gpu-bundle/bin
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
  "$b/rethink" models
  "$b/rethink" data verify fashion-mnist
} 2>&1 | tee "$out/env.log"
# One full-scale claim test (nextest's gpu group would run them one at a time; here: one).
if [ "$filter" != none ]; then
  start=$(date +%s)
  "$b/claims" --exact "$filter" --nocapture 2>&1 | tee "$out/test.log" || echo "TEST FAILED" | tee -a "$out/test.log"
  echo "test wall seconds: $(( $(date +%s) - start ))" | tee -a "$out/test.log"
  tar czf "$out/runs.tar.gz" -C "$RETHINK_RESULTS_DIR" runs || echo "no run directory" | tee -a "$out/test.log"
fi
# Throughput against PyTorch eager on CUDA, once per mode in $MODES (default: all three,
# each about 2 minutes for AlexNet and ResNet18 by estimate, never yet run on a GPU): fp32 NCHW, channels-last,
# and mixed precision (ours: --amp; PyTorch: torch.autocast + GradScaler).
for mode in ${MODES:-plain channels-last amp}; do
  case $mode in
    plain) flag=""; log=bench.log ;;
    channels-last) flag="--channels-last"; log=bench-channels-last.log ;;
    amp) flag="--amp"; log=bench-amp.log ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  # shellcheck disable=SC2086
  python3 scripts/bench_compare.py --ours "$b/throughput" --reps 3 --device cuda --models "$models" \
    --peak-tflops "${PEAK_TFLOPS:-67}" $flag 2>&1 | tee "$out/$log"
done

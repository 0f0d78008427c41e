#!/usr/bin/env bash
# Runs on a lent GPU machine, from the repository root, with the bundle made by
# `make gpu-bundle` carried along (gpu-bundle/, git-ignored). One command, about 8 minutes at most
# by construction (each part has its own time limit), bringing back at most 8 files:
#
#   bash scripts/gpu-check.sh [TEST] [BENCH_MODELS]
#     TEST          a nightly test (default gpu::fashion_alexnet_fits_random_labels; "none" skips)
#     BENCH_MODELS  models for the throughput comparison (default alexnet,resnet18)
#   TEST_S=195      seconds for the test (its run is kept, finished or not: per-epoch curve
#                   and seconds per epoch; a rerun resumes it from its checkpoint)
#   BENCH_S=90      seconds per throughput mode
#   MODES="plain amp"   throughput comparisons against PyTorch eager ("channels-last" too)
#   PYTORCH_SGD=foreach,fused   the torch.optim.SGD implementations eager runs with
#   KERNELS_S=45    seconds for the kernels-per-SGD-step count (benches/sgd_kernels.py)
#   PEAK_TF32_TFLOPS=495, PEAK_FP16_TFLOPS=989   dense peaks for the utilization (H100/H200
#                   SXM): fp32 convolutions run on TF32 tensor cores (cuDNN's default), amp on fp16
#
# Files in $OUT (or gpu-bundle/out): summary.txt (one line per part and its exit status),
# env.log, test.log, runs.tar.gz (the test's run directories), kernels.log, bench-MODE.log
# per mode.
# A part that fails or times out is recorded and the next one runs.
set -uo pipefail
test=${1:-gpu::fashion_alexnet_fits_random_labels}
models=${2:-alexnet,resnet18}
out=${OUT:-gpu-bundle/out}
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"
part() { # part NAME LOG SECONDS COMMAND...: runs COMMAND under a time limit, logs, records
  local name=$1 log=$2 secs=$3 start status
  shift 3
  start=$(date +%s)
  timeout --kill-after=10 "$secs" "$@" >"$log" 2>&1
  status=$?
  local verdict=ok
  [ "$status" -eq 124 ] && verdict="timed out after ${secs}s"
  [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && verdict="failed (exit $status)"
  echo "$name: $verdict in $(($(date +%s) - start)) s" | tee -a "$summary"
}
torch_lib=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH="${torch_lib:+$torch_lib:}${LD_LIBRARY_PATH:-}"
export RETHINK_DATA_DIR="$PWD/gpu-bundle/data"
export RETHINK_ROOT="$PWD"
export RETHINK_NIGHTLY_SCALE=gpu
# The test's run directories (config, per-epoch metrics, summary, checkpoint) go here.
export RETHINK_RESULTS_DIR="$PWD/gpu-bundle/results"
b=gpu-bundle/bin
part env "$out/env.log" 60 bash -c "
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c 'import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"cudnn\", torch.backends.cudnn.version(), torch.cuda.is_available())'
  $b/rethink models && $b/rethink data verify fashion-mnist"
if [ "$test" != none ]; then
  part "test $test" "$out/test.log" "${TEST_S:-195}" "$b/claims" --exact "$test" --nocapture
  if [ -d "$RETHINK_RESULTS_DIR/runs" ]; then
    tar czf "$out/runs.tar.gz" -C "$RETHINK_RESULTS_DIR" runs
  else
    echo "runs: none written" | tee -a "$summary"
  fi
fi
part kernels "$out/kernels.log" "${KERNELS_S:-45}" python3 benches/sgd_kernels.py --device cuda
for mode in ${MODES:-plain amp}; do
  case $mode in
    plain) flag=""; peak=${PEAK_TF32_TFLOPS:-495} ;;
    channels-last) flag="--channels-last"; peak=${PEAK_TF32_TFLOPS:-495} ;;
    amp) flag="--amp"; peak=${PEAK_FP16_TFLOPS:-989} ;;
    *) echo "bench $mode: unknown mode" | tee -a "$summary"; continue ;;
  esac
  # shellcheck disable=SC2086
  part "bench $mode" "$out/bench-$mode.log" "${BENCH_S:-90}" python3 scripts/bench_compare.py \
    --ours "$b/throughput" --reps 3 --device cuda --models "$models" --peak-tflops "$peak" \
    --pytorch-sgd "${PYTORCH_SGD:-foreach,fused}" $flag
done
cat "$summary"

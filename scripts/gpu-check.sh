#!/usr/bin/env bash
# The first contact with a lent GPU machine: one command of at most 9 minutes, run from
# the repository root with the bundle of `make gpu-bundle` carried along (gpu-bundle/, under
# 64 MiB). Everything it brings back is written into $OUT as it goes, each file well under
# 16 MiB, and no checkpoint is among them, so a command cut off at the device's time limit
# still returns what it had measured. Its parts, most valuable first:
#
#   1. preflight (PREFLIGHT_S=40): stops the script at once, with one line, when the torch
#      library path is empty, torch is not 2.11, or CUDA is not visible; then two-epoch CUDA
#      smokes (SMOKE_S=40 each) on 2,000 Fashion-MNIST images that take every CUDA-only
#      path: ResNet18 with --amp --channels-last, and AlexNet plain.
#   2. main (MAIN_S=240): the full-scale Fashion-MNIST AlexNet random-label run
#      (`rethink run --preset fashion-alexnet-random-labels`), its config, per-epoch metrics
#      and (once it finishes) summary copied into $OUT/runs/ within seconds of each epoch;
#      judge it afterwards with `rethink report $OUT` (`runs/` holds one run directory).
#   3. bench (BENCH_S=85 per mode, MODES="fp32 amp"): images/s of our training step against
#      PyTorch eager with torch.optim.SGD foreach, ResNet18 first then AlexNet, each at the
#      nightly's input shape 1x28x28 and at 3x32x32; warm-up by time, timed windows of 50
#      steps, unbuffered output, and a failed child's own error printed.
#
# The limits add up to 530 s at most, with start-up and the last copies inside 9 minutes.
#
# $OUT (default gpu-bundle/out): summary.txt (each part's status and seconds), preflight.log,
# smoke-resnet18.log, smoke-alexnet.log, main.log, bench-fp32.log, bench-amp.log, and
# runs/NAME/{config.json,metrics.jsonl,summary.json} for each run. Scratch work (run
# directories with their checkpoints) goes to $WORK (default: a fresh temporary folder); with
# the same WORK, a rerun on the same machine resumes the main run from its checkpoint.
#
# DRY=1 runs the same parts end to end on the CPU with tiny sizes (`make gpu-check-dry`,
# in CI): the smokes on 64 images without --amp (the CLI refuses amp off CUDA; the CPU test
# of the amp wiring covers it), the main run on 128 images for 2 epochs, and the bench at
# batch 4 with windows of 2 steps. BUNDLE names the bundle (default gpu-bundle).
set -uo pipefail
cd "$(dirname "$0")/.."
dry=${DRY:-0}
bundle=${BUNDLE:-gpu-bundle}
out=${OUT:-$bundle/out}
work=${WORK:-$(mktemp -d)}
mkdir -p "$out/runs" "$work"
out=$(cd "$out" && pwd)
summary="$out/summary.txt"
: >"$summary"
b=$bundle/bin
export RETHINK_DATA_DIR="$PWD/$bundle/data"
export PYTHONUNBUFFERED=1
if [ "$dry" = 1 ]; then
  device=cpu
  # PyPI's wheel in .libtorch is the Python torch of this checkout.
  export PYTHONPATH="$PWD/.libtorch${PYTHONPATH:+:$PYTHONPATH}"
  smoke_size=64 main_flags="--train-size 128 --test-size 128 --epochs 2" amp_flags=()
  bench_flags=(--batch 4 --steps 2 --windows 1 --warmup-s 0)
else
  device=cuda
  smoke_size=2000 main_flags="" amp_flags=(--amp)
  bench_flags=(--steps 50 --windows 3 --warmup-s 3)
fi
export out work b device smoke_size main_flags
echo "gpu-check: $([ "$dry" = 1 ] && echo "dry run on CPU" || echo "on CUDA"), bundle $bundle, out $out, work $work" | tee -a "$summary"

# part NAME SECONDS COMMAND...: COMMAND under a time limit, its output in $out/NAME.log, its
# status and time in summary.txt.
part() {
  local name=$1 secs=$2 start status verdict=ok
  shift 2
  start=$(date +%s)
  # A new bash runs the part, so that it can be one of the functions exported below.
  timeout --kill-after=10 "$secs" bash -c '"$@"' "$name" "$@" >"$out/$name.log" 2>&1
  status=$?
  [ "$status" -eq 124 ] && verdict="timed out after ${secs}s"
  [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && verdict="failed (exit $status)"
  echo "$name: $verdict in $(($(date +%s) - start)) s" | tee -a "$summary"
  return "$status"
}

# Copies a run directory's record (never its checkpoint) into $out/runs/NAME, each file
# through a temporary name, so that $out always holds whole files.
keep_record() {
  local src=$1 dst=$out/runs/${1##*/} f
  mkdir -p "$dst"
  for f in config.json metrics.jsonl summary.json corrupted.json; do
    [ -f "$src/$f" ] || continue
    cp "$src/$f" "$dst/.$f.tmp" && mv "$dst/.$f.tmp" "$dst/$f"
  done
}

# 1. preflight: the environment first; nothing else is worth running without it.
env_check() {
  local ok=1
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 - "$device" <<'PY' || ok=0
import os, sys
try:
    import torch
except Exception as e:
    sys.exit(f"preflight failed: python3 cannot import torch ({e}); the bundle carries no libtorch and needs torch 2.11")
lib = os.path.join(os.path.dirname(torch.__file__), "lib")
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "lib", lib)
if not os.path.isdir(lib) or not any(f.startswith("libtorch") for f in os.listdir(lib)):
    sys.exit(f"preflight failed: torch's library path {lib} holds no libtorch")
if not torch.__version__.startswith("2.11."):
    sys.exit(f"preflight failed: torch {torch.__version__}, the bundle is built for 2.11")
if sys.argv[1] == "cuda" and not torch.cuda.is_available():
    sys.exit(f"preflight failed: torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA device")
if sys.argv[1] == "cuda":
    print("cuda device:", torch.cuda.get_device_name(0))
PY
  [ "$ok" = 1 ] || return 1
  "$b/rethink" models && "$b/rethink" data verify fashion-mnist
}
export -f keep_record env_check
torch_lib=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH="${torch_lib:+$torch_lib:}${LD_LIBRARY_PATH:-}"
if ! part preflight "${PREFLIGHT_S:-40}" env_check; then
  grep -m1 '^preflight failed' "$out/preflight.log" | tee -a "$summary" \
    || echo "preflight failed: see preflight.log" | tee -a "$summary"
  exit 1
fi
smoke() { # smoke NAME PRESET FLAGS...: two epochs on $smoke_size images
  local name=$1 preset=$2
  shift 2
  "$b/rethink" run --preset "$preset" --train-size "$smoke_size" --test-size "$smoke_size" \
    --epochs 2 --device "$device" --quiet --force --out "$work/$name" "$@"
  local status=$?
  keep_record "$work/$name"
  return "$status"
}
export -f smoke
part smoke-resnet18 "${SMOKE_S:-40}" smoke smoke-resnet18 fashion-resnet18-true-labels "${amp_flags[@]}" --channels-last
part smoke-alexnet "${SMOKE_S:-40}" smoke smoke-alexnet fashion-alexnet-true-labels

# 2. main: the full-scale random-label run, its record mirrored into $out every 2 seconds.
main_run() {
  local dir=$work/fashion-alexnet-random-labels
  if [ -f "$dir/checkpoint.ot" ]; then
    # A rerun with the same WORK on the same machine continues where the last one stopped.
    "$b/rethink" run --resume "$dir" --device "$device" --quiet &
  else
    # shellcheck disable=SC2086
    "$b/rethink" run --preset fashion-alexnet-random-labels --device "$device" --quiet \
      --force --out "$dir" $main_flags &
  fi
  local pid=$!
  trap 'kill -TERM $pid 2>/dev/null; wait $pid; keep_record "$dir"; exit 124' TERM
  while kill -0 "$pid" 2>/dev/null; do
    [ -d "$dir" ] && keep_record "$dir"
    sleep 2
  done
  wait "$pid"
  local status=$?
  keep_record "$dir"
  return "$status"
}
export -f main_run
part main "${MAIN_S:-240}" main_run
if [ -f "$out/runs/fashion-alexnet-random-labels/metrics.jsonl" ]; then
  echo "main: $(($(wc -l <"$out/runs/fashion-alexnet-random-labels/metrics.jsonl") - 1)) epochs measured, $([ -f "$out/runs/fashion-alexnet-random-labels/summary.json" ] && echo finished || echo "not finished")" | tee -a "$summary"
fi

# 3. bench: ResNet18 first, then AlexNet, at both input shapes, fp32 then amp.
for mode in ${MODES:-fp32 amp}; do
  case $mode in
    fp32) flag=() ;;
    amp) flag=(--amp) ;;
    *) echo "bench $mode: unknown mode (fp32 or amp)" | tee -a "$summary"; continue ;;
  esac
  if [ "$mode" = amp ] && [ "$dry" = 1 ]; then
    echo "bench-amp: skipped on CPU (autocast is CUDA's)" | tee -a "$summary"
    continue
  fi
  part "bench-$mode" "${BENCH_S:-85}" python3 -u scripts/bench_compare.py --ours "$b/throughput" \
    --reps 1 --device "$device" --models resnet18,alexnet --shapes 1x28,3x32 \
    --pytorch-sgd foreach --no-extras "${bench_flags[@]}" "${flag[@]}"
done

big=$(find "$out" -type f -size +15M)
[ -z "$big" ] || echo "files over 15 MiB (they would not come back): $big" | tee -a "$summary"


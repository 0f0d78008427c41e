#!/usr/bin/env bash
# The runs behind golden/cpu-bands.json: CPU-scale presets over several seeds and
# instruction-set levels, with the tests' thread setting (--threads 1).
#
# Usage: scripts/calibrate.sh OUT_DIR "SEEDS" "LEVELS" PRESET...
#   LEVELS: native (the CPU's own kernels), avx2, which imitates an x86-64-v3 CPU (AVX2, no
#   AVX-512) on an AVX-512 one: ATen, MKL and oneDNN capped at AVX2 and glibc's math without
#   AVX-512, and/or sse42, which imitates an x86-64-v2 CPU (SSE4.2, no AVX) on this one:
#   libtorch's ATen kernels at their default level, MKL limited to SSE4.2 and oneDNN to
#   SSE4.1, and glibc's math functions without AVX or FMA.
#
# Each run goes to OUT_DIR/LEVEL/sSEED/runs/PRESET, the layout of `rethink reproduce`, so
# `rethink report OUT_DIR/LEVEL/sSEED` judges one seed's claims. A finished run (summary.json
# present) is not redone. JOBS runs at a time (default 2). One line per run is printed.
set -euo pipefail
out=$1; seeds=$2; levels=$3; shift 3
bin=${RETHINK_BIN:-target/release/rethink}
jobs=()
for level in $levels; do
  for seed in $seeds; do
    for preset in "$@"; do
      jobs+=("$level $seed $preset")
    done
  done
done
export bin out
printf '%s\n' "${jobs[@]}" | xargs -P "${JOBS:-2}" -L 1 bash -c '
  level=$0 seed=$1 preset=$2
  case $level in
    native) env=() ;;
    sse42) env=(ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41
                GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX,-AVX2,-FMA,-F16C,-AVX512F,-AVX512BW,-AVX512DQ,-AVX512VL,-BMI1,-BMI2) ;;
    avx2) env=(ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
               GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512BW,-AVX512DQ,-AVX512VL) ;;
    *) echo "unknown level $level" >&2; exit 1 ;;
  esac
  dir="$out/$level/s$seed/runs/$preset"
  mkdir -p "$(dirname "$dir")"
  if [ ! -f "$dir/summary.json" ]; then
    env "${env[@]}" "$bin" --threads 1 run --preset "$preset" --seed "$seed" --name "$preset" --out "$dir" --force -q \
      >/dev/null 2>"$dir.err" || true
  fi
  python3 - "$dir" "$level" "$preset" "$seed" <<PY
import json, sys
d, level, preset, seed = sys.argv[1:]
try:
    s = json.load(open(d + "/summary.json"))
except Exception as e:
    print(level, preset, seed, "FAILED", open(d + ".err").read().strip()); sys.exit()
m = [json.loads(l) for l in open(d + "/metrics.jsonl")]
def first(t):
    return next((x["epoch"] for x in m if x["train_acc"] >= t), None)
print(level, preset, seed, s["status"], "fit", s["epochs_to_fit"], "to0.9", first(0.9), "to0.99", first(0.99),
      "train %.4f test %.4f best %.4f" % (s["final_train_acc"], s["final_test_acc"], s["best_test_acc"]), "%.0fs" % s["wall_s"])
PY
'

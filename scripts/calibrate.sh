#!/usr/bin/env bash
# Runs CPU-scale presets over several seeds, with the same thread setting as the tests
# (--threads 1), and prints one line per run. The numbers behind golden/cpu-bands.json.
# Usage: scripts/calibrate.sh OUT_DIR "SEEDS" PRESET... (runs two at a time)
set -euo pipefail
out=$1; seeds=$2; shift 2
bin=${RETHINK_BIN:-target/release/rethink}
mkdir -p "$out"
jobs=()
for preset in "$@"; do
  for seed in $seeds; do
    jobs+=("$preset $seed")
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 bash -c '
  dir="'"$out"'/$0-s$1"
  "'"$bin"'" --threads 1 run --preset "$0" --seed "$1" --out "$dir" --force -q >/dev/null 2>"$dir.err" || true
  python3 - "$dir" "$0" "$1" <<PY
import json, sys
d, preset, seed = sys.argv[1:]
try:
    s = json.load(open(d + "/summary.json"))
except Exception as e:
    print(preset, seed, "FAILED", open(d + ".err").read().strip()); sys.exit()
m = [json.loads(l) for l in open(d + "/metrics.jsonl")]
def first(t):
    return next((x["epoch"] for x in m if x["train_acc"] >= t), None)
print(preset, seed, s["status"], "fit", s["epochs_to_fit"], "to0.9", first(0.9), "to0.99", first(0.99),
      "train %.4f test %.4f best %.4f" % (s["final_train_acc"], s["final_test_acc"], s["best_test_acc"]), "%.0fs" % s["wall_s"])
PY
'

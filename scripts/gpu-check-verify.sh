#!/usr/bin/env bash
# Checks what scripts/gpu-check.sh left in OUT (make gpu-check-dry runs it after the dry run):
#  1. summary.txt lists every part (preflight, both smokes, main, bench-fp32) as ok;
#  2. the main run's record came back: config and per-epoch metrics, and a summary;
#  3. every file is under 16 MiB, what a device run brings back per file;
#  4. no checkpoint came back, loose or inside an archive.
# Fails naming the first thing that is wrong.
set -euo pipefail
out=${1:?usage: gpu-check-verify.sh OUT}
fail() { echo "gpu-check-verify: $*" >&2; exit 1; }
[ -f "$out/summary.txt" ] || fail "$out/summary.txt is missing"
for p in preflight smoke-resnet18 smoke-alexnet main bench-fp32; do
  line=$(grep -m1 "^$p: " "$out/summary.txt") || fail "summary.txt has no line for $p"
  [[ $line == "$p: ok in "* ]] || fail "$line"
done
run="$out/runs/fashion-alexnet-random-labels"
for f in config.json metrics.jsonl summary.json; do
  [ -s "$run/$f" ] || fail "the main run's $f did not come back"
done
big=$(find "$out" -type f -size +16M)
[ -z "$big" ] || fail "over 16 MiB: $big"
ckpt=$(find "$out" -name '*.ot' -o -name '*.ot.tmp')
[ -z "$ckpt" ] || fail "a checkpoint came back: $ckpt"
while IFS= read -r -d '' a; do
  ! tar tzf "$a" | grep -q '\.ot$' || fail "$a holds a checkpoint"
done < <(find "$out" -name '*.tar.gz' -print0)
grep -q '"ratio"' "$out/bench-fp32.log" || fail "bench-fp32.log has no comparison row"
echo "gpu-check-verify: every part ok, $(find "$out" -type f | wc -l) files, the largest $(find "$out" -type f -printf '%s\n' | sort -n | tail -1) bytes, no checkpoint"

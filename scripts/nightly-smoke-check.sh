#!/usr/bin/env bash
# The end-to-end checks of `make nightly-smoke`, after its two shards and first merge in
# OUT (scripts/nightly.sh at smoke scale). Fails, naming what is wrong, unless:
#  1. each shard kept its run directories and JUnit report, and together they hold every
#     smoke claim's runs;
#  2. the merged report judged every smoke claim, and each holds;
#  3. a second night (the merge again, PREVIOUS = the first) appends to the history,
#     draws each claim's trend over two nights, and its `rethink diff` prints nothing;
#  4. `rethink diff` flags a planted change (a random-label run's test accuracy moved far
#     from chance) and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: nightly-smoke-check.sh OUT}
rethink=${CARGO_TARGET_DIR:-target}/debug/rethink
fail() { echo "nightly-smoke: $*" >&2; exit 1; }

claims=$("$rethink" claims --scale smoke --quiet)
n_claims=$(echo "$claims" | wc -l)
for k in 1 2; do
  [ -s "$out/shard-$k/junit.xml" ] || fail "shard $k wrote no junit.xml"
  [ -d "$out/shard-$k/runs" ] || fail "shard $k kept no run directories"
done
runs=$(ls "$out"/shard-*/runs | grep -c '^fashion-smoke-' || true)
want=$("$rethink" reproduce --scale smoke --list | wc -l)
[ "$runs" -eq "$want" ] || fail "the shards hold $runs runs, the smoke claims read $want"

python3 - "$out/merged/summary.json" "$n_claims" <<'PY' || fail "the merged report"
import json, sys
s = json.load(open(sys.argv[1]))
judged = [v for v in s["verdicts"] if v["claim"].startswith("smoke-")]
bad = [v["claim"] for v in judged if not (v.get("verdict") or {}).get("holds")]
assert len(judged) == int(sys.argv[2]), f"{len(judged)} smoke claims judged, want {sys.argv[2]}"
assert not bad, f"claims that do not hold: {bad}"
print(f"merged report: {len(judged)} smoke claims judged, all hold")
PY

# A second night over the same runs.
rm -rf "$out/merged-night1" && mv "$out/merged" "$out/merged-night1"
sleep 1
PREVIOUS="$out/merged-night1" scripts/nightly.sh merge
[ -f "$out/merged/diff.txt" ] || fail "the second night wrote no diff"
[ ! -s "$out/merged/diff.txt" ] || fail "rethink diff of two identical nights is not silent: $(cat "$out/merged/diff.txt")"
nights=$(python3 -c 'import json,sys; print(len({json.loads(l)["night"] for l in open(sys.argv[1])}))' "$out/history.jsonl")
[ "$nights" -eq 2 ] || fail "history.jsonl holds $nights nights, want 2"
trends=$(ls "$out"/merged/trends/trend-smoke-*.svg 2>/dev/null | wc -l)
[ "$trends" -ge "$n_claims" ] || fail "$trends trend figures for $n_claims claims"

# A planted change: one random-label run's final test accuracy far from chance.
planted="$out/planted"
rm -rf "$planted" && cp -r "$out/merged" "$planted"
run="$planted/runs/fashion-smoke-alexnet-random-labels"
python3 - "$run" <<'PY'
import json, sys
p = sys.argv[1] + "/summary.json"
s = json.load(open(p))
s["final_test_acc"] = 0.5
json.dump(s, open(p, "w"))
PY
status=0
"$rethink" diff "$out/merged" "$planted" >"$out/planted-diff.txt" || status=$?
[ "$status" -eq 1 ] || fail "rethink diff exited $status on a planted change, want 1"
grep -q 'smoke-fashion-alexnet-fits-random-labels' "$out/planted-diff.txt" \
  || fail "rethink diff did not name the planted claim: $(cat "$out/planted-diff.txt")"
echo "planted change flagged:"
cat "$out/planted-diff.txt"
echo "nightly-smoke: $n_claims claims over 2 shards, merged, 2 nights of history with $trends trend figures, diff silent on none and loud on a planted change"

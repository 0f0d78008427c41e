#!/usr/bin/env bash
# The end-to-end checks of `make nightly-smoke`, after its two shards and first merge in
# OUT (scripts/nightly.sh at smoke scale). Fails, naming what is wrong, unless:
#  1. each shard kept its run directories and JUnit report, and together they hold every
#     smoke claim's runs; the shards ran as a first night, with no snapshots to compare
#     against: they wrote one snapshot per smoke claim, each equal to the committed one in
#     tests/claims/snapshots, listed them in outcome.md, and left the checkout untouched;
#  2. the merged report judged every smoke claim, and each holds;
#  3. a second night (the merge again, PREVIOUS = the first) appends to the history,
#     draws each claim's trend over two nights, and its `rethink diff` prints nothing;
#  4. `rethink diff` flags a planted change (a random-label run's test accuracy moved far
#     from chance) and exits 1;
#  5. a night against the first night's snapshots, one of them planted with a change, is
#     red, and its outcome.md names that claim as a moved snapshot and none as a failed
#     verdict (it runs that claim and one unchanged one, NIGHTLY_CLAIMS);
#  6. `nightly.sh gather` lays out a single shard artifact that was unpacked flat.
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

# The first night: every snapshot new, each what the repository holds.
new_snaps=$(ls "$out"/shard-*/snapshots/*.snap 2>/dev/null | wc -l)
[ "$new_snaps" -eq "$n_claims" ] || fail "the first night wrote $new_snaps new snapshots, want one per smoke claim ($n_claims)"
for f in "$out"/shard-*/snapshots/*.snap; do
  committed=tests/claims/snapshots/${f##*/}
  [ -f "$committed" ] || fail "no committed snapshot for ${f##*/}"
  # The JSON after insta's header (which names the writing file and line).
  body() { awk 'c >= 2; /^---$/ { c++ }' "$1"; }
  [ -n "$(body "$f")" ] && [ "$(body "$f")" = "$(body "$committed")" ] \
    || fail "the first night's ${f##*/} differs from the committed one: $(diff "$f" "$committed")"
done
for k in 1 2; do
  grep -q 'new snapshots written' "$out/shard-$k/outcome.md" || fail "shard $k's outcome.md does not list its new snapshots"
done
! ls tests/claims/snapshots | grep -q '\.snap\.new$' || fail "the nightly left .snap.new files in the checkout"
echo "first night: green, $new_snaps new snapshots collected, each equal to the committed one"

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
# A night against the first night's snapshots, one of them planted with a change.
second_base="$out/second-night-snapshots"
rm -rf "$second_base" && mkdir -p "$second_base"
cp "$out"/shard-*/snapshots/*.snap "$second_base/"
planted_claim=smoke-fashion-alexnet-fits-random-labels
python3 - "$second_base/$planted_claim.snap" <<'PY'
import sys
p = sys.argv[1]
text = open(p).read()
old = '"status": "holds"'
assert old in text, f"{p} has no {old}"
open(p, "w").write(text.replace(old, '"status": "not robust"', 1))
PY
status=0
NIGHTLY_OUT="$out/second-night" NIGHTLY_SNAPSHOTS="$second_base" NIGHTLY_CLAIMS="$planted_claim smoke-fashion-alexnet-fits-true-labels" \
  scripts/nightly.sh shard 1 1 >"$out/second-night.log" 2>&1 || status=$?
second="$out/second-night/shard-1"
[ "$status" -ne 0 ] || fail "a second night with a planted snapshot change is green"
grep -q "moved snapshots.*$planted_claim" "$second/outcome.md" || fail "the second night's outcome.md does not name $planted_claim as moved: $(cat "$second/outcome.md")"
! grep -q 'failed verdicts' "$second/outcome.md" || fail "the second night reports a failed verdict: $(cat "$second/outcome.md")"
[ -f "$second/snapshots/$planted_claim.snap.new" ] || fail "the second night did not collect $planted_claim.snap.new"
echo "second night: red, naming the planted change:"
cat "$second/outcome.md"

# One shard artifact, unpacked flat by GitHub's download-artifact.
flat="$out/gather-test"
rm -rf "$flat" && mkdir -p "$flat/downloaded"
cp -r "$out/shard-1"/. "$flat/downloaded/"
NIGHTLY_OUT="$flat" scripts/nightly.sh gather "$flat/downloaded" >/dev/null
[ -f "$flat/shard-1/shard.txt" ] && [ -d "$flat/shard-1/runs" ] || fail "gather did not lay out a flat single artifact as shard-1"

echo "nightly-smoke: a first night of $n_claims claims over 2 shards, green with its snapshots collected; merged, 2 nights of history with $trends trend figures, diff silent on none and loud on a planted change; a planted snapshot change red and named"

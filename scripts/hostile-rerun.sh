#!/usr/bin/env bash
# Reruns one or more cases of each defect class of the third hostile round against a built
# binary, as an attacker would, and prints a Markdown table: the class, the command, its
# exit status and what was checked. Then the counts: cases tried, panics (exit 101), hangs
# (still running after TIMEOUT seconds) and cases where files of an existing run were lost.
# Exits 1 when any case fails its check.
#
# Usage: scripts/hostile-rerun.sh [BINARY]   (default target/release/rethink; needs the
# Debian Fashion-MNIST, as make test does; takes about 2 minutes on 2 cores)
set -u
B=$(realpath "${1:-target/release/rethink}")
T=${TIMEOUT:-60}
W=$(mktemp -d /tmp/hostile.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 2
export RETHINK_DEVICE=cpu

cases=0 panics=0 hangs=0 lost=0 failed=0
rows=()

# run CMD...: runs it with the timeout and stdin closed; sets rc, and out.txt holds its output.
run() {
  timeout -k 5 "$T" "$@" >out.txt 2>&1 </dev/null
  rc=$?
}
said() { grep -q -- "$1" out.txt; }
# A fingerprint of every file under a directory (names and contents, links not followed).
fp() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r md5sum) | md5sum | cut -c1-32; }

# row CLASS COMMAND CHECK OK [LOST]: one table row; OK is 0 when the check held; LOST is 1
# when files of an existing run were lost.
row() {
  local class=$1 cmd=$2 check=$3 ok=$4 gone=${5:-0} result
  cases=$((cases + 1))
  [ "$rc" = 101 ] && panics=$((panics + 1))
  { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && hangs=$((hangs + 1))
  [ "$gone" = 1 ] && lost=$((lost + 1))
  if [ "$ok" = 0 ] && [ "$gone" = 0 ] && [ "$rc" != 101 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ]; then
    result="ok: $check"
  else
    result="**FAILED**: $check"
    failed=$((failed + 1))
    sed 's/^/    /' out.txt | tail -5 >&2
  fi
  rows+=("| $class | \`${cmd//|/\\|}\` | $rc | $result |")
}
check() { "$@" && echo 0 || echo 1; }

tiny=(run -q --threads 1 --preset fashion-cpu-true-labels --train-size 64 --test-size 32 --epochs 3)
# An interrupted run: metrics and a checkpoint, no summary.
interrupted() {
  "$B" "${tiny[@]}" --keep-checkpoint --out "$1" >/dev/null 2>&1 && rm "$1/summary.json"
}
"$B" "${tiny[@]}" --out fin >/dev/null 2>&1 || { echo "cannot train a run: is Fashion-MNIST installed?" >&2; exit 2; }
# A results directory with one preset run, judged by a claim, and a history of it.
mkdir -p R/runs
"$B" run -q --threads 1 --preset fashion-cpu-true-labels --out R/runs/fashion-cpu-true-labels >/dev/null 2>&1
"$B" merge --out M0 R --history H >/dev/null 2>&1
RUN=runs/fashion-cpu-true-labels
# edit FILE PYTHON: rewrites a JSON-lines or JSON file through a python expression on `v`.
edit_lines() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
out = []
for line in open(path):
    v = json.loads(line)
    exec(expr)
    out.append(json.dumps(v))
open(path, "w").write("\n".join(out) + "\n")
EOF
}

# 1. A failed resume destroys the run.
interrupted r1; before=$(fp r1)
run "$B" run -q --resume r1 --data-dir /nonexistent
row 1 "run --resume DIR --data-dir /nonexistent" "refused, the run unchanged" \
  "$(check [ "$rc" = 1 ])" "$([ "$(fp r1)" = "$before" ] && echo 0 || echo 1)"

# 2. A resume trusts an edited config.
interrupted r2; sed -i 's/"lr": [0-9.e-]*/"lr": 0.5/' r2/config.json; before=$(fp r2)
run "$B" run -q --resume r2
row 2 "run --resume DIR (lr edited in config.json)" "refused naming lr" \
  "$(check said "changed since this checkpoint was written (lr)")" "$([ "$(fp r2)" = "$before" ] && echo 0 || echo 1)"

# 3. A corrupt checkpoint blocks reproduce.
mkdir -p R3/runs
"$B" run -q --threads 1 --preset fashion-cpu-true-labels --keep-checkpoint --out R3/$RUN >/dev/null 2>&1
rm R3/$RUN/summary.json; truncate -s 1000 R3/$RUN/checkpoint.ot; before=$(fp R3/$RUN)
run "$B" --threads 1 reproduce --scale cpu --shard 0/34 --out R3
row 3 "reproduce --shard 0/34 (a truncated checkpoint)" "set aside, said why, trained anew" \
  "$(check [ "$rc" = 0 ] && said "moved it to" && [ -f R3/$RUN/summary.json ])" \
  "$([ "$(fp R3/set-aside/fashion-cpu-true-labels.1)" = "$before" ] && echo 0 || echo 1)"

# 4. run --force deletes the old run before it validates.
cp -r fin f4; before=$(fp f4)
run "$B" run -q --force --preset fashion-cpu-true-labels --out f4 --data-dir /nonexistent
row 4 "run --force --out RUN --data-dir /nonexistent" "refused, the run unchanged" \
  "$(check [ "$rc" = 1 ])" "$([ "$(fp f4)" = "$before" ] && echo 0 || echo 1)"
run "$B" run -q --force --preset fashion-cpu-true-labels --out f4 --device cuda
row 4 "run --force --out RUN --device cuda (no GPU)" "refused, the run unchanged" \
  "$(check [ "$rc" = 1 ])" "$([ "$(fp f4)" = "$before" ] && echo 0 || echo 1)"

# 5. A finished run kept with --keep-checkpoint can be resumed.
"$B" "${tiny[@]}" --keep-checkpoint --out k5 >/dev/null 2>&1; before=$(fp k5)
run "$B" run -q --resume k5
row 5 "run --resume FINISHED (checkpoint kept)" "refused as finished, checkpoint kept" \
  "$(check said "the run has finished")" "$([ "$(fp k5)" = "$before" ] && echo 0 || echo 1)"

# 6. history panics on a multibyte night.
cp H H6; edit_lines H6 'v["night"] = "２０２６年１１月３０日の夜"'
run "$B" history H6 --out t6
row 6 "history H --out T (a night of multibyte characters)" "figures drawn" "$(check [ "$rc" = 0 ])"

# 7. history writes outside --out.
cp H H7; edit_lines H7 'v["claim"] = "../../escaped-" + v.get("claim", "") if v["kind"] == "claim" else None; v = {k: x for k, x in v.items() if x is not None}'
mkdir -p d7
run "$B" history H7 --out d7/t
row 7 "history H --out T (claim id ../../escaped)" "nothing outside T" \
  "$(check [ "$rc" = 0 ] && [ -z "$(find . -name 'escaped*' -not -path './d7/t/*')" ])"

# 8. Figures written through planted links.
echo secret >secret
run "$B" history H --out t8
png=$(ls t8/*.png | head -1); rm "$png"; ln -s "$W/secret" "$png"
run "$B" history H --out t8
row 8 "history H --out T (a link planted at a figure)" "link replaced, its target untouched" \
  "$(check [ "$rc" = 0 ] && [ "$(cat secret)" = secret ] && [ ! -L "$png" ] && [ -s "$png" ])"
cp -r R R8; ln -s "$W/secret" R8/report.md
run "$B" report R8
row 8 "report DIR (a link planted at report.md)" "link replaced, its target untouched" \
  "$(check [ "$rc" = 0 ] && [ "$(cat secret)" = secret ] && [ ! -L R8/report.md ])"

# 9. A finite huge number spins report, merge and history.
cp H H9; edit_lines H9 '
if v["kind"] == "claim" and v.get("verdict"):
    for m in v["verdict"]["measures"]:
        m["value"] = 1.75e308
        if m.get("band"): m["band"]["min"], m["band"]["max"] = -1.7e308, 1.7e308'
run "$B" history H9 --out t9
row 9 "history H --out T (value 1.75e308, band ±1.7e308)" "finishes" "$(check [ "$rc" = 0 ])"
cp -r R R9; edit_lines R9/$RUN/metrics.jsonl 'v["train_loss"] = 1.75e308'
run "$B" merge --out M9 R9
row 9 "merge --out M SHARD (a loss of 1.75e308)" "finishes with a report" \
  "$(check [ "$rc" = 0 ] && [ -s M9/report.md ])"

# 10. A FIFO or a device in place of a record blocks a reader or exhausts memory.
cp -r R R10; rm R10/$RUN/summary.json; mkfifo R10/$RUN/summary.json
run "$B" report R10
row 10 "report DIR (summary.json a FIFO)" "the run named as skipped" "$(check [ "$rc" = 0 ] && said "a FIFO")"
mkfifo fifo
run "$B" run -q --config fifo --out r10
row 10 "run --config FIFO" "refused naming it" "$(check [ "$rc" = 1 ] && said "a FIFO")"
run "$B" history fifo --out t10
row 10 "history FIFO" "refused naming it" "$(check [ "$rc" = 1 ] && said "a FIFO")"
run "$B" merge --out M10 R --history fifo
row 10 "merge --history FIFO" "refused before writing" "$(check [ "$rc" = 1 ] && [ ! -e M10/runs ])"
cp -r R R10b; rm R10b/$RUN/metrics.jsonl; ln -s /dev/zero R10b/$RUN/metrics.jsonl
run "$B" report R10b
row 10 "report DIR (metrics.jsonl -> /dev/zero)" "the run named as skipped" "$(check [ "$rc" = 0 ] && said "a device")"

# 11. A closed or full stdout panics.
run bash -c "'$B' claims | head -c0; exit \${PIPESTATUS[0]}"
row 11 "claims | head -c0" "exit 1, no panic" "$(check [ "$rc" = 1 ])"
run bash -c "'$B' report R >/dev/full"
row 11 "report DIR > /dev/full" "exit 1, no panic" "$(check [ "$rc" = 1 ])"
cp -r R R11; sed -i 's/"final_test_acc": [0-9.e-]*/"final_test_acc": 0.01/' R11/$RUN/summary.json
run bash -c "'$B' diff R R11 >/dev/full"
row 11 "diff A B > /dev/full (a run moved)" "exit 2, no panic" "$(check [ "$rc" = 2 ])"

# 12. merge is not staged, resumable or locked.
mkdir -p M12/.merge-staging/fashion-cpu-true-labels; echo '{' >M12/.merge-staging/fashion-cpu-true-labels/config.json
run "$B" merge --out M12 R
row 12 "merge --out M SHARD (after an interrupted merge)" "finished, nothing half-copied" \
  "$(check [ "$rc" = 0 ] && [ ! -e M12/.merge-staging ] && [ -f M12/$RUN/metrics.jsonl ])"
mkdir -p M12b; flock M12b sleep 20 & sleep 0.5
run "$B" merge --out M12b R
row 12 "merge --out M SHARD (another merge holds M)" "refused, nothing written" \
  "$(check [ "$rc" = 1 ] && said "another merge" && [ ! -e M12b/runs ])"
kill %1 2>/dev/null; wait 2>/dev/null

# 13. One experiment under two names is kept twice.
mkdir -p S13/runs; cp -r R/$RUN S13/runs/renamed; edit_lines S13/runs/renamed/metrics.jsonl 'v["wall_s"] = v["wall_s"] + 1'
run "$B" merge --out M13 R S13
row 13 "merge --out M A B (one experiment under two names)" "refused naming both" \
  "$(check [ "$rc" = 1 ] && said "same experiment" && [ ! -e M13/runs ])"

# 14. merge drops a run without config.json silently.
cp -r R S14; rm S14/$RUN/config.json
run "$B" merge --out M14 S14
row 14 "merge --out M SHARD (a run without config.json)" "exit 1 naming it" \
  "$(check [ "$rc" = 1 ] && said "S14/$RUN")"

# 15. merge copies everything in a run directory.
cp -r R S15; ln -s /etc/hostname S15/$RUN/notes.txt; echo weights >S15/$RUN/checkpoint.ot
run "$B" merge --out M15 S15
row 15 "merge --out M SHARD (a linked notes.txt, a checkpoint)" "only the run record copied" \
  "$(check [ "$rc" = 0 ] && [ "$(ls M15/$RUN | tr '\n' ' ')" = "config.json metrics.jsonl summary.json " ])"

# 16. merge --history appends to a torn last line.
cp H H16; printf '{"kind": "run", "nig' >>H16; before=$(md5sum <H16)
run "$B" merge --out M16 R --history H16
row 16 "merge --history H (a torn last line)" "refused, H unchanged" \
  "$(check [ "$rc" = 1 ] && said "torn" && [ "$(md5sum <H16)" = "$before" ])"

# 17. Inconsistent runs are judged anyway.
cp -r R R17; : >R17/$RUN/metrics.jsonl
run "$B" report R17
row 17 "report DIR (an empty metrics.jsonl)" "not judged, named" \
  "$(check [ "$rc" = 0 ] && said "not a finished run" && grep -q '"runs": 0' R17/summary.json)"

# 18. diff keys runs by name, hides unreadable runs, and passes two empty sets.
mkdir -p E1/runs E2/runs
run "$B" diff E1 E2
row 18 "diff EMPTY EMPTY" "exit 2" "$(check [ "$rc" = 2 ])"
cp -r R R18; echo '{' >R18/$RUN/summary.json
run "$B" diff R R18
row 18 "diff A B (a corrupt summary in B)" "the run named" "$(check said "R18/$RUN")"
cp -r R R18b; cp -r R/$RUN R18b/runs/copy
run "$B" diff R R18b
row 18 "diff A B (B holds one run twice, under two names)" "named, compared with neither" \
  "$(check [ "$rc" = 1 ] && said "held twice")"

# 19. SIGTERM to reproduce --jobs 2 leaves both jobs training.
"$B" --threads 1 reproduce --scale cpu --jobs 2 --out R19 >/dev/null 2>&1 &
parent=$!
for _ in $(seq 600); do
  jobs=$(pgrep -P "$parent" | tr '\n' ' ')
  [ "$(echo $jobs | wc -w)" = 2 ] && [ "$(ls R19/runs 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.1
done
kill -TERM "$parent"; wait "$parent" 2>/dev/null; rc=$?
gone=1
for _ in $(seq 300); do
  gone=1
  for j in $jobs; do
    state=$(awk '{print $3}' "/proc/$j/stat" 2>/dev/null)
    [ -n "$state" ] && [ "$state" != Z ] && gone=0
  done
  [ "$gone" = 1 ] && break
  sleep 0.1
done
free=0; for d in R19/runs/*; do flock -n "$d" true || free=1; done
row 19 "kill -TERM (reproduce --jobs 2)" "both jobs gone within 30 s, no run left locked" \
  "$(check [ -n "$jobs" ] && [ "$gone" = 1 ] && [ "$free" = 0 ])"

# 20. data fetch has no timeout: its mirrors are fixed URLs, so this is the unit test
# data::fetch::tests (a server that accepts and never answers) in make test.

# 21. Run names with a newline or | break report.md's tables.
mkdir -p R21/runs; "$B" "${tiny[@]}" --name $'a|b\nc' --out R21/runs/x >/dev/null 2>&1
run "$B" report R21
row 21 "report DIR (a run named a|b<newline>c)" "escaped in one table cell" \
  "$(check [ "$rc" = 0 ] && grep -qF '| a\|b c |' R21/report.md)"

mkdir -p R21b/runs; cp -r R21/runs/x R21b/runs/$'run-\xff'; cp -r R21/runs/x R21b/runs/$'run-\xfe'
run "$B" report R21b
row 21 "report DIR (two run directories named run-<0xFF> and run-<0xFE>)" "two keys in summary.json" \
  "$(check [ "$rc" = 0 ] && [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["per_run"]))' R21b/summary.json)" = 2 ])"

# 22. merge --out RUNDIR is refused but creates RUNDIR/runs first.
before=$(fp fin)
run "$B" merge --out fin R
row 22 "merge --out RUNDIR SHARD" "refused, nothing created" \
  "$(check [ "$rc" = 1 ] && [ ! -e fin/runs ])" "$([ "$(fp fin)" = "$before" ] && echo 0 || echo 1)"

# 23. Dimensions and counts beyond what means anything.
run "$B" theorem --d 0
row 23 "theorem --d 0" "refused" "$(check [ "$rc" != 0 ] && said "d")"
run "$B" reproduce --seeds 100000000 --list
row 23 "reproduce --seeds 100000000 --list" "refused" "$(check [ "$rc" != 0 ] && said "seeds")"
run "$B" reproduce --jobs 100000 --out R23
row 23 "reproduce --jobs 100000" "refused, nothing started" "$(check [ "$rc" != 0 ] && said "jobs" && [ ! -e R23/runs ])"

echo "| class | command | exit | result |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "cases: $cases, panics: $panics, hangs: $hangs, files lost: $lost, failed checks: $failed"
[ "$failed" = 0 ]

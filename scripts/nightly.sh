#!/usr/bin/env bash
# The nightly GPU suite's one entry point; .github/workflows/nightly-gpu.yml only calls it.
#
#   scripts/nightly.sh shard K N   set up, fetch and verify the data, run shard K of N of the
#                                  nightly's tests, and lay out what to upload in $NIGHTLY_OUT/shard-K
#   scripts/nightly.sh gather DIR  move downloaded shard artifacts from DIR into $NIGHTLY_OUT/shard-K:
#                                  each in DIR/shard-K/, or one alone unpacked flat into DIR
#   scripts/nightly.sh merge       merge $NIGHTLY_OUT/shard-*/ into $NIGHTLY_OUT/merged (report.md,
#                                  figures, summary.json, runs/), append the night to $HISTORY,
#                                  draw the trends, and diff against $PREVIOUS when given
#
# Environment (all optional):
#   RETHINK_NIGHTLY_SCALE  gpu (default: the full data sets on CUDA, --features gpu), smoke
#                          (the same tests in miniature on CPU; `make nightly-smoke`) or mid
#                          (the mid scale's claims on CPU, one seed a night, in the nextest
#                          profile mid; .github/workflows/nightly-cpu.yml)
#   RETHINK_MID_SEED       at mid scale, the seed (default: the night's turn in the rotation
#                          over golden/seeds.json's registered mid seeds, by days since 1970)
#   RETHINK_CACHE          a persistent directory outside the workspace (default ~/.cache/rethink):
#                          libtorch and the cargo target directory live there, so a checkout
#                          that cleans its workspace loses neither
#   LIBTORCH               a libtorch to use (default: PyPI's torch 2.11.0 installed into the cache)
#   CARGO_TARGET_DIR       default $RETHINK_CACHE/target
#   RETHINK_DATA_DIR       where the data sets are (and are fetched to); unset, rethink searches
#                          Debian's Fashion-MNIST, then fetches into ~/.cache/rethink/NAME
#   NIGHTLY_OUT            the upload layout (default nightly-out)
#   HISTORY                the history file merge appends to (default $NIGHTLY_OUT/history.jsonl)
#   PREVIOUS               a previous night's merged results, to diff against; at mid scale,
#                          a directory of them by seed (PREVIOUS/seed-K, the last night of seed K)
#   GPUS                   tests run at once (default at gpu scale: the devices CUDA_VISIBLE_DEVICES
#                          lists when it is set, else the GPU count; 2 at smoke scale)
#   NIGHTLY_CLAIMS         only these claims' tests (ids, space- or comma-separated; default all)
#   NIGHTLY_SNAPSHOTS      the snapshots to compare against (default tests/claims/snapshots);
#                          the tests run against a scratch copy, so the checkout stays clean
#
# Snapshots: a claim without a snapshot gets one written and passes (INSTA_UPDATE=unseen), so
# a first night is not red by design; a changed one fails. Both land in shard-K/snapshots/
# (ID.snap new, ID.snap.new moved). shard-K/outcome.md (and the job summary on GitHub) tells
# a preflight failure from a failed verdict and both from a moved snapshot.
# Nothing here needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${RETHINK_NIGHTLY_SCALE:-gpu}
case $scale in gpu|smoke|mid) ;; *) echo "RETHINK_NIGHTLY_SCALE=$scale: gpu, smoke or mid" >&2; exit 2 ;; esac
export RETHINK_NIGHTLY_SCALE=$scale
cache=${RETHINK_CACHE:-${HOME:?}/.cache/rethink}
out=${NIGHTLY_OUT:-nightly-out}
mkdir -p "$cache" "$out"
out=$(cd "$out" && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/target}
features=()
[ "$scale" = gpu ] && features=(--features gpu)

setup() {
  if [ -z "${LIBTORCH:-}" ]; then
    make --no-print-directory libtorch LIBTORCH_DIR="$cache/libtorch"
    export LIBTORCH=$cache/libtorch/torch
  fi
  cargo nextest --version >/dev/null 2>&1 || cargo install cargo-nextest --locked
  # With the tests, so that the binary shares their dependencies' features and build (the
  # nightly's tests build them anyway).
  cargo build "${features[@]}" --bin rethink --tests
}

rethink() { "$CARGO_TARGET_DIR/debug/rethink" "$@"; }

# Each data set the scale's claims read: verified where it is, else fetched (and verified)
# where rethink looks for it. A data set that cannot be had stops the night here, named.
data() {
  local sets=(fashion-mnist)
  [ "$scale" = gpu ] && sets+=(cifar10)
  for d in "${sets[@]}"; do
    if rethink data verify "$d" >/dev/null 2>&1; then
      echo "$d: verified"
    else
      echo "$d: not found or not verified; fetching"
      rethink data fetch "$d"
    fi
  done
}

# The nextest filter: every nightly test at gpu scale; at smoke scale, those of the claims
# with a miniature (the CIFAR-10 ones have none); at mid scale, the mid profile's tests.
filter() {
  if [ "$scale" = mid ]; then
    echo 'test(/^mid::/)'
  elif [ -n "${NIGHTLY_CLAIMS:-}" ]; then
    echo "$NIGHTLY_CLAIMS" | tr ' ,' '\n\n' | grep . | sed 's/^smoke-//; s/-/_/g; s/.*/test(=gpu::&)/' | paste -sd '|' -
  elif [ "$scale" = gpu ]; then
    echo 'test(/^gpu::/)'
  else
    rethink claims --scale smoke --quiet | sed 's/^smoke-//; s/-/_/g; s/.*/test(=gpu::&)/' | paste -sd '|' -
  fi
}

# The GPUs this runner may use: those CUDA_VISIBLE_DEVICES lists when it is set (one runner
# per GPU), else every GPU nvidia-smi sees.
gpu_count() {
  if [ -n "${CUDA_VISIBLE_DEVICES+x}" ]; then
    echo "$CUDA_VISIBLE_DEVICES" | tr ',' '\n' | grep -c '[^[:space:]]' || true
  else
    nvidia-smi -L 2>/dev/null | wc -l
  fi
}

# The CUDA 13 build of libtorch 2.11 (PyPI's torch==2.11.0) needs NVIDIA driver 580 or newer.
MIN_DRIVER=580

# At gpu scale, once the binary is built and before anything is trained: a driver, new enough, and a libtorch
# that sees CUDA. Prints one line naming what is missing and fails, or prints what it found.
preflight() {
  local driver major
  driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1) || true
  [ -n "$driver" ] || { echo "preflight failed: nvidia-smi finds no NVIDIA GPU or driver"; return 1; }
  major=${driver%%.*}
  [ "$major" -ge "$MIN_DRIVER" ] 2>/dev/null \
    || { echo "preflight failed: NVIDIA driver $driver is older than $MIN_DRIVER, which libtorch 2.11's CUDA 13 build needs"; return 1; }
  [ "$(gpu_count)" -ge 1 ] || { echo "preflight failed: CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-} leaves no GPU"; return 1; }
  # PyPI's wheel is a Python package too: ask it whether CUDA works. A plain libtorch has no
  # Python side; the tests then say so themselves if CUDA is missing.
  local py=${LIBTORCH%/torch}
  if [ -f "$LIBTORCH/__init__.py" ]; then
    PYTHONPATH=$py python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null \
      || { echo "preflight failed: libtorch at $LIBTORCH sees no CUDA device (driver $driver)"; return 1; }
  fi
  echo "preflight: driver $driver, $(gpu_count) GPU(s)"
}

# shard-K/outcome.md from the test log: which claims failed their verdict, which moved their
# snapshot, which were written for the first time, and anything else that failed. Appended
# to GitHub's job summary when there is one.
outcome() {
  local dir=$1 status=$2 log=$1/tests.log
  {
    echo "## nightly shard ${dir##*/shard-} ($scale scale)"
    if [ "$status" -eq 0 ]; then echo "all tests passed"; fi
    local failed moved first other
    failed=$(grep -o 'verdict failed: [A-Za-z0-9_.-]*' "$log" | sed 's/verdict failed: //' | sort -u || true)
    moved=$(grep -o "snapshot assertion for '[^']*' failed" "$log" | sed "s/snapshot assertion for '//; s/' failed//" | sort -u || true)
    first=$(find "$dir/snapshots" -name '*.snap' 2>/dev/null | sed 's|.*/||; s|\.snap$||' | sort || true)
    other=$(grep -E '^\s+FAIL ' "$log" | sed -E 's/.*((gpu|mid)::[A-Za-z0-9_]+).*/\1/' | sort -u || true)
    if grep -q 'the full-scale nightly needs a CUDA device' "$log"; then
      echo "- **preflight failed**: libtorch sees no CUDA device (is the driver $MIN_DRIVER or newer?)"
    fi
    [ -z "$failed" ] || echo "- **failed verdicts** (the claim does not hold): $(echo $failed)"
    [ -z "$moved" ] || echo "- **moved snapshots** (the claim holds, a measure moved a cell; review snapshots/*.snap.new): $(echo $moved)"
    [ -z "$first" ] || echo "- new snapshots written (no earlier one to compare; review and commit snapshots/*.snap): $(echo $first)"
    if [ "$status" -ne 0 ] && [ -n "$other" ]; then echo "- failing tests: $(echo $other)"; fi
  } >"$dir/outcome.md"
  cat "$dir/outcome.md"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$dir/outcome.md" >>"$GITHUB_STEP_SUMMARY"; fi
}

shard() {
  local k=$1 n=$2 dir="$out/shard-$1" slots
  rm -rf "$dir" && mkdir -p "$dir"
  setup
  if [ "$scale" = gpu ]; then
    if ! preflight >"$dir/preflight.txt"; then
      echo "## nightly shard $k: **$(cat "$dir/preflight.txt")**" >"$dir/outcome.md"
      [ -z "${GITHUB_STEP_SUMMARY:-}" ] || cat "$dir/outcome.md" >>"$GITHUB_STEP_SUMMARY"
      cat "$dir/preflight.txt" >&2
      return 1
    fi
    cat "$dir/preflight.txt"
  fi
  data
  if [ "$scale" = gpu ]; then
    slots=${GPUS:-$(gpu_count)}
  else
    slots=${GPUS:-2}
  fi
  [ "$slots" -ge 1 ] || slots=1
  # The gpu test group runs one test per GPU: its max-threads follows the GPU count.
  local config
  config=$(mktemp)
  sed "s/^gpu = { max-threads = 1 }/gpu = { max-threads = $slots }/" .config/nextest.toml >"$config"
  {
    echo "scale: $scale; shard $k of $n; $slots test(s) at once"
    echo "commit: ${GITHUB_SHA:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
  } | tee "$dir/shard.txt"
  local ignored=() profile=nightly
  [ "$scale" = smoke ] && ignored=(--run-ignored all)
  if [ "$scale" = mid ]; then
    # The mid profile (its filter leaves the other tests out); tonight's registered seed.
    profile=mid
    if [ -z "${RETHINK_MID_SEED:-}" ]; then
      RETHINK_MID_SEED=$(python3 -c 'import json, time; s = json.load(open("golden/seeds.json"))["scales"]["mid"]; print(s[int(time.time() // 86400) % len(s)])')
    fi
    export RETHINK_MID_SEED
    echo "seed: $RETHINK_MID_SEED (mid scale)" | tee -a "$dir/shard.txt"
  fi
  local status=0 base=${NIGHTLY_SNAPSHOTS:-tests/claims/snapshots} snaps
  [ -d "$base" ] || { echo "NIGHTLY_SNAPSHOTS=$base: not a directory" >&2; return 2; }
  snaps=$(mktemp -d)
  cp -r "$base"/. "$snaps"/
  rm -f "$snaps"/*.snap.new
  # INSTA_UPDATE=unseen (honoured under CI=true): a missing snapshot is written and passes,
  # a changed one is written as .snap.new and fails.
  RETHINK_RESULTS_DIR=$dir RETHINK_SNAPSHOTS_DIR=$snaps INSTA_UPDATE=unseen \
    cargo nextest run "${features[@]}" --config-file "$config" --profile "$profile" \
    --partition "hash:$k/$n" "${ignored[@]}" -E "$(filter)" 2>&1 | tee "$dir/tests.log" || status=$?
  rm -f "$config"
  cp "$CARGO_TARGET_DIR/nextest/$profile/junit.xml" "$dir/junit.xml" 2>/dev/null || true
  rm -rf "$dir/locks"
  # What to review: the snapshots written for the first time and the moved ones.
  local f name
  for f in "$snaps"/*.snap "$snaps"/*.snap.new; do
    [ -e "$f" ] || continue
    name=${f##*/}
    if [[ $name == *.snap ]] && [ -e "$base/$name" ]; then continue; fi
    mkdir -p "$dir/snapshots"
    cp "$f" "$dir/snapshots/$name"
  done
  rm -rf "$snaps"
  if [ -d "$dir/snapshots" ]; then
    echo "snapshots to review: $(ls "$dir/snapshots" | tr '\n' ' ')" | tee -a "$dir/shard.txt"
  fi
  outcome "$dir" "$status"
  return "$status"
}

# Downloaded shard artifacts into the layout merge reads. GitHub's download-artifact puts
# several artifacts in DIR/NAME/ but unpacks a single one straight into DIR; a shard's
# shard.txt ("...; shard K of N; ...") says which shard a flat one was.
gather() {
  local from=$1 k d
  [ -d "$from" ] || { echo "gather: $from is not a directory" >&2; exit 1; }
  if [ -f "$from/shard.txt" ]; then
    k=$(sed -n 's/.*shard \([0-9][0-9]*\) of [0-9].*/\1/p' "$from/shard.txt" | head -1)
    [ -n "$k" ] || { echo "gather: $from/shard.txt does not say which shard it is" >&2; exit 1; }
    rm -rf "$out/shard-$k" && mv "$from" "$out/shard-$k"
    echo "gathered shard $k (one artifact, unpacked flat)"
    return
  fi
  for d in "$from"/shard-*; do
    [ -d "$d" ] || { echo "gather: no shard artifacts in $from" >&2; exit 1; }
    rm -rf "$out/${d##*/}" && mv "$d" "$out/"
    echo "gathered ${d##*/}"
  done
}

merge() {
  setup
  local history=${HISTORY:-$out/history.jsonl}
  local shards=("$out"/shard-*)
  [ -d "${shards[0]}" ] || { echo "no shard results under $out" >&2; exit 1; }
  rm -rf "$out/merged"
  rethink merge --out "$out/merged" --history "$history" "${shards[@]}"
  rethink history "$history" --out "$out/merged/trends"
  local previous=${PREVIOUS:-}
  if [ "$scale" = mid ] && [ -n "$previous" ]; then
    # The mid seeds rotate, and runs of two seeds have nothing to compare: a mid night is
    # diffed against the last night of its own seed, PREVIOUS/seed-K.
    local seed
    seed=$(sed -n 's/^seed: \([0-9]*\).*/\1/p' "${shards[0]}/shard.txt" 2>/dev/null | head -1 || true)
    [ -n "$seed" ] || { echo "merge: ${shards[0]}/shard.txt does not say which mid seed ran" >&2; exit 1; }
    previous=$previous/seed-$seed
    [ -d "$previous" ] || echo "no earlier night of seed $seed under $PREVIOUS: nothing to diff against"
  fi
  if [ -n "$previous" ] && [ -d "$previous" ]; then
    local status=0
    rethink diff "$previous" "$out/merged" >"$out/merged/diff.txt" || status=$?
    case $status in
      0) echo "nothing moved beyond its band since $previous" ;;
      1) echo "moved beyond their bands since $previous:"; cat "$out/merged/diff.txt" ;;
      *) exit "$status" ;;
    esac
  fi
}

case ${1:-} in
  shard) shard "${2:?shard number}" "${3:?shard count}" ;;
  gather) gather "${2:?a directory of downloaded shard artifacts}" ;;
  merge) merge ;;
  *) sed -n '2,34p' "$0" >&2; exit 2 ;;
esac

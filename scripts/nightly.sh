#!/usr/bin/env bash
# The nightly GPU suite's one entry point; .github/workflows/nightly-gpu.yml only calls it.
#
#   scripts/nightly.sh shard K N   set up, fetch and verify the data, run shard K of N of the
#                                  nightly's tests, and lay out what to upload in $NIGHTLY_OUT/shard-K
#   scripts/nightly.sh merge       merge $NIGHTLY_OUT/shard-*/ into $NIGHTLY_OUT/merged (report.md,
#                                  figures, summary.json, runs/), append the night to $HISTORY,
#                                  draw the trends, and diff against $PREVIOUS when given
#
# Environment (all optional):
#   RETHINK_NIGHTLY_SCALE  gpu (default: the full data sets on CUDA, --features gpu) or smoke
#                          (the same tests in miniature on CPU; `make nightly-smoke`)
#   RETHINK_CACHE          a persistent directory outside the workspace (default ~/.cache/rethink):
#                          libtorch and the cargo target directory live there, so a checkout
#                          that cleans its workspace loses neither
#   LIBTORCH               a libtorch to use (default: PyPI's torch 2.11.0 installed into the cache)
#   CARGO_TARGET_DIR       default $RETHINK_CACHE/target
#   RETHINK_DATA_DIR       where the data sets are (and are fetched to); unset, rethink searches
#                          Debian's Fashion-MNIST, then fetches into ~/.cache/rethink/NAME
#   NIGHTLY_OUT            the upload layout (default nightly-out)
#   HISTORY                the history file merge appends to (default $NIGHTLY_OUT/history.jsonl)
#   PREVIOUS               a previous night's merged results, to diff against
#   GPUS                   tests run at once (default: the GPU count at gpu scale, 2 at smoke scale)
# Nothing here needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${RETHINK_NIGHTLY_SCALE:-gpu}
case $scale in gpu|smoke) ;; *) echo "RETHINK_NIGHTLY_SCALE=$scale: gpu or smoke" >&2; exit 2 ;; esac
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
  cargo build "${features[@]}" --bin rethink
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
# with a miniature (the CIFAR-10 ones have none).
filter() {
  if [ "$scale" = gpu ]; then
    echo 'test(/^gpu::/)'
  else
    rethink claims --scale smoke --quiet | sed 's/^smoke-//; s/-/_/g; s/.*/test(=gpu::&)/' | paste -sd '|' -
  fi
}

shard() {
  local k=$1 n=$2 dir="$out/shard-$1" slots
  setup
  data
  if [ "$scale" = gpu ]; then
    slots=${GPUS:-$(nvidia-smi -L 2>/dev/null | wc -l)}
  else
    slots=${GPUS:-2}
  fi
  [ "$slots" -ge 1 ] || slots=1
  # The gpu test group runs one test per GPU: its max-threads follows the GPU count.
  local config
  config=$(mktemp)
  sed "s/^gpu = { max-threads = 1 }/gpu = { max-threads = $slots }/" .config/nextest.toml >"$config"
  rm -rf "$dir" && mkdir -p "$dir"
  {
    echo "scale: $scale; shard $k of $n; $slots test(s) at once"
    echo "commit: ${GITHUB_SHA:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
  } | tee "$dir/shard.txt"
  local ignored=()
  [ "$scale" = smoke ] && ignored=(--run-ignored all)
  local status=0
  # Pending snapshots are written as .snap.new (INSTA_UPDATE=new works under CI=true) and
  # moved into the layout below, so the checkout stays clean.
  RETHINK_RESULTS_DIR=$dir INSTA_UPDATE=new \
    cargo nextest run "${features[@]}" --config-file "$config" --profile nightly \
    --partition "hash:$k/$n" "${ignored[@]}" -E "$(filter)" 2>&1 | tee "$dir/tests.log" || status=$?
  rm -f "$config"
  cp "$CARGO_TARGET_DIR/nextest/nightly/junit.xml" "$dir/junit.xml" 2>/dev/null || true
  rm -rf "$dir/locks"
  local pending
  pending=$(find tests/claims/snapshots -name '*.snap.new' 2>/dev/null)
  if [ -n "$pending" ]; then
    mkdir -p "$dir/snapshots"
    # shellcheck disable=SC2086
    mv $pending "$dir/snapshots/"
    echo "pending snapshots: $(ls "$dir/snapshots" | tr '\n' ' ')" | tee -a "$dir/shard.txt"
  fi
  return "$status"
}

merge() {
  setup
  local history=${HISTORY:-$out/history.jsonl}
  local shards=("$out"/shard-*)
  [ -d "${shards[0]}" ] || { echo "no shard results under $out" >&2; exit 1; }
  rm -rf "$out/merged"
  rethink merge --out "$out/merged" --history "$history" "${shards[@]}"
  rethink history "$history" --out "$out/merged/trends"
  if [ -n "${PREVIOUS:-}" ] && [ -d "$PREVIOUS" ]; then
    local status=0
    rethink diff "$PREVIOUS" "$out/merged" >"$out/merged/diff.txt" || status=$?
    case $status in
      0) echo "nothing moved beyond its band since $PREVIOUS" ;;
      1) echo "moved beyond their bands since $PREVIOUS:"; cat "$out/merged/diff.txt" ;;
      *) exit "$status" ;;
    esac
  fi
}

case ${1:-} in
  shard) shard "${2:?shard number}" "${3:?shard count}" ;;
  merge) merge ;;
  *) sed -n '2,24p' "$0" >&2; exit 2 ;;
esac

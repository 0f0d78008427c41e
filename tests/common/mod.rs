//! Helpers shared by the claim tests: running presets on real data, the CLI binary, and
//! rounding for snapshots.
#![allow(dead_code)]

use anyhow::{Context, Result};
use rethink::experiment::{self, Experiment, RunRecord};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// Runs a preset, changed by `tweak`, on CPU with [`THREADS`] threads.
pub fn run_preset(name: &str, tweak: impl FnOnce(&mut Experiment)) -> Result<RunRecord> {
    require_fashion();
    tch::set_num_threads(THREADS);
    let mut exp = Experiment::preset(name)?;
    tweak(&mut exp);
    experiment::run(&exp, tch::Device::Cpu).with_context(|| format!("running {name}"))
}

/// The `rethink` binary built for these tests.
pub fn rethink() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rethink"));
    c.env_remove("RETHINK_DATA_DIR");
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

/// A run's curve for a snapshot: accuracies to 2 decimals and losses to 2 decimals at every
/// `every`-th epoch and the last one; wall times are left out.
pub fn curve(rec: &RunRecord, every: usize) -> serde_json::Value {
    let last = rec.metrics.last().map(|m| m.epoch).unwrap_or(0);
    let points: Vec<_> = rec
        .metrics
        .iter()
        .filter(|m| m.epoch % every == 0 || m.epoch == last)
        .map(|m| {
            serde_json::json!({
                "epoch": m.epoch,
                "train_acc": round(m.train_acc, 2),
                "test_acc": round(m.test_acc, 2),
                "train_loss": round(m.train_loss, 2),
            })
        })
        .collect();
    serde_json::json!({
        "name": rec.summary.name,
        "status": rec.summary.status,
        "epochs_to_fit": rec.summary.epochs_to_fit,
        "final_train_acc": round(rec.summary.final_train_acc, 2),
        "final_test_acc": round(rec.summary.final_test_acc, 2),
        "curve": points,
    })
}

pub use rethink::claims::epochs_to;

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

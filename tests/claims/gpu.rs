//! Full-scale claims (`--features gpu`): every claim of `rethink::claims::GPU`, on the whole
//! of Fashion-MNIST and CIFAR-10, on a CUDA device. The claims, their runs and their checks
//! are defined once in the registry, with their bands in golden/gpu-bands.json; a test here
//! trains the claim's runs and asserts its verdict. Each test is one nextest test in the
//! `gpu` group; on a runner with several GPUs, `NEXTEST_TEST_GROUP_SLOT` picks the device.
use crate::common::*;
use anyhow::Result;
use rethink::experiment::{Experiment, RunRecord};
use std::path::Path;
use tch::Device;

/// The CUDA device for this test: the nextest group slot, modulo the devices present.
fn device() -> Device {
    assert!(
        tch::Cuda::is_available(),
        "the gpu tests need a CUDA device (libtorch sees none)"
    );
    let slot: usize = std::env::var("NEXTEST_TEST_GROUP_SLOT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Device::Cuda(slot % tch::Cuda::device_count().max(1) as usize)
}

/// Trains `exp` on this test's GPU, once: claims that share a run (a true-label run, say)
/// wait for one test to train it. The nightly workflow sets `RETHINK_RESULTS_DIR`, where
/// runs go to `runs/NAME` for `rethink report`; otherwise they go to the test run cache.
fn run_full(exp: &Experiment) -> Result<RunRecord> {
    let device = device();
    let rec = match std::env::var_os("RETHINK_RESULTS_DIR") {
        Some(dir) => {
            let dir = Path::new(&dir);
            let lock = dir.join("locks").join(format!("{}.lock", exp.name));
            train_once(&dir.join("runs").join(&exp.name), &lock, exp, device)?
        }
        None => run_cached_on(exp, device)?,
    };
    eprintln!(
        "{}: train {:.4} test {:.4} best {:.4} epochs {} fit {:?} in {:.0} s on {}",
        exp.name,
        rec.summary.final_train_acc,
        rec.summary.final_test_acc,
        rec.summary.best_test_acc,
        rec.summary.epochs,
        rec.summary.epochs_to_fit,
        rec.summary.wall_s,
        rec.summary.device
    );
    Ok(rec)
}

macro_rules! gpu_tests {
    ($($test:ident: $id:literal;)*) => {$(
        #[test]
        fn $test() {
            let v = judge_runs($id, &claim_runs_with($id, run_full));
            eprint!("{v}");
            assert!(v.holds, "{v}");
        }
    )*};
}

gpu_claim_tests!(gpu_tests);

//! The nightly's claims: every claim of `rethink::claims::GPU`, one test each (generated
//! in `main.rs`), at the scale `RETHINK_NIGHTLY_SCALE` names:
//! - `gpu` (the default): the whole of Fashion-MNIST and CIFAR-10 on a CUDA device, judged
//!   with golden/gpu-bands.json. These tests run only in a `--features gpu` build (they are
//!   ignored otherwise); each is one nextest test in the `gpu` group, and on a runner with
//!   several GPUs `NEXTEST_TEST_GROUP_SLOT` picks the device.
//! - `smoke`: the same tests on the smoke presets (a few dozen Fashion-MNIST images) on
//!   CPU, judged with golden/smoke-bands.json: `make nightly-smoke` runs them (with
//!   `--run-ignored`) to prove the nightly pipeline end to end in CI. A claim on CIFAR-10
//!   has no smoke version, and its test fails at smoke scale saying so.
//!
//! Each test asserts its claim's verdict, then compares the verdict's snapshot
//! (tests/claims/snapshots/ID.snap: the verdict and each measure rounded to its band's
//! resolution), so a nightly whose numbers moved by more than a band's resolution shows a
//! snapshot diff to review.
use crate::common::*;
use anyhow::Result;
use rethink::claims::{self, Claim, Run};
use rethink::experiment::{Experiment, RunDir, RunRecord, Scale};
use std::path::Path;
use tch::Device;

/// The scale the nightly tests run at: `RETHINK_NIGHTLY_SCALE`, `gpu` unless set.
fn scale() -> Scale {
    let s = std::env::var("RETHINK_NIGHTLY_SCALE").unwrap_or_else(|_| "gpu".into());
    match s.parse() {
        Ok(scale @ (Scale::Gpu | Scale::Smoke)) => scale,
        _ => panic!("RETHINK_NIGHTLY_SCALE={s:?}: the nightly runs at gpu or smoke scale"),
    }
}

/// The device for this test: the CPU at smoke scale; at full scale the CUDA device of the
/// nextest group slot, modulo the devices present.
fn device(scale: Scale) -> Device {
    if scale == Scale::Smoke {
        return Device::Cpu;
    }
    assert!(
        tch::Cuda::is_available(),
        "the full-scale nightly needs a CUDA device, and libtorch sees none{}; \
         RETHINK_NIGHTLY_SCALE=smoke runs the same tests in miniature on CPU",
        if cfg!(feature = "gpu") {
            ""
        } else {
            " (and this build lacks --features gpu)"
        }
    );
    let slot: usize = std::env::var("NEXTEST_TEST_GROUP_SLOT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Device::Cuda(slot % tch::Cuda::device_count().max(1) as usize)
}

/// Trains `exp` on `device`, once: claims that share a run (a true-label run, say) wait for
/// one test to train it. The nightly sets `RETHINK_RESULTS_DIR`, where runs go to
/// `runs/NAME` for `rethink merge` and `rethink report`; otherwise they go to the test run
/// cache. A results directory is not a cache: a finished run of another experiment in
/// `runs/NAME` (seed 0's, where `rethink reproduce` wrote it and the tests ask for another
/// seed) is refused, not trained over.
pub fn run_nightly(exp: &Experiment, device: Device) -> Result<RunRecord> {
    let rec = match std::env::var_os("RETHINK_RESULTS_DIR") {
        Some(dir) => {
            let dir = Path::new(&dir);
            let path = dir.join("runs").join(&exp.name);
            refuse_to_replace(&path, exp)?;
            let lock = dir.join("locks").join(format!("{}.lock", exp.name));
            train_once(&path, &lock, exp, device)?
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

/// An error where `path` holds a finished run of an experiment other than `exp`, which a
/// results directory keeps: [`run_nightly`] would train over it.
pub fn refuse_to_replace(path: &Path, exp: &Experiment) -> Result<()> {
    if let Ok(other) = RunDir::read_record(path) {
        anyhow::ensure!(
            other.why_unfinished().is_some() || other.is_finished_run_of(exp),
            "{} holds a finished run of another experiment ({} at seed {}, where this test \
             runs {} at seed {}); a results directory's runs are not replaced: point \
             RETHINK_RESULTS_DIR elsewhere or remove that run",
            path.display(),
            other.experiment.name,
            other.experiment.train.seed,
            exp.name,
            exp.train.seed
        );
    }
    Ok(())
}

/// `exp`'s finished run where `rethink reproduce --seeds` puts seed K > 0 of it in the
/// results directory `dir` (`runs/NAME-seedK`), under `exp`'s own name, so that claims
/// judge and name it as they do the nightly's `runs/NAME`; `None` at seed 0, or where `dir`
/// holds no finished run of exactly that experiment.
pub fn reproduced_run(dir: &Path, exp: &Experiment) -> Option<RunRecord> {
    let seed = exp.train.seed;
    if seed == 0 {
        return None;
    }
    let mut seeded = exp.clone();
    seeded.name = rethink::suite::seeded_name(&exp.name, seed);
    let path = dir.join("runs").join(&seeded.name);
    let mut rec = RunDir::finished_run(&path, &seeded)?;
    rec.experiment.name.clone_from(&exp.name);
    rec.summary.name.clone_from(&exp.name);
    Some(rec)
}

/// A results directory as `rethink reproduce --seeds 2` leaves it (seed 0 in `runs/NAME`,
/// seed 1 in `runs/NAME-seed1`): seed 1's run is read from its seeded directory under its
/// preset's name, a seed it lacks is not found, and a test at seed 1 is refused rather
/// than train over seed 0's run, which stays as it was.
pub fn a_results_directory_reads_reproduces_seeds_and_replaces_no_finished_run() {
    require_fashion();
    let tmp = tempdir();
    let exp = tiny_experiment(32, 2);
    let seeded = rethink::suite::over_seeds(std::slice::from_ref(&exp), 2);
    for e in &seeded {
        let path = tmp.path().join("runs").join(&e.name);
        RunDir::for_run(&path, e)
            .unwrap()
            .train(e, Device::Cpu, None, &mut |_| {})
            .unwrap();
    }
    let mut at1 = exp.clone();
    at1.train.seed = 1;
    let rec = reproduced_run(tmp.path(), &at1).expect("seed 1's run is read");
    assert_eq!(
        (rec.experiment.name.as_str(), rec.summary.name.as_str()),
        (exp.name.as_str(), exp.name.as_str())
    );
    assert_eq!(rec.experiment.train.seed, 1);
    assert!(rec.is_finished_run_of(&at1));
    let mut at2 = exp.clone();
    at2.train.seed = 2;
    assert!(reproduced_run(tmp.path(), &at2).is_none());
    assert!(
        reproduced_run(tmp.path(), &exp).is_none(),
        "seed 0 is runs/NAME itself"
    );

    let seed0 = tmp.path().join("runs").join(&exp.name);
    let before = metrics_without_times(&seed0);
    assert!(refuse_to_replace(&seed0, &exp).is_ok());
    let err = refuse_to_replace(&seed0, &at1).unwrap_err().to_string();
    assert!(
        err.contains(&seed0.display().to_string()) && err.contains("at seed 0"),
        "{err}"
    );
    assert!(refuse_to_replace(&tmp.path().join("runs/none"), &at1).is_ok());
    assert_eq!(metrics_without_times(&seed0), before);
}

/// The nightly claim `id` at `scale` and its experiments, once their data is found (in
/// `data_dir`, else where rethink looks). Missing data fails at once, before any training,
/// naming the data set and the command that fetches it.
fn nightly_claim(
    id: &str,
    scale: Scale,
    data_dir: Option<&Path>,
) -> (&'static Claim, Vec<Experiment>) {
    let claim: &Claim = claims::nightly(id, scale).unwrap_or_else(|e| panic!("{e}"));
    let exps = claim.experiments().unwrap();
    for e in &exps {
        if let Err(err) = rethink::data::locate(e.dataset, data_dir) {
            panic!("{} needs {}: {err}", claim.id, e.dataset.name());
        }
    }
    (claim, exps)
}

/// Trains and judges the nightly claim `id` at the scale in force, then asserts it and its
/// snapshot.
pub fn assert_nightly_claim(id: &str) {
    let scale = scale();
    let (claim, exps) = nightly_claim(id, scale, None);
    let device = device(scale);
    let runs: Vec<RunRecord> = exps
        .iter()
        .map(|e| run_nightly(e, device).unwrap())
        .collect();
    let refs: Vec<&dyn Run> = runs.iter().map(|r| r as &dyn Run).collect();
    let v = claim.judge(&refs).unwrap();
    eprint!("{v}");
    // scripts/nightly.sh tells a failed verdict from a moved snapshot ("snapshot assertion
    // for 'ID' failed", insta's words) by this line.
    assert!(v.holds, "verdict failed: {}\n{v}", claim.id);
    snapshot_verdict(&v);
}

pub fn a_nightly_test_without_its_data_fails_at_once_naming_the_data_set_and_the_command() {
    let empty = tempdir();
    let Err(e) = std::panic::catch_unwind(|| {
        nightly_claim(
            "cifar10-alexnet-fits-true-labels",
            Scale::Gpu,
            Some(empty.path()),
        )
    }) else {
        panic!("found CIFAR-10 in an empty directory");
    };
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("cifar10-alexnet-fits-true-labels needs cifar10"),
        "{msg}"
    );
    assert!(msg.contains("rethink data fetch cifar10"), "{msg}");
}

pub fn a_cifar10_claim_at_smoke_scale_says_it_has_no_miniature() {
    let Err(e) = std::panic::catch_unwind(|| {
        nightly_claim("cifar10-alexnet-fits-true-labels", Scale::Smoke, None)
    }) else {
        panic!("a CIFAR-10 claim has no smoke version");
    };
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("no smoke-scale version"), "{msg}");
}

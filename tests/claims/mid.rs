//! The mid scale's claims as tests (`mid::ID`), in their own nextest profile
//! (`cargo nextest run --profile mid`; `make test` leaves them out): one seed of the suite,
//! `RETHINK_MID_SEED` (default 0; the CPU nightly rotates it over golden/seeds.json's
//! registered mid seeds), trained once through the run cache (`mid::suite_half_1` and
//! `mid::suite_half_2`, two processes at once) and judged claim by claim. A
//! verdict that fails is a failed test; each claim's snapshot is `ID-seedK.snap`.
use super::common;
use rethink::experiment::{Experiment, RunRecord, Scale};
use tch::Device;

/// The environment variable that chooses the seed.
pub const SEED_ENV: &str = "RETHINK_MID_SEED";

/// The seed the mid tests train at: `RETHINK_MID_SEED`, else 0. A seed that is not
/// registered for the mid scale is refused: an effect over seeds reads registered seeds only.
pub fn seed() -> u64 {
    let seed = match std::env::var(SEED_ENV) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_ENV}={s:?} is not a seed (a whole number)")),
        Err(_) => 0,
    };
    let registered = rethink::claims::stats::registered_seeds(Scale::Mid).unwrap();
    assert!(
        registered.contains(&seed),
        "{SEED_ENV}={seed} is not registered for the mid scale in golden/seeds.json ({registered:?})"
    );
    seed
}

/// `exp` at the tests' seed.
fn at_seed(exp: &Experiment, seed: u64) -> Experiment {
    let mut e = exp.clone();
    e.train.seed = seed;
    e
}

/// The two halves of the mid suite that `mid::suite_half_1` and `mid::suite_half_2` train:
/// runs 0, 2, 4... and 1, 3, 5... of the suite (the longest first), about equal in time.
pub const HALVES: usize = 2;

/// Trains half `k` (0 or 1) of the mid suite at the tests' seed into the run cache, one run
/// after another. The two halves are two tests, so nextest trains them in two processes at
/// once (the profile starts them first), each run on one libtorch thread; the claims' tests
/// then read every run from the cache. Not two threads of one process: a run seeds
/// libtorch's global generator, which initializes the model and draws dropout masks, so two
/// runs in one process would draw from each other's stream.
pub fn suite_half(k: usize) {
    let seed = seed();
    for exp in rethink::suite::experiments(Scale::Mid)
        .into_iter()
        .skip(k)
        .step_by(HALVES)
    {
        run(&at_seed(&exp, seed)).unwrap_or_else(|e| panic!("{}: {e:#}", exp.name));
    }
}

/// Trains `exp` on the CPU once, as the nightly's tests do: into `RETHINK_RESULTS_DIR`'s
/// `runs/NAME` when the nightly sets it, else into the test run cache. A results directory
/// that `rethink reproduce --seeds` wrote is judged as it is: seed K's finished runs are
/// read from `runs/NAME-seedK` ([`super::gpu::reproduced_run`]).
fn run(exp: &Experiment) -> anyhow::Result<RunRecord> {
    if let Some(dir) = std::env::var_os("RETHINK_RESULTS_DIR") {
        if let Some(rec) = super::gpu::reproduced_run(std::path::Path::new(&dir), exp) {
            eprintln!(
                "{}: read at seed {} from {}",
                exp.name,
                exp.train.seed,
                dir.to_string_lossy()
            );
            return Ok(rec);
        }
    }
    common::require_fashion();
    super::gpu::run_nightly(exp, Device::Cpu)
}

/// Asserts that mid claim `id` holds at the tests' seed and matches its snapshot.
pub fn assert_mid_claim(id: &str) {
    let seed = seed();
    let runs = common::claim_runs_with(id, |e| run(&at_seed(e, seed)));
    let v = common::judge_runs(id, &runs);
    assert!(v.holds, "verdict failed: {id}\n{v}");
    eprint!("{v}");
    common::snapshot_named(&format!("{id}-seed{seed}"), &v);
}

/// The points of a run's curve that its curve snapshot pins: the first epochs at train
/// accuracy 0.5, 0.9 and 1.0, and the test accuracy at half the budget and at its end.
pub fn curve_points(rec: &RunRecord) -> Vec<(&'static str, Option<f64>)> {
    use rethink::claims::epochs_to;
    let epochs = |t| epochs_to(rec, t).map(|e| e as f64);
    let half = rec.experiment.train.max_epochs / 2;
    let test_at = |epoch: usize| {
        rec.metrics
            .iter()
            .find(|m| m.epoch == epoch)
            .and_then(|m| m.test_acc)
    };
    vec![
        ("epochs_to_0.5", epochs(0.5)),
        ("epochs_to_0.9", epochs(0.9)),
        ("epochs_to_1.0", epochs(1.0)),
        ("test_acc_at_half", test_at(half)),
        ("test_acc_at_end", test_at(rec.experiment.train.max_epochs)),
    ]
}

/// A curve point's cell: its signed distance from the calibrated median in cell widths,
/// rounded (0: within half a width of the median); `None` where the point was never reached.
pub fn cell(value: Option<f64>, median: f64, width: f64) -> Option<i64> {
    value.map(|v| ((v - median) / width).round() as i64)
}

/// The curve snapshot of the mid suite at the tests' seed (`mid-curves-seedK.snap`): for
/// each run, each point of [`curve_points`] as its [`cell`] against golden/mid-bands.json's
/// `curves`, whose medians and widths come from the calibration over seeds (a width is twice
/// their spread, so every calibration run is in cell 0). A moved cell is a learning curve
/// that left the range the calibration seeds span; a point no calibration run reached is
/// null, or "reached" once a run reaches it; a point some calibration runs reached and
/// others did not (`mixed`: ResNet18's 100% at the end of its budget) is left out.
pub fn curves_match_their_snapshot() {
    let seed = seed();
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("../../golden/mid-bands.json")).unwrap();
    let cells = &golden["curves"]["cells"];
    let mut snapshot = serde_json::Map::new();
    for exp in rethink::suite::experiments(Scale::Mid) {
        let rec = run(&at_seed(&exp, seed)).unwrap_or_else(|e| panic!("{}: {e:#}", exp.name));
        let mut points = serde_json::Map::new();
        for (point, value) in curve_points(&rec) {
            let c = &cells[&exp.name][point];
            // Reached by some calibration runs and not others: no cell of it is reproducible.
            if c["mixed"] == serde_json::Value::Bool(true) {
                continue;
            }
            let pinned = match (c["median"].as_f64(), c["width"].as_f64(), &c["never"]) {
                (Some(median), Some(width), _) => cell(value, median, width).into(),
                // No calibration run reached it: whether this one does.
                (_, _, serde_json::Value::Bool(true)) => value.map(|_| "reached").into(),
                _ => panic!(
                    "golden/mid-bands.json has no calibrated cell for {} {point}",
                    exp.name
                ),
            };
            points.insert(point.into(), pinned);
        }
        snapshot.insert(exp.name.clone(), points.into());
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path(common::snapshots_dir());
    settings.bind(|| {
        insta::assert_json_snapshot!(
            format!("mid-curves-seed{seed}"),
            serde_json::Value::Object(snapshot)
        )
    });
}

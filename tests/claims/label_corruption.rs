//! Claim 5 (§2, Fig. 1b and 1c): with label corruption P from 0 to 1, training still
//! reaches 100% accuracy at every P, test error grows with P, and time to fit grows with P.
use crate::common::*;
use rethink::claims::*;
use rethink::randomize::Randomization;

pub const LEVELS: [f64; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];

#[test]
fn test_error_and_time_to_fit_grow_with_label_corruption_while_training_fits() {
    let runs: Vec<_> = LEVELS
        .iter()
        .map(|&p| {
            run_preset("fashion-cpu-true-labels", |e| {
                e.name = format!("fashion-cpu-corrupt-{p}");
                e.randomization = Randomization::Corrupt(p);
            })
            .unwrap()
        })
        .collect();
    for r in &runs {
        fitted(r).unwrap();
    }
    let test_err: Vec<f64> = runs
        .iter()
        .map(|r| 1.0 - r.summary.final_test_acc)
        .collect();
    let rho = spearman(&LEVELS, &test_err);
    assert!(
        rho >= band("corruption_test_error_spearman_min"),
        "test error {test_err:?}: spearman {rho}"
    );
    // Time to fit, at 90% train accuracy: it jumps from P = 0 to P = 0.2 and then is flat
    // within noise at this scale (golden/cpu-bands.json has the numbers).
    let t90: Vec<f64> = runs
        .iter()
        .map(|r| epochs_to(r, 0.9).unwrap() as f64)
        .collect();
    let jump = band("corruption_time_jump_min");
    for (p, t) in LEVELS.iter().zip(&t90).skip(1) {
        assert!(
            *t >= jump * t90[0],
            "P={p}: {t} epochs to 0.9, not {jump}x the {} of P=0",
            t90[0]
        );
    }
    non_decreasing_within(&t90, band("corruption_time_tolerance")).unwrap();
    let rows: Vec<_> = runs
        .iter()
        .zip(LEVELS)
        .map(|(r, p)| {
            serde_json::json!({
                "p": p,
                "epochs_to_fit": r.summary.epochs_to_fit,
                "epochs_to_0.9": epochs_to(r, 0.9),
                "test_error": round(1.0 - r.summary.final_test_acc, 2),
            })
        })
        .collect();
    insta::assert_json_snapshot!("label_corruption", rows);
}

//! Each claim's check fails when its claim is false: the same checks, on runs where the
//! claim does not hold (training cut short, roles swapped, order reversed).
use crate::common::*;
use rethink::claims::*;

#[test]
fn fitted_fails_when_training_is_cut_to_one_epoch() {
    let rec = run_preset("fashion-cpu-random-labels", |e| e.max_epochs = 1).unwrap();
    let err = fitted(&rec).unwrap_err().to_string();
    assert!(err.contains("never reached 1"), "{err}");
}

#[test]
fn chance_and_generalization_checks_fail_on_the_wrong_labels() {
    let truth = run_preset("fashion-cpu-true-labels", |e| e.max_epochs = 10).unwrap();
    let random = run_preset("fashion-cpu-random-labels", |e| e.max_epochs = 10).unwrap();
    assert!(
        at_chance(&truth, band("chance_sigmas")).is_err(),
        "true labels are not at chance"
    );
    assert!(generalizes(&random, band("true_labels_test_acc_min")).is_err());
    // Swapped roles: true labels do not fit more slowly than random labels.
    let full_truth = run_preset("fashion-cpu-true-labels", |_| {}).unwrap();
    let full_random = run_preset("fashion-cpu-random-labels", |_| {}).unwrap();
    assert!(slowdown(
        &full_truth,
        &full_random,
        1.0,
        band("slowdown_fit_min"),
        band("slowdown_fit_max")
    )
    .is_err());
}

#[test]
fn trend_checks_fail_on_a_reversed_order() {
    let err = [0.2, 0.3, 0.45, 0.55, 0.7, 0.9];
    let rev: Vec<f64> = err.iter().rev().copied().collect();
    assert!(
        spearman(&[0.0, 0.2, 0.4, 0.6, 0.8, 1.0], &rev)
            < band("corruption_test_error_spearman_min")
    );
    assert!(non_decreasing_within(
        &[20.0, 80.0, 100.0, 60.0],
        band("corruption_time_tolerance")
    )
    .is_err());
}

#[test]
fn clean_first_fails_without_corruption_and_when_corrupted_examples_keep_up() {
    let clean = run_preset("fashion-cpu-true-labels", |e| e.max_epochs = 5).unwrap();
    assert!(clean_first(&clean, 0.9, band("arpit_corrupted_max")).is_err());
    // At P = 0.5 with the bound set below what the corrupted examples reach, it fails.
    let half = run_preset("fashion-cpu-corrupt-0.5", |e| e.max_epochs = 60).unwrap();
    assert!(clean_first(&half, 0.9, 0.05).is_err());
}

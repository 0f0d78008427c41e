//! Each claim's check fails when its claim is false: the registry's own checks, judged on
//! real runs where the claim does not hold (training cut short, roles swapped, order
//! reversed). `rethink::claims` unit tests do the same for every claim on synthetic runs.
use crate::common::*;
use rethink::claims::{self, Run, Verdict};
use rethink::experiment::RunRecord;

fn judge_on(id: &str, runs: &[&RunRecord]) -> Verdict {
    let refs: Vec<&dyn Run> = runs.iter().map(|r| *r as &dyn Run).collect();
    claims::claim(id).unwrap().judge(&refs).unwrap()
}

fn refuted(id: &str, runs: &[&RunRecord]) {
    let v = judge_on(id, runs);
    assert!(!v.holds, "{id} should not hold on these runs:\n{v}");
}

pub fn fitting_fails_when_training_is_cut_to_one_epoch() {
    let short = run_preset("fashion-cpu-random-labels", |e| e.train.max_epochs = 1).unwrap();
    refuted("mlp-fits-random-labels", &[&short]);
    refuted("mlp-fits-gaussian", &[&short]);
}

pub fn chance_generalization_and_slowdown_fail_on_the_wrong_labels() {
    let truth = run_preset("fashion-cpu-true-labels", |_| {}).unwrap();
    let random = run_preset("fashion-cpu-random-labels", |_| {}).unwrap();
    // True labels are not at chance; random labels do not generalize.
    refuted("mlp-fits-random-labels", &[&truth]);
    refuted("mlp-fits-true-labels", &[&random]);
    // Swapped roles: true labels do not fit more slowly than random labels.
    refuted("mlp-random-labels-fit-slower", &[&random, &truth]);
    // No labels were corrupted: clean examples are not "fitted first".
    refuted("clean-before-corrupted", &[&truth]);
    // A "plain" run that does not generalize is far below a regularized one.
    let reg = run_preset("fashion-cpu-regularized-true-labels", |_| {}).unwrap();
    refuted("regularization-not-necessary", &[&random, &reg]);
}

pub fn the_corruption_trend_fails_in_reverse_order() {
    let runs = claim_runs("label-corruption");
    let reversed: Vec<&RunRecord> = runs.iter().rev().collect();
    refuted("label-corruption", &reversed);
}

pub fn regularized_random_labels_are_not_fitted_when_training_is_cut_short() {
    let short = run_preset("fashion-cpu-regularized-random-labels", |e| {
        e.train.max_epochs = 50
    })
    .unwrap();
    refuted("regularization-not-sufficient", &[&short]);
}

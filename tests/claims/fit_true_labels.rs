//! Claim 1 (§2, Fig. 1a): true labels are fitted, and the fit generalizes.
use crate::common::*;
use rethink::claims::*;

#[test]
fn true_labels_are_fitted_and_test_accuracy_is_well_above_chance() {
    let rec = run_preset("fashion-cpu-true-labels", |_| {}).unwrap();
    fitted(&rec).unwrap();
    generalizes(&rec, band("true_labels_test_acc_min")).unwrap();
    insta::assert_json_snapshot!("mlp_true_labels", curve(&rec, 20));
}

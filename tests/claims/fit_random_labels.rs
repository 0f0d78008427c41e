//! Claim 2 (§2, Fig. 1a, Table 1 "fitting random labels"): random labels are fitted
//! perfectly, while test accuracy stays at chance.
use crate::common::*;
use rethink::claims::*;

#[test]
fn random_labels_are_fitted_while_test_accuracy_stays_at_chance() {
    let rec = run_preset("fashion-cpu-random-labels", |_| {}).unwrap();
    fitted(&rec).unwrap();
    at_chance(&rec, band("chance_sigmas")).unwrap();
    insta::assert_json_snapshot!("mlp_random_labels", curve(&rec, 20));
}

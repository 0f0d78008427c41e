//! §2, Fig. 1a: true labels are fitted, and the fit generalizes.
use crate::common::*;

#[test]
fn an_mlp_fits_true_labels_and_test_accuracy_is_well_above_chance() {
    assert_claim("mlp-fits-true-labels");
}

#[test]
fn alexnet_fits_true_labels_and_test_accuracy_is_well_above_chance() {
    assert_claim("alexnet-fits-true-labels");
}

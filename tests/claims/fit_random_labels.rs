//! §2, Fig. 1a, Table 1 "fitting random labels": random labels are fitted perfectly, while
//! test accuracy stays at chance.
use crate::common::*;

#[test]
fn an_mlp_fits_random_labels_while_test_accuracy_stays_at_chance() {
    assert_claim("mlp-fits-random-labels");
}

#[test]
fn alexnet_fits_random_labels_while_test_accuracy_stays_at_chance() {
    assert_claim("alexnet-fits-random-labels");
}

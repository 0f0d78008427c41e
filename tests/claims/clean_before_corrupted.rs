//! Beyond the paper (Arpit et al. 2017, "A closer look at memorization"): with half the
//! labels corrupted, the network fits the clean examples before the corrupted ones.
use crate::common::*;

#[test]
fn clean_examples_are_fitted_before_corrupted_ones() {
    assert_claim("clean-before-corrupted");
}

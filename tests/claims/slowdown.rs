//! §2, Fig. 1a ("fitting random labels ... only a small constant factor slower"): random
//! labels take longer to fit than true labels, by a factor inside a calibrated band.
use crate::common::*;

#[test]
fn an_mlp_fits_random_labels_more_slowly_by_a_small_constant_factor() {
    assert_claim("mlp-random-labels-fit-slower");
}

#[test]
fn alexnet_fits_random_labels_more_slowly_by_a_small_constant_factor() {
    assert_claim("alexnet-random-labels-fit-slower");
}

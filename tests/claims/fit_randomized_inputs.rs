//! §2, Fig. 1a: shuffled pixels, random pixels and Gaussian inputs are fitted, by the MLP
//! and by the paper's small AlexNet (a conv net, for which a fixed pixel shuffle destroys
//! the local structure it relies on; for an MLP it changes nothing).
use crate::common::*;

#[test]
fn mlp_fits_shuffled_pixels() {
    assert_claim("mlp-fits-shuffled-pixels");
}

#[test]
fn mlp_fits_random_pixels() {
    assert_claim("mlp-fits-random-pixels");
}

#[test]
fn mlp_fits_gaussian_inputs() {
    assert_claim("mlp-fits-gaussian");
}

#[test]
fn alexnet_fits_shuffled_pixels() {
    assert_claim("alexnet-fits-shuffled-pixels");
}

#[test]
fn alexnet_fits_random_pixels() {
    assert_claim("alexnet-fits-random-pixels");
}

#[test]
fn alexnet_fits_gaussian_inputs() {
    assert_claim("alexnet-fits-gaussian");
}

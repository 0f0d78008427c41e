//! Claim 3 (§2, Fig. 1a): shuffled pixels, random pixels and Gaussian inputs are fitted,
//! by the MLP and by the paper's small AlexNet (a conv net, for which a fixed pixel
//! shuffle destroys the local structure it relies on; for an MLP it changes nothing).
use crate::common::*;
use rethink::claims::*;

fn fits(preset: &str, snapshot: &str, every: usize) {
    let rec = run_preset(preset, |_| {}).unwrap();
    fitted(&rec).unwrap();
    insta::assert_json_snapshot!(snapshot, curve(&rec, every));
}

#[test]
fn mlp_fits_shuffled_pixels() {
    fits("fashion-cpu-shuffled-pixels", "mlp_shuffled_pixels", 20);
}

#[test]
fn mlp_fits_random_pixels() {
    fits("fashion-cpu-random-pixels", "mlp_random_pixels", 10);
}

#[test]
fn mlp_fits_gaussian_inputs() {
    fits("fashion-cpu-gaussian", "mlp_gaussian", 5);
}

#[test]
fn alexnet_fits_shuffled_pixels() {
    fits(
        "fashion-cpu-alexnet-shuffled-pixels",
        "alexnet_shuffled_pixels",
        10,
    );
}

#[test]
fn alexnet_fits_random_pixels() {
    fits(
        "fashion-cpu-alexnet-random-pixels",
        "alexnet_random_pixels",
        10,
    );
}

#[test]
fn alexnet_fits_gaussian_inputs() {
    fits("fashion-cpu-alexnet-gaussian", "alexnet_gaussian", 10);
}

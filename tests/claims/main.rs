//! The paper's claims as tests: one integration-test binary, one module per claim.
//! Zhang et al. 2017, "Understanding deep learning requires rethinking generalization".
//!
//! CPU-scale claims train on real Fashion-MNIST subsets (the presets in
//! `rethink::experiment`); their thresholds live in golden/cpu-bands.json with the runs
//! that justify them. The `gpu` module (with `--features gpu`) runs the full-scale ones.
mod common;

mod clean_before_corrupted;
mod data_cli;
mod falsifiable;
mod fit_random_labels;
mod fit_randomized_inputs;
mod fit_true_labels;
#[cfg(feature = "gpu")]
mod gpu;
mod label_corruption;
mod libtorch;
mod regularization_not_necessary;
mod regularization_not_sufficient;
mod reproduce;
mod run_cli;
mod slowdown;
mod theory;

//! The paper's claims as tests: one integration-test binary, one module per claim.
//! Zhang et al. 2017, "Understanding deep learning requires rethinking generalization".
//!
//! CPU-scale claims are defined once in `rethink::claims` (their runs, check and band); a
//! test here trains the claim's runs on real Fashion-MNIST subsets (once per build, through
//! the run cache in tests/common), asserts its verdict and compares the verdict's snapshot
//! (tests/claims/snapshots/CLAIM.snap). The bands live in golden/cpu-bands.json with the
//! runs that justify them. The `gpu` module runs the nightly's claims (`rethink::claims::GPU`,
//! listed in `gpu_claims`): at full scale with `--features gpu`, or in miniature on CPU
//! (`make nightly-smoke`).
mod common;

mod clean_before_corrupted;
mod data_cli;
mod eval_cadence;
mod falsifiable;
mod fit_random_labels;
mod fit_randomized_inputs;
mod fit_true_labels;
#[macro_use]
mod gpu_claims;
mod gpu;
mod grid;
mod hostile;
mod label_corruption;
mod libtorch;
mod portability;
mod presets_cli;
mod regularization_not_necessary;
mod regularization_not_sufficient;
mod reproduce;
mod resume;
mod run_cache;
mod run_cli;
mod run_dir;
mod slowdown;
mod theory;

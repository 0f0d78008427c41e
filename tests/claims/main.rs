//! The paper's claims as tests: one integration-test binary whose tests are generated from
//! the registry (`rethink::claims::at`), so that every claim of every scale has exactly one
//! test by construction and no list is kept by hand. Zhang et al. 2017, "Understanding deep
//! learning requires rethinking generalization".
//!
//! The binary is its own libtest-compatible harness (libtest-mimic), so nextest and
//! `cargo test` list and filter it like any other:
//! - `cpu::ID` and `grid::ID`: a claim of the CPU or grid scale, trained on real
//!   Fashion-MNIST subsets through the run cache (tests/common), its verdict asserted and
//!   its snapshot compared (`tests/claims/snapshots/ID.snap`);
//! - `gpu::ID`: a nightly claim (`gpu` module), ignored unless built with `--features gpu`;
//!   at smoke scale (`RETHINK_NIGHTLY_SCALE=smoke`, `make nightly-smoke`) the same tests
//!   judge the smoke scale's claims, which are the GPU claims in miniature;
//! - `mid::ID`: a mid-scale claim, at the seed `RETHINK_MID_SEED` (default 0), after
//!   `mid::suite_half_1` and `mid::suite_half_2` have trained its runs; only in the `mid`
//!   nextest profile (tests/claims/mid.rs);
//! - `portability::ID`: `cpu::ID` rerun as on an SSE4.2 CPU, for the claims in
//!   `portability::CLAIMS`;
//! - `falsifiable::…`, `theory::…`, `portability::…` and two `gpu::…` checks: the claims'
//!   checks refuted on real runs where the claim is false, §4-§5 on real images, and the
//!   nightly's data errors.
//!
//! In `ID`, `-` becomes `_`. The command line and the infrastructure under it are tested by
//! the `cli` binary (tests/cli).
mod common;
mod falsifiable;
mod gpu;
mod mid;
mod portability;
mod theory;

use libtest_mimic::{Arguments, Trial};
use rethink::claims;
use rethink::experiment::Scale;

/// The test of claim `id` in module `module`: `module::id` with `-` as `_` (the rule
/// scripts/nightly.sh selects a nightly claim's test by).
fn test_name(module: &str, id: &str) -> String {
    format!("{module}::{}", id.replace('-', "_"))
}

/// A trial that runs `f`; a panic fails it with the panic's message.
fn trial(name: String, f: impl FnOnce() + Send + 'static) -> Trial {
    Trial::test(name, move || {
        f();
        Ok(())
    })
}

/// Trials for test functions named as `module::function`.
macro_rules! checks {
    ($($module:ident :: $function:ident),* $(,)?) => {
        [$(trial(concat!(stringify!($module), "::", stringify!($function)).to_string(), $module::$function)),*]
    };
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for &scale in Scale::all() {
        for c in claims::at(scale) {
            let id = c.id;
            trials.push(match scale {
                Scale::Cpu | Scale::Grid => trial(test_name(&scale.name(), id), move || {
                    common::assert_claim(id);
                }),
                Scale::Gpu => trial(test_name("gpu", id), move || gpu::assert_nightly_claim(id))
                    .with_ignored_flag(!cfg!(feature = "gpu")),
                Scale::Mid => trial(test_name("mid", id), move || mid::assert_mid_claim(id)),
                // The smoke claims are the GPU claims in miniature: the `gpu::` tests judge
                // them when RETHINK_NIGHTLY_SCALE=smoke.
                Scale::Smoke => continue,
            });
        }
    }
    for id in portability::CLAIMS {
        let test = test_name("cpu", id);
        assert!(
            claims::at(Scale::Cpu).iter().any(|c| c.id == id),
            "portability::CLAIMS names {id}, which is no CPU claim"
        );
        trials.push(trial(test_name("portability", id), move || {
            portability::rerun_at_sse42(&test)
        }));
    }
    for k in 0..mid::HALVES {
        trials.push(trial(format!("mid::suite_half_{}", k + 1), move || {
            mid::suite_half(k)
        }));
    }
    trials.push(trial(
        "mid::curves_match_their_snapshot".into(),
        mid::curves_match_their_snapshot,
    ));
    trials.extend(checks![
        falsifiable::fitting_fails_when_training_is_cut_to_one_epoch,
        falsifiable::chance_generalization_and_slowdown_fail_on_the_wrong_labels,
        falsifiable::the_corruption_trend_fails_in_reverse_order,
        falsifiable::regularized_random_labels_are_not_fitted_when_training_is_cut_short,
        theory::a_2n_plus_d_relu_network_fits_random_labels_on_real_images,
        theory::the_theorem_command_fits_gaussian_points_with_real_targets,
        theory::minimum_norm_interpolation_fits_true_and_random_labels_and_only_true_ones_generalize,
        portability::the_sse42_environment_limits_onednn,
        gpu::a_nightly_test_without_its_data_fails_at_once_naming_the_data_set_and_the_command,
        gpu::a_cifar10_claim_at_smoke_scale_says_it_has_no_miniature,
        gpu::a_results_directory_reads_reproduces_seeds_and_replaces_no_finished_run,
    ]);
    libtest_mimic::run(&args, trials).exit();
}

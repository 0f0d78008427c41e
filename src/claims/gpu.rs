//! The claims at GPU scale, on the whole of Fashion-MNIST and CIFAR-10 (Zhang et al. 2017,
//! §2-§3, Table 1): what the nightly suite (`cargo nextest run --features gpu`) asserts, judged
//! with the bands of golden/gpu-bands.json.
use super::{Claim, Judge};
use crate::error::{Error, Result};
use crate::experiment::Scale;
use std::sync::LazyLock;

/// The run memorized its training set, as far as the full-scale presets go (band
/// `train_acc_fit`: the paper's own runs stop at 99.34%-100%).
fn fitted(j: &mut Judge<'_>) {
    let b = j.nightly;
    j.train_acc(0, &b.train_acc_fit);
}

/// Fitted, and the test accuracy stays at chance.
fn fitted_at_chance(j: &mut Judge<'_>) {
    fitted(j);
    let b = j.nightly;
    j.at_chance_within(0, &b.chance_sigmas);
}

/// Fitted, and the test accuracy is the paper's Table 1 row, within its band.
fn fitted_near_paper(j: &mut Judge<'_>) {
    fitted(j);
    j.near_paper(0);
}

/// With a regularizer on, the run still fits (band `regularized_train_acc`).
fn regularized_fitted(j: &mut Judge<'_>) {
    let b = j.nightly;
    j.train_acc(0, &b.regularized_train_acc);
}

/// Regularized, fitted, and the test accuracy is the paper's Table 1 row.
fn regularized_near_paper(j: &mut Judge<'_>) {
    regularized_fitted(j);
    j.near_paper(0);
}

/// Inception with and without batch norm: both fit and generalize as in Table 1, and early
/// stopping would gain little on either.
fn batch_norm_and_early_stopping(j: &mut Judge<'_>) {
    let b = j.nightly;
    for i in 0..2 {
        j.train_acc(i, &b.train_acc_fit);
        j.near_paper(i);
        j.early_stopping_gain(i);
    }
}

/// A claim on one full-scale run.
macro_rules! one_run {
    ($id:literal, $run:literal, $check:ident, $paper:literal, $statement:literal) => {
        Claim {
            id: $id,
            scale: Scale::Gpu,
            statement: $statement,
            paper: $paper,
            runs: &[$run],
            check: $check,
        }
    };
}

/// Every GPU-scale claim.
pub const GPU: &[Claim] = &[
    // Fig. 1a on full Fashion-MNIST: Xiao, Wang, Liu and Yu's models.
    one_run!("fashion-alexnet-fits-true-labels", "fashion-alexnet-true-labels", fitted,
        "§2, Fig. 1a", "AlexNet fits the true labels of all of Fashion-MNIST"),
    one_run!("fashion-alexnet-fits-random-labels", "fashion-alexnet-random-labels", fitted_at_chance,
        "§2, Fig. 1a", "AlexNet fits random labels on all of Fashion-MNIST, while test accuracy stays at chance"),
    one_run!("fashion-alexnet-fits-random-pixels", "fashion-alexnet-random-pixels", fitted,
        "§2, Fig. 1a", "AlexNet fits random pixels on all of Fashion-MNIST"),
    one_run!("fashion-resnet18-fits-true-labels", "fashion-resnet18-true-labels", fitted,
        "§2, Fig. 1a", "ResNet18 fits the true labels of all of Fashion-MNIST"),
    one_run!("fashion-resnet18-fits-random-labels", "fashion-resnet18-random-labels", fitted_at_chance,
        "§2, Fig. 1a", "ResNet18 fits random labels on all of Fashion-MNIST, while test accuracy stays at chance"),
    one_run!("fashion-resnet18-fits-random-pixels", "fashion-resnet18-random-pixels", fitted,
        "§2, Fig. 1a", "ResNet18 fits random pixels on all of Fashion-MNIST"),
    // Table 1 and Fig. 1a on CIFAR-10.
    one_run!("cifar10-alexnet-fits-true-labels", "cifar10-alexnet-true-labels", fitted_near_paper,
        "§2, Table 1", "AlexNet fits the true labels of CIFAR-10 and generalizes as in Table 1"),
    one_run!("cifar10-alexnet-fits-random-labels", "cifar10-alexnet-random-labels", fitted_at_chance,
        "§2, Table 1", "AlexNet fits random labels on CIFAR-10, while test accuracy stays at chance"),
    one_run!("cifar10-alexnet-fits-random-pixels", "cifar10-alexnet-random-pixels", fitted,
        "§2, Fig. 1a", "AlexNet fits random pixels on CIFAR-10"),
    one_run!("cifar10-resnet18-fits-true-labels", "cifar10-resnet18-true-labels", fitted,
        "§2 (ResNet18 is not in Table 1)", "ResNet18 fits the true labels of CIFAR-10"),
    one_run!("cifar10-resnet18-fits-random-labels", "cifar10-resnet18-random-labels", fitted_at_chance,
        "§2", "ResNet18 fits random labels on CIFAR-10, while test accuracy stays at chance"),
    one_run!("cifar10-resnet18-fits-random-pixels", "cifar10-resnet18-random-pixels", fitted,
        "§2", "ResNet18 fits random pixels on CIFAR-10"),
    // §3: explicit regularizers are not sufficient to stop memorization (random labels are
    // still fitted), and not what generalization rests on (Table 1 with weight decay).
    one_run!("fashion-alexnet-weight-decay-fits-true-labels", "fashion-alexnet-weight-decay-true-labels",
        regularized_fitted, "§3", "with weight decay, AlexNet still fits the true labels of all of Fashion-MNIST"),
    one_run!("fashion-alexnet-weight-decay-fits-random-labels", "fashion-alexnet-weight-decay-random-labels",
        regularized_fitted, "§3", "with weight decay, AlexNet still fits random labels on all of Fashion-MNIST"),
    one_run!("fashion-resnet18-dropout-fits-random-labels", "fashion-resnet18-dropout-random-labels",
        regularized_fitted, "§3", "with dropout, ResNet18 still fits random labels on all of Fashion-MNIST"),
    one_run!("cifar10-alexnet-weight-decay-fits-true-labels", "cifar10-alexnet-weight-decay-true-labels",
        regularized_near_paper, "§3, Table 1", "with weight decay, AlexNet fits the true labels of CIFAR-10 and generalizes as in Table 1"),
    one_run!("cifar10-alexnet-weight-decay-fits-random-labels", "cifar10-alexnet-weight-decay-random-labels",
        regularized_fitted, "§3, Table 1", "with weight decay, AlexNet still fits random labels on CIFAR-10"),
    one_run!("cifar10-alexnet-dropout-fits-random-labels", "cifar10-alexnet-dropout-random-labels",
        regularized_fitted, "§3", "with dropout, AlexNet still fits random labels on CIFAR-10"),
    one_run!("cifar10-resnet18-weight-decay-fits-random-labels", "cifar10-resnet18-weight-decay-random-labels",
        regularized_fitted, "§3", "with weight decay, ResNet18 still fits random labels on CIFAR-10"),
    one_run!("cifar10-resnet18-dropout-fits-random-labels", "cifar10-resnet18-dropout-random-labels",
        regularized_fitted, "§3", "with dropout, ResNet18 still fits random labels on CIFAR-10"),
    Claim {
        id: "cifar10-inception-batch-norm-and-early-stopping",
        scale: Scale::Gpu,
        statement: "batch norm and early stopping help a little and are not what makes generalization possible: Inception with and without batch norm both fit and generalize as in Table 1, and the best test accuracy during training beats the final one only a little",
        paper: "§3, implicit regularization, Table 1",
        runs: &["cifar10-inception-true-labels", "cifar10-inception-nobn-true-labels"],
        check: batch_norm_and_early_stopping,
    },
];

/// What distinguishes a smoke claim's id (and a smoke preset's name) from its GPU claim's.
const SMOKE_ID_PREFIX: &str = "smoke-";

/// The nightly in miniature (`make nightly-smoke`): every GPU claim whose runs are all on
/// Fashion-MNIST, with the same check, on the smoke presets (`fashion-smoke-...`: a few
/// dozen images, seconds per run on CPU) and judged with golden/smoke-bands.json. Its id is
/// the GPU claim's with `smoke-` in front. The CIFAR-10 claims have none: CIFAR-10 is not
/// on the machines the smoke runs on.
pub fn smoke() -> &'static [Claim] {
    static SMOKE: LazyLock<Vec<Claim>> =
        LazyLock::new(|| GPU.iter().filter_map(in_miniature).collect());
    &SMOKE
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// `c` at smoke scale, if its runs have smoke presets (built once, in [`smoke`]).
fn in_miniature(c: &Claim) -> Option<Claim> {
    let runs: Vec<&'static str> = c
        .runs
        .iter()
        .map(|r| {
            Some(leak(format!(
                "fashion-smoke-{}",
                r.strip_prefix("fashion-")?
            )))
        })
        .collect::<Option<_>>()?;
    Some(Claim {
        id: leak(format!("{SMOKE_ID_PREFIX}{}", c.id)),
        scale: Scale::Smoke,
        statement: leak(format!(
            "in miniature (a few dozen images, on CPU): {}",
            c.statement
        )),
        paper: c.paper,
        runs: Box::leak(runs.into_boxed_slice()),
        check: c.check,
    })
}

/// The claim the nightly test of GPU claim `id` asserts at `scale`: the GPU claim itself
/// at full scale, its miniature at smoke scale. A GPU claim without a miniature (its runs
/// are on CIFAR-10) is an error at smoke scale, which names it.
pub fn nightly(id: &str, scale: Scale) -> Result<&'static Claim> {
    let gpu = GPU
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| Error::config("claim", format!("{id:?} is not a GPU-scale claim")))?;
    match scale {
        Scale::Gpu => Ok(gpu),
        Scale::Smoke => smoke()
            .iter()
            .find(|c| c.id.strip_prefix(SMOKE_ID_PREFIX) == Some(id))
            .ok_or_else(|| {
                Error::config(
                    "claim",
                    format!(
                        "{id} has no smoke-scale version: its runs ({}) are not on Fashion-MNIST; the smoke runs only {}",
                        gpu.runs.join(", "),
                        smoke().iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
                    ),
                )
            }),
        Scale::Cpu | Scale::Grid | Scale::Mid => Err(Error::config(
            "claim",
            format!("the nightly runs at gpu or smoke scale, not {scale} ({id})"),
        )),
    }
}

/// Each claim's runs on which it holds, and runs on which it must not.
#[cfg(test)]
pub(super) mod falsification {
    use super::super::testutil::{fake, Cases};
    use super::super::Claim;

    /// The GPU claims' cases: final train accuracy 1.0 (fitted), 0.95 (stalled) or 0.5
    /// (far from fitted, for the regularized band's 0.95).
    pub fn cases(c: &Claim) -> Cases {
        let fit = |p: &str, test: f64| fake(p, 20, Some(90), test);
        let stalled = |p: &str, test: f64| fake(p, 20, None, test);
        let far = |p: &str, test: f64| {
            let mut r = fake(p, 20, None, test);
            r.summary.final_train_acc = 0.5;
            r
        };
        let run = c.runs[0];
        let regularized = c.id.contains("-weight-decay-") || c.id.contains("-dropout-");
        match c.id {
            "cifar10-inception-batch-norm-and-early-stopping" => {
                let (bn, nobn) = (c.runs[0], c.runs[1]);
                let mut stops_early = fit(nobn, 0.82);
                stops_early.summary.best_test_acc = 0.90;
                (
                    vec![fit(bn, 0.8575), fit(nobn, 0.82)],
                    vec![
                        vec![fit(bn, 0.70), fit(nobn, 0.82)],
                        vec![fit(bn, 0.8575), stalled(nobn, 0.82)],
                        vec![fit(bn, 0.8575), stops_early],
                    ],
                )
            }
            // Table 1 without crop: 77.36% with weight decay, 76.07% without.
            "cifar10-alexnet-weight-decay-fits-true-labels" => (
                vec![fit(run, 0.77)],
                vec![vec![far(run, 0.77)], vec![fit(run, 0.60)]],
            ),
            "cifar10-alexnet-fits-true-labels" => (
                vec![fit(run, 0.76)],
                vec![vec![stalled(run, 0.76)], vec![fit(run, 0.85)]],
            ),
            _ if regularized => (vec![stalled(run, 0.1)], vec![vec![far(run, 0.1)]]),
            id if id.ends_with("-random-labels") => (
                vec![fit(run, 0.1)],
                vec![vec![stalled(run, 0.1)], vec![fit(run, 0.2)]],
            ),
            _ => (vec![fit(run, 0.1)], vec![vec![stalled(run, 0.1)]]),
        }
    }

    /// The smoke claims (their GPU claim's check, the smoke bands): each must fit, and a
    /// random-label run's test accuracy must be at chance.
    pub fn smoke_cases(c: &Claim) -> Cases {
        let fit = |p: &str, test: f64| fake(p, 20, Some(40), test);
        let stalled = |p: &str, test: f64| fake(p, 20, None, test);
        let run = c.runs[0];
        let mut bad = vec![vec![stalled(run, 0.1)]];
        if c.id.ends_with("-fits-random-labels")
            && !c.id.contains("-weight-decay-")
            && !c.id.contains("-dropout-")
        {
            bad.push(vec![fit(run, 0.5)]);
        }
        (vec![fit(run, 0.1)], bad)
    }
}

//! The AlexNet/ResNet18 grid as claims (Xiao, Wang, Liu and Yu's reproduction of the paper
//! in slides, which this project started from: AlexNet and ResNet18 on Fashion-MNIST × true
//! labels, random labels and random pixels × weight decay and dropout), on the grid
//! presets, judged with golden/grid-bands.json.
use super::{Claim, Judge};
use crate::experiment::Scale;

const ALEXNET_TRUE: &str = "fashion-grid-alexnet-true-labels";
const ALEXNET_WD_TRUE: &str = "fashion-grid-alexnet-weight-decay-true-labels";
const ALEXNET_DROPOUT_TRUE: &str = "fashion-grid-alexnet-dropout-true-labels";
const RESNET_TRUE: &str = "fashion-grid-resnet18-true-labels";
const RESNET_WD_TRUE: &str = "fashion-grid-resnet18-weight-decay-true-labels";
const RESNET_DROPOUT_TRUE: &str = "fashion-grid-resnet18-dropout-true-labels";

/// The true-label runs two claims compare, in this order: each net without a regularizer,
/// with weight decay, with dropout.
const TRUE_LABEL_RUNS: &[&str] = &[
    ALEXNET_TRUE,
    ALEXNET_WD_TRUE,
    ALEXNET_DROPOUT_TRUE,
    RESNET_TRUE,
    RESNET_WD_TRUE,
    RESNET_DROPOUT_TRUE,
];

/// Run `i`'s final test accuracy.
fn test_acc(j: &Judge<'_>, i: usize) -> f64 {
    j.run(i).summary().final_test_acc
}

/// Every claim of the AlexNet/ResNet18 grid.
pub const GRID: &[Claim] = &[
    Claim {
        id: "grid-fits-true-labels",
        scale: Scale::Grid,
        statement: "AlexNet and ResNet18 both fit true labels, and both fits generalize: test accuracy far above chance",
        paper: "§2, Fig. 1a; Xiao, Wang, Liu and Yu's true-label runs",
        runs: &[ALEXNET_TRUE, RESNET_TRUE],
        check: |j| {
            let g = j.grid;
            j.fitted_in(0, &g.train_acc_fit);
            j.test_acc(0, &g.alexnet_true_labels_test_acc);
            j.fitted_in(1, &g.train_acc_fit);
            j.test_acc(1, &g.resnet18_true_labels_test_acc);
        },
    },
    Claim {
        id: "grid-fits-random-labels",
        scale: Scale::Grid,
        statement: "AlexNet and ResNet18 both fit random labels perfectly, while test accuracy stays at chance",
        paper: "§2, Fig. 1a, Table 1; Xiao, Wang, Liu and Yu's random-label runs",
        runs: &[
            "fashion-grid-alexnet-random-labels",
            "fashion-grid-resnet18-random-labels",
        ],
        check: |j| {
            let g = j.grid;
            for i in 0..2 {
                j.fitted_in(i, &g.train_acc_fit);
                j.at_chance_within(i, &g.chance_sigmas);
            }
        },
    },
    Claim {
        id: "grid-fits-random-pixels",
        scale: Scale::Grid,
        statement: "AlexNet and ResNet18 both fit random pixels (each image's pixels shuffled by its own permutation)",
        paper: "§2, Fig. 1a; Xiao, Wang, Liu and Yu's random-pixel runs",
        runs: &[
            "fashion-grid-alexnet-random-pixels",
            "fashion-grid-resnet18-random-pixels",
        ],
        check: |j| {
            let g = j.grid;
            j.fitted_in(0, &g.train_acc_fit);
            j.fitted_in(1, &g.train_acc_fit);
        },
    },
    Claim {
        id: "grid-regularization-not-sufficient",
        scale: Scale::Grid,
        statement: "with weight decay, or with dropout, AlexNet and ResNet18 still fit random labels: explicit regularization is not sufficient to prevent memorization",
        paper: "§3, Table 1; Xiao, Wang, Liu and Yu's regularized random-label runs",
        runs: &[
            "fashion-grid-alexnet-weight-decay-random-labels",
            "fashion-grid-alexnet-dropout-random-labels",
            "fashion-grid-resnet18-weight-decay-random-labels",
            "fashion-grid-resnet18-dropout-random-labels",
        ],
        check: |j| {
            let g = j.grid;
            for i in 0..4 {
                j.fitted_in(i, &g.train_acc_fit);
            }
        },
    },
    Claim {
        id: "grid-regularization-not-necessary",
        scale: Scale::Grid,
        statement: "without weight decay or dropout, AlexNet's true-label test accuracy stays within a small margin of its regularized runs': explicit regularization is not necessary to generalize; ResNet18's regularized runs must fit, and its gaps are reported, not asserted (on 128 images its first-fit test accuracy moves by up to 12 points on last-bit changes of the kernels, golden/grid-bands.json not_robust), each net's gaps judged over seeds against the same margin",
        paper: "§3, Table 1; Xiao, Wang, Liu and Yu's conclusion that both regularizers help a little",
        runs: TRUE_LABEL_RUNS,
        check: |j| {
            let g = j.grid;
            for i in [1, 2, 4, 5] {
                j.fitted_in(i, &g.train_acc_fit);
            }
            for (plain, regularized) in [(0, 1), (0, 2), (3, 4), (3, 5)] {
                let (a, b) = (test_acc(j, regularized), test_acc(j, plain));
                let what = format!(
                    "test accuracy of {} minus {}",
                    j.run(regularized).summary().name,
                    j.run(plain).summary().name
                );
                let detail = format!("{a:.4} - {b:.4}");
                let band = &g.regularization_gap;
                if plain == 0 {
                    j.paired_within_band(what, Some(a - b), detail, band);
                } else {
                    // ResNet18 stops at its first perfect fit after 9-10 epochs, where a
                    // last-bit change of the kernels moves its test accuracy by points: seed
                    // by seed its gap is noise here, and only over seeds is it judged.
                    j.paired_reported(what, Some(a - b), detail, band.into());
                }
            }
        },
    },
    Claim {
        id: "grid-architecture-over-regularizers",
        scale: Scale::Grid,
        statement: "Xiao, Wang, Liu and Yu's architecture claim, measured: the true-label test-accuracy gain from AlexNet to ResNet18 against the larger gain weight decay or dropout brings AlexNet (reported, not asserted, so the verdict is not robust: at this scale ResNet18 generalizes worse than AlexNet for reasons of protocol and size, golden/grid-bands.json not_robust); the runs compared must all fit",
        paper: "Xiao, Wang, Liu and Yu's conclusion (beyond the paper, which compares architectures in Table 1 without asserting this)",
        runs: &[ALEXNET_TRUE, ALEXNET_WD_TRUE, ALEXNET_DROPOUT_TRUE, RESNET_TRUE],
        check: |j| {
            let g = j.grid;
            for i in 0..4 {
                j.fitted_in(i, &g.train_acc_fit);
            }
            j.architecture_margin([0, 1, 2, 3]);
        },
    },
];

/// Each claim's runs on which it holds, and runs on which it must not.
#[cfg(test)]
pub(super) mod falsification {
    use super::super::testutil::{fake, verdict, Cases};
    use super::super::Claim;
    use crate::experiment::RunRecord;

    /// The grid claims' cases: runs fitted by epoch 40, or stalled at 0.95.
    pub fn cases(c: &Claim) -> Cases {
        let fit = |p: &str, test: f64| fake(p, 20, Some(40), test);
        let stalled = |p: &str, test: f64| fake(p, 20, None, test);
        let fits = |test: &[f64]| -> Vec<RunRecord> {
            c.runs.iter().zip(test).map(|(p, &t)| fit(p, t)).collect()
        };
        // Each run in turn stalls; the rest fit.
        let each_stalled = |test: &[f64]| -> Vec<Vec<RunRecord>> {
            (0..c.runs.len())
                .map(|k| {
                    let mut runs = fits(test);
                    runs[k] = stalled(c.runs[k], test[k]);
                    runs
                })
                .collect()
        };
        match c.id {
            "grid-fits-true-labels" => {
                let mut bad = each_stalled(&[0.7, 0.6]);
                bad.push(fits(&[0.1, 0.6]));
                bad.push(fits(&[0.7, 0.1]));
                (fits(&[0.7, 0.6]), bad)
            }
            "grid-fits-random-labels" => {
                let mut bad = each_stalled(&[0.1, 0.1]);
                bad.push(fits(&[0.5, 0.1]));
                bad.push(fits(&[0.1, 0.5]));
                (fits(&[0.1, 0.1]), bad)
            }
            "grid-fits-random-pixels" | "grid-regularization-not-sufficient" => {
                let chance = vec![0.1; c.runs.len()];
                (fits(&chance), each_stalled(&chance))
            }
            // AlexNet plain, +wd, +dropout; ResNet18 plain, +wd, +dropout.
            "grid-regularization-not-necessary" => {
                let good = [0.70, 0.71, 0.72, 0.60, 0.61, 0.60];
                // ResNet18's gaps are reported: a regularizer gaining it 30 points leaves the
                // verdict as it is, with the gap among the measures and no band on it.
                for k in [4, 5] {
                    let mut t = good;
                    t[k] += 0.3;
                    let v = verdict(c.id, &fits(&t));
                    assert_eq!(v.status(), "holds", "{v}");
                    let gap = &v.measures[4 + k - 2];
                    let want = t[k] - t[3];
                    assert!(
                        gap.band.is_none() && (gap.value.unwrap() - want).abs() < 1e-9,
                        "{v}"
                    );
                }
                let mut bad: Vec<_> = [1, 2]
                    .into_iter()
                    .map(|k| {
                        let mut t = good;
                        t[k] += 0.3;
                        fits(&t)
                    })
                    .collect();
                bad.extend(each_stalled(&good).into_iter().filter(|r| {
                    // Only the regularized runs' fits are this claim's to check.
                    r[0].summary.status == crate::record::Stop::TargetReached
                        && r[3].summary.status == crate::record::Stop::TargetReached
                }));
                (fits(&good), bad)
            }
            // The margin is reported, not asserted: either way the verdict is "not robust"
            // while every run compared fits, and "does not hold" when one does not.
            "grid-architecture-over-regularizers" => {
                let (gain, loss) = ([0.70, 0.71, 0.72, 0.80], [0.70, 0.71, 0.72, 0.40]);
                let mut bad = each_stalled(&gain);
                bad.extend(each_stalled(&loss));
                let v = verdict(c.id, &fits(&loss));
                assert!(v.holds && v.measures.last().unwrap().band.is_none(), "{v}");
                assert_eq!(v.status(), "not robust", "{v}");
                (fits(&gain), bad)
            }
            other => panic!("grid claim {other} has no falsification case: add one here"),
        }
    }
}

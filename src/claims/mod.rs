//! The paper's claims as data. Each [`Claim`] is defined once: its words, the runs it needs
//! (presets) and a check that turns those finished runs into a [`Verdict`]: every measured
//! number beside the calibrated band it must fall in (golden/cpu-bands.json at CPU scale,
//! golden/gpu-bands.json at GPU scale, golden/grid-bands.json for the AlexNet/ResNet18 grid). The
//! claim tests, the nightly's gpu tests, `rethink report` and the calibration all judge
//! through [`Claim::judge`], so they cannot disagree.
//!
//! One file per scale's registry, each claim's falsification case beside it: [`CPU`]
//! (cpu.rs), [`GPU`] and its smoke miniatures (gpu.rs), [`GRID`] (grid.rs), [`MID`] (mid.rs). [`Judge`]
//! (judge.rs) is what a check asserts with; [`Verdict`] (verdict.rs) what it gives.
//!
//! Adding a claim: one entry in its scale's registry (its check a few lines on [`Judge`]),
//! its bands in [`CpuBands`], [`GpuBands`] or [`GridBands`] and the scale's golden file,
//! and a falsification case beside it (a unit test fails when a claim has none). Its test
//! is generated from the registry (tests/claims), and `rethink report` and `reproduce`
//! pick it up by themselves.
pub mod bands;
pub mod checks;
mod cpu;
mod gpu;
mod grid;
mod judge;
mod mid;
pub mod stats;
mod verdict;

pub use bands::{Band, BandSet, CpuBands, GpuBands, GridBands, MidBands};
pub use checks::*;
pub use cpu::{CORRUPTION_LEVELS, CPU};
pub use gpu::{nightly, smoke, GPU};
pub use grid::GRID;
pub use judge::Judge;
pub use mid::MID;
pub use verdict::{quantize, BandRef, Measure, Verdict};

use crate::error::{Error, Result};
use crate::experiment::Scale;

/// One claim of the paper at one scale.
pub struct Claim {
    /// A stable identifier, unique over every scale: test names, snapshots and reports use it.
    pub id: &'static str,
    /// The scale of its runs, which chooses its bands.
    pub scale: Scale,
    /// What is claimed, in this project's words.
    pub statement: &'static str,
    /// Where the paper makes the claim.
    pub paper: &'static str,
    /// The presets whose finished runs the check reads, in the order it reads them.
    pub runs: &'static [&'static str],
    check: fn(&mut Judge<'_>),
}

impl Claim {
    /// Judges the claim on its runs, given in the order of [`Claim::runs`].
    pub fn judge(&self, runs: &[&dyn Run]) -> Result<Verdict> {
        if runs.len() != self.runs.len() {
            return Err(Error::config(
                "claim",
                format!(
                    "{} needs {} runs ({}), got {}",
                    self.id,
                    self.runs.len(),
                    self.runs.join(", "),
                    runs.len()
                ),
            ));
        }
        let mut j = Judge::new(runs, self.scale)?;
        (self.check)(&mut j);
        let (measures, robust) = j.finish();
        Ok(Verdict {
            claim: self.id.into(),
            statement: self.statement.into(),
            seed: runs.first().map_or(0, |r| r.experiment().train.seed),
            holds: measures.iter().all(|m| m.holds),
            robust,
            measures,
        })
    }

    /// The claim's runs as experiments.
    pub fn experiments(&self) -> Result<Vec<crate::experiment::Experiment>> {
        self.runs
            .iter()
            .map(|n| crate::experiment::Experiment::preset(n))
            .collect()
    }
}

/// A conclusion of Xiao, Wang, Liu and Yu's slides that paired measures of claims answer:
/// the report says in one line, per scale, whether the runs reproduce it.
pub struct Conclusion {
    /// A short name for it.
    pub name: &'static str,
    /// Their words.
    pub words: &'static str,
    /// The claims whose paired measures answer it; it is reproduced at a scale when every
    /// paired measure of the scale's claim holds over the registered seeds.
    pub claims: &'static [&'static str],
}

/// Xiao, Wang, Liu and Yu's conclusions from their explicit-regularization test.
pub const CONCLUSIONS: &[Conclusion] = &[
    Conclusion {
        name: "regularization is not necessary",
        words: "both explicit regularization techniques help to improve the performance; however, the model can also generalize well without regularizers",
        claims: &[
            "regularization-not-necessary",
            "grid-regularization-not-necessary",
            "mid-regularization-not-necessary",
        ],
    },
    Conclusion {
        name: "architecture over regularizers",
        words: "changing the model architecture from AlexNet to ResNet18 can achieve better gains than explicit regularizers",
        claims: &[
            "grid-architecture-over-regularizers",
            "mid-architecture-over-regularizers",
        ],
    },
];

/// Every claim: CPU scale, then GPU, then smoke, then the AlexNet/ResNet18 grid, then the
/// mid scale.
pub fn all() -> impl Iterator<Item = &'static Claim> {
    CPU.iter().chain(GPU).chain(smoke()).chain(GRID).chain(MID)
}

/// The claims of one scale.
pub fn at(scale: Scale) -> &'static [Claim] {
    match scale {
        Scale::Cpu => CPU,
        Scale::Gpu => GPU,
        Scale::Smoke => smoke(),
        Scale::Grid => GRID,
        Scale::Mid => MID,
    }
}

/// The claim with this id.
pub fn claim(id: &str) -> Result<&'static Claim> {
    all().find(|c| c.id == id).ok_or_else(|| {
        Error::config(
            "claim",
            format!(
                "unknown claim {id:?}; the claims are {}",
                all().map(|c| c.id).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// What the claims' tests share: a falsification case's shape, and judging runs by claim id.
#[cfg(test)]
pub(crate) mod testutil {
    pub use crate::experiment::testutil::fake;
    use crate::experiment::RunRecord;

    /// A claim's falsification case: runs on which it holds, and sets of runs on which it
    /// must not.
    pub type Cases = (Vec<RunRecord>, Vec<Vec<RunRecord>>);

    /// Claim `id` judged on `runs`.
    pub fn verdict(id: &str, runs: &[RunRecord]) -> super::Verdict {
        let refs: Vec<&dyn super::Run> = runs.iter().map(|r| r as &dyn super::Run).collect();
        super::claim(id).unwrap().judge(&refs).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{fake, verdict, Cases};
    use super::*;

    /// For each claim: runs on which it holds, and runs on which it must not.
    fn cases(c: &Claim) -> Cases {
        match c.scale {
            Scale::Cpu => cpu::falsification::cases(c),
            Scale::Gpu => gpu::falsification::cases(c),
            Scale::Smoke => gpu::falsification::smoke_cases(c),
            Scale::Grid => grid::falsification::cases(c),
            Scale::Mid => mid::falsification::cases(c),
        }
    }

    #[test]
    fn a_gpu_claim_without_its_paper_row_fails_and_says_so() {
        // A Fashion-MNIST run judged against Table 1, which is CIFAR-10 only.
        let run = fake("fashion-alexnet-true-labels", 20, Some(90), 0.76);
        let v = verdict("cifar10-alexnet-fits-true-labels", &[run]);
        assert!(!v.holds, "{v}");
        assert!(v.to_string().contains("no Table 1 row"), "{v}");
    }

    #[test]
    fn every_claim_holds_on_runs_that_show_it_and_fails_on_runs_that_do_not() {
        for c in all() {
            let (good, bad) = cases(c);
            let v = verdict(c.id, &good);
            assert!(v.holds, "{v}");
            assert!(!bad.is_empty());
            for runs in bad {
                let v = verdict(c.id, &runs);
                assert!(!v.holds, "{} holds on runs where it is false:\n{v}", c.id);
            }
        }
    }

    #[test]
    fn a_claim_given_the_wrong_number_of_runs_is_an_error() {
        let e = claim("label-corruption").unwrap().judge(&[]).unwrap_err();
        assert!(e.to_string().contains("needs 7 runs"), "{e}");
    }

    #[test]
    fn snapshots_hold_verdicts_and_rounded_asserted_measures_only() {
        let c = claim("alexnet-random-labels-fit-slower").unwrap();
        let (good, _) = cases(c);
        let v = verdict(c.id, &good);
        let snap = v.snapshot();
        let measures = snap["measures"].as_array().unwrap();
        // The reported (not robust) ratio to 100% is not pinned.
        assert_eq!(measures.len(), 1, "{snap}");
        assert_eq!(measures[0]["band"], "alexnet_slowdown_90");
        let r = v.measures[0].band.as_ref().unwrap().resolution;
        assert_eq!(measures[0]["value"], quantize(4.0, r));
    }

    #[test]
    fn claims_have_unique_ids() {
        let mut ids: Vec<_> = all().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            CPU.len() + GPU.len() + smoke().len() + GRID.len() + MID.len()
        );
        assert!(claim("no-such-claim").is_err());
    }

    #[test]
    fn a_check_that_reads_an_unread_band_fails() {
        // The smoke bands mark the Table 1 band unread: a CIFAR-10 check on smoke bands fails.
        let c = claim("cifar10-alexnet-fits-true-labels").unwrap();
        let run = fake(c.runs[0], 20, Some(90), 0.76);
        let runs: [&dyn Run; 1] = [&run];
        let mut j = Judge::new(&runs, Scale::Smoke).unwrap();
        j.near_paper(0);
        let (measures, _) = j.finish();
        assert!(!measures[0].holds);
        assert!(
            measures[0].detail.contains("not calibrated at this scale"),
            "{measures:?}"
        );
    }

    #[test]
    fn every_fashion_gpu_claim_has_a_miniature_and_no_cifar_claim_does() {
        for c in GPU {
            let fashion = c.runs.iter().all(|r| r.starts_with("fashion-"));
            match nightly(c.id, Scale::Smoke) {
                Ok(s) => {
                    assert!(fashion, "{}", c.id);
                    assert_eq!(s.id, format!("smoke-{}", c.id));
                    assert_eq!(s.scale, Scale::Smoke);
                    assert_eq!(s.runs.len(), c.runs.len());
                }
                Err(e) => {
                    assert!(!fashion, "{}: {e}", c.id);
                    assert!(e.to_string().contains("no smoke-scale version"), "{e}");
                }
            }
            assert_eq!(nightly(c.id, Scale::Gpu).unwrap().id, c.id);
        }
        assert_eq!(smoke().len(), 9);
        assert!(nightly("mlp-fits-true-labels", Scale::Smoke).is_err());
    }

    #[test]
    fn quantize_rounds_to_the_resolution() {
        assert_eq!(quantize(0.8015, 0.05), 0.8);
        assert_eq!(quantize(1.37, 0.5), 1.5);
        assert_eq!(quantize(3.3, 2.0), 4.0);
        assert_eq!(quantize(0.3000000004, 0.1), 0.3);
        for v in [-0.1, 0.1, -0.0] {
            assert!(quantize(v, 0.5).is_sign_positive(), "{v}");
        }
        assert_eq!(serde_json::json!(quantize(-0.2, 1.0)).to_string(), "0.0");
    }
}

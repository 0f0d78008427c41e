//! What a claim's check sees and asserts with: its runs in order, the bands of every scale,
//! and helpers that measure a run and hold the number against a band.
use super::bands::{self, Band, CpuBands, GpuBands, GridBands, MidBands};
use super::checks::*;
use super::stats::Expected;
use super::verdict::{BandRef, Measure};
use crate::error::Result;
use crate::experiment::Scale;

/// What a check sees: the claim's runs in order, the bands of its scale, and the measures
/// so far.
pub struct Judge<'a> {
    runs: &'a [&'a dyn Run],
    /// The CPU scale's bands (golden/cpu-bands.json).
    pub cpu: &'static CpuBands,
    /// The nightly's bands: golden/gpu-bands.json at GPU scale, golden/smoke-bands.json at
    /// smoke scale (the same checks in miniature).
    pub nightly: &'static GpuBands,
    /// The grid's bands (golden/grid-bands.json).
    pub grid: &'static GridBands,
    /// The mid scale's bands (golden/mid-bands.json).
    pub mid: &'static MidBands,
    measures: Vec<Measure>,
    robust: bool,
}

impl<'a> Judge<'a> {
    /// A judge of `runs` for a claim at `scale`, with no measures yet.
    pub(super) fn new(runs: &'a [&'a dyn Run], scale: Scale) -> Result<Self> {
        Ok(Judge {
            runs,
            cpu: bands::cpu()?,
            nightly: match scale {
                Scale::Smoke => bands::smoke()?,
                Scale::Cpu | Scale::Gpu | Scale::Grid | Scale::Mid => bands::gpu()?,
            },
            grid: bands::grid()?,
            mid: bands::mid()?,
            measures: Vec::new(),
            robust: true,
        })
    }

    /// The measures taken, and whether the claim's own measure is robust.
    pub(super) fn finish(self) -> (Vec<Measure>, bool) {
        (self.measures, self.robust)
    }
}

fn band_ref(b: &Band) -> BandRef {
    BandRef {
        name: b.name.into(),
        min: b.min,
        max: b.max,
        resolution: b.resolution,
        snapshot: b.snapshot,
    }
}

impl Judge<'_> {
    /// The claim's `i`-th run.
    pub fn run(&self, i: usize) -> &dyn Run {
        self.runs[i]
    }

    fn name(&self, i: usize) -> &str {
        &self.runs[i].summary().name
    }

    /// Asserts that `value` falls in `band`.
    pub fn within(&mut self, what: String, value: Option<f64>, detail: String, band: BandRef) {
        let holds = value.is_some_and(|v| band.contains(v));
        self.measures.push(Measure {
            what,
            value,
            detail,
            band: Some(band),
            holds,
            paired: None,
        });
    }

    /// Asserts that `value` falls in a calibrated band. A band its scale's file marks
    /// unread has no calibration: the measure fails and says so.
    pub fn within_band(&mut self, what: String, value: Option<f64>, detail: String, band: &Band) {
        if band.unread {
            let detail = format!(
                "{detail}; band {} is not calibrated at this scale (marked unread)",
                band.name
            );
            self.measures.push(Measure {
                what,
                value,
                detail,
                band: Some(band_ref(band)),
                holds: false,
                paired: None,
            });
            return;
        }
        self.within(what, value, detail, band_ref(band));
    }

    /// Reports a number without asserting it (an effect that is not robust at this scale,
    /// or a number worth reading beside the asserted ones, such as the epoch of first fit).
    pub fn report(&mut self, what: String, value: Option<f64>, detail: String) {
        self.measures.push(Measure {
            what,
            value,
            detail,
            band: None,
            holds: true,
            paired: None,
        });
    }

    /// Marks the last measure taken as paired (two runs of one seed compared), its mean over
    /// seeds expected in `expected`.
    fn pair_last(&mut self, expected: Expected) {
        if let Some(m) = self.measures.last_mut() {
            m.paired = Some(expected);
        }
    }

    /// [`Judge::within_band`] for a paired measure: asserted in `band` seed by seed, and over
    /// seeds judged by its confidence interval against the same band.
    pub fn paired_within_band(
        &mut self,
        what: String,
        value: Option<f64>,
        detail: String,
        band: &Band,
    ) {
        self.within_band(what, value, detail, band);
        self.pair_last(band.into());
    }

    /// [`Judge::within_band`] for a paired measure whose direction over seeds is
    /// `expected`: asserted in `band` seed by seed, and over seeds judged by its confidence
    /// interval against `expected` (an effect that calibration shows robustly, say `> 0`).
    pub fn paired_within_band_expecting(
        &mut self,
        what: String,
        value: Option<f64>,
        detail: String,
        band: &Band,
        expected: Expected,
    ) {
        self.within_band(what, value, detail, band);
        self.pair_last(expected);
    }

    /// A paired measure reported without a band seed by seed (the claim's verdict stays
    /// robust), and over seeds judged by its confidence interval against `expected`.
    pub fn paired_reported(
        &mut self,
        what: String,
        value: Option<f64>,
        detail: String,
        expected: Expected,
    ) {
        self.report(what, value, detail);
        self.pair_last(expected);
    }

    /// The measure that says whether the claim itself holds, paired, where it is not robust
    /// seed by seed at this scale: reported (the verdict is "not robust"), and over seeds
    /// judged by its confidence interval against what the claim states, `expected`.
    pub fn paired_not_robust(
        &mut self,
        what: String,
        value: Option<f64>,
        detail: String,
        expected: Expected,
    ) {
        self.not_robust(what, value, detail);
        self.pair_last(expected);
    }

    /// Xiao, Wang, Liu and Yu's architecture claim on four true-label runs, `[AlexNet plain,
    /// with weight decay, with dropout, ResNet18 plain]`: ResNet18's test-accuracy gain over
    /// AlexNet minus the larger gain weight decay or dropout brings AlexNet. Not robust seed
    /// by seed at any CPU scale ([`Judge::paired_not_robust`]); over seeds judged against
    /// the claim, a margin above zero.
    pub fn architecture_margin(&mut self, [plain, wd, dropout, resnet]: [usize; 4]) {
        let acc = |i: usize| self.run(i).summary().final_test_acc;
        let (plain, wd, dropout, resnet) = (acc(plain), acc(wd), acc(dropout), acc(resnet));
        let architecture = resnet - plain;
        let regularizer = (wd - plain).max(dropout - plain);
        self.paired_not_robust(
            "ResNet18's true-label test accuracy gain over AlexNet minus the larger gain of weight decay or dropout on AlexNet".into(),
            Some(architecture - regularizer),
            format!(
                "architecture {architecture:+.4} (ResNet18 {resnet:.4}, AlexNet {plain:.4}); weight decay {:+.4}, dropout {:+.4}",
                wd - plain,
                dropout - plain
            ),
            Expected {
                min: Some(0.0),
                max: None,
            },
        );
    }

    /// Reports the measure that says whether the claim itself holds, where it is not robust
    /// at this scale (golden's `not_robust`): the verdict is then "not robust".
    pub fn not_robust(&mut self, what: String, value: Option<f64>, detail: String) {
        self.report(what, value, detail);
        self.robust = false;
    }

    /// Run `i` memorized its training set: train accuracy reached 1.0 (band `train_acc_fit`).
    pub fn fitted(&mut self, i: usize) {
        let b = self.cpu;
        self.fitted_in(i, &b.train_acc_fit);
    }

    /// Run `i` stopped at its target train accuracy, which falls in `band`.
    pub fn fitted_in(&mut self, i: usize, band: &Band) {
        let s = self.runs[i].summary();
        let detail = format!(
            "train accuracy {:.4} after {} epochs ({:?}), epochs to fit: {}",
            s.final_train_acc,
            s.epochs,
            s.status,
            s.epochs_to_fit.map_or("never".into(), |e| e.to_string())
        );
        let what = format!("train accuracy of {}", self.name(i));
        let fit = (s.status == crate::record::Stop::TargetReached).then_some(s.final_train_acc);
        self.within_band(what, fit.or(Some(0.0)), detail, band);
    }

    /// Run `i` trained without a loss spike: the largest rise of the training loss from one
    /// epoch to the next (band `true_labels_loss_rise`).
    pub fn stable(&mut self, i: usize) {
        let rise = largest_loss_rise(self.runs[i]);
        let detail = rise.map_or("the loss was not finite".into(), |(r, e, a, b)| {
            format!("{r:+.2} ({a:.2} -> {b:.2}) at epoch {e}")
        });
        let what = format!(
            "largest rise of the training loss of {} between epochs",
            self.name(i)
        );
        let b = self.cpu;
        self.within_band(what, rise.map(|r| r.0), detail, &b.true_labels_loss_rise);
    }

    /// Run `i`'s final test accuracy falls in `band`.
    pub fn test_acc(&mut self, i: usize, band: &Band) {
        let acc = self.runs[i].summary().final_test_acc;
        let what = format!("test accuracy of {}", self.name(i));
        self.within_band(what, Some(acc), format!("{acc:.4}"), band);
    }

    /// Run `i`'s final train accuracy falls in `band` (at GPU scale, where a run may stop
    /// at its epoch cap just short of its target).
    pub fn train_acc(&mut self, i: usize, band: &Band) {
        let s = self.runs[i].summary();
        let detail = format!(
            "{:.4} after {} epochs ({:?})",
            s.final_train_acc, s.epochs, s.status
        );
        let what = format!("train accuracy of {}", self.name(i));
        self.within_band(what, Some(s.final_train_acc), detail, band);
    }

    /// Run `i`'s test accuracy is at chance (band `chance_sigmas`, in binomial sigmas outside
    /// its chance interval).
    pub fn at_chance(&mut self, i: usize) {
        let b = self.cpu;
        self.at_chance_within(i, &b.chance_sigmas);
    }

    /// Run `i`'s test accuracy is within `band` binomial sigmas of its chance interval
    /// ([`chance_interval`]): between 1/10 and the accuracy its realized labels imply, since
    /// a memorizing net's test accuracy follows the labels its few training images were
    /// actually given as far as it learned their classes.
    pub fn at_chance_within(&mut self, i: usize, band: &Band) {
        let s = self.runs[i].summary();
        let chance = chance_interval(self.runs[i], 10);
        let detail = match chance {
            Some(c) => format!(
                "test accuracy {:.4} against chance in [{:.4}, {:.4}] (0.1, and {:.4} implied by its realized labels) for {} test images: {:+.2} sigma outside ({:+.2} sigma from 0.1)",
                s.final_test_acc,
                c.lo,
                c.hi,
                c.implied,
                s.test_size,
                c.z,
                chance_z(self.runs[i], 10)
            ),
            None => format!(
                "test accuracy {:.4}, but the run does not record the chance its labels imply (true labels, or a run written before it was recorded): rerun it",
                s.final_test_acc
            ),
        };
        let what = format!(
            "test accuracy of {} outside its chance interval, in sigmas",
            self.name(i)
        );
        self.within_band(what, chance.map(|c| c.z), detail, band);
    }

    /// Run `i`'s final test accuracy minus the paper's Table 1 row for the same model,
    /// random crop, weight decay and labels ([`crate::paper::table1_row`]), in percentage
    /// points (GPU band `test_acc_vs_paper`). A run with no such row (another data set, a
    /// model the table lacks, dropout) fails: the comparison is never skipped.
    pub fn near_paper(&mut self, i: usize) {
        let e = self.runs[i].experiment();
        let ours = self.runs[i].summary().final_test_acc * 100.0;
        let (value, detail) = match crate::paper::table1_row(e) {
            Some(row) => (
                Some(ours - row.test_acc),
                format!("{ours:.2}% vs the paper's {:.2}%", row.test_acc),
            ),
            None => (
                None,
                format!(
                    "golden/paper.json has no Table 1 row for {} on {} (random crop {}, weight decay {}, dropout {}, {})",
                    e.model,
                    e.dataset,
                    e.train.augment,
                    e.train.weight_decay > 0.0,
                    e.dropout,
                    e.randomization
                ),
            ),
        };
        let what = format!(
            "test accuracy of {} minus the paper's, in points",
            self.name(i)
        );
        let b = self.nightly;
        self.within_band(what, value, detail, &b.test_acc_vs_paper);
    }

    /// What early stopping would gain on run `i`: its best test accuracy during training
    /// minus the final one (GPU band `early_stopping_gain`).
    pub fn early_stopping_gain(&mut self, i: usize) {
        let s = self.runs[i].summary();
        let gain = s.best_test_acc - s.final_test_acc;
        let detail = format!(
            "best {:.4} - final {:.4} = {gain:+.4}",
            s.best_test_acc, s.final_test_acc
        );
        let what = format!("best minus final test accuracy of {}", self.name(i));
        let b = self.nightly;
        self.within_band(what, Some(gain), detail, &b.early_stopping_gain);
    }

    /// Epochs to train accuracy `t`, run `slow` over run `fast`.
    fn slowdown_detail(&self, slow: usize, fast: usize, t: f64) -> (Option<f64>, String, String) {
        let (a, b) = (epochs_to(self.run(slow), t), epochs_to(self.run(fast), t));
        let show = |e: Option<usize>| e.map_or("never".into(), |e| e.to_string());
        let ratio = slowdown(self.run(slow), self.run(fast), t);
        let detail = format!(
            "{} / {} epochs = {}",
            show(a),
            show(b),
            ratio.map_or("-".into(), |r| format!("{r:.2}"))
        );
        let what = format!(
            "epochs to train accuracy {t}, {} over {}",
            self.name(slow),
            self.name(fast)
        );
        (ratio, what, detail)
    }

    /// Asserts the slowdown of run `slow` over run `fast` at train accuracy `t`: a paired
    /// ratio (the two runs share their seed).
    pub fn slowdown_within(&mut self, slow: usize, fast: usize, t: f64, band: &Band) {
        let (r, what, detail) = self.slowdown_detail(slow, fast, t);
        self.paired_within_band(what, r, detail, band);
    }

    /// Reports the slowdown without asserting it.
    pub fn slowdown_reported(&mut self, slow: usize, fast: usize, t: f64) {
        let (r, what, detail) = self.slowdown_detail(slow, fast, t);
        self.report(what, r, detail);
    }
}

//! Measurements on finished runs, the pieces the claims are built from. Each is a pure
//! function of a run's summary and per-epoch metrics.
use crate::experiment::{Experiment, RunRecord, Summary};
use crate::record::EpochMetrics;

/// A finished run: its experiment, summary and per-epoch metrics.
pub trait Run {
    fn experiment(&self) -> &Experiment;
    fn summary(&self) -> &Summary;
    fn metrics(&self) -> &[EpochMetrics];
}

impl Run for RunRecord {
    fn experiment(&self) -> &Experiment {
        &self.experiment
    }
    fn summary(&self) -> &Summary {
        &self.summary
    }
    fn metrics(&self) -> &[EpochMetrics] {
        &self.metrics
    }
}

/// The first epoch at which `train_acc >= t`.
pub fn epochs_to(run: &(impl Run + ?Sized), t: f64) -> Option<usize> {
    run.metrics()
        .iter()
        .find(|m| m.train_acc >= t)
        .map(|m| m.epoch)
}

/// Signed distance of the test accuracy from chance (1 / `classes`), in binomial standard
/// deviations for the run's test size.
pub fn chance_z(run: &(impl Run + ?Sized), classes: usize) -> f64 {
    let s = run.summary();
    let p = 1.0 / classes as f64;
    (s.final_test_acc - p) / (p * (1.0 - p) / s.test_size.max(1) as f64).sqrt()
}

/// Where a random-label run's test accuracy stands against chance, which for a net that
/// memorized a few hundred randomly labelled images is an interval, not one number: from
/// 1/`classes` (the net learned no class structure) to the accuracy its realized labels
/// imply (`randomize::implied_chance`: it learned the classes and labels them as their
/// training images happened to be labelled), whichever is lower to whichever is higher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChanceInterval {
    pub lo: f64,
    pub hi: f64,
    /// The implied end.
    pub implied: f64,
    /// 0 inside the interval; outside, the signed distance from its nearer end in binomial
    /// standard deviations at that end for the run's test size.
    pub z: f64,
}

/// Run `run`'s [`ChanceInterval`]; `None` for a run that did not record its implied chance
/// (true labels, or written before it was recorded).
pub fn chance_interval(run: &(impl Run + ?Sized), classes: usize) -> Option<ChanceInterval> {
    let s = run.summary();
    let implied = s.implied_chance?;
    let uniform = 1.0 / classes as f64;
    let (lo, hi) = (uniform.min(implied), uniform.max(implied));
    let n = s.test_size.max(1) as f64;
    let sd = |p: f64| (p * (1.0 - p) / n).sqrt().max(f64::MIN_POSITIVE);
    let a = s.final_test_acc;
    let z = if a > hi {
        (a - hi) / sd(hi)
    } else if a < lo {
        (a - lo) / sd(lo)
    } else {
        0.0
    };
    Some(ChanceInterval { lo, hi, implied, z })
}

/// `epochs_to(slow, t) / epochs_to(fast, t)`, or `None` when a run never reached `t`.
pub fn slowdown(slow: &(impl Run + ?Sized), fast: &(impl Run + ?Sized), t: f64) -> Option<f64> {
    Some(epochs_to(slow, t)? as f64 / epochs_to(fast, t)?.max(1) as f64)
}

/// The largest rise of the training loss from one epoch to the next, after the first:
/// (rise, epoch, loss before, loss after); `None` when a loss is not finite. A loss spike
/// (0.86 to 2.45 in one epoch, say) is an unstable learning rate.
pub fn largest_loss_rise(run: &(impl Run + ?Sized)) -> Option<(f64, usize, f64, f64)> {
    let m = run.metrics();
    if m.iter().any(|m| !m.train_loss.is_finite()) {
        return None;
    }
    m.windows(2)
        .skip(1)
        .map(|w| {
            (
                w[1].train_loss - w[0].train_loss,
                w[1].epoch,
                w[0].train_loss,
                w[1].train_loss,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .or(Some((0.0, 0, 0.0, 0.0)))
}

/// Spearman's rank correlation (average ranks for ties).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            for &k in &idx[i..=j] {
                r[k] = (i + j) as f64 / 2.0 + 1.0;
            }
            i = j + 1;
        }
        r
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

/// The largest relative fall from an earlier item to a later one, `(v[i] - v[j]) / v[i]`
/// over `i < j`; 0 for a non-decreasing sequence.
pub fn largest_relative_drop(v: &[f64]) -> f64 {
    let mut worst = 0.0f64;
    for j in 0..v.len() {
        for i in 0..j {
            if v[i] > 0.0 {
                worst = worst.max((v[i] - v[j]) / v[i]);
            }
        }
    }
    worst
}

/// At the first epoch where the examples whose label was kept reach `clean_t` train
/// accuracy: (epoch, their accuracy, the accuracy on the examples whose label was changed).
/// `None` when that never happens or no label was changed.
pub fn clean_first(run: &(impl Run + ?Sized), clean_t: f64) -> Option<(usize, f64, f64)> {
    let m = run
        .metrics()
        .iter()
        .find(|m| m.train_acc_clean.is_some_and(|c| c >= clean_t))?;
    Some((m.epoch, m.train_acc_clean?, m.train_acc_corrupted?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chance_is_an_interval_from_uniform_to_what_the_labels_imply() {
        use crate::experiment::testutil::fake;
        let run = |test: f64, implied: Option<f64>| {
            let mut r = fake("fashion-grid-alexnet-random-labels", 20, Some(40), test);
            r.summary.implied_chance = implied;
            r
        };
        let sd = |p: f64| (p * (1.0 - p) / 300.0f64).sqrt();
        // Inside [0.1, 0.15]: 0 sigma, though 2.9 sigma from 0.1 alone.
        let c = chance_interval(&run(0.15, Some(0.15)), 10).unwrap();
        assert_eq!((c.lo, c.hi, c.z), (0.1, 0.15, 0.0));
        assert!(chance_z(&run(0.15, Some(0.15)), 10) > 2.8);
        // Above: sigmas at the upper end; below: at the lower end, wherever the implied end is.
        let c = chance_interval(&run(0.2, Some(0.15)), 10).unwrap();
        assert!((c.z - 0.05 / sd(0.15)).abs() < 1e-9, "{c:?}");
        let c = chance_interval(&run(0.02, Some(0.06)), 10).unwrap();
        assert_eq!((c.lo, c.hi), (0.06, 0.1));
        assert!((c.z + 0.04 / sd(0.06)).abs() < 1e-9, "{c:?}");
        // A run that did not record it has none: its claim cannot be judged at chance.
        assert!(chance_interval(&run(0.1, None), 10).is_none());
    }

    #[test]
    fn spearman_handles_order_and_ties() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        let r = spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 2.0, 3.0]);
        assert!(r > 0.9 && r < 1.0);
    }

    #[test]
    fn largest_relative_drop_sees_noise_and_falls() {
        assert_eq!(largest_relative_drop(&[20.0, 80.0, 100.0]), 0.0);
        assert!((largest_relative_drop(&[20.0, 80.0, 98.0, 95.0]) - 3.0 / 98.0).abs() < 1e-12);
        assert!((largest_relative_drop(&[20.0, 80.0, 100.0, 60.0]) - 0.4).abs() < 1e-12);
    }
}

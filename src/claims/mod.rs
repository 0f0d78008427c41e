//! The paper's claims as checks on finished runs, shared by the integration tests and by
//! `rethink report`'s verdicts. Each returns `Err` with the measured numbers when its claim
//! does not hold. CPU-scale bands come from golden/cpu-bands.json (compiled in), where each
//! sits beside the measured runs that justify it.
use crate::experiment::{RunRecord, Summary};
use crate::train::{EpochMetrics, Stop};

/// The calibrated CPU bands, as committed in golden/.
pub const CPU_BANDS: &str = include_str!("../golden/cpu-bands.json");

/// A claim check's failure: what was measured and why it falls outside the claim.
pub type Check<T = ()> = std::result::Result<T, String>;

/// A calibrated value from golden/cpu-bands.json.
pub fn band(name: &str) -> f64 {
    let g: serde_json::Value =
        serde_json::from_str(CPU_BANDS).expect("golden/cpu-bands.json is valid json");
    g["bands"][name]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("golden/cpu-bands.json has no bands.{name}.value"))
}

/// A finished run's summary and per-epoch metrics.
pub trait Run {
    fn summary(&self) -> &Summary;
    fn metrics(&self) -> &[EpochMetrics];
}

impl Run for RunRecord {
    fn summary(&self) -> &Summary {
        &self.summary
    }
    fn metrics(&self) -> &[EpochMetrics] {
        &self.metrics
    }
}

/// The first epoch at which `train_acc >= t`.
pub fn epochs_to(run: &impl Run, t: f64) -> Option<usize> {
    run.metrics()
        .iter()
        .find(|m| m.train_acc >= t)
        .map(|m| m.epoch)
}

/// Training reached its target train accuracy (memorized the training set).
pub fn fitted(run: &impl Run) -> Check {
    let s = run.summary();
    let target = s.target_train_acc.unwrap_or(1.0);
    if s.status == Stop::TargetReached && s.final_train_acc >= target {
        Ok(())
    } else {
        Err(format!(
            "{}: train accuracy {:.4} after {} epochs never reached {target} ({:?})",
            s.name, s.final_train_acc, s.epochs, s.status
        ))
    }
}

/// Test accuracy is at least `min`.
pub fn generalizes(run: &impl Run, min: f64) -> Check {
    let s = run.summary();
    if s.final_test_acc >= min {
        Ok(())
    } else {
        Err(format!(
            "{}: test accuracy {:.4} < {min}",
            s.name, s.final_test_acc
        ))
    }
}

/// Test accuracy is at chance: 0.1 ± `sigmas` binomial standard deviations for the test size.
pub fn at_chance(run: &impl Run, sigmas: f64) -> Check {
    let s = run.summary();
    let margin = sigmas * (0.1 * 0.9 / s.test_size as f64).sqrt();
    if (s.final_test_acc - 0.1).abs() <= margin {
        Ok(())
    } else {
        Err(format!(
            "{}: test accuracy {:.4} is not within 0.1 ± {margin:.4} ({sigmas} sigma for {} test images)",
            s.name, s.final_test_acc, s.test_size
        ))
    }
}

/// `epochs_to(slow, t) / epochs_to(fast, t)`, which must lie in `[lo, hi]`.
pub fn slowdown(slow: &impl Run, fast: &impl Run, t: f64, lo: f64, hi: f64) -> Check<f64> {
    let (Some(a), Some(b)) = (epochs_to(slow, t), epochs_to(fast, t)) else {
        return Err(format!("a run never reached train accuracy {t}"));
    };
    let ratio = a as f64 / b.max(1) as f64;
    if ratio >= lo && ratio <= hi {
        Ok(ratio)
    } else {
        Err(format!(
            "epochs to train accuracy {t}: {a} ({}) / {b} ({}) = {ratio:.2}, outside [{lo}, {hi}]",
            slow.summary().name,
            fast.summary().name
        ))
    }
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

/// Each value is at least `1 - tol` times every earlier one: non-decreasing within noise.
pub fn non_decreasing_within(v: &[f64], tol: f64) -> Check {
    for j in 0..v.len() {
        for i in 0..j {
            if v[j] < (1.0 - tol) * v[i] {
                return Err(format!(
                    "{v:?}: item {j} ({}) falls more than {tol} below item {i} ({})",
                    v[j], v[i]
                ));
            }
        }
    }
    Ok(())
}

/// At the first epoch where clean examples reach `clean_t` train accuracy, corrupted ones
/// are at most `corrupted_max`. Returns (epoch, clean, corrupted).
pub fn clean_first(run: &impl Run, clean_t: f64, corrupted_max: f64) -> Check<(usize, f64, f64)> {
    let name = &run.summary().name;
    let m = run
        .metrics()
        .iter()
        .find(|m| m.train_acc_clean.is_some_and(|c| c >= clean_t))
        .ok_or_else(|| {
            format!("{name}: clean examples never reached {clean_t} (or no labels were corrupted)")
        })?;
    let (clean, corrupted) = (
        m.train_acc_clean.unwrap_or(0.0),
        m.train_acc_corrupted.unwrap_or(1.0),
    );
    if corrupted <= corrupted_max {
        Ok((m.epoch, clean, corrupted))
    } else {
        Err(format!(
            "{name}: at epoch {} clean accuracy {clean:.3}, corrupted {corrupted:.3} > {corrupted_max}",
            m.epoch
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_handles_order_and_ties() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        let r = spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 2.0, 3.0]);
        assert!(r > 0.9 && r < 1.0);
    }

    #[test]
    fn every_band_the_checks_use_is_in_golden() {
        for name in [
            "true_labels_test_acc_min",
            "chance_sigmas",
            "slowdown_fit_min",
            "slowdown_fit_max",
            "slowdown_90_min",
            "slowdown_90_max",
            "corruption_test_error_spearman_min",
            "corruption_time_jump_min",
            "corruption_time_tolerance",
            "regularization_gap_max",
            "regularized_random_train_acc_min",
            "arpit_corrupted_max",
        ] {
            assert!(band(name).is_finite(), "{name}");
        }
    }

    #[test]
    fn non_decreasing_within_tolerates_noise_only() {
        assert!(non_decreasing_within(&[20.0, 80.0, 98.0, 95.0], 0.15).is_ok());
        assert!(non_decreasing_within(&[20.0, 80.0, 100.0, 60.0], 0.15).is_err());
    }
}

//! Synthetic finished runs, for tests of what reads runs (claims, the report, the run
//! record) without training.
use super::{summarize, Experiment, RunRecord, Summary};
use crate::record::{EpochMetrics, Stop};

/// A synthetic run of `preset`: train accuracy climbs linearly to 0.9 at epoch `to90`,
/// then to 1.0 at `to100` (or stalls at 0.95 when `None`); final test accuracy `test`.
pub fn fake(preset: &str, to90: usize, to100: Option<usize>, test: f64) -> RunRecord {
    let exp = Experiment::preset(preset).unwrap();
    let last = to100.unwrap_or(to90 * 2).max(to90 + 1);
    let acc = |e: usize| {
        if e <= to90 {
            0.1 + 0.8 * e as f64 / to90 as f64
        } else {
            match to100 {
                Some(t) => (0.9 + 0.1 * (e - to90) as f64 / (t - to90) as f64).min(1.0),
                None => 0.95,
            }
        }
    };
    let noise = exp.randomization.label_noise();
    let corrupt = noise > 0.0 && noise < 1.0;
    let metrics: Vec<EpochMetrics> = (0..=last)
        .map(|e| EpochMetrics {
            epoch: e,
            step: 8 * e,
            lr: exp.train.lr,
            train_loss: 2.3 * (1.0 - acc(e)),
            train_acc: acc(e),
            test_loss: Some(1.0),
            test_acc: Some(test),
            train_acc_clean: corrupt.then(|| (acc(e) * 1.2).min(1.0)),
            train_acc_corrupted: corrupt.then(|| acc(e) * 0.3),
            wall_s: e as f64,
        })
        .collect();
    let status = if to100.is_some() {
        Stop::TargetReached
    } else {
        Stop::MaxEpochs
    };
    // The chance realized labels imply at their expectation: a label kept with
    // probability 1 - p, or redrawn to itself with p / 10.
    let implied_chance = (noise > 0.0).then(|| 1.0 - noise + noise / 10.0);
    let summary = summarize(&exp, &metrics, status, |s| Summary {
        test_size: exp.test_size.unwrap_or(10_000) as i64,
        implied_chance,
        ..s
    });
    RunRecord {
        experiment: exp,
        metrics,
        summary,
        corrupted: Vec::new(),
    }
}

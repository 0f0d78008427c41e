//! Learning-rate schedules as pure functions of the epoch.
use serde::{Deserialize, Serialize};

/// How the learning rate changes from one epoch to the next (epochs count from 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// `base · gamma^epoch`; the paper uses gamma = 0.95 (Appendix A).
    Exponential { gamma: f64 },
    /// `base · gamma^(epoch / every)`.
    Step { every: usize, gamma: f64 },
    /// Cosine annealing from `base` to 0 over `epochs`.
    Cosine { epochs: usize },
}

impl Schedule {
    /// The paper's schedule: ×0.95 per epoch.
    pub const PAPER: Schedule = Schedule::Exponential { gamma: 0.95 };

    /// Checks the schedule's parameters: a `gamma` in (0, 1] (0 would set the rate to 0, a
    /// negative one would ascend the gradient, above 1 the rate grows without bound), and
    /// at least one epoch per step or cosine period. Errors name the field.
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        match *self {
            Schedule::Exponential { gamma } | Schedule::Step { gamma, .. }
                if !(gamma > 0.0 && gamma <= 1.0) =>
            {
                Err(Error::config(
                    "schedule.gamma",
                    format!("{gamma:?} is outside (0, 1]"),
                ))
            }
            Schedule::Step { every: 0, .. } => {
                Err(Error::config("schedule.every", "must be at least 1"))
            }
            Schedule::Cosine { epochs: 0 } => {
                Err(Error::config("schedule.epochs", "must be at least 1"))
            }
            _ => Ok(()),
        }
    }

    /// The learning rate for `epoch` given the base rate.
    pub fn lr(&self, base: f64, epoch: usize) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Exponential { gamma } => base * gamma.powi(epoch as i32),
            Schedule::Step { every, gamma } => base * gamma.powi((epoch / every.max(1)) as i32),
            Schedule::Cosine { epochs } => {
                let t = (epoch as f64 / epochs.max(1) as f64).min(1.0);
                base * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_formulas() {
        assert_eq!(Schedule::Constant.lr(0.01, 77), 0.01);
        assert!((Schedule::PAPER.lr(0.1, 2) - 0.1 * 0.9025).abs() < 1e-15);
        // The paper's ×0.95 cuts the rate about 20-fold by epoch 60.
        let ratio = Schedule::PAPER.lr(1.0, 0) / Schedule::PAPER.lr(1.0, 60);
        assert!((20.0..23.0).contains(&ratio), "{ratio}");
        let step = Schedule::Step {
            every: 10,
            gamma: 0.5,
        };
        assert_eq!(
            (step.lr(1.0, 9), step.lr(1.0, 10), step.lr(1.0, 25)),
            (1.0, 0.5, 0.25)
        );
        let cos = Schedule::Cosine { epochs: 10 };
        assert_eq!(cos.lr(2.0, 0), 2.0);
        assert!((cos.lr(2.0, 5) - 1.0).abs() < 1e-12);
        assert!(cos.lr(2.0, 10).abs() < 1e-12 && cos.lr(2.0, 20).abs() < 1e-12);
    }

    #[test]
    fn serializes_with_a_kind_tag() {
        let s = serde_json::to_string(&Schedule::PAPER).unwrap();
        assert_eq!(s, r#"{"kind":"exponential","gamma":0.95}"#);
        assert_eq!(
            serde_json::from_str::<Schedule>(r#"{"kind":"constant"}"#).unwrap(),
            Schedule::Constant
        );
    }
}

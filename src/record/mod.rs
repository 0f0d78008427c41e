//! What a run directory holds, as types: each epoch's metrics, why training stopped, the
//! end-of-run summary and where the run ran. Training writes them, the claims and the report
//! read them; this module is below all three, so reading a run never needs the trainer.
pub mod environment;

pub use environment::{commit, cpu_model, utc_now, Environment};

use serde::{Deserialize, Serialize};

/// Why training stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Train accuracy reached `target_train_acc`.
    TargetReached,
    /// `max_epochs` epochs ran without reaching the target.
    MaxEpochs,
    /// The training or evaluation loss became NaN or infinite.
    NonFiniteLoss,
}

/// Metrics after one epoch; epoch 0 is the untrained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// SGD steps taken so far.
    pub step: usize,
    /// The learning rate used during this epoch.
    pub lr: f64,
    /// Mean cross-entropy; `null` in JSON when it is not finite.
    #[serde(with = "nan_as_null")]
    pub train_loss: f64,
    pub train_acc: f64,
    /// Mean cross-entropy and accuracy on the test set; absent (`None`, and no key in JSON)
    /// at an epoch where the test set was not evaluated ([`TrainConfig::test_every`]). A
    /// non-finite loss is `null`, read back as NaN.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "nan_as_null::option"
    )]
    pub test_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_acc: Option<f64>,
    /// Train accuracy on the examples whose label was not changed (label corruption only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_acc_clean: Option<f64>,
    /// Train accuracy on the examples whose label was changed, measured against the new label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_acc_corrupted: Option<f64>,
    /// Seconds since training started.
    pub wall_s: f64,
}

/// JSON has no NaN or infinity: a non-finite loss is written as `null` and read back as NaN.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    /// The same for a value that may be absent: `None` has no key (`skip_serializing_if`),
    /// so a key holding `null` is a measured, non-finite value.
    pub mod option {
        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => super::serialize(v, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

/// The end-of-run numbers, as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub name: String,
    pub status: Stop,
    pub epochs: usize,
    pub steps: usize,
    pub final_train_acc: f64,
    /// The test accuracy after the last epoch (the last evaluated one, where a resumed run's
    /// lowered `max_epochs` ended it at an epoch without a test-set evaluation).
    pub final_test_acc: f64,
    /// The best test accuracy over the epochs after the first at which the test set was
    /// evaluated (`test_every`), and that epoch; the final one when no other was.
    pub best_test_acc: f64,
    pub best_test_epoch: usize,
    /// The first epoch (and step) with `train_acc >= target_train_acc` (1.0 for a fixed
    /// budget, which has no target); null if never.
    pub epochs_to_fit: Option<usize>,
    pub steps_to_fit: Option<usize>,
    pub target_train_acc: Option<f64>,
    pub params: i64,
    pub train_size: i64,
    pub test_size: i64,
    /// Training labels changed by the randomization.
    pub corrupted: usize,
    /// Where labels were randomized, the test accuracy the realized training labels imply
    /// by chance (`randomize::implied_chance`); absent where every label is true, and from
    /// runs written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implied_chance: Option<f64>,
    pub device: String,
    /// libtorch intra-op threads, on which CPU determinism depends.
    pub threads: i32,
    pub wall_s: f64,
    /// Where it ran (commit, date, device, driver, CUDA, cuDNN, libtorch, CPU); absent
    /// from runs written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
}

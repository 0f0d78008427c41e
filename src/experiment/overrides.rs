//! The flags that change what a run trains, over a preset or a config: `rethink run`'s
//! `--lr`, `--epochs` and the rest, as one clap `Args` struct that the command line flattens
//! and that applies itself to an [`Experiment`].
use super::Experiment;
use crate::data::{DatasetKind, Subset};
use crate::models::{Init, ModelKind};
use crate::randomize::Randomization;
use crate::train::Schedule;

/// The flags of `rethink run` that change what runs (beyond where and how it runs), over
/// a preset or config. The flags given are read off the struct itself (its fields that are
/// set), so [`Overrides::apply`] and `--resume`'s refusal cannot disagree.
#[derive(Debug, Default, Clone, clap::Args, serde::Serialize)]
pub struct Overrides {
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetKind>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelKind>,
    /// true-labels, random-labels, shuffled-pixels, random-pixels, gaussian or corrupt:P
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub randomization: Option<Randomization>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_size: Option<usize>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_size: Option<usize>,
    /// Which images the sizes take: first (in file order), balanced (the same number of
    /// training images of each class) or validation (balanced, evaluated on other training
    /// images instead of the test set).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subset: Option<Subset>,
    /// The maximum number of epochs.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Stop once train accuracy reaches this (0 to 1).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_train_acc: Option<f64>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    /// How parameters start: tch (tch's layer defaults, the presets') or pytorch (PyTorch's
    /// nn.Linear, nn.Conv2d and nn.BatchNorm2d defaults).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<Init>,
    /// Random crop and horizontal flip.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub augment: bool,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Run the convolutions in channels-last (NHWC) layout.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub channels_last: bool,
    /// Mixed precision (CUDA only): fp16 autocast with dynamic loss scaling.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub amp: bool,
    /// Evaluate the test set every N epochs and after the last (0: after the last only; the
    /// untrained model only at 1).
    /// Default: the preset's or config's (1 at full scale, 0 at the other scales).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_every: Option<usize>,
}

impl Overrides {
    /// The flags given, as typed (`--lr`, `--augment`).
    pub fn given(&self) -> Vec<String> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m
                .keys()
                .map(|k| format!("--{}", k.replace('_', "-")))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `e` with every flag given applied.
    pub fn apply(&self, e: &mut Experiment) {
        let a = self;
        if let Some(d) = a.dataset {
            *e = e.clone().on_dataset(d);
        }
        // A cosine schedule that spans the budget keeps spanning it.
        if let Some(n) = a.epochs {
            let t = &mut e.train;
            if t.schedule
                == (Schedule::Cosine {
                    epochs: t.max_epochs,
                })
            {
                t.schedule = Schedule::Cosine { epochs: n };
            }
        }
        macro_rules! set {
            ($($($field:ident).+ = $arg:expr),* $(,)?) => { $( if let Some(v) = $arg { e.$($field).+ = v; } )* };
        }
        set!(
            model = a.model,
            randomization = a.randomization,
            subset = a.subset,
            train.max_epochs = a.epochs,
            train.batch_size = a.batch_size,
            train.lr = a.lr,
            train.weight_decay = a.weight_decay,
            dropout = a.dropout,
            init = a.init,
            train.seed = a.seed,
            train.test_every = a.test_every
        );
        if a.train_size.is_some() {
            e.train_size = a.train_size;
        }
        if a.test_size.is_some() {
            e.test_size = a.test_size;
        }
        if a.target_train_acc.is_some() {
            e.train.target_train_acc = a.target_train_acc;
        }
        e.train.augment |= a.augment;
        e.train.channels_last |= a.channels_last;
        e.train.amp |= a.amp;
    }
}

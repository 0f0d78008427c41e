//! Experiments as data: [`Experiment`], a serde struct holding everything needed to rerun
//! one training run; typed [`presets`] for the paper's setups and the suites of `rethink
//! reproduce`; [`run`], which trains one and returns its record without printing anything;
//! and [`RunDir`], the run directory it is written to.
mod overrides;
pub mod presets;
mod run;
mod rundir;
mod scales;
#[cfg(test)]
pub(crate) mod testutil;

pub use crate::record::{commit, cpu_model, utc_now, Environment, Summary};
pub use crate::train::TrainConfig;
pub use overrides::Overrides;
pub use presets::{Preset, Regularizers};
pub use run::{check_runnable, run, run_with, summarize, RunOptions, RunRecord};
pub use rundir::{write_atomic, RunDir, CHECKPOINT};
pub use scales::{ScaleSpec, SCALES};

use crate::data::{DatasetKind, Subset};
use crate::error::{Error, Result};
use crate::models::{self, Init, ModelKind};
use crate::randomize::Randomization;
use crate::train::{Preprocess, Schedule};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The scale of a preset and of `rethink reproduce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// Real Fashion-MNIST subsets, on 2 CPU cores.
    Cpu,
    /// Full Fashion-MNIST and CIFAR-10, every model: for GPU runners.
    Gpu,
    /// The nightly's Fashion-MNIST claims in miniature (tens of images, seconds per run),
    /// on CPU: `make nightly-smoke` runs the whole nightly pipeline at this scale.
    Smoke,
    /// The AlexNet/ResNet18 grid at CPU scale: AlexNet and ResNet18 on the same 128 real
    /// Fashion-MNIST images × true labels, random labels and random pixels × no
    /// regularizer, weight decay or dropout, on 2 CPU cores. `make test` asserts its claims
    /// and `make reproduce` runs it beside the CPU scale.
    Grid,
    /// Where generalization differences exceed their noise, on CPU: AlexNet, ResNet18 and an
    /// MLP on 1,000 class-balanced Fashion-MNIST images for a fixed budget, tested on 5,000
    /// test images, with weight decay, dropout or augmentation one at a time. Its claims run
    /// in their own nextest profile (`cargo nextest run --profile mid`), not in `make test`.
    Mid,
}

crate::named!(Scale, "scale", "scale");

/// Everything needed to rerun one training run: the data, the model, the randomization,
/// and the training loop's own configuration, which it composes. In `config.json` it is
/// one flat object (see [`ExperimentFile`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "ExperimentFile", into = "ExperimentFile")]
pub struct Experiment {
    pub name: String,
    pub dataset: DatasetKind,
    /// The first N training images; all when absent.
    pub train_size: Option<usize>,
    /// The first N test images; all when absent.
    pub test_size: Option<usize>,
    /// Which images the sizes take: the first of each file, or class-balanced training
    /// images evaluated on the test set or on a validation split.
    pub subset: Subset,
    pub model: ModelKind,
    pub randomization: Randomization,
    pub preprocess: Preprocess,
    pub dropout: f64,
    /// How the model's parameters start: tch's layer defaults or PyTorch's
    /// ([`models::init`](crate::models::init) has the table).
    pub init: Init,
    /// On GPU: turn cuDNN benchmark mode off so that kernels are chosen deterministically.
    pub deterministic: bool,
    /// SGD, the schedule, the stopping rule, augmentation and the seed.
    pub train: TrainConfig,
}

/// An experiment as `config.json` holds it: every field at the top level, and no field it
/// does not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    pub name: String,
    pub dataset: DatasetKind,
    pub train_size: Option<usize>,
    pub test_size: Option<usize>,
    /// `first` when absent.
    #[serde(default, skip_serializing_if = "Subset::is_first")]
    pub subset: Subset,
    pub model: ModelKind,
    pub randomization: Randomization,
    pub preprocess: Preprocess,
    pub batch_size: usize,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub dropout: f64,
    /// `tch` or `pytorch` (always written; `tch` when absent, as in configs written before
    /// the choice existed).
    #[serde(default)]
    pub init: Init,
    /// Random crop + horizontal flip (the paper's data augmentation).
    pub augment: bool,
    pub schedule: Schedule,
    pub max_epochs: usize,
    /// Stop when train accuracy reaches this; `epochs_to_fit` is measured against it.
    pub target_train_acc: Option<f64>,
    pub seed: u64,
    #[serde(default)]
    pub deterministic: bool,
    /// Channels-last (NHWC) convolutions; absent when off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub channels_last: bool,
    /// Mixed precision on CUDA; absent when off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub amp: bool,
    /// Evaluate the test set every N epochs and after the last (0: after the last only);
    /// absent when 1, every epoch.
    #[serde(default = "every_epoch", skip_serializing_if = "is_every_epoch")]
    pub test_every: usize,
}

fn every_epoch() -> usize {
    1
}

fn is_every_epoch(n: &usize) -> bool {
    *n == 1
}

impl From<ExperimentFile> for Experiment {
    fn from(f: ExperimentFile) -> Self {
        Experiment {
            name: f.name,
            dataset: f.dataset,
            train_size: f.train_size,
            test_size: f.test_size,
            subset: f.subset,
            model: f.model,
            randomization: f.randomization,
            preprocess: f.preprocess,
            dropout: f.dropout,
            init: f.init,
            deterministic: f.deterministic,
            train: TrainConfig {
                batch_size: f.batch_size,
                lr: f.lr,
                momentum: f.momentum,
                weight_decay: f.weight_decay,
                schedule: f.schedule,
                max_epochs: f.max_epochs,
                target_train_acc: f.target_train_acc,
                augment: f.augment,
                seed: f.seed,
                channels_last: f.channels_last,
                amp: f.amp,
                test_every: f.test_every,
            },
        }
    }
}

impl From<Experiment> for ExperimentFile {
    fn from(e: Experiment) -> Self {
        let t = e.train;
        ExperimentFile {
            name: e.name,
            dataset: e.dataset,
            train_size: e.train_size,
            test_size: e.test_size,
            subset: e.subset,
            model: e.model,
            randomization: e.randomization,
            preprocess: e.preprocess,
            batch_size: t.batch_size,
            lr: t.lr,
            momentum: t.momentum,
            weight_decay: t.weight_decay,
            dropout: e.dropout,
            init: e.init,
            augment: t.augment,
            schedule: t.schedule,
            max_epochs: t.max_epochs,
            target_train_acc: t.target_train_acc,
            seed: t.seed,
            deterministic: e.deterministic,
            channels_last: t.channels_last,
            amp: t.amp,
            test_every: t.test_every,
        }
    }
}

impl Experiment {
    /// Every listed preset's name.
    pub fn preset_names() -> Vec<String> {
        presets::listed().iter().map(ToString::to_string).collect()
    }

    /// A named preset (see [`presets`] for the names).
    pub fn preset(name: &str) -> Result<Experiment> {
        Ok(name.parse::<Preset>()?.experiment())
    }

    /// Whether a run of `self` measures everything a run of `want` would: the same
    /// experiment apart from the name, with the test set evaluated at least at every epoch
    /// `want` evaluates it (the same cadence, a cadence that divides `want`'s, or `want`
    /// evaluating it after the last epoch only, as every run does). Training does not depend
    /// on the cadence, so such a run's numbers are `want`'s: a results directory written at
    /// another cadence is still judged, and a finished run is not trained again.
    pub fn covers(&self, want: &Experiment) -> bool {
        let (have, wanted) = (self.train.test_every, want.train.test_every);
        let cadence_covers = wanted == 0 || (have > 0 && wanted.is_multiple_of(have));
        let mut same = self.clone();
        same.name.clone_from(&want.name);
        same.train.test_every = wanted;
        cadence_covers && &same == want
    }

    /// A name for what this experiment runs: the preset it equals (see
    /// [`presets::matching`]), else its data set, model and randomization with the first 8
    /// hex digits of the MD5 of its whole config, so that different configs get different
    /// names.
    pub fn derived_name(&self) -> String {
        if let Some(p) = presets::matching(self) {
            return p.to_string();
        }
        use md5::{Digest, Md5};
        let mut unnamed = self.clone();
        unnamed.name = String::new();
        let json = serde_json::to_vec(&unnamed).unwrap_or_default();
        let hash: String = Md5::digest(&json)
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "{}-{}-{}-{hash}",
            self.dataset.name(),
            self.model.name(),
            presets::randomization_slug(self.randomization)
        )
    }

    /// This experiment on another data set, with the full-scale presets' preprocessing
    /// for it.
    pub fn on_dataset(mut self, dataset: DatasetKind) -> Experiment {
        if dataset != self.dataset {
            self.preprocess = scales::paper_preprocess(dataset);
            self.dataset = dataset;
        }
        self
    }

    /// Checks every field that can be checked without data; errors name the field.
    pub fn validate(&self) -> Result<()> {
        self.randomization.validate()?;
        if self.train.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        // Weights train in f32: a rate or decay beyond f32's range cannot be represented.
        let f32_max = f64::from(f32::MAX);
        if !(self.train.lr > 0.0 && self.train.lr <= f32_max) {
            return Err(Error::config(
                "lr",
                format!(
                    "{:?} is not a positive number within f32's range (at most {f32_max:e})",
                    self.train.lr
                ),
            ));
        }
        self.train.schedule.validate()?;
        if !(0.0..1.0).contains(&self.train.momentum) {
            return Err(Error::config(
                "momentum",
                format!("{} is outside [0, 1)", self.train.momentum),
            ));
        }
        if !(self.train.weight_decay >= 0.0 && self.train.weight_decay <= f32_max) {
            return Err(Error::config(
                "weight_decay",
                format!(
                    "{:?} is negative, not a number or beyond f32's range",
                    self.train.weight_decay
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config(
                "dropout",
                format!("{} is outside [0, 1)", self.dropout),
            ));
        }
        if let Some(t) = self.train.target_train_acc {
            if !(0.0..=1.0).contains(&t) {
                return Err(Error::config(
                    "target_train_acc",
                    format!("{t} is outside [0, 1]"),
                ));
            }
        }
        // libtorch indexes with i64: a larger size would wrap negative.
        for (field, v) in [
            ("batch_size", Some(self.train.batch_size)),
            ("train_size", self.train_size),
            ("test_size", self.test_size),
        ] {
            if v == Some(0) {
                return Err(Error::config(field, "must be at least 1"));
            }
            if v.is_some_and(|v| i64::try_from(v).is_err()) {
                return Err(Error::config(
                    field,
                    format!(
                        "{} is beyond the largest size libtorch can index",
                        v.unwrap_or(0)
                    ),
                ));
            }
        }
        let (c, h, _) = self.dataset.shape();
        let side = self.preprocess.crop.unwrap_or(h);
        if side < 1 || side > h {
            return Err(Error::config(
                "preprocess.crop",
                format!("{side} does not fit {h}x{h} {} images", self.dataset),
            ));
        }
        if !(0..=side).contains(&self.preprocess.augment_pad) {
            return Err(Error::config(
                "preprocess.augment_pad",
                format!(
                    "{} is outside [0, {side}]: the padding of a random crop is at most the image's side",
                    self.preprocess.augment_pad
                ),
            ));
        }
        self.model_config(c, side).validate(self.model)
    }

    fn model_config(&self, channels: i64, side: i64) -> models::Config {
        models::Config {
            dropout: self.dropout,
            ..models::Config::new(channels, side, self.dataset.classes())
        }
    }

    /// Reads an experiment from a `config.json` (a run directory's, or hand-written).
    pub fn from_file(path: &Path) -> Result<Experiment> {
        let text = crate::fsio::read_text(path, "cannot read config", crate::fsio::cap::SMALL)?;
        let exp: Experiment = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.into(),
            source,
        })?;
        exp.validate()
            .map_err(|e| Error::format(path, e.to_string()))?;
        Ok(exp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Each variant's serde name (config.json) is its command-line name, and parses back.
    fn one_name<T>()
    where
        T: clap::ValueEnum + Serialize + std::fmt::Display + std::str::FromStr + PartialEq,
        T: std::fmt::Debug,
        <T as std::str::FromStr>::Err: std::fmt::Debug,
    {
        assert!(!T::value_variants().is_empty());
        for v in T::value_variants() {
            let shown = v.to_string();
            let json = serde_json::Value::from(shown.clone());
            assert_eq!(serde_json::to_value(v).unwrap(), json);
            assert_eq!(&shown.parse::<T>().unwrap(), v);
        }
    }

    #[test]
    fn every_named_enum_has_one_name_on_the_command_line_and_in_config_json() {
        one_name::<DatasetKind>();
        one_name::<ModelKind>();
        one_name::<Init>();
        one_name::<Scale>();
        one_name::<crate::train::sgd::Layout>();
        one_name::<crate::theory::kernel::Solver>();
    }

    /// Any JSON value: scalars of every kind (huge, negative, fractional numbers among them),
    /// arrays and objects.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::{json, Value};
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            prop_oneof![
                Just(1e300),
                Just(-1.0),
                Just(0.0),
                Just(1e-320),
                Just(2f64.powi(63))
            ]
            .prop_map(|f| json!(f)),
            "[a-z:.0-9-]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn a_derived_name_is_the_matching_preset_or_names_the_setup_and_its_config() {
        let mut e = Experiment::preset("fashion-cpu-true-labels").unwrap();
        e.model = crate::models::ModelKind::Alexnet;
        e.name = "something else".into();
        // AlexNet's preset also has its own sizes and rate: this is no preset.
        let custom = e.derived_name();
        assert!(
            custom.starts_with("fashion-mnist-alexnet-true-labels-"),
            "{custom}"
        );
        let mut a = Experiment::preset("fashion-grid-alexnet-random-labels").unwrap();
        a.name = "x".into();
        assert_eq!(a.derived_name(), "fashion-grid-alexnet-random-labels");
        a.train.seed = 3;
        let seeded = a.derived_name();
        assert!(
            seeded.starts_with("fashion-mnist-alexnet-random-labels-"),
            "{seeded}"
        );
        a.train.seed = 4;
        assert_ne!(
            a.derived_name(),
            seeded,
            "different configs, different names"
        );
        let g = Experiment::preset("cifar10-resnet18-dropout-random-labels").unwrap();
        assert_eq!(g.derived_name(), "cifar10-resnet18-dropout-random-labels");
    }

    proptest! {
        // Every model on every data set at every crop: a config that validates builds a
        // model that takes its input; one that does not is refused by field, never a panic.
        #[test]
        fn a_validated_model_takes_its_input(
            model in proptest::sample::select(crate::models::ModelKind::all().to_vec()),
            dataset in proptest::sample::select(crate::data::DatasetKind::all().to_vec()),
            crop in proptest::option::of(0i64..40),
        ) {
            let mut exp = Experiment::preset("fashion-cpu-true-labels").unwrap();
            exp.model = model;
            exp.dataset = dataset;
            exp.preprocess.crop = crop;
            exp.preprocess.augment_pad = 0;
            match exp.validate() {
                Err(e) => prop_assert!(e.to_string().starts_with("invalid "), "{}", e),
                Ok(()) => {
                    let (c, h, _) = exp.dataset.shape();
                    let side = crop.unwrap_or(h);
                    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
                    let m = crate::models::build(&vs.root(), exp.model, &exp.model_config(c, side)).unwrap();
                    let y = m.forward_t(&tch::Tensor::zeros([2, c, side, side], (tch::Kind::Float, tch::Device::Cpu)), false);
                    prop_assert_eq!(y.size(), vec![2, exp.dataset.classes()]);
                }
            }
        }

        // Fuzzing the config parser: a preset's config with any field (nested ones too) set
        // to any JSON value, and arbitrary text, give a config or an error naming what is
        // wrong, never a panic.
        #[test]
        fn any_field_set_to_any_value_parses_or_is_refused(
            field in 0usize..64,
            nested in any::<bool>(),
            value in json(),
            text in ".{0,40}",
        ) {
            let mut v = serde_json::to_value(Experiment::preset("fashion-cpu-regularized-true-labels").unwrap()).unwrap();
            let obj = v.as_object_mut().unwrap();
            let keys: Vec<String> = obj.keys().cloned().collect();
            let key = &keys[field % keys.len()];
            match obj.get_mut(key) {
                Some(serde_json::Value::Object(inner)) if nested && !inner.is_empty() => {
                    let k = inner.keys().nth(field % inner.len()).unwrap().clone();
                    inner.insert(k, value);
                }
                Some(slot) => *slot = value,
                None => unreachable!(),
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("config.json");
            std::fs::write(&path, v.to_string()).unwrap();
            match Experiment::from_file(&path) {
                Err(e) => prop_assert!(e.to_string().contains("config.json"), "{}", e),
                // A config that is accepted builds its model, which takes a batch.
                Ok(exp) => {
                    let (c, h, _) = exp.dataset.shape();
                    let side = exp.preprocess.crop.unwrap_or(h);
                    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
                    let m = crate::models::build(&vs.root(), exp.model, &exp.model_config(c, side)).unwrap();
                    let y = m.forward_t(&tch::Tensor::zeros([2, c, side, side], (tch::Kind::Float, tch::Device::Cpu)), true);
                    prop_assert_eq!(y.size(), vec![2, exp.dataset.classes()]);
                }
            }
            std::fs::write(&path, &text).unwrap();
            let _ = Experiment::from_file(&path);
        }
    }

    #[test]
    fn every_preset_parses_validates_and_round_trips() {
        let names = Experiment::preset_names();
        assert!(names.contains(&"fashion-cpu-random-labels".to_string()));
        assert!(names.contains(&"cifar10-alexnet-random-labels".to_string()));
        for name in names {
            let e = Experiment::preset(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
            e.validate().unwrap_or_else(|err| panic!("{name}: {err}"));
            let back: Experiment =
                serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            assert_eq!(back, e);
        }
        assert_eq!(
            Experiment::preset("cifar10-inception-nobn-gaussian")
                .unwrap()
                .model,
            ModelKind::InceptionNobn
        );
        assert_eq!(
            Experiment::preset("cifar10-inception-gaussian")
                .unwrap()
                .train
                .lr,
            0.1
        );
        assert!(Experiment::preset("cifar10-vgg-true-labels").is_err());
        let e = Experiment::preset("cifar10-alexnet-corrupt-0.4").unwrap();
        assert_eq!(e.randomization, Randomization::Corrupt(0.4));
        assert!(Experiment::preset("fashion-cpu-corrupt-1.5").is_err());
        assert_eq!(
            Experiment::preset("fashion-cpu-weight-decay-true-labels")
                .unwrap()
                .train
                .weight_decay,
            5e-4
        );
    }

    type Mutation = Box<dyn Fn(&mut Experiment)>;

    #[test]
    fn invalid_configs_name_the_field() {
        let base = Experiment::preset("fashion-cpu-true-labels").unwrap();
        let cases: Vec<(Mutation, &str)> = vec![
            (
                Box::new(|e| e.randomization = Randomization::Corrupt(1.5)),
                "invalid randomization",
            ),
            (Box::new(|e| e.train.batch_size = 0), "invalid batch_size"),
            (Box::new(|e| e.train.lr = f64::NAN), "invalid lr"),
            (Box::new(|e| e.train_size = Some(0)), "invalid train_size"),
            (
                Box::new(|e| e.preprocess.crop = Some(30)),
                "invalid preprocess.crop",
            ),
            (
                Box::new(|e| {
                    e.model = ModelKind::Inception;
                    e.preprocess.crop = Some(5);
                }),
                "invalid image_size",
            ),
        ];
        for (mutate, want) in cases {
            let mut e = base.clone();
            mutate(&mut e);
            let err = e.validate().unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
        }
        let json = serde_json::to_string(&base)
            .unwrap()
            .replace("\"true-labels\"", "\"corrupt:1.5\"");
        let err = serde_json::from_str::<Experiment>(&json)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("corruption probability 1.5 is outside [0, 1]"),
            "{err}"
        );
    }

    #[test]
    fn run_dir_refuses_non_empty_and_writes_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let rd = RunDir::create(dir.path(), false).unwrap();
        rd.write_config(&Experiment::preset("fashion-cpu-true-labels").unwrap())
            .unwrap();
        drop(rd); // releases the directory's lock
        let e = RunDir::create(dir.path(), false).unwrap_err().to_string();
        assert!(
            e.ends_with("run directory is not empty; pass --force to overwrite"),
            "{e}"
        );
        RunDir::create(dir.path(), true).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);
        std::fs::write(dir.path().join("summary.json"), "{ not json").unwrap();
        let e = RunDir::read_summary(dir.path()).unwrap_err().to_string();
        assert!(e.ends_with("summary.json: invalid json"), "{e}");
    }
}

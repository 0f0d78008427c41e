//! The paper's setups as typed presets: data set × model × regularizers × randomization at
//! a scale, each with a name that [`std::fmt::Display`] writes and [`std::str::FromStr`]
//! reads back, and the suites `rethink reproduce` runs.
//!
//! Names:
//! - CPU scale: `fashion-cpu[-REGULARIZERS]-RANDOMIZATION`, MLP 1x512 on a Fashion-MNIST
//!   subset;
//! - full scale: `{fashion,cifar10}-MODEL[-REGULARIZERS]-RANDOMIZATION`, the whole data set;
//! - smoke scale: `fashion-smoke-{alexnet,resnet18}[-REGULARIZERS]-RANDOMIZATION`, the
//!   full-scale setup on a few dozen images (the nightly in miniature, on CPU);
//! - grid scale: `fashion-grid-{alexnet,resnet18}[-weight-decay|-dropout]-RANDOMIZATION`,
//!   the AlexNet/ResNet18 grid (both nets on the same 128 Fashion-MNIST images, on CPU), which is
//!   also where the CPU-scale AlexNet claims train;
//! - mid scale: `fashion-mid-{alexnet,resnet18,mlp1x512}[-augment|-weight-decay|-dropout]-true-labels`,
//!   the three nets on the same 1,000 class-balanced Fashion-MNIST images for a fixed budget,
//!   one regularizer at a time;
//!
//! where REGULARIZERS is any of `augment`, `weight-decay`, `dropout` in that order, or
//! `regularized` for all three, and RANDOMIZATION is `true-labels`, `random-labels`,
//! `shuffled-pixels`, `random-pixels`, `gaussian` or `corrupt-P`. Each scale's naming,
//! setups and base experiment are one entry of [`SCALES`].
use super::scales::{ScaleSpec, SCALES};
use super::{Experiment, Scale};
use crate::data::DatasetKind;
use crate::error::{Error, Result};
use crate::models::ModelKind;
use crate::randomize::Randomization;
use std::fmt;

/// Which explicit regularizers are on (§3, Table 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Regularizers {
    /// Random crop and horizontal flip (flips only at CPU scale).
    pub augment: bool,
    /// Weight decay 5e-4.
    pub weight_decay: bool,
    /// Dropout 0.2 where the model has a dropout layer.
    pub dropout: bool,
}

impl Regularizers {
    pub const NONE: Regularizers = Regularizers {
        augment: false,
        weight_decay: false,
        dropout: false,
    };
    pub const ALL: Regularizers = Regularizers {
        augment: true,
        weight_decay: true,
        dropout: true,
    };
    /// Weight decay alone.
    pub const WEIGHT_DECAY: Regularizers = Regularizers {
        augment: false,
        weight_decay: true,
        dropout: false,
    };
    /// Dropout alone.
    pub const DROPOUT: Regularizers = Regularizers {
        augment: false,
        weight_decay: false,
        dropout: true,
    };
    /// Augmentation alone.
    pub const AUGMENT: Regularizers = Regularizers {
        augment: true,
        weight_decay: false,
        dropout: false,
    };

    fn any(self) -> bool {
        self != Regularizers::NONE
    }
}

/// A named setup: which data, model, regularizers and randomization, at which scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    pub scale: Scale,
    pub dataset: DatasetKind,
    pub model: ModelKind,
    pub regularizers: Regularizers,
    pub randomization: Randomization,
}

/// The smoke-scale models: the nightly's models on Fashion-MNIST.
pub(super) const SMOKE_MODELS: [ModelKind; 2] = [ModelKind::Alexnet, ModelKind::Resnet18];
/// The models of Xiao, Wang, Liu and Yu's reproduction, in the grid's order.
pub const GRID_MODELS: [ModelKind; 2] = [ModelKind::Alexnet, ModelKind::Resnet18];
/// The grid's randomizations (Xiao, Wang, Liu and Yu's randomization tests).
pub const GRID_RANDOMIZATIONS: [Randomization; 3] = [
    Randomization::TrueLabels,
    Randomization::RandomLabels,
    Randomization::RandomPixels,
];
/// The grid's regularizer settings: none, weight decay alone, dropout alone.
pub const GRID_REGULARIZERS: [Regularizers; 3] = [
    Regularizers::NONE,
    Regularizers::WEIGHT_DECAY,
    Regularizers::DROPOUT,
];

/// The mid scale's models: the grid's two, and an MLP reference.
pub const MID_MODELS: [ModelKind; 3] =
    [ModelKind::Alexnet, ModelKind::Resnet18, ModelKind::Mlp1x512];
/// The mid scale's regularizer settings: none, then each alone.
pub const MID_REGULARIZERS: [Regularizers; 4] = [
    Regularizers::NONE,
    Regularizers::WEIGHT_DECAY,
    Regularizers::DROPOUT,
    Regularizers::AUGMENT,
];

/// The mid scale's suite, in the order its runs are trained (the longest first): ResNet18
/// plain and with weight decay, AlexNet plain and with each regularizer, the MLP plain. All
/// on true labels: the mid scale measures generalization, which the smaller scales cannot
/// resolve; memorization is asserted there.
pub fn mid_presets() -> Vec<Preset> {
    let at = |model, regularizers| Preset {
        scale: Scale::Mid,
        dataset: DatasetKind::FashionMnist,
        model,
        regularizers,
        randomization: Randomization::TrueLabels,
    };
    let [none, wd, dropout, augment] = MID_REGULARIZERS;
    vec![
        at(ModelKind::Resnet18, none),
        at(ModelKind::Resnet18, wd),
        at(ModelKind::Alexnet, none),
        at(ModelKind::Alexnet, wd),
        at(ModelKind::Alexnet, dropout),
        at(ModelKind::Alexnet, augment),
        at(ModelKind::Mlp1x512, none),
    ]
}

fn dataset_slug(d: DatasetKind) -> &'static str {
    match d {
        DatasetKind::FashionMnist => "fashion",
        DatasetKind::Cifar10 => "cifar10",
        DatasetKind::Mnist => "mnist",
    }
}

/// `corrupt:P` is written `corrupt-P` in names, which become directory names.
pub(crate) fn randomization_slug(r: Randomization) -> String {
    r.to_string().replace(':', "-")
}

fn parse_randomization(s: &str) -> Option<Randomization> {
    let r = match s.strip_prefix("corrupt-") {
        Some(p) => Randomization::Corrupt(p.parse().ok()?),
        None => s.parse().ok()?,
    };
    r.validate().ok().map(|_| r)
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(dataset_slug(self.dataset))?;
        let spec = self.scale.spec();
        if let Some(segment) = spec.segment {
            write!(f, "-{segment}")?;
        }
        if spec.implicit_model != Some(self.model) {
            write!(f, "-{}", self.model)?;
        }
        let r = self.regularizers;
        if r == Regularizers::ALL {
            f.write_str("-regularized")?;
        } else {
            for (on, name) in [
                (r.augment, "augment"),
                (r.weight_decay, "weight-decay"),
                (r.dropout, "dropout"),
            ] {
                if on {
                    write!(f, "-{name}")?;
                }
            }
        }
        write!(f, "-{}", randomization_slug(self.randomization))
    }
}

impl std::str::FromStr for Preset {
    type Err = Error;

    fn from_str(name: &str) -> Result<Preset> {
        let unknown = || {
            Error::config(
                "preset",
                format!("unknown preset {name:?}; `rethink run --list-presets` lists them"),
            )
        };
        let (dataset, rest) = [
            DatasetKind::FashionMnist,
            DatasetKind::Cifar10,
            DatasetKind::Mnist,
        ]
        .into_iter()
        .find_map(|d| Some((d, name.strip_prefix(dataset_slug(d))?.strip_prefix('-')?)))
        .ok_or_else(unknown)?;
        // Scale: the one whose segment starts the rest, else the GPU scale's paper names.
        let segment_of = |spec: &ScaleSpec| {
            let segment = spec.segment?;
            rest.strip_prefix(segment)?.strip_prefix('-')
        };
        let (spec, rest) = SCALES
            .iter()
            .find_map(|spec| Some((spec, segment_of(spec)?)))
            .unwrap_or((Scale::Gpu.spec(), rest));
        if spec.scale == Scale::Cpu {
            if let Some(rest) = rest.strip_prefix("alexnet-") {
                // AlexNet at CPU scale is the grid's setup (one setup, trained once): a
                // CPU-scale AlexNet name is refused naming the grid preset that runs it.
                return Err(Error::config(
                    "preset",
                    format!(
                        "{name:?} is not a preset: AlexNet at CPU scale is the grid's setup, \
                         fashion-grid-alexnet-{rest}"
                    ),
                ));
            }
        }
        // Model: the scale's only one, or the longest model name first
        // ("inception-nobn-..." also starts "inception-").
        let (model, mut rest) = match spec.implicit_model {
            Some(m) => (m, rest),
            None => {
                let mut models = ModelKind::all().to_vec();
                models.sort_by_key(|m| std::cmp::Reverse(m.name().len()));
                models
                    .into_iter()
                    .find_map(|m| Some((m, rest.strip_prefix(&m.name())?.strip_prefix('-')?)))
                    .ok_or_else(unknown)?
            }
        };
        let scale = spec.scale;
        // Regularizers, in their canonical order.
        let mut regularizers = Regularizers::NONE;
        if let Some(r) = rest.strip_prefix("regularized-") {
            (regularizers, rest) = (Regularizers::ALL, r);
        } else {
            for (name, flag) in [
                ("augment-", &mut regularizers.augment as &mut bool),
                ("weight-decay-", &mut regularizers.weight_decay),
                ("dropout-", &mut regularizers.dropout),
            ] {
                if let Some(r) = rest.strip_prefix(name) {
                    (*flag, rest) = (true, r);
                }
            }
        }
        let preset = Preset {
            scale,
            dataset,
            model,
            regularizers,
            randomization: parse_randomization(rest).ok_or_else(unknown)?,
        };
        preset.check()?;
        // Only the canonical spelling names a preset (one name per setup).
        if preset.to_string() != name {
            return Err(unknown());
        }
        Ok(preset)
    }
}

impl Preset {
    /// A CPU-scale preset of the MLP with no regularizer.
    pub fn cpu(randomization: Randomization) -> Preset {
        Preset {
            scale: Scale::Cpu,
            dataset: DatasetKind::FashionMnist,
            model: ModelKind::Mlp1x512,
            regularizers: Regularizers::NONE,
            randomization,
        }
    }

    /// A full-scale preset with no regularizer.
    pub fn full(dataset: DatasetKind, model: ModelKind, randomization: Randomization) -> Preset {
        Preset {
            scale: Scale::Gpu,
            dataset,
            model,
            regularizers: Regularizers::NONE,
            randomization,
        }
    }

    pub fn with_model(self, model: ModelKind) -> Preset {
        Preset { model, ..self }
    }

    pub fn with(self, regularizers: Regularizers) -> Preset {
        Preset {
            regularizers,
            ..self
        }
    }

    /// Whether this setup has a preset: its scale's entry in [`SCALES`] admits it.
    fn check(&self) -> Result<()> {
        let ok = (self.scale.spec().admits)(self);
        if ok {
            Ok(())
        } else {
            Err(Error::config(
                "preset",
                format!("{self} is not a preset; `rethink run --list-presets` lists them"),
            ))
        }
    }

    /// The experiment this preset names.
    pub fn experiment(&self) -> Experiment {
        let spec = self.scale.spec();
        let mut e = (spec.base)(self.dataset, self.model, self.randomization);
        let r = self.regularizers;
        if r.weight_decay {
            e.train.weight_decay = 5e-4;
        }
        if r.dropout {
            e.dropout = spec.dropout;
        }
        if r.augment {
            e.train.augment = true;
            if let Some(pad) = spec.augment_pad {
                e.preprocess.augment_pad = pad;
            }
        }
        if let Some(epochs) = spec.regularized_max_epochs.filter(|_| r.any()) {
            e.train.max_epochs = epochs;
        }
        e.name = self.to_string();
        e
    }
}

/// The preset `exp` is, whatever its name: the one with its scale, data set, model,
/// regularizers and randomization whose experiment equals it in every other field too.
pub fn matching(exp: &Experiment) -> Option<Preset> {
    let regularizers = Regularizers {
        augment: exp.train.augment,
        weight_decay: exp.train.weight_decay > 0.0,
        dropout: exp.dropout > 0.0,
    };
    Scale::all().iter().copied().find_map(|scale| {
        let candidate = Preset {
            scale,
            dataset: exp.dataset,
            model: exp.model,
            regularizers,
            randomization: exp.randomization,
        };
        // Only a name that parses back is a preset.
        let p: Preset = candidate.to_string().parse().ok()?;
        let mut e = p.experiment();
        e.name.clone_from(&exp.name);
        (&e == exp).then_some(p)
    })
}

/// Every listed preset: at CPU scale, each MLP family (alone, with each regularizer and
/// with all three) with the five randomizations of Fig. 1a and the corruption levels of
/// Fig. 1b/1c; at full scale, every model on both data sets with the five randomizations;
/// at smoke scale, the nightly's two models with the five randomizations; at grid scale,
/// the AlexNet/ResNet18 grid and both nets with the rest of Fig. 1a.
/// Other combinations that [`Preset::from_str`] accepts are presets too.
pub fn listed() -> Vec<Preset> {
    let mut out = Vec::new();
    let randomizations: Vec<Randomization> = Randomization::FIG1A
        .into_iter()
        .chain([0.2, 0.4, 0.5, 0.6, 0.8].map(Randomization::Corrupt))
        .collect();
    let cpu_families = [
        Preset::cpu(Randomization::TrueLabels),
        Preset::cpu(Randomization::TrueLabels).with(Regularizers::AUGMENT),
        Preset::cpu(Randomization::TrueLabels).with(Regularizers::WEIGHT_DECAY),
        Preset::cpu(Randomization::TrueLabels).with(Regularizers::DROPOUT),
        Preset::cpu(Randomization::TrueLabels).with(Regularizers::ALL),
    ];
    for f in cpu_families {
        for &randomization in &randomizations {
            out.push(Preset { randomization, ..f });
        }
    }
    for d in [DatasetKind::FashionMnist, DatasetKind::Cifar10] {
        for &m in ModelKind::all() {
            for r in Randomization::FIG1A {
                out.push(Preset::full(d, m, r));
            }
        }
    }
    for m in SMOKE_MODELS {
        for r in Randomization::FIG1A {
            out.push(Preset {
                scale: Scale::Smoke,
                ..Preset::full(DatasetKind::FashionMnist, m, r)
            });
        }
    }
    out.extend(grid_presets());
    for model in GRID_MODELS {
        out.extend(grid_fig1a_rest(model));
    }
    for model in MID_MODELS {
        for regularizers in MID_REGULARIZERS {
            out.push(Preset {
                scale: Scale::Mid,
                dataset: DatasetKind::FashionMnist,
                model,
                regularizers,
                randomization: Randomization::TrueLabels,
            });
        }
    }
    out
}

/// Fig. 1a's randomizations beyond the grid's, at grid scale for `model`: shuffled pixels
/// and Gaussian inputs, unregularized.
pub fn grid_fig1a_rest(model: ModelKind) -> Vec<Preset> {
    Randomization::FIG1A
        .into_iter()
        .filter(|r| !GRID_RANDOMIZATIONS.contains(r))
        .map(|randomization| Preset {
            scale: Scale::Grid,
            dataset: DatasetKind::FashionMnist,
            model,
            regularizers: Regularizers::NONE,
            randomization,
        })
        .collect()
}

/// The AlexNet/ResNet18 grid, model by model: each randomization unregularized, then true
/// and random labels with weight decay, then with dropout.
pub fn grid_presets() -> Vec<Preset> {
    let mut out = Vec::new();
    for model in GRID_MODELS {
        for regularizers in GRID_REGULARIZERS {
            for randomization in GRID_RANDOMIZATIONS {
                if regularizers.any() && randomization == Randomization::RandomPixels {
                    continue;
                }
                out.push(Preset {
                    scale: Scale::Grid,
                    dataset: DatasetKind::FashionMnist,
                    model,
                    regularizers,
                    randomization,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scale_has_one_entry() {
        assert_eq!(SCALES.len(), Scale::all().len());
        for &scale in Scale::all() {
            assert_eq!(scale.spec().scale, scale);
        }
    }

    #[test]
    fn every_listed_preset_round_trips_through_its_name() {
        for p in listed() {
            let name = p.to_string();
            let back: Preset = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(back, p, "{name}");
            let e = p.experiment();
            assert_eq!(e.name, name);
            e.validate().unwrap_or_else(|err| panic!("{name}: {err}"));
        }
    }

    #[test]
    fn names_follow_the_grammar() {
        let p: Preset = "cifar10-alexnet-augment-weight-decay-true-labels"
            .parse()
            .unwrap();
        assert_eq!(p.model, ModelKind::Alexnet);
        assert!(p.regularizers.augment && p.regularizers.weight_decay && !p.regularizers.dropout);
        let p: Preset = "cifar10-inception-nobn-gaussian".parse().unwrap();
        assert_eq!(p.model, ModelKind::InceptionNobn);
        let p: Preset = "fashion-cpu-regularized-corrupt-0.4".parse().unwrap();
        assert_eq!(p.regularizers, Regularizers::ALL);
        assert_eq!(p.randomization, Randomization::Corrupt(0.4));
        for bad in [
            "cifar10-vgg-true-labels",
            "fashion-cpu-corrupt-1.5",
            // Not canonical: regularizers out of order, or all three spelled out.
            "cifar10-alexnet-weight-decay-augment-true-labels",
            "fashion-cpu-augment-weight-decay-dropout-true-labels",
            // No such CPU-scale setup.
            "cifar10-cpu-true-labels",
            "fashion-cpu-alexnet-true-labels",
            // The grid has weight decay or dropout, not both, and not augmentation.
            "fashion-grid-alexnet-weight-decay-dropout-true-labels",
            "fashion-grid-resnet18-augment-true-labels",
            "fashion-grid-alexnet-corrupt-0.2",
        ] {
            assert!(bad.parse::<Preset>().is_err(), "{bad} parsed");
        }
    }
}

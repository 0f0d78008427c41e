//! Calibrated bands: the range a claim's measurement must fall in, and the resolution its
//! snapshot is rounded to. Each scale has its own file, committed beside the runs that
//! justify its bands (golden/cpu-bands.json, golden/gpu-bands.json), read once into a
//! typed structure: a band the code names but the file lacks, or one the file has but the
//! code does not know, is an error at load time.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The CPU-scale bands file, compiled in.
pub const CPU_BANDS_FILE: &str = "golden/cpu-bands.json";
const CPU_BANDS: &str = include_str!("../../golden/cpu-bands.json");
/// The GPU-scale bands file, compiled in.
pub const GPU_BANDS_FILE: &str = "golden/gpu-bands.json";
const GPU_BANDS: &str = include_str!("../../golden/gpu-bands.json");
/// The smoke-scale bands file (the nightly in miniature, calibrated on CPU), compiled in.
pub const SMOKE_BANDS_FILE: &str = "golden/smoke-bands.json";
const SMOKE_BANDS: &str = include_str!("../../golden/smoke-bands.json");

/// The grid-scale bands file (the AlexNet/ResNet18 grid, calibrated on CPU),
/// compiled in.
pub const GRID_BANDS_FILE: &str = "golden/grid-bands.json";
const GRID_BANDS: &str = include_str!("../../golden/grid-bands.json");

/// The mid-scale bands file (generalization on 1,000 Fashion-MNIST images, calibrated on
/// CPU), compiled in.
pub const MID_BANDS_FILE: &str = "golden/mid-bands.json";
pub(crate) const MID_BANDS: &str = include_str!("../../golden/mid-bands.json");

/// A closed range `[min, max]` (either end may be open) with its snapshot resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// The band's key in the file; set when the file is read.
    #[serde(skip)]
    pub name: &'static str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Snapshots round the measured value to a multiple of this: coarse enough that every
    /// calibration run (all seeds, all instruction-set levels) rounds to the same value.
    pub resolution: f64,
    /// Why the band is where it is.
    pub why: String,
    /// What the calibration runs measured; `None` only in a file whose provenance says its
    /// bands are provisional (no run of this harness at that scale yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<Calibration>,
    /// Whether snapshots pin this band's measured values (they always pin whether each
    /// measure holds). `false` where the value can show only one rounding cell while the band
    /// holds (a fit that stops at 1.0; a band narrower than one cell), so that a pinned
    /// value would be noise-free but say nothing the verdict does not.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub snapshot: bool,
    /// No claim of this scale reads the band (the smoke scale has the GPU bands' names, but
    /// no CIFAR-10 claims): it needs no calibration, and a claim that reads it fails.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unread: bool,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

/// The spread of a band's measurement over the calibration runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub seeds: Vec<u64>,
    /// Instruction-set levels: `native` (the CPU's own kernels), `avx2` (an x86-64-v3 CPU
    /// imitated on an AVX-512 one) and `sse42` (an x86-64-v2 CPU imitated on the same
    /// machine); see scripts/calibrate.sh.
    pub levels: Vec<String>,
    /// Number of measurements (seeds × levels).
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Band {
    fn validate(&self, provisional: bool) -> std::result::Result<(), String> {
        let name = self.name;
        if self.min.is_none() && self.max.is_none() {
            return Err(format!("band {name} has neither min nor max"));
        }
        if let (Some(a), Some(b)) = (self.min, self.max) {
            if a > b {
                return Err(format!("band {name}: min {a} is above max {b}"));
            }
        }
        if !(self.resolution > 0.0 && self.resolution.is_finite()) {
            return Err(format!(
                "band {name}: resolution {} is not a positive number",
                self.resolution
            ));
        }
        match &self.measured {
            None if self.unread => Ok(()),
            Some(_) if self.unread => Err(format!(
                "band {name} is marked unread but has calibration runs"
            )),
            Some(c) if c.n == 0 || c.seeds.is_empty() || c.levels.is_empty() => {
                Err(format!("band {name} has no calibration runs"))
            }
            None if !provisional => Err(format!(
                "band {name} has no calibration runs (`measured`), and the file does not say its bands are provisional"
            )),
            _ => Ok(()),
        }
    }
}

/// The bands of one scale, as a typed structure.
pub trait BandSet: serde::de::DeserializeOwned {
    /// Every band, in declaration order.
    fn all(&self) -> Vec<&Band>;
    fn set_names(&mut self);
}

macro_rules! bands {
    ($(#[$sdoc:meta])* $set:ident { $($(#[$doc:meta])* $name:ident,)* }) => {
        $(#[$sdoc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $set {
            $($(#[$doc])* pub $name: Band,)*
        }

        impl BandSet for $set {
            fn all(&self) -> Vec<&Band> {
                vec![$(&self.$name),*]
            }

            fn set_names(&mut self) {
                $(self.$name.name = stringify!($name);)*
            }
        }
    };
}

bands! {
    /// Every CPU-scale band, by name (golden/cpu-bands.json).
    CpuBands {
        /// A memorized training set: train accuracy reaches the presets' target of 1.0.
        train_acc_fit,
        /// True labels: the largest rise of the training loss from one epoch to the next.
        true_labels_loss_rise,
        /// MLP 1x512 on true labels: test accuracy far above chance.
        mlp_true_labels_test_acc,
        /// AlexNet on true labels: test accuracy far above chance.
        alexnet_true_labels_test_acc,
        /// Random labels: test accuracy's distance from chance (0.1), in binomial sigmas.
        chance_sigmas,
        /// MLP: epochs to 100% train accuracy, random over true labels.
        slowdown_fit,
        /// MLP: epochs to 90% train accuracy, random over true labels.
        slowdown_90,
        /// AlexNet: epochs to 90% train accuracy, random over true labels.
        alexnet_slowdown_90,
        /// Spearman's rho of (corruption level, test error).
        corruption_test_error_spearman,
        /// The smallest ratio of epochs to 90% train accuracy at P >= 0.2 over P = 0.
        corruption_time_jump,
        /// The largest relative fall of epochs to 90% from a lower P to a higher one.
        corruption_time_drop,
        /// Accuracy on corrupted examples when clean ones first reach 0.9, at P = 0.5.
        arpit_corrupted,
        /// Test accuracy with every explicit regularizer on, minus without, on true labels.
        regularization_gap,
        /// Train accuracy on random labels with every explicit regularizer on.
        regularized_random_train_acc,
    }
}

bands! {
    /// Every GPU-scale band, by name (golden/gpu-bands.json): the nightly's full-scale runs.
    GpuBands {
        /// Final train accuracy of an unregularized full-scale run.
        train_acc_fit,
        /// Final train accuracy with weight decay or dropout on.
        regularized_train_acc,
        /// Random labels: test accuracy's distance from chance (0.1), in binomial sigmas.
        chance_sigmas,
        /// Test accuracy minus the paper's Table 1 (CIFAR-10), in percentage points.
        test_acc_vs_paper,
        /// Best test accuracy during training minus the final one (what early stopping gains).
        early_stopping_gain,
    }
}

bands! {
    /// Every grid-scale band, by name (golden/grid-bands.json): the AlexNet/ResNet18 grid
    /// of AlexNet and ResNet18 × randomizations × regularizers on 128 Fashion-MNIST images.
    GridBands {
        /// A memorized training set: train accuracy reaches the presets' target of 1.0.
        train_acc_fit,
        /// AlexNet on true labels: test accuracy far above chance.
        alexnet_true_labels_test_acc,
        /// ResNet18 on true labels: test accuracy far above chance.
        resnet18_true_labels_test_acc,
        /// Random labels: test accuracy's distance from chance (0.1), in binomial sigmas.
        chance_sigmas,
        /// True labels, one net: test accuracy with weight decay (or dropout) minus without.
        regularization_gap,
    }
}

bands! {
    /// Every mid-scale band, by name (golden/mid-bands.json): AlexNet, ResNet18 and an MLP on
    /// 1,000 class-balanced Fashion-MNIST images for a fixed budget, tested on 5,000.
    MidBands {
        /// An unregularized net's train accuracy at the end of its budget.
        train_acc_fit,
        /// AlexNet on true labels: test accuracy.
        alexnet_test_acc,
        /// ResNet18 on true labels: test accuracy.
        resnet18_test_acc,
        /// MLP 1x512 on true labels: test accuracy.
        mlp_test_acc,
        /// One net and seed: test accuracy with weight decay or dropout minus without.
        regularizer_effect,
        /// AlexNet, one seed: test accuracy with augmentation minus without.
        augmentation_effect,
        /// One net and seed: the best regularized variant's test accuracy minus the plain
        /// net's.
        best_regularizer_gain,
    }
}

/// A bands file: the bands and the calibration they come from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BandsFile<B> {
    /// Machines, dates, seeds and commands of the calibration. `"status": "provisional"`
    /// marks bands not yet measured at their scale.
    provenance: serde_json::Value,
    bands: B,
    /// Effects measured but not robust at this scale: reported, never asserted.
    #[allow(dead_code)]
    #[serde(default)]
    not_robust: serde_json::Value,
    /// Settings chosen by measured runs (a learning rate, say), with the runs.
    #[allow(dead_code)]
    #[serde(default)]
    choices: serde_json::Value,
    /// What the calibration showed beyond the bands.
    #[allow(dead_code)]
    #[serde(default)]
    observations: serde_json::Value,
    /// Curve snapshots' cells (mid scale): per run and curve point, the calibrated median
    /// and the cell width a snapshot quantizes against (tests/claims/mid.rs).
    #[allow(dead_code)]
    #[serde(default)]
    curves: serde_json::Value,
}

/// Parses and checks a bands file; errors name `path` and the band.
pub fn parse<B: BandSet>(path: &str, text: &str) -> Result<B> {
    let file: BandsFile<B> = serde_json::from_str(text).map_err(|source| Error::Json {
        path: path.into(),
        source,
    })?;
    let provisional = file.provenance["status"]
        .as_str()
        .is_some_and(|s| s.starts_with("provisional"));
    let mut bands = file.bands;
    bands.set_names();
    for b in bands.all() {
        b.validate(provisional)
            .map_err(|what| Error::format(path, what))?;
    }
    Ok(bands)
}

fn load<B: BandSet>(
    cell: &'static OnceLock<std::result::Result<B, String>>,
    path: &str,
    text: &str,
) -> Result<&'static B> {
    cell.get_or_init(|| parse(path, text).map_err(|e| crate::error::chain(&e)))
        .as_ref()
        .map_err(|e| Error::format(path, e.clone()))
}

/// The CPU-scale bands, read once from the copy compiled in.
pub fn cpu() -> Result<&'static CpuBands> {
    static BANDS: OnceLock<std::result::Result<CpuBands, String>> = OnceLock::new();
    load(&BANDS, CPU_BANDS_FILE, CPU_BANDS)
}

/// The GPU-scale bands, read once from the copy compiled in.
pub fn gpu() -> Result<&'static GpuBands> {
    static BANDS: OnceLock<std::result::Result<GpuBands, String>> = OnceLock::new();
    load(&BANDS, GPU_BANDS_FILE, GPU_BANDS)
}

/// The smoke-scale bands (the GPU claims' checks, on the smoke presets), read once from the
/// copy compiled in.
pub fn smoke() -> Result<&'static GpuBands> {
    static BANDS: OnceLock<std::result::Result<GpuBands, String>> = OnceLock::new();
    load(&BANDS, SMOKE_BANDS_FILE, SMOKE_BANDS)
}

/// The grid-scale bands (the AlexNet/ResNet18 grid at CPU scale), read once from the copy compiled
/// in.
pub fn grid() -> Result<&'static GridBands> {
    static BANDS: OnceLock<std::result::Result<GridBands, String>> = OnceLock::new();
    load(&BANDS, GRID_BANDS_FILE, GRID_BANDS)
}

/// The mid-scale bands, read once from the copy compiled in.
pub fn mid() -> Result<&'static MidBands> {
    static BANDS: OnceLock<std::result::Result<MidBands, String>> = OnceLock::new();
    load(&BANDS, MID_BANDS_FILE, MID_BANDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::verdict::quantize;

    #[test]
    fn the_committed_bands_load_and_every_one_is_named() {
        let b = cpu().unwrap();
        assert!(b.all().iter().all(|b| !b.name.is_empty()));
        assert_eq!(b.train_acc_fit.name, "train_acc_fit");
        for g in [gpu().unwrap(), smoke().unwrap()] {
            assert!(g.all().iter().all(|b| !b.name.is_empty()));
            assert_eq!(g.test_acc_vs_paper.name, "test_acc_vs_paper");
        }
        let g = grid().unwrap();
        assert!(g.all().iter().all(|b| !b.name.is_empty()));
        assert_eq!(g.regularization_gap.name, "regularization_gap");
        let m = mid().unwrap();
        assert!(m.all().iter().all(|b| !b.name.is_empty()));
        assert_eq!(m.regularizer_effect.name, "regularizer_effect");
    }

    /// Every band of every committed bands file.
    fn every_committed_band() -> Vec<&'static Band> {
        [
            cpu().unwrap().all(),
            gpu().unwrap().all(),
            smoke().unwrap().all(),
            grid().unwrap().all(),
            mid().unwrap().all(),
        ]
        .concat()
    }

    /// A snapshot value must be able to move: a closed band whose values snapshots pin has
    /// at least two rounding cells inside it (scripts/snapshot_cells.py lists them all).
    #[test]
    fn every_pinned_closed_band_has_room_for_two_cells() {
        for b in every_committed_band() {
            if let (Some(lo), Some(hi), true, false) = (b.min, b.max, b.snapshot, b.unread) {
                let cells = (hi / b.resolution).round() - (lo / b.resolution).round() + 1.0;
                assert!(
                    cells >= 2.0,
                    "band {}: [{lo}, {hi}] at resolution {} has {cells} cell inside it, so a pinned value could never move while it holds: set \"snapshot\": false or a finer resolution",
                    b.name,
                    b.resolution
                );
            }
        }
    }

    /// A pinned value must not move with the seed or the CPU: every calibration value of a
    /// band that snapshots pin rounds to one cell, so a moved cell is a drift past the
    /// calibrated spread rather than a cell edge inside it.
    #[test]
    fn every_pinned_band_calibration_lies_in_one_cell() {
        for b in every_committed_band() {
            if let (Some(m), true) = (&b.measured, b.snapshot) {
                let (lo, hi) = (quantize(m.min, b.resolution), quantize(m.max, b.resolution));
                assert_eq!(
                    lo, hi,
                    "band {}: its calibration values {} to {} round to {lo} and {hi} at resolution {}, so a snapshot would move with the seed or the CPU: choose a resolution whose cell holds them all",
                    b.name, m.min, m.max, b.resolution
                );
            }
        }
    }

    /// Every committed bands file, by path.
    const FILES: [(&str, &str); 5] = [
        (CPU_BANDS_FILE, CPU_BANDS),
        (GPU_BANDS_FILE, GPU_BANDS),
        (SMOKE_BANDS_FILE, SMOKE_BANDS),
        (GRID_BANDS_FILE, GRID_BANDS),
        (MID_BANDS_FILE, MID_BANDS),
    ];

    /// Levels a `per_seed` block may be split by (scripts/calibrate.sh).
    const LEVELS: [&str; 3] = ["native", "avx2", "sse42"];

    /// What is wrong with a bands file's per-seed calibration values: every `per_seed` block
    /// in its provenance maps a band (or a `not_robust` measure) to seed → values, or a level
    /// to such a map, and every value of a band lies inside it. Returns the problems and the
    /// number of blocks read.
    fn per_seed_problems(text: &str) -> (Vec<String>, usize) {
        fn block(at: &str, v: &serde_json::Value, file: &serde_json::Value, out: &mut Vec<String>) {
            let Some(entries) = v.as_object() else {
                return out.push(format!("{at} is not an object"));
            };
            for (key, v) in entries {
                let at = format!("{at}.{key}");
                if LEVELS.contains(&key.as_str()) {
                    block(&at, v, file, out);
                    continue;
                }
                let band = &file["bands"][key];
                if band.is_null() && file["not_robust"][key].is_null() {
                    out.push(format!(
                        "{at}: no band, reported measure or level is called {key}"
                    ));
                    continue;
                }
                let (lo, hi) = (band["min"].as_f64(), band["max"].as_f64());
                // A pinned band's values, at every seed and level, share the cell of its
                // calibration (every_pinned_band_calibration_lies_in_one_cell).
                let cell = match (
                    band["resolution"].as_f64(),
                    band["measured"]["min"].as_f64(),
                ) {
                    (Some(r), Some(m)) if band["snapshot"].as_bool() != Some(false) => {
                        Some((r, quantize(m, r)))
                    }
                    _ => None,
                };
                for (seed, values) in v.as_object().into_iter().flatten() {
                    if seed.parse::<u64>().is_err() {
                        out.push(format!("{at}: {seed:?} is not a seed"));
                    }
                    let values = values.as_array().map(|a| a.iter().map(|x| x.as_f64()));
                    for x in values.into_iter().flatten() {
                        match x {
                            None => out.push(format!("{at}.{seed}: a value is not a number")),
                            Some(x)
                                if lo.is_some_and(|lo| x < lo) || hi.is_some_and(|hi| x > hi) =>
                            {
                                out.push(format!(
                                    "{at}.{seed}: {x} is outside the band [{lo:?}, {hi:?}]"
                                ))
                            }
                            Some(x) => {
                                if let Some((r, c)) = cell {
                                    let q = quantize(x, r);
                                    if q != c {
                                        out.push(format!(
                                            "{at}.{seed}: {x} rounds to {q} at resolution {r}, not to its calibration's {c}"
                                        ))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        fn walk(
            at: &str,
            v: &serde_json::Value,
            file: &serde_json::Value,
            out: &mut Vec<String>,
            n: &mut usize,
        ) {
            match v {
                serde_json::Value::Object(o) => {
                    for (key, v) in o {
                        let at = format!("{at}.{key}");
                        if key == "per_seed" {
                            *n += 1;
                            block(&at, v, file, out);
                        } else {
                            walk(&at, v, file, out, n);
                        }
                    }
                }
                serde_json::Value::Array(a) => {
                    for (i, v) in a.iter().enumerate() {
                        walk(&format!("{at}[{i}]"), v, file, out, n);
                    }
                }
                _ => {}
            }
        }
        let file: serde_json::Value = serde_json::from_str(text).unwrap();
        let (mut out, mut n) = (vec![], 0);
        walk("provenance", &file["provenance"], &file, &mut out, &mut n);
        (out, n)
    }

    /// The per-seed values a bands file records are the calibration's own: inside their
    /// bands, and where they are the top-level `provenance.per_seed` (the runs the `measured`
    /// blocks summarize), summarized by exactly those blocks.
    #[test]
    fn recorded_per_seed_values_lie_in_their_bands_and_match_their_summaries() {
        for (path, text) in FILES {
            let (problems, _) = per_seed_problems(text);
            assert!(problems.is_empty(), "{path}: {problems:#?}");
            let file: serde_json::Value = serde_json::from_str(text).unwrap();
            for (key, seeds) in file["provenance"]["per_seed"]
                .as_object()
                .into_iter()
                .flatten()
            {
                let values: Vec<f64> = seeds
                    .as_object()
                    .unwrap()
                    .values()
                    .flat_map(|v| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
                    .collect();
                let spread = crate::claims::stats::Spread::of(&values).unwrap();
                let measured = if file["bands"][key].is_null() {
                    &file["not_robust"][key]["measured"]
                } else {
                    &file["bands"][key]["measured"]
                };
                let seeds: Vec<u64> = {
                    let mut s: Vec<u64> = seeds
                        .as_object()
                        .unwrap()
                        .keys()
                        .map(|s| s.parse().unwrap())
                        .collect();
                    s.sort();
                    s
                };
                let m: Calibration = serde_json::from_value(measured.clone()).unwrap();
                assert_eq!(
                    (m.n, m.min, m.median, m.max, m.seeds),
                    (values.len(), spread.min, spread.median, spread.max, seeds),
                    "{path}: {key}'s measured block (n, min, median, max, seeds) against its per-seed values"
                );
            }
        }
        // Every calibrated scale records per-seed values; the GPU bands are provisional.
        for (path, text) in FILES {
            let provisional = text.contains(r#""status": "provisional"#);
            assert_eq!(
                per_seed_problems(text).1 >= 1,
                !provisional,
                "{path}: a calibrated bands file records per-seed values in a `per_seed` block"
            );
        }
    }

    #[test]
    fn a_per_seed_value_outside_its_band_or_cell_or_under_an_unknown_name_is_found() {
        let mut v: serde_json::Value = serde_json::from_str(MID_BANDS).unwrap();
        v["provenance"]["per_seed"]["alexnet_test_acc"]["0"][0] = 0.5.into();
        let (p, _) = per_seed_problems(&v.to_string());
        assert_eq!(
            p,
            ["provenance.per_seed.alexnet_test_acc.0: 0.5 is outside the band [Some(0.8), None]"]
        );
        let mut v: serde_json::Value = serde_json::from_str(MID_BANDS).unwrap();
        v["provenance"]["per_seed"]["alexnet_tset_acc"] = serde_json::json!({"0": [0.84]});
        let (p, _) = per_seed_problems(&v.to_string());
        assert!(p.len() == 1 && p[0].contains("alexnet_tset_acc"), "{p:?}");
        // Inside the band, but a cell away from the calibration: an AVX2 seed whose snapshot
        // would differ from the native one.
        let mut v: serde_json::Value = serde_json::from_str(MID_BANDS).unwrap();
        v["provenance"]["levels_measured_elsewhere"]["avx2"]["per_seed"]["resnet18_test_acc"]
            ["0"][0] = 0.86.into();
        let (p, _) = per_seed_problems(&v.to_string());
        assert_eq!(
            p,
            ["provenance.levels_measured_elsewhere.avx2.per_seed.resnet18_test_acc.0: 0.86 rounds to 0.9 at resolution 0.1, not to its calibration's 0.8"]
        );
    }

    #[test]
    fn only_a_provisional_file_may_leave_bands_unmeasured() {
        let mut v: serde_json::Value = serde_json::from_str(CPU_BANDS).unwrap();
        v["bands"]["slowdown_fit"]
            .as_object_mut()
            .unwrap()
            .remove("measured");
        let e = crate::error::chain(&parse::<CpuBands>("x.json", &v.to_string()).unwrap_err());
        assert!(
            e.contains("band slowdown_fit has no calibration runs"),
            "{e}"
        );
        v["provenance"]["status"] = "provisional: no run yet".into();
        parse::<CpuBands>("x.json", &v.to_string()).unwrap();
    }

    #[test]
    fn an_unknown_or_missing_band_is_an_error_naming_it() {
        let mut v: serde_json::Value = serde_json::from_str(CPU_BANDS).unwrap();
        let extra = v["bands"]["train_acc_fit"].clone();
        v["bands"]["made_up_band"] = extra;
        let e = crate::error::chain(&parse::<CpuBands>("x.json", &v.to_string()).unwrap_err());
        assert!(e.contains("x.json") && e.contains("made_up_band"), "{e}");
        let mut v: serde_json::Value = serde_json::from_str(CPU_BANDS).unwrap();
        v["bands"].as_object_mut().unwrap().remove("slowdown_fit");
        let e = crate::error::chain(&parse::<CpuBands>("x.json", &v.to_string()).unwrap_err());
        assert!(e.contains("slowdown_fit"), "{e}");
        let mut v: serde_json::Value = serde_json::from_str(CPU_BANDS).unwrap();
        v["bands"]["slowdown_fit"]["resolution"] = 0.into();
        let e = crate::error::chain(&parse::<CpuBands>("x.json", &v.to_string()).unwrap_err());
        assert!(e.contains("band slowdown_fit: resolution 0"), "{e}");
    }

    #[test]
    fn bands_contain_their_ends_and_describe_themselves() {
        let mut b = crate::claims::BandRef {
            name: "x".into(),
            min: Some(1.0),
            max: Some(2.0),
            resolution: 1.0,
            snapshot: true,
        };
        assert!(b.contains(1.0) && b.contains(2.0) && !b.contains(2.01) && !b.contains(0.99));
        assert_eq!(b.describe(), "in [1, 2]");
        b.min = None;
        assert_eq!(b.describe(), "<= 2");
    }
}

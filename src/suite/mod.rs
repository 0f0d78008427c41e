//! A scale's suite of runs and running it: the suite is the union of what the scale's
//! figures and tables draw and what its claims read (the layer above the claims, so that a
//! new claim's runs join its scale's suite with no other edit); seeds, shards and
//! `rethink reproduce`.
use crate::claims;
use crate::data::DatasetKind;
use crate::error::{Error, Result};
use crate::experiment::presets::{
    grid_fig1a_rest, grid_presets, mid_presets, Preset, Regularizers,
};
use crate::experiment::{Experiment, RunDir, Scale, Summary};
use crate::models::ModelKind;
use crate::randomize::Randomization;
use crate::train::EpochMetrics;
use std::path::{Path, PathBuf};

pub mod plan;
pub mod slurm;

/// The presets `rethink reproduce` runs at `scale`, each once: at CPU and grid scale the
/// figures' and tables' runs (which the CPU and grid claims read), at full and smoke scale
/// those and every run a claim of the scale reads, in the claims' order.
pub fn presets(scale: Scale) -> Vec<Preset> {
    use Randomization::*;
    let mut out = Vec::new();
    match scale {
        Scale::Cpu => {
            // Fig. 1a with the MLP; Fig. 1b/1c (P = 0 and 1 are the true- and random-label
            // runs) with Arpit's P = 0.5; the Table 1-style grid.
            for r in Randomization::FIG1A {
                out.push(Preset::cpu(r));
            }
            for p in [0.2, 0.4, 0.5, 0.6, 0.8] {
                out.push(Preset::cpu(Corrupt(p)));
            }
            for regs in [
                Regularizers::WEIGHT_DECAY,
                Regularizers::DROPOUT,
                Regularizers::AUGMENT,
                Regularizers::ALL,
            ] {
                for r in [TrueLabels, RandomLabels] {
                    out.push(Preset::cpu(r).with(regs));
                }
            }
            // The AlexNet/ResNet18 grid: AlexNet and ResNet18 at CPU scale, and with
            // AlexNet the rest of Fig. 1a (AlexNet's CPU-scale claims read these runs).
            out.extend(grid_presets());
            out.extend(grid_fig1a_rest(ModelKind::Alexnet));
        }
        Scale::Gpu => {
            let cifar = |m, r| Preset::full(DatasetKind::Cifar10, m, r);
            // Fig. 1a: CIFAR-10 Inception. Fig. 1b/1c: Inception, AlexNet and MLP 1x512.
            for r in Randomization::FIG1A {
                out.push(cifar(ModelKind::Inception, r));
            }
            for m in [
                ModelKind::Inception,
                ModelKind::Alexnet,
                ModelKind::Mlp1x512,
            ] {
                if m != ModelKind::Inception {
                    out.push(cifar(m, TrueLabels));
                    out.push(cifar(m, RandomLabels));
                }
                for p in [0.2, 0.4, 0.6, 0.8] {
                    out.push(cifar(m, Corrupt(p)));
                }
            }
            // Table 1: the rows with random crop and weight decay (5e-4) on; the rows with
            // both off and with random labels are the runs above.
            for m in [
                ModelKind::Inception,
                ModelKind::InceptionNobn,
                ModelKind::Alexnet,
                ModelKind::Mlp3x512,
                ModelKind::Mlp1x512,
            ] {
                if matches!(m, ModelKind::InceptionNobn | ModelKind::Mlp3x512) {
                    out.push(cifar(m, TrueLabels));
                    out.push(cifar(m, RandomLabels));
                }
                let crop_rows = matches!(m, ModelKind::Inception | ModelKind::Alexnet);
                for (augment, weight_decay) in [(true, true), (true, false), (false, true)] {
                    if augment && !crop_rows {
                        continue;
                    }
                    out.push(cifar(m, TrueLabels).with(Regularizers {
                        augment,
                        weight_decay,
                        dropout: false,
                    }));
                }
            }
            // Full Fashion-MNIST: the nightly's models.
            for m in [ModelKind::Alexnet, ModelKind::Resnet18] {
                for r in [TrueLabels, RandomLabels, RandomPixels] {
                    out.push(Preset::full(DatasetKind::FashionMnist, m, r));
                }
            }
            // The rest of what the nightly's claims read: the runs with weight decay or
            // dropout on Fashion-MNIST and with dropout on CIFAR-10.
            for claim in claims::GPU {
                for name in claim.runs {
                    let p: Preset = name.parse().expect("the GPU claims name valid presets");
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        Scale::Grid => out = grid_presets(),
        Scale::Mid => out = mid_presets(),
        Scale::Smoke => {
            // What the smoke claims read, in their order.
            for claim in claims::smoke() {
                for name in claim.runs {
                    let p: Preset = name.parse().expect("the smoke claims name valid presets");
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

/// The experiments `rethink reproduce` runs at `scale`, each named by its preset.
pub fn experiments(scale: Scale) -> Vec<Experiment> {
    presets(scale).iter().map(Preset::experiment).collect()
}

/// What happens during `reproduce`, for progress display.
#[derive(Debug)]
pub enum Event<'a> {
    /// Run `index` of `total` starts (or is skipped because it is finished, or resumes from
    /// the checkpoint an interrupted reproduce left).
    Start {
        index: usize,
        total: usize,
        exp: &'a Experiment,
        skipped: bool,
        resumed: bool,
        /// Its directory held something that is neither a finished run of this config nor
        /// a checkpoint of it that can be resumed (an interrupted run without one, a corrupt
        /// file or checkpoint, another config): it is trained anew.
        redone: bool,
        /// Where what its directory held was moved before it is trained anew, and why:
        /// nothing a run directory holds is deleted by `reproduce`.
        set_aside: Option<SetAside>,
    },
    Epoch(&'a EpochMetrics),
    Done(&'a Summary),
}

/// A run directory's former contents, moved out of the way of a new run.
#[derive(Debug, Clone)]
pub struct SetAside {
    pub to: PathBuf,
    pub why: String,
}

/// Where `reproduce` moves a run directory it must train anew: `OUT/set-aside/NAME.K`,
/// beside `OUT/runs` so that the report never reads it.
pub fn set_aside_dir(out: &Path) -> PathBuf {
    out.join("set-aside")
}

/// Moves `path` to the first free `OUT/set-aside/NAME.K`, unless another process holds
/// its lock (it is training there).
fn set_aside(out: &Path, path: &Path, why: String) -> Result<SetAside> {
    let _lock = crate::fsio::lock_dir(
        path,
        "another process is writing this run directory (it holds the directory's lock); wait for it",
    )?;
    let dir = set_aside_dir(out);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "cannot create directory", e))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let to = (1..)
        .map(|k| dir.join(format!("{name}.{k}")))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .expect("a free name");
    std::fs::rename(path, &to).map_err(|e| Error::io(path, "cannot move the run aside", e))?;
    Ok(SetAside { to, why })
}

/// Where the run directories of a suite live.
pub fn runs_dir(out: &Path) -> PathBuf {
    out.join("runs")
}

/// `suite` over seeds 0..`seeds`: seed 0 as it is (the presets' seed), seed K renamed
/// [`seeded_name`] (its run directory), seed by seed. With `seeds` 1, `suite` itself.
pub fn over_seeds(suite: &[Experiment], seeds: u64) -> Vec<Experiment> {
    if seeds <= 1 {
        return suite.to_vec();
    }
    (0..seeds)
        .flat_map(|k| {
            suite.iter().map(move |e| {
                let mut e = e.clone();
                e.train.seed = k;
                e.name = seeded_name(&e.name, k);
                e
            })
        })
        .collect()
}

/// The name of run `name` at seed `k` in [`over_seeds`]: `name` itself at seed 0,
/// `NAME-seedK` otherwise.
pub fn seeded_name(name: &str, k: u64) -> String {
    if k == 0 {
        name.to_string()
    } else {
        format!("{name}-seed{k}")
    }
}

/// The runs `k`, `k + n`, `k + 2n`... of `suite`: job `k` of `rethink reproduce --jobs n`.
/// The `n` shards partition the suite.
pub fn shard(suite: Vec<Experiment>, k: usize, n: usize) -> Vec<Experiment> {
    suite
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % n.max(1) == k)
        .map(|(_, e)| e)
        .collect()
}

/// Runs every experiment of `suite` into `out/runs/NAME`, skipping those whose
/// `summary.json` is complete, so that an interrupted reproduce resumes where it stopped.
pub fn reproduce(
    suite: &[Experiment],
    out: &Path,
    device: tch::Device,
    data_dir: Option<&Path>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<()> {
    for (index, exp) in suite.iter().enumerate() {
        train_one(exp, (index, suite.len()), out, device, data_dir, on_event)?;
    }
    Ok(())
}

/// Trains `exp` into `out/runs/NAME` unless it has finished there: an interrupted run of
/// the same config continues from its checkpoint; anything else the directory holds is
/// first moved to `out/set-aside`. `(index, total)` place it in its suite, for progress.
pub fn train_one(
    exp: &Experiment,
    (index, total): (usize, usize),
    out: &Path,
    device: tch::Device,
    data_dir: Option<&Path>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<()> {
    let runs = runs_dir(out);
    std::fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, "cannot create directory", e))?;
    let path = runs.join(&exp.name);
    let done = RunDir::finished_run(&path, exp).is_some();
    // An interrupted run of the same config continues from its checkpoint, if that
    // checkpoint can be read.
    let mut resumable = !done && RunDir::holds_checkpoint_of(&path, exp);
    let mut why = None;
    if resumable {
        if let Some(e) = RunDir::checkpoint_problem(&path, exp) {
            resumable = false;
            why = Some(crate::error::chain(&e));
        }
    }
    let redone = !done && !resumable && path.exists();
    let holds_files = std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some());
    let set_aside = if redone && holds_files {
        let why = why.unwrap_or_else(|| {
            "it holds no finished run of this config and no checkpoint of it".into()
        });
        Some(set_aside(out, &path, why)?)
    } else {
        None
    };
    on_event(Event::Start {
        index,
        total,
        exp,
        skipped: done,
        resumed: resumable,
        redone,
        set_aside,
    });
    if done {
        return Ok(());
    }
    let dir = RunDir::for_run(&path, exp)?;
    let rec = dir.train(exp, device, data_dir, &mut |m| on_event(Event::Epoch(m)))?;
    on_event(Event::Done(&rec.summary));
    Ok(())
}

/// The runs of `suite` named in `only` (all of them when `only` is empty), in the suite's
/// order; a name that is not in the suite is an error naming the suite's runs.
pub fn only(suite: Vec<Experiment>, only: &[String]) -> Result<Vec<Experiment>> {
    if only.is_empty() {
        return Ok(suite);
    }
    if let Some(missing) = only.iter().find(|n| !suite.iter().any(|e| &&e.name == n)) {
        let names: Vec<&str> = suite.iter().map(|e| e.name.as_str()).collect();
        return Err(Error::config(
            "--only",
            format!(
                "{missing:?} is not a run of this suite; its runs are {}",
                names.join(", ")
            ),
        ));
    }
    Ok(suite
        .into_iter()
        .filter(|e| only.contains(&e.name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_suite_and_seeds_rename_only_later_seeds() {
        let suite = experiments(Scale::Grid);
        let seeded = over_seeds(&suite, 3);
        assert_eq!(seeded.len(), 3 * suite.len());
        assert_eq!(seeded[0], suite[0]);
        assert_eq!(seeded[suite.len()].name, format!("{}-seed1", suite[0].name));
        assert_eq!(seeded[suite.len()].train.seed, 1);
        assert_eq!(over_seeds(&suite, 1), suite);
        let parts: Vec<Vec<Experiment>> = (0..3).map(|k| shard(seeded.clone(), k, 3)).collect();
        let mut names: Vec<String> = parts.iter().flatten().map(|e| e.name.clone()).collect();
        let mut all: Vec<String> = seeded.iter().map(|e| e.name.clone()).collect();
        names.sort();
        all.sort();
        assert_eq!(names, all);
        assert!(parts.iter().all(|p| p.len() == seeded.len() / 3));
    }

    #[test]
    fn suites_have_unique_valid_names_and_presets_that_round_trip() {
        for &scale in Scale::all() {
            for p in presets(scale) {
                let name = p.to_string();
                let back: Preset = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(back, p, "{name}");
            }
            let suite = experiments(scale);
            let mut names: Vec<_> = suite.iter().map(|e| e.name.clone()).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), suite.len(), "{scale:?}: duplicate names");
            for e in &suite {
                e.validate()
                    .unwrap_or_else(|err| panic!("{}: {err}", e.name));
            }
        }
        assert_eq!(experiments(Scale::Cpu).len(), 34);
    }

    #[test]
    fn every_claims_runs_are_presets_of_its_scale_in_its_suite() {
        for &scale in Scale::all() {
            let suite = presets(scale);
            for c in claims::at(scale) {
                assert_eq!(c.scale, scale, "{}", c.id);
                for run in c.runs {
                    let p: Preset = run.parse().unwrap_or_else(|e| panic!("{}: {e}", c.id));
                    // A CPU claim may read the grid's runs (AlexNet's CPU-scale setup is
                    // the grid's), which are in the CPU suite too.
                    assert!(
                        p.scale == scale || (scale == Scale::Cpu && p.scale == Scale::Grid),
                        "{}: {run}",
                        c.id
                    );
                    assert!(suite.contains(&p), "{}: {run} is not in the suite", c.id);
                }
            }
        }
    }
}

//! `rethink report`: a report of a results directory's runs with the paper's Fig. 1 and
//! Table 1 side by side, the nightly's history, and the diff of two result sets.
pub mod analysis;
pub mod figures;
pub mod nightly;
pub mod render;

pub use analysis::{Analysis, Judged, TableRow};

use crate::claims::Run;
use crate::error::{Error, Result};
use crate::experiment::{self, Experiment, RunDir, Summary};
use crate::record::EpochMetrics;
use crate::suite::runs_dir;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A run directory read back.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    pub dir: PathBuf,
    pub exp: Experiment,
    pub summary: Summary,
    pub metrics: Vec<EpochMetrics>,
}

impl Run for LoadedRun {
    fn experiment(&self) -> &Experiment {
        &self.exp
    }
    fn summary(&self) -> &Summary {
        &self.summary
    }
    fn metrics(&self) -> &[EpochMetrics] {
        &self.metrics
    }
}

/// A run directory that could not be read back.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub dir: PathBuf,
    /// Its experiment, when at least `config.json` is readable.
    pub exp: Option<Experiment>,
    /// What is wrong, naming the file.
    pub why: String,
}

impl Unreadable {
    /// One line for warnings and the report.
    pub fn warning(&self) -> String {
        format!("skipped {}: {}", self.dir.display(), self.why)
    }
}

/// The directories under `dir/runs` (or `dir` itself, when it has no `runs/`), sorted.
pub(crate) fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>> {
    let root = if runs_dir(dir).is_dir() {
        runs_dir(dir)
    } else {
        dir.to_path_buf()
    };
    let entries =
        std::fs::read_dir(&root).map_err(|e| Error::io(&root, "cannot read directory", e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    paths.sort();
    Ok(paths)
}

/// Reads every run directory under `dir/runs` (or `dir` itself). A run whose files are
/// missing or corrupt, or that is not a whole finished run (see
/// [`RunRecord::why_unfinished`](crate::experiment::RunRecord::why_unfinished)), is set
/// aside as [`Unreadable`], naming the file; the others are kept.
pub fn load_runs(dir: &Path) -> Result<(Vec<LoadedRun>, Vec<Unreadable>)> {
    let (mut runs, mut warnings) = (Vec::new(), Vec::new());
    for dir in subdirectories(dir)? {
        if !dir.join("config.json").is_file() && !dir.join("summary.json").exists() {
            continue;
        }
        let loaded = RunDir::read_record(&dir).and_then(|rec| match rec.why_unfinished() {
            // The rule `reproduce` uses: only a whole finished run is judged.
            Some(why) => Err(Error::RunDir {
                path: dir.clone(),
                what: format!("not a finished run: {why}"),
            }),
            None => Ok(LoadedRun {
                exp: rec.experiment,
                summary: rec.summary,
                metrics: rec.metrics,
                dir: dir.clone(),
            }),
        });
        match loaded {
            Ok(r) => runs.push(r),
            Err(e) => warnings.push(Unreadable {
                exp: Experiment::from_file(&dir.join("config.json")).ok(),
                why: crate::error::chain(&e),
                dir,
            }),
        }
    }
    Ok((runs, warnings))
}

/// What `report` wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    pub runs: usize,
    pub skipped: Vec<String>,
    pub total_train_s: f64,
    pub verdicts: Vec<Judged>,
    /// Paired measures over the registered seeds: mean, 95% interval, n, status.
    pub effects: Vec<crate::claims::stats::Effect>,
    /// Xiao, Wang, Liu and Yu's conclusions, answered per scale from the effects.
    pub conclusions: Vec<analysis::Answer>,
    pub table: Vec<TableRow>,
    pub figures: Vec<String>,
    pub per_run: BTreeMap<String, serde_json::Value>,
}

fn hardware() -> String {
    let cpu = crate::record::cpu_model().unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let gpu = if tch::Cuda::is_available() {
        format!(", {} CUDA device(s)", tch::Cuda::device_count())
    } else {
        String::new()
    };
    format!("{cpu}, {cores} logical cores{gpu}")
}

/// A run directory's name as a key of `summary.json`: itself when it is UTF-8, else with
/// its other bytes escaped (`\xFF`), so that two names differing only there stay two keys.
fn dir_key(name: &std::ffi::OsStr) -> String {
    match name.to_str() {
        Some(s) => s.to_string(),
        None => format!("{name:?}").trim_matches('"').to_string(),
    }
}

/// Refuses a run directory where a results directory is wanted: its summary.json is the
/// run's own, and writing a report's there would destroy it.
pub(crate) fn refuse_run_dir(dir: &Path) -> Result<()> {
    if dir.join("config.json").is_file() {
        return Err(Error::RunDir {
            path: dir.into(),
            what: "is a run directory (it has config.json), not a results directory; give the directory that holds runs/ or the run directories".into(),
        });
    }
    Ok(())
}

/// Writes `report.md`, the figures (SVG and PNG) and `summary.json` into `dir`.
pub fn report(dir: &Path) -> Result<ReportSummary> {
    refuse_run_dir(dir)?;
    let (runs, unreadable) = load_runs(dir)?;
    write_report(dir, &runs, &unreadable)
}

/// [`report`] on runs already read from `dir`.
pub(crate) fn write_report(
    dir: &Path,
    runs: &[LoadedRun],
    unreadable: &[Unreadable],
) -> Result<ReportSummary> {
    let skipped: Vec<String> = unreadable.iter().map(Unreadable::warning).collect();
    let a = analysis::analyze(runs, unreadable);
    let (figures, md1a, md1bc) = render::figures(dir, &a)?;
    let md = render::markdown(dir, &a, runs, &skipped, &hardware(), (&md1a, &md1bc));
    let per_run = runs
        .iter()
        .map(|r| {
            let s = &r.summary;
            (
                r.dir.file_name().map_or(s.name.clone(), dir_key),
                serde_json::json!({
                    "name": s.name,
                    "seed": r.exp.train.seed,
                    "status": s.status,
                    "epochs": s.epochs,
                    "epochs_to_fit": s.epochs_to_fit,
                    "final_train_acc": s.final_train_acc,
                    "final_test_acc": s.final_test_acc,
                    "best_test_acc": s.best_test_acc,
                }),
            )
        })
        .collect();
    let out = ReportSummary {
        runs: runs.len(),
        skipped,
        total_train_s: runs.iter().map(|r| r.summary.wall_s).sum(),
        verdicts: a.judged,
        effects: a.effects,
        conclusions: a.answers,
        table: a.table,
        figures,
        per_run,
    };
    experiment::write_atomic(&dir.join("report.md"), md.as_bytes())?;
    let json = serde_json::to_vec_pretty(&out).map_err(|source| Error::Json {
        path: dir.join("summary.json"),
        source,
    })?;
    experiment::write_atomic(&dir.join("summary.json"), &json)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn run_directory_names_that_are_not_utf8_stay_distinct_keys() {
        let a = std::ffi::OsStr::from_bytes(b"run-\xff");
        let b = std::ffi::OsStr::from_bytes(b"run-\xfe");
        assert_ne!(dir_key(a), dir_key(b));
        assert_eq!(dir_key(a), "run-\\xFF");
        assert_eq!(dir_key(std::ffi::OsStr::new("plain")), "plain");
    }
}

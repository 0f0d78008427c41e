//! The run directory: `config.json`, `metrics.jsonl`, `summary.json` and, when labels were
//! changed, `corrupted.json`, each written atomically.
use super::{run_with, Experiment, RunOptions, RunRecord, Summary};
use crate::error::{Error, Result};
use crate::train::EpochMetrics;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use tch::Device;

/// A run directory: `config.json`, `metrics.jsonl`, `summary.json` (and `corrupted.json`
/// when labels were changed), each written atomically (a temporary name, then a rename).
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

/// Writes `bytes` to `path` through `path.tmp` and a rename, so that a reader never sees
/// a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f =
        std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, "cannot create file", e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io(&tmp, "cannot write file", e))?;
    f.sync_all()
        .map_err(|e| Error::io(&tmp, "cannot write file", e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "cannot move file into place", e))
}

fn to_json<T: Serialize>(path: &Path, v: &T) -> Result<Vec<u8>> {
    let mut s = serde_json::to_vec_pretty(v).map_err(|source| Error::Json {
        path: path.into(),
        source,
    })?;
    s.push(b'\n');
    Ok(s)
}

impl RunDir {
    /// Prepares `path` for a new run. A non-empty directory is refused unless `force`, in
    /// which case only the files a run writes are replaced.
    pub fn create(path: &Path, force: bool) -> Result<RunDir> {
        if path.exists() {
            let mut entries =
                std::fs::read_dir(path).map_err(|e| Error::io(path, "cannot read directory", e))?;
            if entries.next().is_some() && !force {
                return Err(Error::RunDir {
                    path: path.into(),
                    what: "run directory is not empty; pass --force to overwrite".into(),
                });
            }
        }
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, "cannot create directory", e))?;
        let dir = RunDir { path: path.into() };
        for f in ["metrics.jsonl", "summary.json", "corrupted.json"] {
            let _ = std::fs::remove_file(dir.path.join(f));
        }
        Ok(dir)
    }

    /// Trains `exp` into this directory: `config.json` first, `metrics.jsonl` rewritten after
    /// every epoch (so an interrupted run keeps what it measured), `summary.json` at the end.
    /// `on_epoch` sees each epoch too, for progress display.
    pub fn train(
        &self,
        exp: &Experiment,
        device: Device,
        data_dir: Option<&Path>,
        on_epoch: &mut dyn FnMut(&EpochMetrics),
    ) -> Result<RunRecord> {
        self.write_config(exp)?;
        let mut seen = Vec::new();
        let mut write_err = None;
        let opts = RunOptions {
            device,
            data_dir: data_dir.map(Path::to_path_buf),
            on_epoch: Box::new(|m: &EpochMetrics| {
                on_epoch(m);
                seen.push(m.clone());
                if let Err(e) = self.write_metrics(&seen) {
                    write_err.get_or_insert(e);
                }
            }),
        };
        let rec = run_with(exp, opts);
        if let Some(e) = write_err {
            return Err(e);
        }
        let rec = rec?;
        self.write_summary(&rec)?;
        Ok(rec)
    }

    pub fn write_config(&self, exp: &Experiment) -> Result<()> {
        let p = self.path.join("config.json");
        write_atomic(&p, &to_json(&p, exp)?)
    }

    /// Rewrites `metrics.jsonl` with every epoch so far (atomically, so it is always whole).
    pub fn write_metrics(&self, metrics: &[EpochMetrics]) -> Result<()> {
        let p = self.path.join("metrics.jsonl");
        let mut out = Vec::new();
        for m in metrics {
            out.extend(serde_json::to_vec(m).map_err(|source| Error::Json {
                path: p.clone(),
                source,
            })?);
            out.push(b'\n');
        }
        write_atomic(&p, &out)
    }

    pub fn write_summary(&self, rec: &RunRecord) -> Result<()> {
        if !rec.corrupted.is_empty() {
            let p = self.path.join("corrupted.json");
            write_atomic(&p, &to_json(&p, &rec.corrupted)?)?;
        }
        let p = self.path.join("summary.json");
        write_atomic(&p, &to_json(&p, &rec.summary)?)
    }

    /// Reads a finished run's summary; an error names the file when it is missing or corrupt.
    pub fn read_summary(path: &Path) -> Result<Summary> {
        let p = path.join("summary.json");
        let text =
            std::fs::read_to_string(&p).map_err(|e| Error::io(&p, "cannot read summary", e))?;
        serde_json::from_str(&text).map_err(|source| Error::Json { path: p, source })
    }

    /// Reads a finished run back: its config, metrics, summary and (when labels were
    /// changed) the indices of the changed labels.
    pub fn read_record(path: &Path) -> Result<RunRecord> {
        let corrupted_path = path.join("corrupted.json");
        let corrupted = if corrupted_path.is_file() {
            let text = std::fs::read_to_string(&corrupted_path)
                .map_err(|e| Error::io(&corrupted_path, "cannot read file", e))?;
            serde_json::from_str(&text).map_err(|source| Error::Json {
                path: corrupted_path,
                source,
            })?
        } else {
            Vec::new()
        };
        Ok(RunRecord {
            experiment: Experiment::from_file(&path.join("config.json"))?,
            metrics: Self::read_metrics(path)?,
            summary: Self::read_summary(path)?,
            corrupted,
        })
    }

    /// Reads `metrics.jsonl`; an error names the file and line.
    pub fn read_metrics(path: &Path) -> Result<Vec<EpochMetrics>> {
        let p = path.join("metrics.jsonl");
        let text =
            std::fs::read_to_string(&p).map_err(|e| Error::io(&p, "cannot read metrics", e))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| Error::format(&p, format!("line {}: {e}", i + 1)))
            })
            .collect()
    }
}

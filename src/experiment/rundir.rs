//! The run directory: `config.json`, `metrics.jsonl`, `summary.json` and, when labels were
//! changed, `corrupted.json`, each written atomically.
use super::{run_with, Experiment, RunOptions, RunRecord, Summary};
use crate::error::{Error, Result};
use crate::train::EpochMetrics;
use serde::Serialize;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::Device;

/// A run directory: `config.json`, `metrics.jsonl`, `summary.json` (and `corrupted.json`
/// when labels were changed), each written atomically (a temporary name, then a rename).
/// A `RunDir` made by [`RunDir::create`] holds an advisory lock on the directory while it
/// lives, so a second writer is refused instead of racing it.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
    /// The locked directory handle (shared by clones; released when the last is dropped).
    _lock: Option<Arc<File>>,
    /// Whether [`RunDir::create`] made the directory (a run that fails before measuring
    /// anything removes it again).
    created: bool,
}

/// The files a run writes.
const RUN_FILES: [&str; 4] = [
    "config.json",
    "metrics.jsonl",
    "summary.json",
    "corrupted.json",
];

fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// Removes `path` if it is there: a file, or a link (never what the link points to).
fn remove_if_present(path: &Path, action: &'static str) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, action, e)),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` through `path.tmp` and a rename, so that a reader never sees
/// a half-written file. A stale `path.tmp` (a killed writer's) or a link planted there is
/// removed first, and the temporary file is created anew (`create_new`, which never follows
/// a link); a failed write removes it again. The rename replaces `path` itself, even when
/// `path` is a link.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    remove_if_present(&tmp, "cannot remove stale temporary file")?;
    let mut f = File::options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, "cannot create file", e))?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, "cannot write file", e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, "cannot move file into place", e)
    })
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
    /// which case only the files a run writes (and their stale temporaries) are replaced.
    /// A link in place of the directory is refused, and so is a directory that another
    /// process is writing (an advisory lock, held while the `RunDir` lives).
    pub fn create(path: &Path, force: bool) -> Result<RunDir> {
        let refuse = |what: &str| Error::RunDir {
            path: path.into(),
            what: what.into(),
        };
        let existed = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => return Err(refuse(
                "is a symbolic link; a run directory is written where it is, never through a link",
            )),
            Ok(m) if !m.is_dir() => return Err(refuse("exists and is not a directory")),
            Ok(_) => true,
            Err(_) => false,
        };
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, "cannot create directory", e))?;
        let lock = File::open(path).map_err(|e| Error::io(path, "cannot open directory", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(refuse(
                    "another process is writing this run directory (it holds the directory's lock); wait for it or choose another --out",
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io(path, "cannot lock directory", e))
            }
        }
        let mut entries =
            std::fs::read_dir(path).map_err(|e| Error::io(path, "cannot read directory", e))?;
        if existed && entries.next().is_some() && !force {
            return Err(refuse(
                "run directory is not empty; pass --force to overwrite",
            ));
        }
        let dir = RunDir {
            path: path.into(),
            _lock: Some(Arc::new(lock)),
            created: !existed,
        };
        for f in RUN_FILES {
            let p = dir.path.join(f);
            remove_if_present(&tmp_path(&p), "cannot remove stale temporary file")?;
            if f != "config.json" {
                remove_if_present(&p, "cannot remove the previous run's file")?;
            }
        }
        Ok(dir)
    }

    /// A run directory to read or report on, without a lock.
    pub fn open(path: &Path) -> RunDir {
        RunDir {
            path: path.into(),
            _lock: None,
            created: false,
        }
    }

    /// After a run failed before measuring anything: removes what it wrote (its config, and
    /// the directory when this run made it), so that a retry needs no `--force`.
    fn discard_unmeasured(&self) {
        let _ = std::fs::remove_file(self.path.join("config.json"));
        if self.created {
            let _ = std::fs::remove_dir(&self.path);
        }
    }

    /// Trains `exp` into this directory: `config.json` first, `metrics.jsonl` rewritten after
    /// every epoch (so an interrupted run keeps what it measured), `summary.json` at the end.
    /// `on_epoch` sees each epoch too, for progress display. The first failed write stops
    /// the run at once, with the file and the cause; a run that fails before its first
    /// epoch is measured (no data, a bad config) leaves nothing behind.
    pub fn train(
        &self,
        exp: &Experiment,
        device: Device,
        data_dir: Option<&Path>,
        on_epoch: &mut dyn FnMut(&EpochMetrics),
    ) -> Result<RunRecord> {
        self.write_config(exp)?;
        let mut seen = Vec::new();
        let opts = RunOptions {
            device,
            data_dir: data_dir.map(Path::to_path_buf),
            on_epoch: Box::new(|m: &EpochMetrics| {
                on_epoch(m);
                seen.push(m.clone());
                self.write_metrics(&seen)
            }),
        };
        let rec = run_with(exp, opts);
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                if !self.path.join("metrics.jsonl").exists() {
                    self.discard_unmeasured();
                }
                return Err(e);
            }
        };
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

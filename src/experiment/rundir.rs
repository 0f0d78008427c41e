//! The run directory: `config.json`, `metrics.jsonl`, `summary.json` and, when labels were
//! changed, `corrupted.json`, each written atomically.
use super::{run_with, Experiment, RunOptions, RunRecord, Summary};
use crate::error::{Error, Result};
pub use crate::fsio::write_atomic;
use crate::fsio::{cap, read_regular, read_text, remove_if_present, tmp_path};
use crate::train::EpochMetrics;
use serde::Serialize;
use std::fs::File;
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
    /// Keep the checkpoint once the run has finished (by default it is removed).
    pub keep_checkpoint: bool,
    /// See [`RunOptions::amp_off_cuda`](super::RunOptions): for tests of the amp wiring on
    /// CPU only.
    pub amp_off_cuda: bool,
    /// The locked directory handle (shared by clones; released when the last is dropped).
    _lock: Option<Arc<File>>,
    /// Whether [`RunDir::create`] made the directory (a run that fails before measuring
    /// anything removes it again).
    created: bool,
}

/// The files a run writes.
const RUN_FILES: [&str; 5] = [
    "config.json",
    "metrics.jsonl",
    "summary.json",
    "corrupted.json",
    CHECKPOINT,
];

/// The checkpoint of an unfinished run: model, optimizer, random streams, metrics.
pub const CHECKPOINT: &str = "checkpoint.ot";

/// A checkpoint is written when the time since the last one is at least this many times
/// what writing the last one took: every epoch for small, slow-to-train models, less often
/// where writing would cost more than 5% of the training time.
const CHECKPOINT_COST_RATIO: f64 = 20.0;

/// The dotted paths at which two JSON values differ (`train.lr`, `train_size`).
fn changed_fields(at: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value::Object;
    match (a, b) {
        (Object(x), Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            let null = serde_json::Value::Null;
            for k in keys {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                changed_fields(
                    &path,
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a != b => out.push(at.to_string()),
        _ => {}
    }
}

/// What a checkpoint's `meta` entry holds besides the tensors.
#[derive(Serialize, serde::Deserialize)]
struct CheckpointMeta {
    /// The experiment the checkpoint was trained under: a resume refuses a `config.json`
    /// edited since, naming the fields. Absent from checkpoints written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config: Option<serde_json::Value>,
    epoch: usize,
    step: usize,
    /// u128 word positions, as decimal strings.
    batch_stream: String,
    augmentation_stream: String,
    scaler: Option<(f64, usize, usize)>,
    metrics: Vec<EpochMetrics>,
}

/// The first line of a libtorch error: its message, without the C++ backtrace after it.
fn first_line(e: &tch::TchError) -> String {
    let s = e.to_string();
    s.lines().next().unwrap_or_default().trim_end().to_string()
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
        Self::prepare(path, force, &["config.json"])
    }

    /// [`RunDir::create`], keeping the files named in `keep` (besides being overwritten
    /// later, as `config.json` is).
    fn prepare(path: &Path, force: bool, keep: &[&str]) -> Result<RunDir> {
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
        let lock = crate::fsio::lock_dir(
            path,
            "another process is writing this run directory (it holds the directory's lock); wait for it or choose another --out",
        )?;
        let mut entries =
            std::fs::read_dir(path).map_err(|e| Error::io(path, "cannot read directory", e))?;
        if existed && entries.next().is_some() && !force {
            return Err(refuse(
                "run directory is not empty; pass --force to overwrite",
            ));
        }
        let dir = RunDir {
            path: path.into(),
            keep_checkpoint: false,
            amp_off_cuda: false,
            _lock: Some(Arc::new(lock)),
            created: !existed,
        };
        for f in RUN_FILES {
            let p = dir.path.join(f);
            remove_if_present(&tmp_path(&p), "cannot remove stale temporary file")?;
            if !keep.contains(&f) {
                remove_if_present(&p, "cannot remove the previous run's file")?;
            }
        }
        Ok(dir)
    }

    /// Opens the directory of an interrupted run to continue it: its `config.json` and
    /// checkpoint stay; its lock is taken as by [`RunDir::create`]. Returns the directory
    /// and the run's experiment.
    pub fn resume(path: &Path) -> Result<(RunDir, Experiment)> {
        let refuse = |what: String| Error::RunDir {
            path: path.into(),
            what,
        };
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(refuse(
                "is a symbolic link; a run directory is written where it is, never through a link"
                    .into(),
            ));
        }
        // A finished run is never resumed, even with its checkpoint kept (--keep-checkpoint):
        // that would train its last epoch again and delete the kept checkpoint.
        if path.join("summary.json").is_file() {
            return Err(refuse(
                "the run has finished (it has summary.json); there is nothing to resume".into(),
            ));
        }
        if !path.join(CHECKPOINT).is_file() {
            return Err(refuse(
                "has no checkpoint to resume from (rethink run writes one after each epoch)".into(),
            ));
        }
        let exp = Experiment::from_file(&path.join("config.json"))?;
        // Its metrics stay until the resumed run rewrites them after its first epoch, so a
        // resume that fails (no data, a bad checkpoint) leaves the run as it was.
        let dir = RunDir::prepare(path, true, &["config.json", "metrics.jsonl", CHECKPOINT])?;
        Ok((dir, exp))
    }

    /// The finished run of exactly `exp` in `path`, if that is what it holds (see
    /// [`RunRecord::is_finished_run_of`]).
    pub fn finished_run(path: &Path, exp: &Experiment) -> Option<RunRecord> {
        Self::read_record(path)
            .ok()
            .filter(|r| r.is_finished_run_of(exp))
    }

    /// What is wrong with the checkpoint of `exp`'s interrupted run in `path` (corrupt,
    /// truncated, unreadable), or `None` when it can be resumed from.
    pub fn checkpoint_problem(path: &Path, exp: &Experiment) -> Option<Error> {
        Self::open(path).read_checkpoint_of(exp).err()
    }

    /// Whether `path` holds the checkpoint of an interrupted run of exactly `exp`.
    pub fn holds_checkpoint_of(path: &Path, exp: &Experiment) -> bool {
        path.join(CHECKPOINT).is_file()
            && !path.join("summary.json").is_file()
            && Experiment::from_file(&path.join("config.json")).is_ok_and(|e| &e == exp)
    }

    /// Opens `path` to train `exp` in it: continuing an interrupted run of `exp` from its
    /// checkpoint, or else a new run replacing whatever else the directory holds.
    pub fn for_run(path: &Path, exp: &Experiment) -> Result<RunDir> {
        if Self::holds_checkpoint_of(path, exp) {
            Ok(Self::resume(path)?.0)
        } else {
            Self::create(path, true)
        }
    }

    /// A run directory to read or report on, without a lock.
    pub fn open(path: &Path) -> RunDir {
        RunDir {
            path: path.into(),
            keep_checkpoint: false,
            amp_off_cuda: false,
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
    /// every epoch (so an interrupted run keeps what it measured), a checkpoint after each
    /// epoch (or less often where writing it would cost more than 5% of the time),
    /// `summary.json` at the end, when the checkpoint is removed unless `keep_checkpoint`.
    /// When the directory holds a checkpoint of this same experiment, training continues
    /// from it exactly. `on_epoch` sees each new epoch, for progress display. The first
    /// failed write stops the run at once, with the file and the cause; a run that fails
    /// before its first epoch is measured (no data, a bad config) leaves nothing behind.
    pub fn train(
        &self,
        exp: &Experiment,
        device: Device,
        data_dir: Option<&Path>,
        on_epoch: &mut dyn FnMut(&EpochMetrics),
    ) -> Result<RunRecord> {
        // Only RunDir::resume leaves a checkpoint in place.
        let resume = self.read_checkpoint_of(exp)?;
        let resuming = resume.is_some();
        if !resuming {
            self.write_config(exp)?;
        }
        let mut seen = resume.as_ref().map_or_else(Vec::new, |s| s.metrics.clone());
        let mut last_save: Option<(f64, f64)> = None; // (wall_s at the save, seconds it took)
        let mut save = |state: &crate::train::TrainState| -> Result<()> {
            let now = state.metrics.last().map_or(0.0, |m| m.wall_s);
            // When the process is asked to stop, the checkpoint is always written: it is
            // where the run resumes.
            if !crate::train::stop_requested()
                && last_save.is_some_and(|(at, took)| now - at < CHECKPOINT_COST_RATIO * took)
            {
                return Ok(());
            }
            let t = std::time::Instant::now();
            self.write_checkpoint(exp, state)?;
            last_save = Some((now, t.elapsed().as_secs_f64()));
            Ok(())
        };
        let opts = RunOptions {
            device,
            data_dir: data_dir.map(Path::to_path_buf),
            on_epoch: Box::new(|m: &EpochMetrics| {
                on_epoch(m);
                seen.push(m.clone());
                self.write_metrics(&seen)
            }),
            checkpoints: crate::train::Checkpoints {
                resume,
                save: Some(&mut save),
            },
            amp_off_cuda: self.amp_off_cuda,
        };
        let rec = run_with(exp, opts);
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                if !resuming && !self.path.join("metrics.jsonl").exists() {
                    self.discard_unmeasured();
                }
                return Err(e);
            }
        };
        // A resumed run's metrics file may hold epochs measured after its checkpoint (they
        // were measured again): write the whole record before the summary.
        self.write_metrics(&rec.metrics)?;
        self.write_summary(&rec)?;
        if !self.keep_checkpoint {
            remove_if_present(&self.path.join(CHECKPOINT), "cannot remove the checkpoint")?;
        }
        Ok(rec)
    }

    /// Writes the checkpoint atomically: the tensors and, as a `meta` entry, the epoch, the
    /// streams' positions, the metrics so far and the config they were trained under.
    fn write_checkpoint(&self, exp: &Experiment, state: &crate::train::TrainState) -> Result<()> {
        let p = self.path.join(CHECKPOINT);
        let meta = CheckpointMeta {
            config: Some(serde_json::to_value(exp).map_err(|source| Error::Json {
                path: p.clone(),
                source,
            })?),
            epoch: state.epoch,
            step: state.step,
            batch_stream: state.batch_stream.to_string(),
            augmentation_stream: state.augmentation_stream.to_string(),
            scaler: state.scaler,
            metrics: state.metrics.clone(),
        };
        let meta = serde_json::to_vec(&meta).map_err(|source| Error::Json {
            path: p.clone(),
            source,
        })?;
        let mut named: Vec<(String, tch::Tensor)> =
            vec![("meta".into(), tch::Tensor::from_slice(&meta))];
        for (name, t) in &state.variables {
            named.push((format!("var/{name}"), t.shallow_clone()));
        }
        for (i, t) in state.momentum.iter().enumerate() {
            named.push((format!("momentum/{i}"), t.shallow_clone()));
        }
        let mut bytes = Vec::new();
        tch::Tensor::save_multi_to_stream(&named, &mut bytes)
            .map_err(|e| Error::format(&p, format!("cannot serialize the checkpoint: {e}")))?;
        write_atomic(&p, &bytes)
    }

    /// The checkpoint in this directory, when there is one: an error when it belongs to
    /// another config or cannot be read.
    fn read_checkpoint_of(&self, exp: &Experiment) -> Result<Option<crate::train::TrainState>> {
        let p = self.path.join(CHECKPOINT);
        if !p.is_file() {
            return Ok(None);
        }
        let config = Experiment::from_file(&self.path.join("config.json"))?;
        if &config != exp {
            return Err(Error::format(
                &p,
                "this checkpoint belongs to the run in config.json, not to the experiment asked for; resume that run, or pass --force for a new one",
            ));
        }
        let bytes = read_regular(&p, "cannot read checkpoint", cap::CHECKPOINT)?;
        let bad = |what: String| Error::format(&p, what);
        let named = tch::Tensor::load_multi_from_stream(std::io::Cursor::new(bytes))
            .map_err(|e| bad(format!("corrupt checkpoint: {}", first_line(&e))))?;
        let (mut meta, mut variables, mut momentum) = (None, Vec::new(), Vec::new());
        for (name, t) in named {
            if name == "meta" {
                meta = Some(
                    Vec::<u8>::try_from(t)
                        .map_err(|e| bad(format!("corrupt checkpoint: {}", first_line(&e))))?,
                );
            } else if let Some(v) = name.strip_prefix("var/") {
                variables.push((v.to_string(), t));
            } else if let Some(i) = name.strip_prefix("momentum/") {
                let i: usize = i
                    .parse()
                    .map_err(|_| bad(format!("unknown checkpoint entry {name}")))?;
                momentum.push((i, t));
            } else {
                return Err(bad(format!("unknown checkpoint entry {name}")));
            }
        }
        let meta = meta.ok_or_else(|| bad("the checkpoint has no meta entry".into()))?;
        let meta: CheckpointMeta = serde_json::from_slice(&meta).map_err(|source| Error::Json {
            path: p.clone(),
            source,
        })?;
        if let Some(saved) = &meta.config {
            let now = serde_json::to_value(&config).map_err(|source| Error::Json {
                path: p.clone(),
                source,
            })?;
            let mut changed = Vec::new();
            changed_fields("", saved, &now, &mut changed);
            if !changed.is_empty() {
                return Err(bad(format!(
                    "config.json has changed since this checkpoint was written ({}); resuming would mix two settings in one run: restore those fields, or pass --force for a new run",
                    changed.join(", ")
                )));
            }
        }
        momentum.sort_by_key(|m| m.0);
        if momentum.iter().enumerate().any(|(i, m)| m.0 != i) {
            return Err(bad(
                "the checkpoint's momentum buffers are not numbered 0..n".into(),
            ));
        }
        let stream = |s: &str| {
            s.parse::<u128>()
                .map_err(|_| bad(format!("stream position {s:?} is not a number")))
        };
        if meta.metrics.len() != meta.epoch + 1 {
            return Err(bad(format!(
                "the checkpoint is at epoch {} but holds {} epochs of metrics",
                meta.epoch,
                meta.metrics.len()
            )));
        }
        Ok(Some(crate::train::TrainState {
            epoch: meta.epoch,
            step: meta.step,
            batch_stream: stream(&meta.batch_stream)?,
            augmentation_stream: stream(&meta.augmentation_stream)?,
            scaler: meta.scaler,
            metrics: meta.metrics,
            variables,
            momentum: momentum.into_iter().map(|m| m.1).collect(),
        }))
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
        let text = read_text(&p, "cannot read summary", cap::SMALL)?;
        serde_json::from_str(&text).map_err(|source| Error::Json { path: p, source })
    }

    /// Reads a finished run back: its config, metrics, summary and (when labels were
    /// changed) the indices of the changed labels.
    pub fn read_record(path: &Path) -> Result<RunRecord> {
        let corrupted_path = path.join("corrupted.json");
        let corrupted = if corrupted_path.is_file() {
            let text = read_text(&corrupted_path, "cannot read file", cap::SMALL)?;
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
        let text = read_text(&p, "cannot read metrics", cap::LOG)?;
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

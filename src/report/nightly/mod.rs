//! The nightly's results across shards and nights: `rethink merge` gathers the run
//! directories of every shard into one results directory, reports on it and appends one
//! JSON line per run (and per judged claim) to a history file; `rethink history` draws each
//! claim's measures over the nights with their bands; `rethink diff` compares two result
//! sets run by run and names what moved beyond its band.
use super::{analysis, figures, load_runs, runs_dir, LoadedRun, ReportSummary};
use crate::claims::{quantize, Verdict};
use crate::error::{Error, Result};
use crate::fsio;
use crate::record::{utc_now, Environment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod diff;
mod history;

pub use diff::{diff, Moved};
use history::append_history;
pub use history::{history_figures, read_history, HistoryLine};

/// What `merge` did.
#[derive(Debug)]
pub struct Merged {
    /// Run directories copied in, per shard, in the order given.
    pub copied: Vec<(PathBuf, usize)>,
    /// Directories in a shard that hold a run's files but no `config.json` (not a run that
    /// can be judged or rerun), and links to directories: not merged (`rethink merge`
    /// names them and fails).
    pub dropped: Vec<PathBuf>,
    /// Runs found in more than one shard with the same config and summary: kept once.
    pub duplicates: Vec<String>,
    /// Entries of copied run directories that are not part of a run record (a checkpoint,
    /// a link, any other file): left behind.
    pub left_out: Vec<PathBuf>,
    pub report: ReportSummary,
    /// History lines appended (0 without a history file).
    pub history_lines: usize,
}

/// The files of a run record, the only ones `merge` copies: no checkpoint (a nightly's
/// results are committed), no link, nothing else a run directory may have gathered.
const RECORD_FILES: [&str; 4] = [
    "config.json",
    "metrics.jsonl",
    "summary.json",
    "corrupted.json",
];

/// Where `merge` assembles each run before renaming it into `OUT/runs`.
const STAGING: &str = ".merge-staging";

/// Copies the run record of `from` into `to` (which must not exist), and returns the
/// entries of `from` it left behind. A record file must be a regular file, not a link.
fn copy_record(from: &Path, to: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir(to).map_err(|e| Error::io(to, "cannot create directory", e))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| Error::io(from, "cannot read directory", e))?;
    let mut left_out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(from, "cannot read directory", e))?;
        let path = entry.path();
        let name = entry.file_name();
        let is_record = RECORD_FILES.iter().any(|f| name == *f);
        let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        if !is_record || !regular {
            if path.extension().is_none_or(|x| x != "tmp") {
                left_out.push(path);
            }
            continue;
        }
        let bytes = fsio::read_regular(&path, "cannot read", fsio::cap::LOG)?;
        fsio::write_atomic(&to.join(&name), &bytes)?;
    }
    Ok(left_out)
}

/// Whether two run directories hold the same run: the same config and summary.
fn same_run(a: &Path, b: &Path) -> bool {
    let read =
        |d: &Path, f: &str| fsio::read_regular(&d.join(f), "cannot read", fsio::cap::SMALL).ok();
    ["config.json", "summary.json"].iter().all(|f| {
        let first = read(a, f);
        first.is_some() && first == read(b, f)
    })
}

/// Refuses one experiment under two names with different results: the report would judge
/// whichever it met first. `dirs` are every run directory the merged results will hold.
fn refuse_one_experiment_twice(dirs: &[&Path]) -> Result<()> {
    let mut seen: BTreeMap<String, &Path> = BTreeMap::new();
    for &dir in dirs {
        let Ok(mut exp) = crate::experiment::Experiment::from_file(&dir.join("config.json")) else {
            continue;
        };
        exp.name.clear();
        let key = serde_json::to_string(&exp).unwrap_or_default();
        match seen.get(&key) {
            Some(&first) => {
                let metrics = |d: &Path| {
                    fsio::read_regular(&d.join("metrics.jsonl"), "cannot read", fsio::cap::LOG).ok()
                };
                if metrics(first) != metrics(dir) {
                    return Err(Error::RunDir {
                        path: dir.into(),
                        what: format!(
                            "holds the same experiment as {} under another name, with other results; keep one of them",
                            first.display()
                        ),
                    });
                }
            }
            None => {
                seen.insert(key, dir);
            }
        }
    }
    Ok(())
}

/// Takes `out`'s advisory lock for the merge: two merges into one directory would
/// interleave their runs and reports.
fn lock_out(out: &Path) -> Result<std::fs::File> {
    fsio::lock_dir(
        out,
        "another merge is writing this directory (it holds the directory's lock); wait for it",
    )
}

/// The run directories under a shard's results (`SHARD/runs/NAME`, or `SHARD/NAME`), and
/// what there is not merged: links to directories (a run is copied from where it is, never
/// through a link), and directories that hold a run's files without its `config.json`.
fn shard_runs(shard: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut runs, mut dropped) = (Vec::new(), Vec::new());
    for p in super::subdirectories(shard)? {
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            dropped.push(p);
        } else if p.join("config.json").is_file() {
            runs.push(p);
        } else if [
            "metrics.jsonl",
            "summary.json",
            crate::experiment::CHECKPOINT,
        ]
        .iter()
        .any(|f| p.join(f).exists())
        {
            dropped.push(p);
        }
    }
    Ok((runs, dropped))
}

/// A history file can take the night's lines: absent, or a regular file whose last line is
/// whole. A torn last line (no newline, from an interrupted write) would have the night's
/// first line glued to it and spoil the file for `rethink history`, so it is refused before
/// anything is merged.
fn check_history_appendable(history: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let meta = match std::fs::symlink_metadata(history) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::format(
                history,
                "is a symbolic link; a history is appended where it is, never through a link",
            ))
        }
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(history, "cannot read", e)),
    };
    if !meta.is_file() {
        return Err(Error::format(history, "is not a regular file"));
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let mut f = std::fs::File::open(history).map_err(|e| Error::io(history, "cannot read", e))?;
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1))
        .and_then(|_| f.read_exact(&mut last))
        .map_err(|e| Error::io(history, "cannot read", e))?;
    if last[0] != b'\n' {
        return Err(Error::format(
            history,
            "its last line is torn (the file does not end with a newline): remove or complete that line, then merge again",
        ));
    }
    Ok(())
}

/// Gathers the run records of `shards` into `out/runs`, writes the report over all of
/// them (each claim judged with the bands of its scale) and, given `history`, appends one
/// line per run and per judged claim to it.
///
/// Everything is checked before anything is written: a run two shards (or `out` and a
/// shard) both hold is kept once when the two are the same run (config and summary); two
/// different runs under one name, or one experiment under two names with different
/// results, are an error naming both. Each run is assembled in `out/.merge-staging` and
/// renamed into place whole, under `out`'s lock, so an interrupted merge leaves only
/// whole runs and the same command finishes it.
pub fn merge(out: &Path, shards: &[PathBuf], history: Option<&Path>) -> Result<Merged> {
    super::refuse_run_dir(out)?;
    for shard in shards {
        check_shard(shard)?;
    }
    if let Some(h) = history {
        check_history_appendable(h)?;
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "cannot create directory", e))?;
    let _lock = lock_out(out)?;
    let runs = runs_dir(out);
    let existing = if runs.is_dir() {
        super::subdirectories(out)?
    } else {
        Vec::new()
    };
    // The plan: which run directory goes where, and which are duplicates.
    let mut planned: BTreeMap<std::ffi::OsString, PathBuf> = BTreeMap::new();
    let (mut copied, mut duplicates, mut dropped, mut plan) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for shard in shards {
        let mut n = 0;
        let (shard_runs, shard_dropped) = shard_runs(shard)?;
        dropped.extend(shard_dropped);
        for dir in shard_runs {
            let name = dir
                .file_name()
                .expect("a run directory has a name")
                .to_owned();
            let to = runs.join(&name);
            let there = planned
                .get(&name)
                .cloned()
                .or_else(|| to.exists().then(|| to.clone()));
            if let Some(there) = there {
                if same_run(&dir, &there) {
                    duplicates.push(name.to_string_lossy().into_owned());
                    continue;
                }
                return Err(Error::RunDir {
                    path: dir.clone(),
                    what: format!(
                        "holds another run than {} under the same name; merge each night's shards into a new directory",
                        there.display()
                    ),
                });
            }
            planned.insert(name.clone(), dir.clone());
            plan.push((dir, name));
            n += 1;
        }
        copied.push((shard.clone(), n));
    }
    let all: Vec<&Path> = existing
        .iter()
        .map(PathBuf::as_path)
        .chain(plan.iter().map(|(d, _)| d.as_path()))
        .collect();
    refuse_one_experiment_twice(&all)?;

    std::fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, "cannot create directory", e))?;
    let staging = out.join(STAGING);
    // What an interrupted merge left half-copied is copied again.
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| Error::io(&staging, "cannot remove an interrupted merge's copies", e))?;
    }
    std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, "cannot create directory", e))?;
    let mut left_out = Vec::new();
    for (dir, name) in &plan {
        let staged = staging.join(name);
        left_out.extend(copy_record(dir, &staged)?);
        let to = runs.join(name);
        std::fs::rename(&staged, &to)
            .map_err(|e| Error::io(&to, "cannot move run into place", e))?;
    }
    std::fs::remove_dir(&staging).map_err(|e| Error::io(&staging, "cannot remove directory", e))?;

    let (merged, unreadable) = load_runs(out)?;
    let report = super::write_report(out, &merged, &unreadable)?;
    let history_lines = match history {
        Some(h) => append_history(h, &merged, &report)?,
        None => 0,
    };
    Ok(Merged {
        copied,
        dropped,
        duplicates,
        left_out,
        report,
        history_lines,
    })
}

/// A measure's value as the history's figures and `diff` print it.
fn value(v: Option<f64>) -> String {
    v.map_or("none".into(), |v| format!("{v:.4}"))
}

/// A shard's results are a directory, and not a run directory (given by mistake).
fn check_shard(shard: &Path) -> Result<()> {
    if shard.join("config.json").is_file() {
        return Err(Error::RunDir {
            path: shard.into(),
            what: "is a run directory, not a shard's results; give the directory that holds runs/"
                .into(),
        });
    }
    if !shard.is_dir() {
        return Err(Error::RunDir {
            path: shard.into(),
            what: "does not exist or is not a directory".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::history::safe_file_stem;
    use super::*;
    use crate::experiment::testutil::fake;
    use crate::experiment::RunDir;

    /// Writes synthetic runs of smoke presets (name, epochs to 90%, final test accuracy)
    /// under `root/runs`.
    fn write_runs(root: &Path, runs: &[(&str, usize, f64)]) {
        for &(preset, to90, test) in runs {
            let rec = fake(preset, to90, Some(to90 + 2), test);
            let dir = RunDir::create(&runs_dir(root).join(preset), false).unwrap();
            dir.write_config(&rec.experiment).unwrap();
            dir.write_metrics(&rec.metrics).unwrap();
            dir.write_summary(&rec).unwrap();
        }
    }

    const SHARD1: &[(&str, usize, f64)] = &[
        ("fashion-smoke-alexnet-random-labels", 10, 0.1),
        ("fashion-smoke-alexnet-true-labels", 5, 0.7),
    ];
    const SHARD2: &[(&str, usize, f64)] = &[("fashion-smoke-resnet18-random-labels", 4, 0.11)];

    #[test]
    fn shards_merge_into_one_report_and_a_history_of_nights() {
        let t = tempfile::tempdir().unwrap();
        let (s1, s2, out) = (t.path().join("s1"), t.path().join("s2"), t.path().join("m"));
        write_runs(&s1, SHARD1);
        write_runs(&s2, SHARD2);
        // The same run in two shards is kept once.
        write_runs(&s2, &SHARD1[..1]);
        let history = t.path().join("h/history.jsonl");
        let m = merge(&out, &[s1.clone(), s2.clone()], Some(&history)).unwrap();
        assert_eq!(m.copied, vec![(s1.clone(), 2), (s2.clone(), 1)]);
        assert_eq!(m.duplicates, vec!["fashion-smoke-alexnet-random-labels"]);
        assert_eq!(m.report.runs, 3);
        let holds = |id: &str| {
            m.report
                .verdicts
                .iter()
                .find(|j| j.claim == id)
                .map(|j| j.status())
        };
        // Judged with the smoke bands, which the claims at smoke scale read.
        assert_eq!(
            holds("smoke-fashion-alexnet-fits-random-labels"),
            Some("holds")
        );
        assert_eq!(
            holds("smoke-fashion-resnet18-fits-random-labels"),
            Some("holds")
        );
        let lines = read_history(&history).unwrap();
        assert_eq!(m.history_lines, lines.len());
        let runs = lines
            .iter()
            .filter(|l| matches!(l, HistoryLine::Run { .. }))
            .count();
        assert_eq!(runs, 3);
        // A second night appends; the trend figures span both.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let out2 = t.path().join("m2");
        merge(&out2, &[s1, s2], Some(&history)).unwrap();
        let lines = read_history(&history).unwrap();
        let nights: std::collections::BTreeSet<&str> =
            lines.iter().map(HistoryLine::night).collect();
        assert_eq!(nights.len(), 2);
        let figs = history_figures(&history, &t.path().join("trends")).unwrap();
        assert!(figs.iter().any(|f| f
            .to_string_lossy()
            .contains("trend-smoke-fashion-alexnet-fits-random-labels")));
        assert!(figs.iter().all(|f| f.is_file()));
    }

    #[test]
    fn two_runs_under_one_name_are_refused_and_nothing_is_overwritten() {
        let t = tempfile::tempdir().unwrap();
        let (s1, s2, out) = (t.path().join("s1"), t.path().join("s2"), t.path().join("m"));
        write_runs(&s1, &SHARD1[..1]);
        write_runs(&s2, &[("fashion-smoke-alexnet-random-labels", 12, 0.1)]);
        let e = merge(&out, &[s1.clone(), s2.clone()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("s2") && e.contains("another run"), "{e}");
        assert!(!runs_dir(&out).exists(), "a refused merge copied runs");
        // Against a run already merged: refused, and the merged one kept.
        merge(&out, &[s1], None).unwrap();
        let e = merge(&out, std::slice::from_ref(&s2), None).unwrap_err();
        assert!(e.to_string().contains("another run"), "{e}");
        let kept = RunDir::read_summary(&runs_dir(&out).join(SHARD1[0].0)).unwrap();
        assert_eq!(kept.epochs_to_fit, Some(12));
        // A run directory given as a shard is named.
        let e = merge(&out, &[runs_dir(&s2).join(SHARD1[0].0)], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a run directory"), "{e}");
    }

    /// One night: `runs` written as shard `dir/s1`, merged into `dir/m` with the history
    /// file `dir/history.jsonl`, whose path it returns.
    fn one_night(dir: &Path, runs: &[(&str, usize, f64)]) -> PathBuf {
        let (s1, out) = (dir.join("s1"), dir.join("m"));
        write_runs(&s1, runs);
        let history = dir.join("history.jsonl");
        merge(&out, &[s1], Some(&history)).unwrap();
        history
    }

    /// Rewrites every line of the history file `history` with `edit`.
    fn edit_history(history: &Path, edit: impl Fn(&mut serde_json::Value)) {
        let text = std::fs::read_to_string(history).unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                edit(&mut v);
                v.to_string()
            })
            .collect();
        std::fs::write(history, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn merge_refuses_a_torn_history_and_a_run_directory_as_out_before_writing_anything() {
        let t = tempfile::tempdir().unwrap();
        let (s1, out) = (t.path().join("s1"), t.path().join("m"));
        write_runs(&s1, SHARD1);
        let history = t.path().join("history.jsonl");
        merge(&out, std::slice::from_ref(&s1), Some(&history)).unwrap();
        let before = std::fs::read(&history).unwrap();
        // A torn last line: the night's lines would be glued onto it.
        let mut torn = before.clone();
        torn.extend_from_slice(b"{\"kind\": \"run\", \"night");
        std::fs::write(&history, &torn).unwrap();
        let out2 = t.path().join("m2");
        let e = merge(&out2, std::slice::from_ref(&s1), Some(&history)).unwrap_err();
        assert!(e.to_string().contains("last line is torn"), "{e}");
        assert!(!out2.exists(), "a refused merge wrote {}", out2.display());
        assert_eq!(std::fs::read(&history).unwrap(), torn);
        // A run directory as --out: refused, and no runs/ made inside it.
        let run = runs_dir(&s1).join(SHARD1[0].0);
        let e = merge(&run, std::slice::from_ref(&s1), None).unwrap_err();
        assert!(e.to_string().contains("is a run directory"), "{e}");
        assert!(!run.join("runs").exists());
    }

    #[test]
    fn merge_names_the_run_directories_it_drops() {
        let t = tempfile::tempdir().unwrap();
        let (s1, out) = (t.path().join("s1"), t.path().join("m"));
        write_runs(&s1, SHARD1);
        let orphan = runs_dir(&s1).join("fashion-smoke-alexnet-true-labels");
        std::fs::remove_file(orphan.join("config.json")).unwrap();
        let m = merge(&out, std::slice::from_ref(&s1), None).unwrap();
        assert_eq!(m.dropped, vec![orphan]);
        assert_eq!(m.copied, vec![(s1, 1)]);
    }

    /// The names in a directory, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn merge_copies_only_run_records_under_a_lock_and_finishes_an_interrupted_merge() {
        let t = tempfile::tempdir().unwrap();
        let (s1, out) = (t.path().join("s1"), t.path().join("m"));
        write_runs(&s1, SHARD1);
        let run = runs_dir(&s1).join(SHARD1[1].0);
        let secret = t.path().join("secret");
        std::fs::write(&secret, "secret").unwrap();
        std::os::unix::fs::symlink(&secret, run.join("notes.txt")).unwrap();
        std::fs::write(run.join(crate::experiment::CHECKPOINT), "weights").unwrap();
        // A link in place of a run directory is not followed.
        let linked = runs_dir(&s1).join("linked");
        std::os::unix::fs::symlink(&run, &linked).unwrap();
        // Another merge holds the directory's lock: refused, nothing written.
        std::fs::create_dir_all(&out).unwrap();
        let held = lock_out(&out).unwrap();
        let e = merge(&out, std::slice::from_ref(&s1), None).unwrap_err();
        assert!(e.to_string().contains("another merge"), "{e}");
        assert!(!runs_dir(&out).exists());
        drop(held);
        // An interrupted merge: one run renamed into place, the other half-copied.
        std::fs::create_dir_all(runs_dir(&out)).unwrap();
        copy_record(
            &runs_dir(&s1).join(SHARD1[0].0),
            &runs_dir(&out).join(SHARD1[0].0),
        )
        .unwrap();
        let half = out.join(STAGING).join(SHARD1[1].0);
        std::fs::create_dir_all(&half).unwrap();
        std::fs::copy(run.join("config.json"), half.join("config.json")).unwrap();
        let m = merge(&out, std::slice::from_ref(&s1), None).unwrap();
        assert_eq!(m.duplicates, vec![SHARD1[0].0]);
        assert_eq!(m.copied, vec![(s1.clone(), 1)]);
        assert_eq!(m.dropped, vec![linked]);
        assert_eq!(m.report.runs, 2, "{:?}", m.report.skipped);
        assert!(!out.join(STAGING).exists());
        // Only the record: no checkpoint, no link, and the secret never read into it.
        assert_eq!(
            names(&runs_dir(&out).join(SHARD1[1].0)),
            ["config.json", "metrics.jsonl", "summary.json"]
        );
        let mut left: Vec<_> = m.left_out.iter().map(|p| p.file_name().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["checkpoint.ot", "notes.txt"]);
    }

    #[test]
    fn one_experiment_under_two_names_with_other_results_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let (s1, s2, out) = (t.path().join("s1"), t.path().join("s2"), t.path().join("m"));
        write_runs(&s1, &SHARD1[..1]);
        write_runs(&s2, &[(SHARD1[0].0, 12, 0.1)]);
        let renamed = runs_dir(&s2).join("renamed");
        std::fs::rename(runs_dir(&s2).join(SHARD1[0].0), &renamed).unwrap();
        let e = merge(&out, &[s1.clone(), s2], None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("renamed") && e.contains("same experiment"),
            "{e}"
        );
        assert!(!runs_dir(&out).exists(), "a refused merge copied runs");
        // The same run under a second name (a copy) is no conflict.
        let s3 = t.path().join("s3");
        write_runs(&s3, &SHARD1[..1]);
        std::fs::rename(runs_dir(&s3).join(SHARD1[0].0), runs_dir(&s3).join("copy")).unwrap();
        merge(&out, &[s1, s3], None).unwrap();
    }

    #[test]
    fn only_whole_finished_runs_in_regular_files_are_judged() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("r");
        write_runs(&root, SHARD1);
        write_runs(&root, SHARD2);
        let run = |k: usize| runs_dir(&root).join([SHARD1[0].0, SHARD1[1].0, SHARD2[0].0][k]);
        // An empty metrics.jsonl; another run's summary.json; a FIFO for a summary.
        std::fs::write(run(0).join("metrics.jsonl"), "").unwrap();
        std::fs::copy(run(2).join("summary.json"), run(1).join("summary.json")).unwrap();
        std::fs::remove_file(run(2).join("summary.json")).unwrap();
        assert!(std::process::Command::new("mkfifo")
            .arg(run(2).join("summary.json"))
            .status()
            .unwrap()
            .success());
        let (runs, unreadable) = load_runs(&root).unwrap();
        assert!(runs.is_empty(), "{runs:?}");
        let why: Vec<&str> = unreadable.iter().map(|u| u.why.as_str()).collect();
        assert!(
            why[0].contains("counts 12 epochs, but metrics.jsonl holds 0"),
            "{why:?}"
        );
        assert!(why[1].contains("summary.json is run"), "{why:?}");
        assert!(
            why[2].contains("summary.json") && why[2].contains("a FIFO"),
            "{why:?}"
        );
        // The readers of configs and histories refuse a FIFO too, without blocking.
        let fifo = run(2).join("summary.json");
        let e = crate::experiment::Experiment::from_file(&fifo).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let e = read_history(&fifo).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let e = check_history_appendable(&fifo).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn figures_take_huge_values_and_replace_a_planted_link_without_writing_through_it() {
        let t = tempfile::tempdir().unwrap();
        let history = one_night(t.path(), &SHARD1[..1]);
        // The largest finite values as measures and bands: the axis range would overflow.
        let text = std::fs::read_to_string(&history).unwrap();
        let mut claim = String::new();
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                if v["kind"] == "claim" && v["verdict"].is_object() {
                    claim = v["claim"].as_str().unwrap().to_string();
                    for m in v["verdict"]["measures"].as_array_mut().unwrap() {
                        m["value"] = 1.75e308.into();
                        if m["band"].is_object() {
                            m["band"]["min"] = (-f64::MAX).into();
                            m["band"]["max"] = f64::MAX.into();
                        }
                    }
                }
                v.to_string()
            })
            .collect();
        std::fs::write(&history, lines.join("\n") + "\n").unwrap();
        let trends = t.path().join("trends");
        // An axis range that overflows made the drawing spin for ever: fail instead.
        let (tx, rx) = std::sync::mpsc::channel();
        let (h, tr) = (history.clone(), trends.clone());
        std::thread::spawn(move || tx.send(history_figures(&h, &tr)));
        let figs = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("history figures of huge values finish")
            .unwrap();
        let svg = figs
            .iter()
            .find(|f| f.to_string_lossy().contains(&safe_file_stem(&claim)))
            .unwrap();
        // A link planted where the next night's figure goes.
        let secret = t.path().join("secret");
        std::fs::write(&secret, "secret").unwrap();
        let planted = svg.with_extension("png");
        std::fs::remove_file(&planted).unwrap();
        std::os::unix::fs::symlink(&secret, &planted).unwrap();
        history_figures(&history, &trends).unwrap();
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret");
        let meta = std::fs::symlink_metadata(&planted).unwrap();
        assert!(
            meta.is_file() && meta.len() > 0,
            "the link was not replaced by the figure"
        );
        assert!(names(&trends).iter().all(|n| !n.starts_with(".tmp-")));
    }

    /// The files of one valid run record, and one valid history line of it: made once, for
    /// every case of the fuzz test.
    fn record_files() -> &'static RecordFiles {
        static FILES: std::sync::OnceLock<RecordFiles> = std::sync::OnceLock::new();
        FILES.get_or_init(make_record_files)
    }

    /// A run record's files (name, bytes), and a history of it.
    type RecordFiles = (Vec<(&'static str, Vec<u8>)>, Vec<u8>);

    fn make_record_files() -> RecordFiles {
        let t = tempfile::tempdir().unwrap();
        write_runs(t.path(), &SHARD1[..1]);
        let dir = runs_dir(t.path()).join(SHARD1[0].0);
        let files = ["config.json", "metrics.jsonl", "summary.json"]
            .map(|f| (f, std::fs::read(dir.join(f)).unwrap()))
            .to_vec();
        let (runs, _) = load_runs(t.path()).unwrap();
        let h = t.path().join("history.jsonl");
        let report = super::super::report(t.path()).unwrap();
        append_history(&h, &runs, &report).unwrap();
        (files, std::fs::read(h).unwrap())
    }

    /// `bytes` damaged: cut at `cut`, one byte set at `at`, `junk` appended.
    fn damage(
        bytes: &[u8],
        cut: prop::sample::Index,
        at: prop::sample::Index,
        byte: u8,
        junk: &[u8],
    ) -> Vec<u8> {
        let mut b = bytes[..cut.index(bytes.len() + 1)].to_vec();
        if !b.is_empty() {
            let i = at.index(b.len());
            b[i] = byte;
        }
        b.extend_from_slice(junk);
        b
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The readers of run records and histories, fuzzed with damaged copies of valid
        /// files: every outcome is the record read back or an error that names the file,
        /// never a panic or a hang; a damaged run is set aside, the others still read.
        #[test]
        fn damaged_run_records_and_histories_are_named_never_a_panic(
            which in 0usize..4,
            cut in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            junk in prop::collection::vec(any::<u8>(), 0..24),
        ) {
            let (files, history) = record_files();
            let t = tempfile::tempdir().unwrap();
            if which < 3 {
                let dir = runs_dir(t.path()).join("run");
                std::fs::create_dir_all(&dir).unwrap();
                for (k, (f, bytes)) in files.iter().enumerate() {
                    let b = if k == which { damage(bytes, cut, at, byte, &junk) } else { bytes.clone() };
                    std::fs::write(dir.join(f), b).unwrap();
                }
                let (runs, unreadable) = load_runs(t.path()).unwrap();
                prop_assert_eq!(runs.len() + unreadable.len(), 1);
                if let Some(u) = unreadable.first() {
                    prop_assert!(u.why.contains(&dir.display().to_string()), "{}", u.why);
                }
            } else {
                let h = t.path().join("history.jsonl");
                std::fs::write(&h, damage(history, cut, at, byte, &junk)).unwrap();
                if let Err(e) = read_history(&h) {
                    prop_assert!(e.to_string().contains("history.jsonl"), "{}", e);
                }
            }
        }
    }

    #[test]
    fn a_claim_judged_on_several_seeds_is_one_trend_with_a_line_per_seed() {
        let t = tempfile::tempdir().unwrap();
        let history = one_night(t.path(), SHARD1);
        // The night's lines as three nights of a rotation over seeds: 3, 9, then 3 again.
        let night = std::fs::read_to_string(&history).unwrap();
        let mut lines = Vec::new();
        for (k, seed) in [3, 9, 3].into_iter().enumerate() {
            for l in night.lines() {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["night"] = format!("2026-12-0{}T02:00:00Z", k + 1).into();
                v["seed"] = seed.into();
                lines.push(v.to_string());
            }
        }
        std::fs::write(&history, lines.join("\n") + "\n").unwrap();
        let figs = history_figures(&history, &t.path().join("trends")).unwrap();
        let names: Vec<String> = figs
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains("seed")), "{names:?}");
        let claim = "trend-smoke-fashion-alexnet-fits-random-labels";
        let fig = figs
            .iter()
            .find(|f| f.file_name().unwrap().to_string_lossy().starts_with(claim))
            .unwrap_or_else(|| panic!("no figure for {claim}: {names:?}"));
        let svg = std::fs::read_to_string(fig).unwrap();
        assert!(
            svg.contains("seed 3") && svg.contains("seed 9") && !svg.contains("measured"),
            "{}",
            fig.display()
        );
        // One seed's history keeps the single line it always had.
        std::fs::write(&history, night).unwrap();
        let figs = history_figures(&history, &t.path().join("one")).unwrap();
        let svg = std::fs::read_to_string(&figs[0]).unwrap();
        assert!(svg.contains("measured") && !svg.contains("seed "));
    }

    #[test]
    fn a_trend_is_drawn_against_its_band_not_against_zero() {
        let t = tempfile::tempdir().unwrap();
        let history = one_night(t.path(), SHARD1);
        // Every banded measure of the night near 0.83, in a band of 0.8 to 0.9.
        edit_history(&history, |v| {
            if let Some(ms) = v["verdict"]["measures"].as_array_mut() {
                for m in ms.iter_mut().filter(|m| !m["band"].is_null()) {
                    m["value"] = 0.8354.into();
                    m["band"]["min"] = 0.8.into();
                    m["band"]["max"] = 0.9.into();
                }
            }
        });
        let figs = history_figures(&history, &t.path().join("trends")).unwrap();
        assert!(!figs.is_empty());
        for f in &figs {
            let numbers = figures::axis_numbers(&std::fs::read_to_string(f).unwrap());
            assert!(numbers.len() >= 3, "{}: {numbers:?}", f.display());
            // Nights count from 1; an axis drawn from 0 would label values under 0.75.
            let lowest = numbers.iter().copied().fold(f64::INFINITY, f64::min);
            assert!(lowest >= 0.75, "{}: {numbers:?}", f.display());
        }
    }

    #[test]
    fn history_figures_take_any_night_and_keep_every_claim_id_inside_out() {
        let t = tempfile::tempdir().unwrap();
        let history = one_night(t.path(), SHARD1);
        // A night of multibyte characters, and a claim id that names a path outside.
        edit_history(&history, |v| {
            v["night"] = "２０２６年１１月３０日の夜".into();
            if v["kind"] == "claim" {
                v["claim"] = format!("../../escaped-{}", v["claim"].as_str().unwrap()).into();
            }
        });
        let trends = t.path().join("deep/trends");
        let figs = history_figures(&history, &trends).unwrap();
        assert!(!figs.is_empty());
        for f in &figs {
            assert_eq!(f.parent(), Some(trends.as_path()), "{}", f.display());
        }
        assert!(!t
            .path()
            .join("escaped-smoke-fashion-alexnet-fits-random-labels.svg")
            .exists());
        assert_eq!(safe_file_stem("../a/b\nc"), "___a_b_c");
    }

    #[test]
    fn diff_refuses_two_empty_sets_and_names_an_unreadable_run() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        std::fs::create_dir_all(runs_dir(&a)).unwrap();
        std::fs::create_dir_all(runs_dir(&b)).unwrap();
        let e = diff(&a, &b).unwrap_err().to_string();
        assert!(e.contains("nothing to compare"), "{e}");
        write_runs(&a, SHARD1);
        write_runs(&b, SHARD1);
        std::fs::write(runs_dir(&b).join(SHARD1[0].0).join("summary.json"), "{").unwrap();
        let moved: Vec<String> = diff(&a, &b).unwrap().into_iter().map(|m| m.0).collect();
        assert!(
            moved
                .iter()
                .any(|m| m.contains("unreadable, not compared") && m.contains(SHARD1[0].0)),
            "{moved:?}"
        );
    }

    #[test]
    fn diff_keys_runs_by_their_config_not_their_name() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        write_runs(&a, SHARD1);
        write_runs(&b, SHARD1);
        assert_eq!(diff(&a, &b).unwrap(), vec![]);
        // In b, the second run is replaced by another config under the same name, and a copy
        // of the first is held under a second directory.
        let second = runs_dir(&b).join(SHARD1[1].0);
        let mut cfg: serde_json::Value =
            serde_json::from_slice(&std::fs::read(second.join("config.json")).unwrap()).unwrap();
        cfg["lr"] = 0.5.into();
        std::fs::write(second.join("config.json"), cfg.to_string()).unwrap();
        let copy = runs_dir(&b).join("copy");
        copy_record(&runs_dir(&b).join(SHARD1[0].0), &copy).unwrap();
        let moved: Vec<String> = diff(&a, &b).unwrap().into_iter().map(|m| m.0).collect();
        let says = |what: &str| moved.iter().filter(|m| m.contains(what)).count();
        assert_eq!(says("held twice in"), 1, "{moved:?}");
        assert_eq!(
            says(&format!("run {} (seed 0): only in", SHARD1[1].0)),
            2,
            "{moved:?}"
        );
    }

    #[test]
    fn diff_is_silent_on_equal_sets_and_names_what_moved_beyond_its_band() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        write_runs(&a, SHARD1);
        write_runs(&b, SHARD1);
        assert_eq!(diff(&a, &b).unwrap(), vec![]);
        // Moved within the resolution of every band: still silent.
        let c = t.path().join("c");
        write_runs(
            &c,
            &[SHARD1[0], ("fashion-smoke-alexnet-true-labels", 5, 0.71)],
        );
        assert_eq!(diff(&a, &c).unwrap(), vec![]);
        // Fitting a few epochs later is within every band: silent.
        let e = t.path().join("e");
        write_runs(
            &e,
            &[("fashion-smoke-alexnet-random-labels", 14, 0.1), SHARD1[1]],
        );
        assert_eq!(diff(&a, &e).unwrap(), vec![]);
        // Random labels no longer at chance, one run gone.
        let d = t.path().join("d");
        write_runs(&d, &[("fashion-smoke-alexnet-random-labels", 14, 0.5)]);
        let moved: Vec<String> = diff(&a, &d).unwrap().iter().map(|m| m.0.clone()).collect();
        let has = |s: &str| moved.iter().any(|m| m.contains(s));
        assert!(has("claim smoke-fashion-alexnet-fits-random-labels (seed 0): holds before, does not hold now"), "{moved:?}");
        assert!(
            has("outside its chance interval, in sigmas moved from"),
            "{moved:?}"
        );
        assert!(
            has("run fashion-smoke-alexnet-true-labels (seed 0): only in"),
            "{moved:?}"
        );
        // A run that no longer fits.
        let f = t.path().join("f");
        write_runs(&f, SHARD1);
        let stalled = fake("fashion-smoke-alexnet-true-labels", 5, None, 0.7);
        let dir = RunDir::open(&runs_dir(&f).join("fashion-smoke-alexnet-true-labels"));
        dir.write_metrics(&stalled.metrics).unwrap();
        dir.write_summary(&stalled).unwrap();
        let moved: Vec<String> = diff(&a, &f).unwrap().iter().map(|m| m.0.clone()).collect();
        let has = |s: &str| moved.iter().any(|m| m.contains(s));
        assert!(
            has("stopped TargetReached before, MaxEpochs now"),
            "{moved:?}"
        );
        assert!(
            has("smoke-fashion-alexnet-fits-true-labels (seed 0): holds before, does not hold now"),
            "{moved:?}"
        );
    }

    #[test]
    fn a_corrupt_history_line_is_named() {
        let t = tempfile::tempdir().unwrap();
        let h = t.path().join("history.jsonl");
        std::fs::write(&h, "{\"kind\":\"run\"}\n").unwrap();
        let e = read_history(&h).unwrap_err().to_string();
        assert!(e.contains("history.jsonl") && e.contains("line 1"), "{e}");
    }
}

//! The nightly's results across shards and nights: `rethink merge` gathers the run
//! directories of every shard into one results directory, reports on it and appends one
//! JSON line per run (and per judged claim) to a history file; `rethink history` draws each
//! claim's measures over the nights with their bands; `rethink diff` compares two result
//! sets run by run and names what moved beyond its band.
use super::{analysis, figures, load_runs, runs_dir, LoadedRun, ReportSummary};
use crate::claims::{quantize, Verdict};
use crate::error::{Error, Result};
use crate::record::{utc_now, Environment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `merge` did.
#[derive(Debug)]
pub struct Merged {
    /// Run directories copied in, per shard, in the order given.
    pub copied: Vec<(PathBuf, usize)>,
    /// Directories in a shard that hold a run's files but no `config.json`: not a run that
    /// can be judged or rerun, so not merged (`rethink merge` names them and fails).
    pub dropped: Vec<PathBuf>,
    /// Runs found in more than one shard with the same config and summary: kept once.
    pub duplicates: Vec<String>,
    pub report: ReportSummary,
    /// History lines appended (0 without a history file).
    pub history_lines: usize,
}

/// Copies one run directory's files (a run directory is flat) into `to`, atomically each.
fn copy_run(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, "cannot create directory", e))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| Error::io(from, "cannot read directory", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(from, "cannot read directory", e))?;
        let path = entry.path();
        if !path.is_file() || path.extension().is_some_and(|x| x == "tmp") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, "cannot read", e))?;
        crate::experiment::write_atomic(&to.join(entry.file_name()), &bytes)?;
    }
    Ok(())
}

/// The run directories under a shard's results (`SHARD/runs/NAME`, or `SHARD/NAME`), and
/// the directories there that hold a run's files without its `config.json`.
fn shard_runs(shard: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut runs, mut dropped) = (Vec::new(), Vec::new());
    for p in super::subdirectories(shard)? {
        if p.join("config.json").is_file() {
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
    let meta = match std::fs::metadata(history) {
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

/// Gathers the run directories of `shards` into `out/runs`, writes the report over all of
/// them (each claim judged with the bands of its scale) and, given `history`, appends one
/// line per run and per judged claim to it. A run two shards both hold is kept once when
/// the two are the same run (config and summary); two different runs under one name are an
/// error naming both, and nothing is overwritten.
pub fn merge(out: &Path, shards: &[PathBuf], history: Option<&Path>) -> Result<Merged> {
    super::refuse_run_dir(out)?;
    for shard in shards {
        check_shard(shard)?;
    }
    if let Some(h) = history {
        check_history_appendable(h)?;
    }
    let runs = runs_dir(out);
    std::fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, "cannot create directory", e))?;
    let mut copied = Vec::new();
    let mut duplicates = Vec::new();
    let mut dropped = Vec::new();
    for shard in shards {
        let mut n = 0;
        let (shard_runs, shard_dropped) = shard_runs(shard)?;
        dropped.extend(shard_dropped);
        for dir in shard_runs {
            let name = dir.file_name().expect("a run directory has a name");
            let to = runs.join(name);
            if to.exists() {
                let same =
                    |f: &str| std::fs::read(dir.join(f)).ok() == std::fs::read(to.join(f)).ok();
                if same("config.json") && same("summary.json") {
                    duplicates.push(name.to_string_lossy().into_owned());
                    continue;
                }
                return Err(Error::RunDir {
                    path: dir.clone(),
                    what: format!(
                        "holds another run than {} under the same name; merge each night's shards into a new directory",
                        to.display()
                    ),
                });
            }
            copy_run(&dir, &to)?;
            n += 1;
        }
        copied.push((shard.clone(), n));
    }
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
        report,
        history_lines,
    })
}

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HistoryLine {
    /// A run of the night.
    Run {
        /// When the merge ran (UTC, RFC 3339): one night.
        night: String,
        commit: Option<String>,
        run: String,
        seed: u64,
        status: String,
        epochs: usize,
        epochs_to_fit: Option<usize>,
        final_train_acc: f64,
        final_test_acc: f64,
        best_test_acc: f64,
        wall_s: f64,
        environment: Option<Environment>,
    },
    /// A claim judged that night.
    Claim {
        night: String,
        commit: Option<String>,
        claim: String,
        seed: u64,
        /// `holds`, `fails` or `incomplete`.
        status: String,
        verdict: Option<Verdict>,
    },
}

impl HistoryLine {
    fn night(&self) -> &str {
        match self {
            HistoryLine::Run { night, .. } | HistoryLine::Claim { night, .. } => night,
        }
    }
}

/// Appends the night's lines for the merged `runs` and their report `summary` to
/// `history`; returns how many. The commit is the runs' (all from one checkout), else this
/// process's.
fn append_history(history: &Path, runs: &[LoadedRun], summary: &ReportSummary) -> Result<usize> {
    let night = utc_now();
    let commit = runs
        .iter()
        .find_map(|r| r.summary.environment.as_ref()?.commit.clone())
        .or_else(crate::experiment::commit);
    let mut lines: Vec<HistoryLine> = runs
        .iter()
        .map(|r| {
            let s = &r.summary;
            HistoryLine::Run {
                night: night.clone(),
                commit: commit.clone(),
                run: s.name.clone(),
                seed: r.exp.train.seed,
                status: serde_json::to_value(s.status)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                epochs: s.epochs,
                epochs_to_fit: s.epochs_to_fit,
                final_train_acc: s.final_train_acc,
                final_test_acc: s.final_test_acc,
                best_test_acc: s.best_test_acc,
                wall_s: s.wall_s,
                environment: s.environment.clone(),
            }
        })
        .collect();
    lines.extend(summary.verdicts.iter().map(|j| HistoryLine::Claim {
        night: night.clone(),
        commit: commit.clone(),
        claim: j.claim.clone(),
        seed: j.seed,
        status: j.status().into(),
        verdict: j.verdict.clone(),
    }));
    let mut text = String::new();
    for l in &lines {
        text.push_str(&serde_json::to_string(l).map_err(|source| Error::Json {
            path: history.into(),
            source,
        })?);
        text.push('\n');
    }
    if let Some(parent) = history.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(parent, "cannot create directory", e))?;
    }
    // One write of whole lines, appended: the lines of earlier nights are never rewritten.
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(history)
        .map_err(|e| Error::io(history, "cannot open for appending", e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(history, "cannot append", e))?;
    Ok(lines.len())
}

/// The date part of a night (its first 10 characters, whatever they are).
fn day(night: &str) -> String {
    night.chars().take(10).collect()
}

/// `name` as one file-name component: every character but ASCII letters, digits, `-`, `_`
/// and `.` becomes `_`, so that no separator, `..` step or control character reaches a path.
fn safe_file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.replace("..", "__")
}

/// Reads a history file; a line that does not parse is an error naming its line number.
pub fn read_history(path: &Path) -> Result<Vec<HistoryLine>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                Error::format(path, format!("line {}: not a history line: {e}", i + 1))
            })
        })
        .collect()
}

/// Draws, for every claim in `history`, each asserted measure over the nights with its
/// band, as `out/trend-CLAIM[-K].{svg,png}`; returns the SVG paths.
pub fn history_figures(history: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let lines = read_history(history)?;
    let mut nights: Vec<&str> = lines.iter().map(HistoryLine::night).collect();
    nights.sort();
    nights.dedup();
    // claim id (and seed) → measure index → (what, band, points)
    type Trend = (String, Option<(Option<f64>, Option<f64>)>, Vec<(f64, f64)>);
    let mut trends: BTreeMap<String, Vec<Trend>> = BTreeMap::new();
    for l in &lines {
        let HistoryLine::Claim {
            night,
            claim,
            seed,
            verdict: Some(v),
            ..
        } = l
        else {
            continue;
        };
        let x = nights.iter().position(|n| n == night).unwrap_or(0) as f64 + 1.0;
        let key = if *seed == 0 {
            claim.clone()
        } else {
            format!("{claim}-seed{seed}")
        };
        let t = trends.entry(key).or_default();
        for (k, m) in v.measures.iter().filter(|m| m.band.is_some()).enumerate() {
            let band = m.band.as_ref().map(|b| (b.min, b.max));
            if t.len() <= k {
                t.push((m.what.clone(), band, Vec::new()));
            }
            if let Some(v) = m.value {
                t[k].2.push((x, v));
            }
            t[k].1 = band;
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "cannot create directory", e))?;
    let mut written = Vec::new();
    for (claim, measures) in &trends {
        for (k, (what, band, points)) in measures.iter().enumerate() {
            let mut series = vec![figures::Series::line("measured", points.clone())];
            let (first, last) = (1.0, nights.len().max(1) as f64);
            if let Some((min, max)) = band {
                for (end, v) in [("band min", min), ("band max", max)] {
                    if let Some(v) = v {
                        series.push(figures::Series::line(
                            format!("{end} {v}"),
                            vec![(first, *v), (last, *v)],
                        ));
                    }
                }
            }
            // Claim ids come from the history file: only a safe file name is made of them.
            let claim_stem = safe_file_stem(claim);
            let stem = if measures.len() == 1 {
                format!("trend-{claim_stem}")
            } else {
                format!("trend-{claim_stem}-{}", k + 1)
            };
            let chart = figures::Chart {
                title: claim.clone(),
                x_label: format!(
                    "night ({} to {})",
                    nights.first().map_or(String::new(), |n| day(n)),
                    nights.last().map_or(String::new(), |n| day(n))
                ),
                y_label: what.clone(),
                integer_x: true,
                series,
            };
            let (svg, _) = figures::write(out, &stem, &chart)?;
            written.push(svg);
        }
    }
    Ok(written)
}

/// One thing that moved between two result sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved(pub String);

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Compares the result sets `old` and `new` (each a results directory with `runs/`, or a
/// folder of run directories) run by run and claim by claim, each judged with the bands of
/// its scale. It names:
/// - a run or a judged claim present in one set only;
/// - a run whose stop changed (it reached its target train accuracy, or ran out of epochs);
/// - a verdict that changed;
/// - a measure that crossed its band, or moved by more than the band's resolution (the
///   spread its calibration measured over seeds and instruction-set levels).
///
/// Nothing else: a number without a band (epochs to fit, say, which varies by an epoch or
/// two between runs on a GPU) is not flagged, and two sets that agree within their bands
/// give an empty list.
pub fn diff(old: &Path, new: &Path) -> Result<Vec<Moved>> {
    type Loaded = (
        Vec<LoadedRun>,
        Vec<analysis::Judged>,
        Vec<super::Unreadable>,
    );
    let load = |p: &Path| -> Result<Loaded> {
        if p.join("config.json").is_file() {
            return Err(Error::RunDir {
                path: p.into(),
                what: "is a run directory, not a result set; give the directory that holds runs/"
                    .into(),
            });
        }
        let (runs, unreadable) = load_runs(p)?;
        let judged = analysis::judge(&runs, &unreadable);
        Ok((runs, judged, unreadable))
    };
    let (old_runs, old_judged, old_unreadable) = load(old)?;
    let (new_runs, new_judged, new_unreadable) = load(new)?;
    if old_runs.is_empty()
        && new_runs.is_empty()
        && old_unreadable.is_empty()
        && new_unreadable.is_empty()
    {
        return Err(Error::RunDir {
            path: old.into(),
            what: format!(
                "holds no run, and neither does {}: nothing to compare",
                new.display()
            ),
        });
    }
    let mut out = Vec::new();
    // A run that cannot be read is not silently "only in" the other set.
    for u in old_unreadable.iter().chain(&new_unreadable) {
        out.push(Moved(format!(
            "run directory {}: unreadable, not compared: {}",
            u.dir.display(),
            u.why
        )));
    }
    let key = |r: &LoadedRun| format!("{} (seed {})", r.summary.name, r.exp.train.seed);
    let old_by: BTreeMap<String, &LoadedRun> = old_runs.iter().map(|r| (key(r), r)).collect();
    let new_by: BTreeMap<String, &LoadedRun> = new_runs.iter().map(|r| (key(r), r)).collect();
    for (k, o) in &old_by {
        let Some(n) = new_by.get(k) else {
            out.push(Moved(format!("run {k}: only in {}", old.display())));
            continue;
        };
        let (so, sn) = (&o.summary, &n.summary);
        if so.status != sn.status {
            out.push(Moved(format!(
                "run {k}: stopped {:?} before, {:?} now",
                so.status, sn.status
            )));
        }
    }
    for k in new_by.keys().filter(|k| !old_by.contains_key(*k)) {
        out.push(Moved(format!("run {k}: only in {}", new.display())));
    }
    let jkey = |j: &analysis::Judged| format!("{} (seed {})", j.claim, j.seed);
    let old_j: BTreeMap<String, &analysis::Judged> =
        old_judged.iter().map(|j| (jkey(j), j)).collect();
    let new_j: BTreeMap<String, &analysis::Judged> =
        new_judged.iter().map(|j| (jkey(j), j)).collect();
    for (k, o) in &old_j {
        let Some(n) = new_j.get(k) else {
            out.push(Moved(format!(
                "claim {k}: judged only in {}",
                old.display()
            )));
            continue;
        };
        if o.status() != n.status() {
            out.push(Moved(format!(
                "claim {k}: {} before, {} now",
                o.status(),
                n.status()
            )));
        }
        let (Some(vo), Some(vn)) = (&o.verdict, &n.verdict) else {
            continue;
        };
        for mo in vo.measures.iter().filter(|m| m.band.is_some()) {
            let Some(mn) = vn.measures.iter().find(|m| m.what == mo.what) else {
                out.push(Moved(format!("claim {k}: {} no longer measured", mo.what)));
                continue;
            };
            let b = mo.band.as_ref().expect("filtered on band");
            let crossed = mo.holds != mn.holds;
            let moved = match (mo.value, mn.value) {
                (Some(a), Some(c)) => quantize(a, b.resolution) != quantize(c, b.resolution),
                (a, c) => a.is_some() != c.is_some(),
            };
            if crossed || moved {
                out.push(Moved(format!(
                    "claim {k}: {} moved from {} to {} (band {}: {}, resolution {}){}",
                    mo.what,
                    value(mo.value),
                    value(mn.value),
                    b.name,
                    b.describe(),
                    b.resolution,
                    if crossed {
                        if mn.holds {
                            ", now inside its band"
                        } else {
                            ", now outside its band"
                        }
                    } else {
                        ""
                    }
                )));
            }
        }
    }
    for k in new_j.keys().filter(|k| !old_j.contains_key(*k)) {
        out.push(Moved(format!(
            "claim {k}: judged only in {}",
            new.display()
        )));
    }
    Ok(out)
}

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
    use super::*;
    use crate::claims::testutil::fake;
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
        let e = merge(&out, &[s1, s2.clone()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("s2") && e.contains("another run"), "{e}");
        let kept = RunDir::read_summary(&runs_dir(&out).join(SHARD1[0].0)).unwrap();
        assert_eq!(kept.epochs_to_fit, Some(12));
        // A run directory given as a shard is named.
        let e = merge(&out, &[runs_dir(&s2).join(SHARD1[0].0)], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a run directory"), "{e}");
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

    #[test]
    fn history_figures_take_any_night_and_keep_every_claim_id_inside_out() {
        let t = tempfile::tempdir().unwrap();
        let (s1, out) = (t.path().join("s1"), t.path().join("m"));
        write_runs(&s1, SHARD1);
        let history = t.path().join("history.jsonl");
        merge(&out, &[s1], Some(&history)).unwrap();
        // A night of multibyte characters, and a claim id that names a path outside.
        let text = std::fs::read_to_string(&history).unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["night"] = "２０２６年１１月３０日の夜".into();
                if v["kind"] == "claim" {
                    v["claim"] = format!("../../escaped-{}", v["claim"].as_str().unwrap()).into();
                }
                v.to_string()
            })
            .collect();
        std::fs::write(&history, lines.join("\n") + "\n").unwrap();
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
        assert!(has("from chance, in sigmas moved from"), "{moved:?}");
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

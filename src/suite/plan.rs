//! A plan of runs: one JSON line per run of a suite, with its index, a key addressed by its
//! config's content and the arguments that train it, for any engine (Slurm, a shell loop,
//! a workflow manager) to consume. Every run of a plan goes into the plan's folder,
//! `DIR/runs/NAME`, so that `rethink report DIR` reads them all.
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The plan's file name in its folder.
pub const PLAN_FILE: &str = "plan.jsonl";

/// One run of a plan: line `index` of `plan.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub index: usize,
    pub name: String,
    /// The md5 of the run's `config.json` content (its name included): two entries with
    /// one key are one run, and an entry whose config was edited no longer matches it.
    pub key: String,
    /// The arguments of `rethink` that train this run into the plan's folder (add
    /// `--device`, `--threads` and `--data-dir` to say where and how).
    pub args: Vec<String>,
    pub config: Experiment,
}

/// The content key of `exp`: the md5 of its JSON, as `config.json` holds it.
pub fn key(exp: &Experiment) -> String {
    use md5::{Digest, Md5};
    let json = serde_json::to_vec(exp).unwrap_or_default();
    Md5::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The plan of `suite`, as it will be written to `plan` (whose path goes into each entry's
/// arguments; make it absolute so that the arguments work from any folder).
pub fn entries(suite: &[Experiment], plan: &Path) -> Vec<PlanEntry> {
    suite
        .iter()
        .enumerate()
        .map(|(index, e)| PlanEntry {
            index,
            name: e.name.clone(),
            key: key(e),
            args: vec![
                "run".into(),
                "--plan".into(),
                plan.to_string_lossy().into_owned(),
                "--index".into(),
                index.to_string(),
            ],
            config: e.clone(),
        })
        .collect()
}

/// The folder a plan's runs go into: the plan file's folder.
pub fn results_dir(plan: &Path) -> PathBuf {
    match plan.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.into(),
        _ => PathBuf::from("."),
    }
}

fn to_lines(entries: &[PlanEntry]) -> Result<String> {
    let mut text = String::new();
    for e in entries {
        let line = serde_json::to_string(e).map_err(|source| Error::Json {
            path: PathBuf::from(PLAN_FILE),
            source,
        })?;
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

/// Writes the plan of `suite` to `dir/plan.jsonl` and returns its path. A plan already
/// there is kept when it is the same plan, extended when this one only adds runs after its
/// own (`--seeds 3` after `--seeds 1`), and refused otherwise: a task of the old plan
/// would read another run at its index.
pub fn write(dir: &Path, suite: &[Experiment]) -> Result<(PathBuf, Vec<PlanEntry>)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create directory", e))?;
    let abs = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, "cannot resolve", e))?;
    let path = abs.join(PLAN_FILE);
    let entries = entries(suite, &path);
    let text = to_lines(&entries)?;
    if std::fs::symlink_metadata(&path).is_ok() {
        let old = read(&path)?;
        if old == entries {
            return Ok((path, entries));
        }
        // A plan that only adds runs after the old one's (more seeds) keeps every index: a
        // task still running from the old plan reads the same entry.
        if old.len() < entries.len() && entries[..old.len()] == old[..] {
            crate::fsio::write_atomic(&path, text.as_bytes())?;
            return Ok((path, entries));
        }
        let first = old
            .iter()
            .zip(&entries)
            .position(|(a, b)| a != b)
            .unwrap_or(old.len().min(entries.len()));
        return Err(Error::RunDir {
            path,
            what: format!(
                "holds another plan ({} runs, this one has {}; they first differ at index {first}); write this plan to another folder",
                old.len(),
                entries.len()
            ),
        });
    }
    crate::fsio::write_atomic(&path, text.as_bytes())?;
    Ok((path, entries))
}

/// Reads a plan, checking every line: its index is its line number (from 0), its key is
/// its config's, its name is its config's, and no name appears twice.
pub fn read(path: &Path) -> Result<Vec<PlanEntry>> {
    let text = crate::fsio::read_text(path, "cannot read plan", crate::fsio::cap::SMALL)?;
    let mut out: Vec<PlanEntry> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = |what: String| Error::format(path, format!("line {}: {what}", i + 1));
        if line.trim().is_empty() {
            return Err(at("is empty; a plan has one JSON object per line".into()));
        }
        let e: PlanEntry = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        if e.index != i {
            return Err(at(format!("has index {}, expected {i}", e.index)));
        }
        if e.name != e.config.name {
            return Err(at(format!(
                "names the run {:?}, its config {:?}",
                e.name, e.config.name
            )));
        }
        if e.key != key(&e.config) {
            return Err(at(
                "its key does not match its config (the config was edited); write the plan again with rethink plan".into(),
            ));
        }
        e.config
            .validate()
            .map_err(|err| at(format!("invalid config: {err}")))?;
        if out.iter().any(|o| o.name == e.name) {
            return Err(at(format!("the run {:?} appears twice", e.name)));
        }
        out.push(e);
    }
    if out.is_empty() {
        return Err(Error::format(path, "holds no runs"));
    }
    Ok(out)
}

/// Entry `index` of the plan at `path`.
pub fn entry(path: &Path, index: usize) -> Result<PlanEntry> {
    let mut all = read(path)?;
    let n = all.len();
    if index >= n {
        return Err(Error::format(
            path,
            format!("has no run {index}: its indices are 0 to {}", n - 1),
        ));
    }
    Ok(all.swap_remove(index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Scale;

    #[test]
    fn a_plan_round_trips_is_kept_when_the_same_and_refused_when_another() {
        let dir = tempfile::tempdir().unwrap();
        let suite = crate::suite::experiments(Scale::Smoke);
        let (path, written) = write(dir.path(), &suite).unwrap();
        assert_eq!(read(&path).unwrap(), written);
        assert_eq!(written.len(), suite.len());
        assert_eq!(written[3].args[2], path.to_string_lossy());
        assert_eq!(written[3].args[4], "3");
        assert_eq!(entry(&path, 3).unwrap().config, suite[3]);
        // The same plan again: kept as it is.
        assert_eq!(write(dir.path(), &suite).unwrap().1, written);
        // Another plan into the same folder: refused, and the first one is untouched.
        let before = std::fs::read(&path).unwrap();
        let err = write(dir.path(), &suite[1..]).unwrap_err().to_string();
        assert!(err.contains("holds another plan"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // More seeds add runs after the plan's own: extended, every index kept.
        let more = crate::suite::over_seeds(&suite, 2);
        let (_, extended) = write(dir.path(), &more).unwrap();
        assert_eq!(extended[..written.len()], written[..]);
        assert_eq!(read(&path).unwrap().len(), 2 * suite.len());
        // Fewer seeds again: the plan would lose runs its tasks may be training.
        assert!(write(dir.path(), &suite).is_err());
        let err = entry(&path, 2 * suite.len()).unwrap_err().to_string();
        assert!(err.contains("has no run"), "{err}");
    }

    #[test]
    fn an_edited_or_damaged_plan_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let suite = crate::suite::experiments(Scale::Smoke);
        let (path, _) = write(dir.path(), &suite).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let cases = [
            (
                lines[1].replacen("\"lr\":", "\"lr\":1e-9,\"x\":", 1),
                "line 2",
            ),
            (
                lines[1].replace("\"index\":1", "\"index\":7"),
                "has index 7",
            ),
            ("{not json".to_string(), "line 2"),
        ];
        for (bad, want) in cases {
            let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            edited[1] = bad;
            std::fs::write(&path, edited.join("\n") + "\n").unwrap();
            let err = read(&path).unwrap_err().to_string();
            assert!(err.contains(&*path.to_string_lossy()), "{err}");
            assert!(err.contains(want), "{want}: {err}");
        }
        // A config edited in place, key kept: the key no longer matches.
        let mut e: PlanEntry = serde_json::from_str(lines[2]).unwrap();
        e.config.train.lr *= 2.0;
        let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        edited[2] = serde_json::to_string(&e).unwrap();
        std::fs::write(&path, edited.join("\n") + "\n").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("line 3: its key does not match"), "{err}");
    }
}

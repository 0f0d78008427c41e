//! The history file `rethink merge --history` appends to (one JSON line per run and per
//! judged claim of a night), and `rethink history`'s trend figures over it.
use super::*;

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
    pub(super) fn night(&self) -> &str {
        match self {
            HistoryLine::Run { night, .. } | HistoryLine::Claim { night, .. } => night,
        }
    }
}

/// Appends the night's lines for the merged `runs` and their report `summary` to
/// `history`; returns how many. The commit is the runs' (all from one checkout), else this
/// process's.
pub(super) fn append_history(
    history: &Path,
    runs: &[LoadedRun],
    summary: &ReportSummary,
) -> Result<usize> {
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
    // The earlier nights' lines byte for byte, then the night's: written to a temporary
    // file beside the history and renamed over it, so a full disk or a kill leaves the
    // history as it was, never with a torn last line.
    let mut bytes = if history.exists() {
        fsio::read_regular(history, "cannot read history", fsio::cap::LOG)?
    } else {
        Vec::new()
    };
    bytes.extend_from_slice(text.as_bytes());
    fsio::write_atomic(history, &bytes)?;
    Ok(lines.len())
}

/// The date part of a night (its first 10 characters, whatever they are).
pub(super) fn day(night: &str) -> String {
    night.chars().take(10).collect()
}

/// `name` as one file-name component: every character but ASCII letters, digits, `-`, `_`
/// and `.` becomes `_`, so that no separator, `..` step or control character reaches a path.
pub(super) fn safe_file_stem(name: &str) -> String {
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
    let text = crate::fsio::read_text(path, "cannot read history", crate::fsio::cap::LOG)?;
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
/// band, as `out/trend-CLAIM[-K].{svg,png}`; returns the SVG paths. A claim judged on
/// several seeds (the CPU nightly rotates over its registered seeds) gets one line per seed
/// in the same figure, so a night is read against the other seeds' nights and the band.
pub fn history_figures(history: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let lines = read_history(history)?;
    let mut nights: Vec<&str> = lines.iter().map(HistoryLine::night).collect();
    nights.sort();
    nights.dedup();
    // claim id → measure index → (what, band, seed → points)
    type Trend = (
        String,
        Option<(Option<f64>, Option<f64>)>,
        BTreeMap<u64, Vec<(f64, f64)>>,
    );
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
        let t = trends.entry(claim.clone()).or_default();
        for (k, m) in v.measures.iter().filter(|m| m.band.is_some()).enumerate() {
            let band = m.band.as_ref().map(|b| (b.min, b.max));
            if t.len() <= k {
                t.push((m.what.clone(), band, BTreeMap::new()));
            }
            let points = t[k].2.entry(*seed).or_default();
            if let Some(v) = m.value {
                points.push((x, v));
            }
            t[k].1 = band;
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, "cannot create directory", e))?;
    let mut written = Vec::new();
    for (claim, measures) in &trends {
        for (k, (what, band, points)) in measures.iter().enumerate() {
            let mut series: Vec<figures::Series> = points
                .iter()
                .map(|(seed, p)| {
                    let label = if points.len() == 1 {
                        "measured".to_string()
                    } else {
                        format!("seed {seed}")
                    };
                    figures::Series::line(label, p.clone())
                })
                .collect();
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
                // A trend is read against its band, not against 0.
                y_from_zero: false,
                series,
            };
            let (svg, _) = figures::write(out, &stem, &chart)?;
            written.push(svg);
        }
    }
    Ok(written)
}

//! `rethink diff`: two result sets compared run by run (matched by content) and claim by
//! claim, naming what moved beyond its band.
use super::*;

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
        Vec<crate::report::Unreadable>,
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
    let (old_by, new_by) = (
        by_content(&old_runs, old, &mut out),
        by_content(&new_runs, new, &mut out),
    );
    for (c, (k, o)) in &old_by {
        let Some((_, n)) = new_by.get(c) else {
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
    for (_, (k, _)) in new_by.iter().filter(|(c, _)| !old_by.contains_key(*c)) {
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

/// The runs of one result set by their content key (the whole config, whatever the test
/// cadence), each with its label `NAME (seed S)`. Two runs of one config in the set are
/// compared with neither: a line names both directories.
pub(super) fn by_content<'a>(
    runs: &'a [LoadedRun],
    set: &Path,
    out: &mut Vec<Moved>,
) -> BTreeMap<String, (String, &'a LoadedRun)> {
    let mut by: BTreeMap<String, (String, &LoadedRun)> = BTreeMap::new();
    let mut twice = std::collections::BTreeSet::new();
    for r in runs {
        let mut e = r.exp.clone();
        e.train.test_every = 1;
        let content = serde_json::to_string(&e).unwrap_or_default();
        let label = format!("{} (seed {})", e.name, e.train.seed);
        if let Some((_, first)) = by.get(&content) {
            out.push(Moved(format!(
                "run {label}: held twice in {} ({} and {}), compared with neither",
                set.display(),
                first.dir.display(),
                r.dir.display()
            )));
            twice.insert(content);
            continue;
        }
        by.insert(content, (label, r));
    }
    by.retain(|c, _| !twice.contains(c));
    by
}

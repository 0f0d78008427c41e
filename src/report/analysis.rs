//! The report's analysis, pure: finished runs in; verdicts, figure series and tables out.
//! Every verdict comes from the claims registry ([`crate::claims::all`]), the same checks
//! and bands the claim tests assert.
use super::{LoadedRun, Unreadable};
pub use crate::claims::stats::Spread;
use crate::claims::stats::{self, Effect};
use crate::claims::{self, Run, Verdict};
use crate::experiment::Experiment;
use crate::randomize::Randomization;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A claim judged on the runs of one seed, or why it could not be.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    pub claim: String,
    pub statement: String,
    pub seed: u64,
    /// `None` when the claim is incomplete: some of its runs are missing or unreadable.
    pub verdict: Option<Verdict>,
    /// The runs it needs and lacks (preset names).
    pub missing: Vec<String>,
}

impl Judged {
    pub fn status(&self) -> &'static str {
        match &self.verdict {
            Some(v) => v.status(),
            None => "incomplete",
        }
    }
}

/// One line of a figure, with its band over seeds.
pub use super::figures::Series;

/// Fig. 1a for one family: training loss against SGD steps per randomization.
#[derive(Debug, Clone, Serialize)]
pub struct Fig1a {
    pub family: String,
    pub series: Vec<Series>,
}

/// A row of the Table 1-style comparison.
#[derive(Debug, Clone, Serialize)]
pub struct TableRow {
    pub run: String,
    pub model: String,
    pub dataset: String,
    pub augment: bool,
    pub weight_decay: f64,
    pub dropout: f64,
    pub random_labels: bool,
    pub train_acc: f64,
    pub test_acc: f64,
    /// The paper's Table 1 row for the same model and data set (CIFAR-10 only), when the
    /// run matches one: (train, test) accuracy as fractions.
    pub paper: Option<(f64, f64)>,
}

/// One cell of the AlexNet/ResNet18 grid (model × randomization × regularizer), over the seeds
/// found among the runs.
#[derive(Debug, Clone, Serialize)]
pub struct GridCell {
    /// The grid preset.
    pub preset: String,
    pub model: String,
    pub randomization: String,
    /// `none`, `weight decay` or `dropout`.
    pub regularizer: String,
    pub seeds: Vec<u64>,
    pub train_acc: Spread,
    pub test_acc: Spread,
    /// Over the seeds whose run fitted; `None` when none did.
    pub epochs_to_fit: Option<Spread>,
    /// How many of the seeds' runs fitted (reached their target train accuracy).
    pub fitted: usize,
}

/// A claim's verdicts over the seeds it was judged on.
#[derive(Debug, Clone, Serialize)]
pub struct Tally {
    pub claim: String,
    pub holds: usize,
    pub fails: usize,
    pub not_robust: usize,
    pub incomplete: usize,
}

/// One of Xiao, Wang, Liu and Yu's conclusions ([`claims::CONCLUSIONS`]) at one scale, answered by the
/// effects over seeds of the claim that tests it there.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub conclusion: &'static str,
    pub words: &'static str,
    pub claim: String,
    pub scale: String,
    /// "holds" when every effect holds over the registered seeds; "does not hold" when one
    /// does not; "not robust" when one straddles its expectation and none fails;
    /// "incomplete" when one has no interval (fewer than two seeds, or a missing value).
    pub status: &'static str,
}

/// Everything the report shows, computed from the runs alone.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub judged: Vec<Judged>,
    /// Each judged claim's verdicts counted over seeds, in registry order.
    pub tallies: Vec<Tally>,
    /// Every paired measure over the registered seeds, claim by claim in registry order.
    pub effects: Vec<Effect>,
    /// Xiao, Wang, Liu and Yu's conclusions, at each scale whose claim was judged.
    pub answers: Vec<Answer>,
    /// The AlexNet/ResNet18 grid, cell by cell, where its runs are present.
    pub grid: Vec<GridCell>,
    pub fig1a: Vec<Fig1a>,
    /// Fig. 1b: epochs to fit relative to P = 0, against P.
    pub fig1b: Vec<Series>,
    /// Fig. 1c: train and test error against P.
    pub fig1c: Vec<Series>,
    pub table: Vec<TableRow>,
}

/// The same experiment, whatever the run was named, at a test cadence that measures at
/// least what the wanted one does ([`Experiment::covers`]).
fn same_setup(run: &Experiment, want: &Experiment) -> bool {
    run.covers(want)
}

/// Judges every claim of the registry, once per seed found among the runs. A claim none of
/// whose runs are present (readable or not) is left out; one that lacks some, or has one
/// that cannot be read, is `incomplete` and names them.
pub fn judge(runs: &[LoadedRun], unreadable: &[Unreadable]) -> Vec<Judged> {
    let seeds: BTreeSet<u64> = runs
        .iter()
        .map(|r| r.exp.train.seed)
        .chain(
            unreadable
                .iter()
                .filter_map(|u| u.exp.as_ref().map(|e| e.train.seed)),
        )
        .collect();
    let mut out = Vec::new();
    for claim in claims::all() {
        let Ok(wanted) = claim.experiments() else {
            continue;
        };
        for &seed in &seeds {
            let wanted: Vec<Experiment> = wanted
                .iter()
                .map(|w| {
                    let mut w = w.clone();
                    w.train.seed = seed;
                    w
                })
                .collect();
            let found: Vec<Option<&LoadedRun>> = wanted
                .iter()
                .map(|w| runs.iter().find(|r| same_setup(&r.exp, w)))
                .collect();
            let broken: Vec<Option<&Unreadable>> = wanted
                .iter()
                .map(|w| {
                    unreadable
                        .iter()
                        .find(|u| u.exp.as_ref().is_some_and(|e| same_setup(e, w)))
                })
                .collect();
            if found.iter().all(Option::is_none) && broken.iter().all(Option::is_none) {
                continue;
            }
            let missing: Vec<String> = wanted
                .iter()
                .zip(found.iter().zip(&broken))
                .filter(|(_, (f, _))| f.is_none())
                .map(|(w, (_, b))| match b {
                    Some(u) => format!("{} (unreadable: {})", w.name, u.dir.display()),
                    None => w.name.clone(),
                })
                .collect();
            let verdict = if missing.is_empty() {
                let refs: Vec<&dyn Run> = found.iter().flatten().map(|r| *r as &dyn Run).collect();
                claim.judge(&refs).ok()
            } else {
                None
            };
            out.push(Judged {
                claim: claim.id.into(),
                statement: claim.statement.into(),
                seed,
                verdict,
                missing,
            });
        }
    }
    out
}

impl Tally {
    /// The seeds the claim was judged on.
    pub fn total(&self) -> usize {
        self.holds + self.fails + self.not_robust + self.incomplete
    }
}

/// Each judged claim's verdicts counted over seeds, in the order of `judged`.
pub fn tallies(judged: &[Judged]) -> Vec<Tally> {
    let mut out: Vec<Tally> = Vec::new();
    for j in judged {
        let i = match out.iter().position(|t| t.claim == j.claim) {
            Some(i) => i,
            None => {
                out.push(Tally {
                    claim: j.claim.clone(),
                    holds: 0,
                    fails: 0,
                    not_robust: 0,
                    incomplete: 0,
                });
                out.len() - 1
            }
        };
        match j.status() {
            "holds" => out[i].holds += 1,
            "does not hold" => out[i].fails += 1,
            "not robust" => out[i].not_robust += 1,
            _ => out[i].incomplete += 1,
        }
    }
    out
}

/// Every claim's paired measures over the seeds registered for its scale
/// (golden/seeds.json), from its verdicts; a claim with no verdict has none.
pub fn effects(judged: &[Judged]) -> Vec<Effect> {
    claims::all()
        .flat_map(|c| {
            let verdicts: Vec<&Verdict> = judged
                .iter()
                .filter(|j| j.claim == c.id)
                .filter_map(|j| j.verdict.as_ref())
                .collect();
            let registered = stats::registered_seeds(c.scale).unwrap_or(&[]);
            stats::effects(&verdicts, registered)
        })
        .collect()
}

/// Xiao, Wang, Liu and Yu's conclusions at each scale whose claim has effects among
/// `effects`.
pub fn answers(effects: &[Effect]) -> Vec<Answer> {
    let mut out = Vec::new();
    for c in claims::CONCLUSIONS {
        for id in c.claims {
            let mine: Vec<&Effect> = effects.iter().filter(|e| e.claim == *id).collect();
            if mine.is_empty() {
                continue;
            }
            let any = |s: &str| mine.iter().any(|e| e.status == s);
            let status = if any("incomplete") {
                "incomplete"
            } else if any("does not hold") {
                "does not hold"
            } else if any("not robust") {
                "not robust"
            } else {
                "holds"
            };
            out.push(Answer {
                conclusion: c.name,
                words: c.words,
                claim: (*id).into(),
                scale: claims::claim(id).map_or(String::new(), |k| k.scale.name()),
                status,
            });
        }
    }
    out
}

/// The AlexNet/ResNet18 grid: every grid preset with at least one run (any seed) among `runs`.
pub fn grid(runs: &[LoadedRun]) -> Vec<GridCell> {
    crate::experiment::presets::grid_presets()
        .into_iter()
        .filter_map(|p| {
            let want = p.experiment();
            let found: Vec<&LoadedRun> = runs
                .iter()
                .filter(|r| {
                    let mut w = want.clone();
                    w.train.seed = r.exp.train.seed;
                    same_setup(&r.exp, &w)
                })
                .collect();
            if found.is_empty() {
                return None;
            }
            let pick =
                |f: fn(&LoadedRun) -> f64| -> Vec<f64> { found.iter().map(|r| f(r)).collect() };
            let fits: Vec<f64> = found
                .iter()
                .filter(|r| r.summary.status == crate::record::Stop::TargetReached)
                .filter_map(|r| r.summary.epochs_to_fit.map(|e| e as f64))
                .collect();
            let regs = p.regularizers;
            Some(GridCell {
                preset: p.to_string(),
                model: p.model.to_string(),
                randomization: p.randomization.to_string(),
                regularizer: if regs.weight_decay {
                    "weight decay"
                } else if regs.dropout {
                    "dropout"
                } else {
                    "none"
                }
                .into(),
                seeds: found.iter().map(|r| r.exp.train.seed).collect(),
                train_acc: Spread::of(&pick(|r| r.summary.final_train_acc))?,
                test_acc: Spread::of(&pick(|r| r.summary.final_test_acc))?,
                epochs_to_fit: Spread::of(&fits),
                fitted: fits.len(),
            })
        })
        .collect()
}

/// The corruption level a randomization amounts to, for Fig. 1b/1c.
fn corruption(r: Randomization) -> Option<f64> {
    match r {
        Randomization::TrueLabels => Some(0.0),
        Randomization::RandomLabels => Some(1.0),
        Randomization::Corrupt(p) => Some(p),
        _ => None,
    }
}

/// Runs that differ only in their name, randomization, seed and test cadence share a family.
fn family_key(e: &Experiment) -> String {
    let mut e = e.clone();
    e.name = String::new();
    e.randomization = Randomization::TrueLabels;
    e.train.seed = 0;
    // The test cadence changes no training number (a family's curves are training curves).
    e.train.test_every = 0;
    serde_json::to_string(&e).unwrap_or_default()
}

/// A family in words: model, data set, subset size, regularizers.
pub fn family_label(e: &Experiment) -> String {
    let mut regs = Vec::new();
    if e.train.weight_decay > 0.0 {
        regs.push(format!("wd {}", e.train.weight_decay));
    }
    if e.dropout > 0.0 {
        regs.push(format!("dropout {}", e.dropout));
    }
    if e.train.augment {
        regs.push("augment".to_string());
    }
    let size = e.train_size.map_or("all".to_string(), |n| n.to_string());
    let extra: String = regs.iter().map(|r| format!(", {r}")).collect();
    format!("{} on {} ({size} train{extra})", e.model, e.dataset)
}

/// Runs grouped by seed, in seed order; each group keeps the runs' order.
fn group_by_seed<'a>(
    runs: impl Iterator<Item = &'a LoadedRun>,
) -> BTreeMap<u64, Vec<&'a LoadedRun>> {
    let mut out: BTreeMap<u64, Vec<&LoadedRun>> = BTreeMap::new();
    for r in runs {
        out.entry(r.exp.train.seed).or_default().push(r);
    }
    out
}

/// A family's runs by seed (the first run of each seed, in seed order).
fn by_seed<'a>(runs: impl Iterator<Item = &'a LoadedRun>) -> BTreeMap<u64, &'a LoadedRun> {
    group_by_seed(runs)
        .into_iter()
        .map(|(seed, group)| (seed, group[0]))
        .collect()
}

/// One curve per seed as one series: the curve itself for one seed; for several, the
/// median at each x that any curve has, over the curves that have it, with their range as
/// the band.
pub fn median_series(label: String, curves: &[Vec<(f64, f64)>]) -> Series {
    if let [one] = curves {
        return Series::line(label, one.clone());
    }
    let mut all: Vec<(f64, f64)> = curves.iter().flatten().copied().collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut points, mut band) = (Vec::new(), Vec::new());
    for group in all.chunk_by(|a, b| a.0 == b.0) {
        let ys: Vec<f64> = group.iter().map(|p| p.1).collect();
        if let Some(s) = Spread::of(&ys) {
            points.push((group[0].0, s.median));
            band.push((group[0].0, s.min, s.max));
        }
    }
    Series {
        label,
        points,
        band,
    }
}

/// How a figure names the seeds it summarizes.
fn seeds_note(n: usize) -> String {
    if n > 1 {
        format!(", median and range over {n} seeds")
    } else {
        String::new()
    }
}

/// Verdicts, figure series and the table from `runs` (and the runs that could not be read,
/// which make their claims incomplete).
pub fn analyze(runs: &[LoadedRun], unreadable: &[Unreadable]) -> Analysis {
    let mut families: BTreeMap<String, Vec<&LoadedRun>> = BTreeMap::new();
    for r in runs {
        families.entry(family_key(&r.exp)).or_default().push(r);
    }

    // Fig. 1a: families with input randomizations beside the labels (a true/random pair
    // alone, as in the regularizer grid, is compared in the table instead); each
    // randomization's curve over the family's seeds.
    let mut fig1a = Vec::new();
    for fam in families.values() {
        let per: Vec<(Randomization, BTreeMap<u64, &LoadedRun>)> = Randomization::FIG1A
            .iter()
            .map(|r| {
                (
                    *r,
                    by_seed(fam.iter().copied().filter(|x| x.exp.randomization == *r)),
                )
            })
            .filter(|(_, seeds)| !seeds.is_empty())
            .collect();
        if per.len() < 3 {
            continue;
        }
        let seeds = per.iter().map(|(_, s)| s.len()).max().unwrap_or(1);
        let first = per[0].1.values().next().expect("a non-empty map");
        fig1a.push(Fig1a {
            family: format!("{}{}", family_label(&first.exp), seeds_note(seeds)),
            series: per
                .iter()
                .map(|(r, runs)| {
                    let curves: Vec<Vec<(f64, f64)>> = runs
                        .values()
                        .map(|x| {
                            x.metrics
                                .iter()
                                .map(|m| (m.step as f64, m.train_loss))
                                .collect()
                        })
                        .collect();
                    median_series(r.to_string(), &curves)
                })
                .collect(),
        });
    }

    // Fig. 1b and 1c: families with at least three corruption levels, P = 0 among them,
    // on some seed; each seed's curve relative to its own P = 0, then over seeds.
    let (mut fig1b, mut fig1c) = (Vec::new(), Vec::new());
    for fam in families.values() {
        let seeds: Vec<Vec<(f64, &LoadedRun)>> = group_by_seed(fam.iter().copied())
            .into_values()
            .filter_map(|runs| {
                let mut pts: Vec<(f64, &LoadedRun)> = Vec::new();
                for r in runs {
                    if let Some(p) = corruption(r.exp.randomization) {
                        if !pts.iter().any(|(q, _)| *q == p) {
                            pts.push((p, r));
                        }
                    }
                }
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (pts.len() >= 3 && pts[0].0 == 0.0).then_some(pts)
            })
            .collect();
        let Some(first) = seeds.first() else {
            continue;
        };
        let label = family_label(&first[0].1.exp);
        let note = seeds_note(seeds.len());
        let relative = |pts: &[(f64, &LoadedRun)], t: f64| -> Vec<(f64, f64)> {
            let base = claims::epochs_to(pts[0].1, t);
            pts.iter()
                .filter_map(|(p, r)| Some((*p, claims::epochs_to(*r, t)? as f64 / base? as f64)))
                .collect()
        };
        for (what, t) in [("to 100%", 1.0), ("to 90%", 0.9)] {
            let curves: Vec<_> = seeds.iter().map(|pts| relative(pts, t)).collect();
            fig1b.push(median_series(format!("{label}, {what}{note}"), &curves));
        }
        for (what, acc) in [
            (
                "test",
                (|r: &LoadedRun| r.summary.final_test_acc) as fn(&LoadedRun) -> f64,
            ),
            ("train", |r: &LoadedRun| r.summary.final_train_acc),
        ] {
            let curves: Vec<_> = seeds
                .iter()
                .map(|pts| pts.iter().map(|(p, r)| (*p, 1.0 - acc(r))).collect())
                .collect();
            fig1c.push(median_series(format!("{label}, {what}{note}"), &curves));
        }
    }

    // Table 1: every true- or random-label run, the paper's row beside the runs it has one
    // for (`paper::table1_row`).
    let mut table: Vec<TableRow> = runs
        .iter()
        .filter_map(|r| {
            let random = match r.exp.randomization {
                Randomization::TrueLabels => false,
                Randomization::RandomLabels => true,
                _ => return None,
            };
            let model = r.exp.model.name();
            let paper =
                crate::paper::table1_row(&r.exp).map(|p| (p.train_acc / 100.0, p.test_acc / 100.0));
            Some(TableRow {
                run: r.exp.name.clone(),
                model,
                dataset: r.exp.dataset.name(),
                augment: r.exp.train.augment,
                weight_decay: r.exp.train.weight_decay,
                dropout: r.exp.dropout,
                random_labels: random,
                train_acc: r.summary.final_train_acc,
                test_acc: r.summary.final_test_acc,
                paper,
            })
        })
        .collect();
    table.sort_by(|a, b| {
        let key = |t: &TableRow| {
            (
                t.random_labels,
                t.dataset.clone(),
                t.model.clone(),
                t.augment,
                t.weight_decay > 0.0,
                t.dropout > 0.0,
                t.run.clone(),
            )
        };
        key(a).cmp(&key(b))
    });

    let judged = judge(runs, unreadable);
    let effects = effects(&judged);
    Analysis {
        tallies: tallies(&judged),
        answers: answers(&effects),
        effects,
        grid: grid(runs),
        judged,
        fig1a,
        fig1b,
        fig1c,
        table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::testutil::fake;

    fn loaded(preset: &str, to90: usize, test: f64) -> LoadedRun {
        fitting(preset, to90, to90 + 100, test)
    }

    /// A run that reaches 90% train accuracy at epoch `to90` and fits at `fit`.
    fn fitting(preset: &str, to90: usize, fit: usize, test: f64) -> LoadedRun {
        let r = fake(preset, to90, Some(fit), test);
        LoadedRun {
            dir: preset.into(),
            exp: r.experiment,
            summary: r.summary,
            metrics: r.metrics,
        }
    }

    #[test]
    fn verdicts_figures_and_table_come_from_the_runs_alone() {
        let claim = claims::claim("label-corruption").unwrap();
        let t90 = [20, 70, 85, 90, 95, 95, 100];
        let mut runs: Vec<LoadedRun> = claim
            .runs
            .iter()
            .enumerate()
            .map(|(i, p)| loaded(p, t90[i], 0.8 - 0.1 * i as f64))
            .collect();
        // The gaussian run is unreadable: its claim is incomplete and names it.
        let gaussian = loaded("fashion-cpu-gaussian", 20, 0.1);
        let broken = Unreadable {
            dir: "runs/fashion-cpu-gaussian".into(),
            exp: Some(gaussian.exp.clone()),
            why: "summary.json: invalid json".into(),
        };
        // A run of another seed is judged on its own, and a lone one is incomplete.
        let mut other_seed = loaded("fashion-cpu-true-labels", 20, 0.8);
        other_seed.exp.train.seed = 7;
        runs.push(other_seed);
        let a = analyze(&runs, &[broken]);
        let find = |id: &str, seed: u64| {
            a.judged
                .iter()
                .find(|j| j.claim == id && j.seed == seed)
                .unwrap_or_else(|| panic!("no verdict for {id} seed {seed}: {:?}", a.judged))
        };
        assert_eq!(find("label-corruption", 0).status(), "holds");
        assert_eq!(find("mlp-random-labels-fit-slower", 0).status(), "holds");
        let g = find("mlp-fits-gaussian", 0);
        assert_eq!(g.status(), "incomplete");
        assert!(
            g.missing[0].contains("unreadable: runs/fashion-cpu-gaussian"),
            "{g:?}"
        );
        assert_eq!(find("mlp-fits-true-labels", 7).status(), "holds");
        assert_eq!(find("label-corruption", 7).status(), "incomplete");
        assert!(!a.judged.iter().any(|j| j.claim.starts_with("alexnet")));
        // Fig. 1b/1c from the seed-0 sweep (the lone seed-7 run is no sweep).
        assert_eq!(a.fig1b.len(), 2);
        assert_eq!(a.fig1c.len(), 2);
        assert_eq!(a.fig1c[0].points.len(), 7);
        // No paper numbers beside Fashion-MNIST runs.
        assert!(!a.table.is_empty() && a.table.iter().all(|t| t.paper.is_none()));
    }

    #[test]
    fn runs_evaluated_more_often_than_their_preset_are_judged_as_its_runs() {
        // The CPU presets evaluate the test set after the last epoch only; these runs of
        // them evaluated it every epoch (a results directory written before the cadence,
        // or with --test-every 1): the same training, so the same verdicts and figures.
        let claim = claims::claim("label-corruption").unwrap();
        let t90 = [20, 70, 85, 90, 95, 95, 100];
        let runs: Vec<LoadedRun> = claim
            .runs
            .iter()
            .enumerate()
            .map(|(i, p)| loaded(p, t90[i], 0.8 - 0.1 * i as f64))
            .collect();
        let every_epoch: Vec<LoadedRun> = runs
            .iter()
            .cloned()
            .map(|mut r| {
                r.exp.train.test_every = 1;
                r
            })
            .collect();
        let (a, b) = (analyze(&runs, &[]), analyze(&every_epoch, &[]));
        let statuses = |a: &Analysis| -> Vec<(String, &'static str)> {
            a.judged
                .iter()
                .map(|j| (j.claim.clone(), j.status()))
                .collect()
        };
        assert!(a.judged.iter().any(|j| j.claim == "label-corruption"));
        assert_eq!(statuses(&a), statuses(&b));
        assert_eq!(
            (a.fig1b.len(), a.fig1c.len()),
            (b.fig1b.len(), b.fig1c.len())
        );
    }

    #[test]
    fn figures_over_seeds_draw_the_median_with_the_range_as_a_band() {
        // Seeds 0-2 of the MLP's corruption sweep and random pixels; seed s reaches 90% at
        // epoch 20 + s (P = 0) and later at higher P.
        let claim = claims::claim("label-corruption").unwrap();
        let mut runs = Vec::new();
        for seed in 0..3usize {
            let presets = claim
                .runs
                .iter()
                .copied()
                .chain(["fashion-cpu-random-pixels"]);
            for (i, p) in presets.enumerate() {
                let mut r = loaded(p, 20 + seed + 10 * i, 0.8 - 0.1 * i as f64);
                r.exp.train.seed = seed as u64;
                runs.push(r);
            }
        }
        let a = analyze(&runs, &[]);
        assert_eq!(a.fig1a.len(), 1, "{:?}", a.fig1a);
        let f = &a.fig1a[0];
        assert!(
            f.family.ends_with("median and range over 3 seeds"),
            "{}",
            f.family
        );
        assert_eq!(f.series.len(), 3);
        let truth = &f.series[0];
        assert_eq!(truth.label, "true-labels");
        // At step 8 (epoch 1) the median is seed 1's loss; the band runs from seed 0's (the
        // fastest) to seed 2's.
        let loss = |to90: f64| 2.3 * (1.0 - (0.1 + 0.8 / to90));
        assert_eq!(truth.points[1], (8.0, loss(21.0)));
        assert_eq!(truth.band[1], (8.0, loss(20.0), loss(22.0)));
        // Seeds stop at different epochs: the line runs to the last seed's last step.
        assert_eq!(truth.points.last().unwrap().0, 8.0 * 122.0);
        for s in f.series.iter() {
            assert_eq!(s.points.len(), s.band.len());
            assert!(s
                .points
                .iter()
                .zip(&s.band)
                .all(|(p, b)| p.0 == b.0 && b.1 <= p.1 && p.1 <= b.2));
        }
        // Fig. 1b/1c: each seed relative to its own P = 0, then over seeds.
        assert_eq!((a.fig1b.len(), a.fig1c.len()), (2, 2));
        let to90 = &a.fig1b[1];
        assert!(to90.label.contains("to 90%, median and range over 3 seeds"));
        assert_eq!(to90.points.len(), 7);
        let t90 = |s: usize, i: usize| claims::epochs_to(&runs[8 * s + i], 0.9).unwrap() as f64;
        let at = |s: usize, i: usize| t90(s, i) / t90(s, 0);
        assert_eq!(to90.band[6], (1.0, at(2, 6), at(0, 6)));
        assert_eq!(to90.points[6], (1.0, at(1, 6)));
        // One seed alone is drawn as it is, with no band.
        let one = analyze(&runs[..8], &[]);
        assert!(!one.fig1a[0].family.contains("seeds"));
        assert!(one.fig1a[0].series.iter().all(|s| s.band.is_empty()));
        // The band reaches the drawing: one filled polygon per series.
        let tmp = tempfile::tempdir().unwrap();
        let chart = super::super::figures::Chart {
            title: "bands".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            integer_x: true,
            y_from_zero: true,
            series: f.series.clone(),
        };
        let (svg, _) = super::super::figures::write(tmp.path(), "bands", &chart).unwrap();
        let svg = std::fs::read_to_string(svg).unwrap();
        assert_eq!(svg.matches("<polygon").count(), 3, "{svg:.400}");
    }

    #[test]
    fn the_grid_gives_medians_ranges_and_verdict_counts_over_seeds() {
        // Random labels on both nets, seeds 0-2; seed 2's ResNet18 run lands far from chance.
        let mut runs = Vec::new();
        for seed in 0..3u64 {
            for (p, test) in [
                (
                    "fashion-grid-alexnet-random-labels",
                    0.08 + 0.01 * seed as f64,
                ),
                (
                    "fashion-grid-resnet18-random-labels",
                    if seed == 2 { 0.5 } else { 0.1 },
                ),
            ] {
                let mut r = loaded(p, 20 + seed as usize, test);
                r.exp.train.seed = seed;
                runs.push(r);
            }
        }
        let a = analyze(&runs, &[]);
        assert_eq!(a.grid.len(), 2, "{:?}", a.grid);
        let alexnet = &a.grid[0];
        assert_eq!(alexnet.preset, "fashion-grid-alexnet-random-labels");
        assert_eq!(alexnet.seeds, [0, 1, 2]);
        assert_eq!(alexnet.fitted, 3);
        let t = alexnet.test_acc;
        assert!(
            (t.median - 0.09).abs() < 1e-12
                && (t.min - 0.08).abs() < 1e-12
                && (t.max - 0.10).abs() < 1e-12,
            "{t:?}"
        );
        assert_eq!(alexnet.epochs_to_fit.unwrap().min, 120.0);
        let tally = a
            .tallies
            .iter()
            .find(|t| t.claim == "grid-fits-random-labels")
            .unwrap();
        assert_eq!((tally.holds, tally.fails, tally.incomplete), (2, 1, 0));
        // A claim with none of its runs present is not counted at all.
        assert!(!a.tallies.iter().any(|t| t.claim == "grid-fits-true-labels"));
    }

    #[test]
    fn paired_measures_give_intervals_over_the_registered_seeds_and_answer_xiao_wang_liu_and_yus_conclusions(
    ) {
        // Seeds 0-3 of the architecture claim's four runs: ResNet18 about 25 points below
        // AlexNet, whose regularizers gain about a point; seed 50 is not registered.
        let mut runs = Vec::new();
        for seed in [0u64, 1, 2, 3, 50] {
            let d = 0.01 * (seed % 4) as f64;
            for (p, test) in [
                ("fashion-grid-alexnet-true-labels", 0.70 + d),
                ("fashion-grid-alexnet-weight-decay-true-labels", 0.71 + d),
                ("fashion-grid-alexnet-dropout-true-labels", 0.715 + d),
                ("fashion-grid-resnet18-true-labels", 0.45 + 2.0 * d),
            ] {
                let mut r = loaded(p, 20, test);
                r.exp.train.seed = seed;
                // As `reproduce --seeds` names seed K's runs.
                if seed > 0 {
                    r.summary.name = format!("{p}-seed{seed}");
                    r.exp.name = r.summary.name.clone();
                }
                runs.push(r);
            }
        }
        let a = analyze(&runs, &[]);
        let margin: Vec<&Effect> = a
            .effects
            .iter()
            .filter(|e| e.claim == "grid-architecture-over-regularizers")
            .collect();
        assert_eq!(margin.len(), 1, "{:?}", a.effects);
        let m = margin[0];
        assert_eq!(
            (m.seeds.clone(), m.unregistered.clone()),
            (vec![0, 1, 2, 3], vec![50])
        );
        // Per seed: (0.45 + 2d - 0.70 - d) - (0.715 + d - 0.70 - d) = -0.265 + d.
        for (v, d) in m.values.iter().zip([0.0, 0.01, 0.02, 0.03]) {
            assert!((v - (-0.265 + d)).abs() < 1e-9, "{:?}", m.values);
        }
        let i = m.interval.unwrap();
        assert!((i.mean + 0.25).abs() < 1e-9 && i.hi < 0.0, "{i:?}");
        assert_eq!(m.status, "does not hold");
        // Each seed alone says "not robust": only over seeds is the margin judged.
        assert!(a
            .judged
            .iter()
            .filter(|j| j.claim == m.claim)
            .all(|j| j.status() == "not robust"));
        let answer = a
            .answers
            .iter()
            .find(|x| x.claim == "grid-architecture-over-regularizers")
            .unwrap();
        assert_eq!(
            (answer.status, answer.scale.as_str()),
            ("does not hold", "grid")
        );
        // The regularization claim needs ResNet18's regularized runs too: none, no answer.
        assert!(!a
            .answers
            .iter()
            .any(|x| x.claim == "grid-regularization-not-necessary"));

        let render = |a: &Analysis, runs: &[LoadedRun]| {
            super::super::render::markdown(
                std::path::Path::new("out"),
                a,
                runs,
                &[],
                "test machine",
                ("", ""),
            )
        };
        let md = render(&a, &runs);
        assert!(md.contains("### Effects over seeds"), "{md}");
        assert!(md.contains("-0.2500 [-0.2"), "{md}");
        assert!(md.contains(", n = 4 |"), "{md}");
        assert!(md.contains("seeds not registered, left out: 50"), "{md}");
        assert!(
            md.contains("- **architecture over regularizers**")
                && md.contains("contradicted at grid scale")
                && md.contains("0 of 1 intervals lie wholly above zero"),
            "{md}"
        );

        // One seed alone: the effect is incomplete, and so is the answer.
        let one: Vec<LoadedRun> = runs
            .iter()
            .filter(|r| r.exp.train.seed == 0)
            .cloned()
            .collect();
        let a = analyze(&one, &[]);
        assert!(a
            .effects
            .iter()
            .all(|e| e.status == "incomplete" && e.interval.is_none()));
        assert!(a.answers.iter().all(|x| x.status == "incomplete"));
        let md = render(&a, &one);
        assert!(
            md.contains("which needs runs of two or more registered seeds"),
            "{md}"
        );
        assert!(!md.contains("| claim | measure | expected"), "{md}");
    }

    /// One level's recorded mid values (a `per_seed` block of golden/mid-bands.json: test
    /// accuracies and paired gains per seed) rebuilt as the seven fitting runs of each seed,
    /// ResNet18's two runs moved by `resnet18_shift`, and analyzed as `rethink report` does.
    fn mid_level(per_seed: &serde_json::Value, resnet18_shift: f64) -> Analysis {
        let v = |key: &str, seed: &str, i: usize| per_seed[key][seed][i].as_f64().unwrap();
        let mut runs = Vec::new();
        for seed in per_seed["alexnet_test_acc"].as_object().unwrap().keys() {
            let (alexnet, resnet18) = (
                v("alexnet_test_acc", seed, 0),
                v("resnet18_test_acc", seed, 0) + resnet18_shift,
            );
            for (p, test) in [
                ("fashion-mid-alexnet-true-labels", alexnet),
                (
                    "fashion-mid-alexnet-weight-decay-true-labels",
                    alexnet + v("regularizer_effect", seed, 0),
                ),
                (
                    "fashion-mid-alexnet-dropout-true-labels",
                    alexnet + v("regularizer_effect", seed, 1),
                ),
                (
                    "fashion-mid-alexnet-augment-true-labels",
                    alexnet + v("augmentation_effect", seed, 0),
                ),
                ("fashion-mid-resnet18-true-labels", resnet18),
                (
                    "fashion-mid-resnet18-weight-decay-true-labels",
                    resnet18 + v("regularizer_effect", seed, 2),
                ),
                (
                    "fashion-mid-mlp1x512-true-labels",
                    v("mlp_test_acc", seed, 0),
                ),
            ] {
                let mut r = fitting(p, 10, 20, test);
                r.exp.train.seed = seed.parse().unwrap();
                if seed != "0" {
                    r.summary.name = format!("{p}-seed{seed}");
                    r.exp.name = r.summary.name.clone();
                }
                runs.push(r);
            }
        }
        analyze(&runs, &[])
    }

    /// Across machines, verdicts must not change: each instruction-set level and machine the
    /// mid scale was measured on (the calibration and every `levels_measured_elsewhere`
    /// block with per-seed values) answers Xiao, Wang, Liu and Yu's conclusions 4 and 5 as
    /// the calibration does, judged over its seeds by the report's own code.
    #[test]
    fn every_measured_level_answers_the_slides_conclusions_as_the_calibration_does() {
        let g: serde_json::Value = serde_json::from_str(claims::bands::MID_BANDS).unwrap();
        let p = &g["provenance"];
        let mut levels = vec![("native", &p["per_seed"])];
        for (name, l) in p["levels_measured_elsewhere"].as_object().unwrap() {
            if l["per_seed"].is_object() {
                levels.push((name.as_str(), &l["per_seed"]));
            }
        }
        assert!(levels.len() >= 4, "{:?}", levels.iter().map(|l| l.0));
        let answers = |a: &Analysis| -> Vec<(String, &'static str)> {
            a.answers
                .iter()
                .map(|x| (x.claim.clone(), x.status))
                .collect()
        };
        let expected = vec![
            ("mid-regularization-not-necessary".to_string(), "holds"),
            (
                "mid-architecture-over-regularizers".to_string(),
                "does not hold",
            ),
        ];
        for (level, per_seed) in &levels {
            let a = mid_level(per_seed, 0.0);
            assert!(a
                .effects
                .iter()
                .all(|e| e.interval.is_some_and(|i| i.n == 5)));
            assert_eq!(answers(&a), expected, "{level}: {:#?}", a.effects);
            // Seed by seed, the verdicts are the calibration's too.
            assert_eq!(a.judged.len(), 25, "{level}");
            for j in &a.judged {
                let want = match j.claim.as_str() {
                    "mid-architecture-over-regularizers" => "not robust",
                    _ => "holds",
                };
                assert_eq!(j.status(), want, "{level}: {j:#?}");
            }
            // A single regularizer's effect and augmentation's are not robust on the
            // calibration; elsewhere an interval may clear zero by a hair (golden's
            // observations.effects_over_seeds_by_level) but none lies below it.
            for e in a.effects.iter().filter(|e| {
                e.claim == "mid-regularizer-effects" || e.claim == "mid-augmentation-effect"
            }) {
                assert_ne!(e.status, "does not hold", "{level}: {e:#?}");
            }
        }
        // Planted: ResNet18 three points better on every seed of the calibration, which
        // makes its gain over AlexNet larger than any regularizer's.
        let a = mid_level(levels[0].1, 0.03);
        assert_eq!(answers(&a)[1].1, "holds", "{:#?}", a.effects);
    }

    #[test]
    fn full_scale_runs_are_judged_by_the_gpu_claims_with_the_gpu_bands() {
        let runs = [
            loaded("cifar10-alexnet-random-labels", 20, 0.1),
            loaded("cifar10-alexnet-true-labels", 20, 0.76),
            loaded("cifar10-alexnet-weight-decay-true-labels", 20, 0.60),
        ];
        let a = analyze(&runs, &[]);
        let status = |id: &str| {
            a.judged
                .iter()
                .find(|j| j.claim == id)
                .map(|j| j.status())
                .unwrap_or_else(|| panic!("no verdict for {id}: {:?}", a.judged))
        };
        assert_eq!(status("cifar10-alexnet-fits-random-labels"), "holds");
        assert_eq!(status("cifar10-alexnet-fits-true-labels"), "holds");
        // 60% against Table 1's 77.36%, beyond the GPU band of 5 points.
        assert_eq!(
            status("cifar10-alexnet-weight-decay-fits-true-labels"),
            "does not hold"
        );
        let gpu_ids: Vec<&str> = claims::GPU.iter().map(|c| c.id).collect();
        assert!(a.judged.iter().all(|j| gpu_ids.contains(&j.claim.as_str())));
        // The paper's numbers stand beside CIFAR-10 runs of Table 1's models.
        assert!(a.table.iter().any(|t| t.paper.is_some()), "{:?}", a.table);
    }
}

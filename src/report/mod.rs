//! `rethink reproduce` and `rethink report`: the suite of experiments of a scale, and a
//! report of its run directories with the paper's Fig. 1 and Table 1 side by side.
pub mod figures;

use crate::claims::{self, Run};
use crate::error::{Error, Result};
use crate::experiment::{self, Experiment, RunDir, Scale, Summary};
use crate::randomize::Randomization;
use crate::train::EpochMetrics;
use figures::{Chart, Series};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The paper's numbers, as committed in golden/.
pub const PAPER: &str = include_str!("../../golden/paper.json");

/// What happens during `reproduce`, for progress display.
#[derive(Debug)]
pub enum Event<'a> {
    /// Run `index` of `total` starts (or is skipped because its summary is complete).
    Start {
        index: usize,
        total: usize,
        exp: &'a Experiment,
        skipped: bool,
    },
    Epoch(&'a EpochMetrics),
    Done(&'a Summary),
}

/// Where the run directories of a suite live.
pub fn runs_dir(out: &Path) -> PathBuf {
    out.join("runs")
}

/// Runs every experiment of `suite` into `out/runs/NAME`, skipping those whose
/// `summary.json` is complete, so that an interrupted reproduce resumes where it stopped.
pub fn reproduce(
    suite: &[Experiment],
    out: &Path,
    device: tch::Device,
    data_dir: Option<&Path>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<()> {
    let runs = runs_dir(out);
    std::fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, "cannot create directory", e))?;
    for (index, exp) in suite.iter().enumerate() {
        let path = runs.join(&exp.name);
        let done = RunDir::read_summary(&path).is_ok()
            && Experiment::from_file(&path.join("config.json")).is_ok_and(|e| &e == exp);
        on_event(Event::Start {
            index,
            total: suite.len(),
            exp,
            skipped: done,
        });
        if done {
            continue;
        }
        let dir = RunDir::create(&path, true)?;
        let rec = dir.train(exp, device, data_dir, &mut |m| on_event(Event::Epoch(m)))?;
        on_event(Event::Done(&rec.summary));
    }
    Ok(())
}

/// A run directory read back.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    pub dir: PathBuf,
    pub exp: Experiment,
    pub summary: Summary,
    pub metrics: Vec<EpochMetrics>,
}

impl Run for LoadedRun {
    fn summary(&self) -> &Summary {
        &self.summary
    }
    fn metrics(&self) -> &[EpochMetrics] {
        &self.metrics
    }
}

/// Reads every run directory under `dir/runs` (or `dir` itself). A run whose files are
/// missing or corrupt is skipped with a warning naming the file; the others are kept.
pub fn load_runs(dir: &Path) -> Result<(Vec<LoadedRun>, Vec<String>)> {
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
    let (mut runs, mut warnings) = (Vec::new(), Vec::new());
    for dir in paths {
        if !dir.join("config.json").is_file() && !dir.join("summary.json").exists() {
            continue;
        }
        let loaded = (|| -> Result<LoadedRun> {
            Ok(LoadedRun {
                exp: Experiment::from_file(&dir.join("config.json"))?,
                summary: RunDir::read_summary(&dir)?,
                metrics: RunDir::read_metrics(&dir)?,
                dir: dir.clone(),
            })
        })();
        match loaded {
            Ok(r) => runs.push(r),
            Err(e) => warnings.push(format!("skipped {}: {}", dir.display(), error_chain(&e))),
        }
    }
    Ok((runs, warnings))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let _ = write!(s, ": {c}");
        cur = c.source();
    }
    s
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

/// Runs that differ only in their randomization share a family.
fn family_key(e: &Experiment) -> String {
    let mut e = e.clone();
    e.name = String::new();
    e.randomization = Randomization::TrueLabels;
    serde_json::to_string(&e).unwrap_or_default()
}

fn family_label(e: &Experiment) -> String {
    let mut regs = Vec::new();
    if e.weight_decay > 0.0 {
        regs.push(format!("wd {}", e.weight_decay));
    }
    if e.dropout > 0.0 {
        regs.push(format!("dropout {}", e.dropout));
    }
    if e.augment {
        regs.push("augment".to_string());
    }
    let size = e.train_size.map_or("all".to_string(), |n| n.to_string());
    let regs = if regs.is_empty() {
        String::new()
    } else {
        format!(", {}", regs.join(", "))
    };
    format!("{} on {} ({size} train{regs})", e.model, e.dataset)
}

fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// One claim's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub claim: String,
    pub holds: bool,
    pub measured: String,
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
    pub paper_train_acc: Option<f64>,
    pub paper_test_acc: Option<f64>,
    /// The CIFAR-10 row the paper numbers come from, when ours is another data set.
    pub paper_note: Option<String>,
}

/// What `report` wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    pub runs: usize,
    pub skipped: Vec<String>,
    pub total_train_s: f64,
    pub verdicts: Vec<Verdict>,
    pub table: Vec<TableRow>,
    pub figures: Vec<String>,
    pub per_run: BTreeMap<String, serde_json::Value>,
}

/// The paper's Table 1 (CIFAR-10) row for a model with random crop / weight decay / random
/// labels on or off: (train, test) accuracy as fractions.
pub fn paper_row(model: &str, augment: bool, wd: bool, random: bool) -> Option<(f64, f64)> {
    let g: serde_json::Value = serde_json::from_str(PAPER).ok()?;
    g["table1_cifar10"]["rows"]
        .as_array()?
        .iter()
        .find_map(|r| {
            let r = r.as_array()?;
            (r[0] == model && r[2] == augment && r[3] == wd && r[4] == random)
                .then(|| Some((r[5].as_f64()? / 100.0, r[6].as_f64()? / 100.0)))?
        })
}

fn hardware() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
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

/// Writes `report.md`, the figures (SVG and PNG) and `summary.json` into `dir`.
pub fn report(dir: &Path) -> Result<ReportSummary> {
    let (runs, skipped) = load_runs(dir)?;
    let mut families: BTreeMap<String, Vec<&LoadedRun>> = BTreeMap::new();
    for r in &runs {
        families.entry(family_key(&r.exp)).or_default().push(r);
    }
    let mut figures_written = Vec::new();
    let mut verdicts = Vec::new();
    let mut md = String::new();

    // Fig. 1a: training loss against steps, per family with several randomizations.
    let mut fig1a = String::new();
    for fam in families.values() {
        let fig: Vec<&&LoadedRun> = Randomization::FIG1A
            .iter()
            .filter_map(|r| fam.iter().find(|x| x.exp.randomization == *r))
            .collect();
        // Fig. 1a needs input randomizations beside the labels; a true/random pair alone
        // (the regularizer grid) is compared in the table instead.
        if fig.len() < 3 {
            continue;
        }
        let label = family_label(&fig[0].exp);
        let chart = Chart {
            title: format!("Fig. 1a: training loss, {label}"),
            x_label: "SGD steps".into(),
            y_label: "training loss".into(),
            series: fig
                .iter()
                .map(|r| Series {
                    label: r.exp.randomization.to_string(),
                    points: r
                        .metrics
                        .iter()
                        .map(|m| (m.step as f64, m.train_loss))
                        .collect(),
                })
                .collect(),
        };
        let stem = format!("fig1a-{}", slugify(&label));
        figures::write(dir, &stem, &chart)?;
        let _ = writeln!(fig1a, "![{}]({stem}.png)\n", chart.title);
        let fits: Vec<String> = fig
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.exp.randomization,
                    r.summary
                        .epochs_to_fit
                        .map_or("not fitted".into(), |e| format!("in {e} epochs"))
                )
            })
            .collect();
        let all_fit = fig.iter().all(|r| claims::fitted(**r).is_ok());
        verdicts.push(Verdict {
            claim: format!("every randomization is fitted ({label})"),
            holds: all_fit,
            measured: fits.join("; "),
        });
        let truth = fig
            .iter()
            .find(|r| r.exp.randomization == Randomization::TrueLabels);
        let random = fig
            .iter()
            .find(|r| r.exp.randomization == Randomization::RandomLabels);
        if let (Some(t), Some(r)) = (truth, random) {
            let (lo, hi) = (
                claims::band("slowdown_fit_min"),
                claims::band("slowdown_fit_max"),
            );
            let res = claims::slowdown(**r, **t, t.summary.target_train_acc.unwrap_or(1.0), lo, hi);
            verdicts.push(Verdict {
                claim: format!(
                    "random labels fit more slowly than true labels, by a small factor ({label})"
                ),
                holds: res.is_ok(),
                measured: match res {
                    Ok(x) => format!("{x:.2}x the epochs (band [{lo}, {hi}])"),
                    Err(e) => e,
                },
            });
        }
        figures_written.push(stem);
    }

    // Fig. 1b and 1c: families with at least three corruption levels.
    let mut sweeps = Vec::new();
    for fam in families.values() {
        let mut pts: Vec<(f64, &LoadedRun)> = fam
            .iter()
            .filter_map(|r| corruption(r.exp.randomization).map(|p| (p, *r)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        if pts.len() >= 3 && pts[0].0 == 0.0 {
            sweeps.push((family_label(&pts[0].1.exp), pts));
        }
    }
    let mut fig1bc = String::new();
    if !sweeps.is_empty() {
        let rel = |pts: &[(f64, &LoadedRun)], t: f64| -> Vec<(f64, f64)> {
            let base = claims::epochs_to(pts[0].1, t);
            pts.iter()
                .filter_map(|(p, r)| Some((*p, claims::epochs_to(*r, t)? as f64 / base? as f64)))
                .collect()
        };
        let mut s1b = Vec::new();
        let mut s1c = Vec::new();
        for (label, pts) in &sweeps {
            s1b.push(Series {
                label: format!("{label}, to 100%"),
                points: rel(pts, 1.0),
            });
            s1b.push(Series {
                label: format!("{label}, to 90%"),
                points: rel(pts, 0.9),
            });
            s1c.push(Series {
                label: format!("{label}, test"),
                points: pts
                    .iter()
                    .map(|(p, r)| (*p, 1.0 - r.summary.final_test_acc))
                    .collect(),
            });
            s1c.push(Series {
                label: format!("{label}, train"),
                points: pts
                    .iter()
                    .map(|(p, r)| (*p, 1.0 - r.summary.final_train_acc))
                    .collect(),
            });
            let ps: Vec<f64> = pts.iter().map(|x| x.0).collect();
            let err: Vec<f64> = pts
                .iter()
                .map(|(_, r)| 1.0 - r.summary.final_test_acc)
                .collect();
            let rho = claims::spearman(&ps, &err);
            let min_rho = claims::band("corruption_test_error_spearman_min");
            verdicts.push(Verdict {
                claim: format!("test error grows with label corruption ({label})"),
                holds: rho >= min_rho,
                measured: format!(
                    "test error {} at P = {}; Spearman {rho:.2} (needs >= {min_rho})",
                    err.iter()
                        .map(|e| format!("{e:.3}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    ps.iter()
                        .map(|p| format!("{p}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
            let unfit: Vec<String> = pts
                .iter()
                .filter(|(_, r)| claims::fitted(*r).is_err())
                .map(|(p, _)| format!("{p}"))
                .collect();
            verdicts.push(Verdict {
                claim: format!(
                    "training still reaches its target at every corruption level ({label})"
                ),
                holds: unfit.is_empty(),
                measured: if unfit.is_empty() {
                    format!(
                        "train accuracy {} at every P",
                        pts[0].1.summary.target_train_acc.unwrap_or(1.0)
                    )
                } else {
                    format!("not fitted at P = {}", unfit.join(", "))
                },
            });
            let t90: Vec<f64> = pts
                .iter()
                .filter_map(|(_, r)| claims::epochs_to(*r, 0.9).map(|e| e as f64))
                .collect();
            if t90.len() == pts.len() {
                let jump = claims::band("corruption_time_jump_min");
                let tol = claims::band("corruption_time_tolerance");
                let grows = t90[1..].iter().all(|t| *t >= jump * t90[0])
                    && claims::non_decreasing_within(&t90, tol).is_ok();
                verdicts.push(Verdict {
                    claim: format!("time to fit grows with label corruption ({label})"),
                    holds: grows,
                    measured: format!(
                        "epochs to 90% train accuracy: {} (needs >= {jump}x P = 0, non-decreasing within {tol})",
                        t90.iter().map(|t| format!("{t}")).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
        let c1b = Chart {
            title: "Fig. 1b: time to fit, relative to true labels".into(),
            x_label: "label corruption P".into(),
            y_label: "epochs to fit / epochs at P = 0".into(),
            series: s1b,
        };
        let c1c = Chart {
            title: "Fig. 1c: error against label corruption".into(),
            x_label: "label corruption P".into(),
            y_label: "error".into(),
            series: s1c,
        };
        figures::write(dir, "fig1b", &c1b)?;
        figures::write(dir, "fig1c", &c1c)?;
        figures_written.extend(["fig1b".to_string(), "fig1c".to_string()]);
        let _ = writeln!(
            fig1bc,
            "![{}](fig1b.png)\n\n![{}](fig1c.png)\n",
            c1b.title, c1c.title
        );
    }

    // Arpit et al.: runs at P = 0.5.
    for r in runs
        .iter()
        .filter(|r| r.exp.randomization == Randomization::Corrupt(0.5))
    {
        let max = claims::band("arpit_corrupted_max");
        let res = claims::clean_first(r, 0.9, max);
        verdicts.push(Verdict {
            claim: format!(
                "clean examples are fitted before corrupted ones at P = 0.5 ({})",
                family_label(&r.exp)
            ),
            holds: res.is_ok(),
            measured: match res {
                Ok((e, c, k)) => {
                    format!("epoch {e}: clean {c:.3}, corrupted {k:.3} (needs <= {max})")
                }
                Err(e) => e,
            },
        });
    }

    // Table 1: every true- or random-label run, with the paper's matching CIFAR-10 row.
    let mut table = Vec::new();
    for r in &runs {
        let random = match r.exp.randomization {
            Randomization::TrueLabels => false,
            Randomization::RandomLabels => true,
            _ => continue,
        };
        let model = r.exp.model.name();
        let wd = r.exp.weight_decay > 0.0;
        let paper = (r.exp.dropout == 0.0)
            .then(|| paper_row(model, r.exp.augment, wd, random))
            .flatten();
        table.push(TableRow {
            run: r.exp.name.clone(),
            model: model.into(),
            dataset: r.exp.dataset.name().into(),
            augment: r.exp.augment,
            weight_decay: r.exp.weight_decay,
            dropout: r.exp.dropout,
            random_labels: random,
            train_acc: r.summary.final_train_acc,
            test_acc: r.summary.final_test_acc,
            paper_train_acc: paper.map(|p| p.0),
            paper_test_acc: paper.map(|p| p.1),
            paper_note: (paper.is_some() && r.exp.dataset != crate::data::DatasetKind::Cifar10)
                .then(|| "paper: CIFAR-10".to_string()),
        });
    }
    table.sort_by(|a, b| {
        (
            a.random_labels,
            &a.model,
            a.augment,
            a.weight_decay > 0.0,
            a.dropout > 0.0,
        )
            .partial_cmp(&(
                b.random_labels,
                &b.model,
                b.augment,
                b.weight_decay > 0.0,
                b.dropout > 0.0,
            ))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    // Regularization verdicts within each (model, data set, sizes) group.
    let plain = |random: bool| {
        runs.iter().filter(move |r| {
            r.exp.randomization
                == if random {
                    Randomization::RandomLabels
                } else {
                    Randomization::TrueLabels
                }
                && r.exp.weight_decay == 0.0
                && r.exp.dropout == 0.0
                && !r.exp.augment
        })
    };
    for p in plain(false) {
        for reg in runs.iter().filter(|r| {
            r.exp.randomization == Randomization::TrueLabels
                && r.exp.weight_decay > 0.0
                && r.exp.dropout > 0.0
                && r.exp.augment
                && r.exp.model == p.exp.model
                && r.exp.dataset == p.exp.dataset
                && r.exp.train_size == p.exp.train_size
        }) {
            let gap = reg.summary.final_test_acc - p.summary.final_test_acc;
            let max = claims::band("regularization_gap_max");
            verdicts.push(Verdict {
                claim: format!("explicit regularization is not necessary ({})", family_label(&p.exp)),
                holds: gap <= max,
                measured: format!(
                    "test accuracy {:.4} without, {:.4} with weight decay, dropout and augmentation: gap {gap:.4} (needs <= {max})",
                    p.summary.final_test_acc, reg.summary.final_test_acc
                ),
            });
        }
    }
    for reg in runs.iter().filter(|r| {
        r.exp.randomization == Randomization::RandomLabels
            && r.exp.weight_decay > 0.0
            && r.exp.dropout > 0.0
            && r.exp.augment
    }) {
        let min = claims::band("regularized_random_train_acc_min");
        verdicts.push(Verdict {
            claim: format!("explicit regularization is not sufficient ({})", family_label(&reg.exp)),
            holds: reg.summary.final_train_acc >= min,
            measured: format!("random labels reach train accuracy {:.4} with every regularizer on (needs >= {min})", reg.summary.final_train_acc),
        });
    }

    // report.md
    let total_train_s: f64 = runs.iter().map(|r| r.summary.wall_s).sum();
    let devices: std::collections::BTreeSet<&str> =
        runs.iter().map(|r| r.summary.device.as_str()).collect();
    let _ = writeln!(md, "# rethink: Zhang et al. 2017 reproduced\n");
    let _ = writeln!(
        md,
        "Zhang, Bengio, Hardt, Recht and Vinyals, *Understanding deep learning requires rethinking generalization* (ICLR 2017, arXiv:1611.03530).\n"
    );
    let _ = writeln!(
        md,
        "- runs: {} in `{}` ({} skipped)\n- hardware: {}; devices used: {}\n- libtorch 2.11.0 through tch 0.24.0\n- training time: {:.1} minutes in all (sum of the runs' wall times)\n",
        runs.len(),
        runs_dir(dir).display(),
        skipped.len(),
        hardware(),
        devices.into_iter().collect::<Vec<_>>().join(", "),
        total_train_s / 60.0
    );
    if !skipped.is_empty() {
        let _ = writeln!(md, "Runs left out of this report:\n");
        for s in &skipped {
            let _ = writeln!(md, "- {s}");
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "## Verdicts\n\n| claim | holds | measured |\n|---|---|---|"
    );
    for v in &verdicts {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            v.claim,
            if v.holds {
                "holds"
            } else {
                "**does not hold**"
            },
            v.measured.replace('|', "/")
        );
    }
    let _ = writeln!(md, "\n## Fig. 1a: fitting randomized data\n\nTraining loss against SGD steps; each line is one randomization. The paper (CIFAR-10, Inception) shows every line reaching zero, random labels last.\n\n{fig1a}");
    let _ = writeln!(md, "## Fig. 1b and 1c: label corruption\n\nTime to fit (relative to true labels) and error against the corruption level P. The paper shows training error at zero for every P while test error climbs towards chance (0.9).\n\n{fig1bc}");
    let _ = writeln!(md, "## Table 1: explicit regularization\n\nOur numbers beside the paper's Table 1 (CIFAR-10). Where our data set differs (the CPU suite trains on Fashion-MNIST), the paper's column is the same model's CIFAR-10 row, for reference; the difference then compares across data sets. Our augmentation is random crop plus horizontal flip (flips only at CPU scale, see golden/cpu-bands.json).\n");
    let _ = writeln!(md, "| run | model | data | augment | weight decay | dropout | labels | train | test | paper train | paper test | test - paper |\n|---|---|---|---|---|---|---|---|---|---|---|---|");
    for t in &table {
        let pct = |x: Option<f64>| x.map_or("".into(), |v| format!("{:.2}", v * 100.0));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {} | {}{} |",
            t.run,
            t.model,
            t.dataset,
            if t.augment { "yes" } else { "no" },
            t.weight_decay,
            t.dropout,
            if t.random_labels { "random" } else { "true" },
            t.train_acc * 100.0,
            t.test_acc * 100.0,
            pct(t.paper_train_acc),
            pct(t.paper_test_acc),
            t.paper_test_acc
                .map_or("".into(), |p| format!("{:+.2}", (t.test_acc - p) * 100.0)),
            t.paper_note
                .as_ref()
                .map_or(String::new(), |n| format!(" ({n})")),
        );
    }
    let _ = writeln!(md, "\n## Every run\n\n| run | status | epochs | epochs to fit | train | test | best test | seconds |\n|---|---|---|---|---|---|---|---|");
    let mut per_run = BTreeMap::new();
    for r in &runs {
        let s = &r.summary;
        let _ = writeln!(
            md,
            "| {} | {:?} | {} | {} | {:.4} | {:.4} | {:.4} | {:.1} |",
            s.name,
            s.status,
            s.epochs,
            s.epochs_to_fit.map_or("-".into(), |e| e.to_string()),
            s.final_train_acc,
            s.final_test_acc,
            s.best_test_acc,
            s.wall_s
        );
        per_run.insert(
            s.name.clone(),
            serde_json::json!({
                "status": s.status,
                "epochs": s.epochs,
                "epochs_to_fit": s.epochs_to_fit,
                "final_train_acc": s.final_train_acc,
                "final_test_acc": s.final_test_acc,
                "best_test_acc": s.best_test_acc,
            }),
        );
    }
    let _ = writeln!(md, "\n## How to read this\n\nEach run directory under `runs/` holds `config.json` (rerun it with `rethink run --config`), `metrics.jsonl` (one line per epoch) and `summary.json`. A verdict says whether the claim holds at this scale with the band in golden/cpu-bands.json, and what was measured. `summary.json` beside this file has the same numbers for machines.");
    let out = ReportSummary {
        runs: runs.len(),
        skipped,
        total_train_s,
        verdicts,
        table,
        figures: figures_written,
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

/// The suite for `scale`.
pub fn suite(scale: Scale) -> Vec<Experiment> {
    Experiment::suite(scale)
}

//! The report's rendering: report.md and the figures, from an [`Analysis`].
use super::analysis::{Analysis, Judged, Series};
use super::figures::{self, Chart};
use super::LoadedRun;
use crate::error::Result;
use std::fmt::Write as _;
use std::path::Path;

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

fn chart(title: String, x: &str, y: &str, integer_x: bool, series: &[Series]) -> Chart {
    Chart {
        title,
        x_label: x.into(),
        y_label: y.into(),
        integer_x,
        y_from_zero: true,
        series: series.to_vec(),
    }
}

/// Writes every figure of `a` into `dir` as SVG and PNG; returns the stems and the markdown
/// that shows them, per section (Fig. 1a, Fig. 1b/1c).
pub fn figures(dir: &Path, a: &Analysis) -> Result<(Vec<String>, String, String)> {
    let (mut stems, mut md1a, mut md1bc) = (Vec::new(), String::new(), String::new());
    for f in &a.fig1a {
        let c = chart(
            format!("Fig. 1a: training loss, {}", f.family),
            "SGD steps",
            "training loss",
            true,
            &f.series,
        );
        let stem = format!("fig1a-{}", slugify(&f.family));
        figures::write(dir, &stem, &c)?;
        let _ = writeln!(md1a, "![{}]({stem}.png)\n", c.title);
        stems.push(stem);
    }
    if !a.fig1b.is_empty() {
        for (stem, c) in [
            (
                "fig1b",
                chart(
                    "Fig. 1b: time to fit, relative to true labels".into(),
                    "label corruption P",
                    "epochs to fit / epochs at P = 0",
                    false,
                    &a.fig1b,
                ),
            ),
            (
                "fig1c",
                chart(
                    "Fig. 1c: error against label corruption".into(),
                    "label corruption P",
                    "error",
                    false,
                    &a.fig1c,
                ),
            ),
        ] {
            figures::write(dir, stem, &c)?;
            let _ = writeln!(md1bc, "![{}]({stem}.png)\n", c.title);
            stems.push(stem.into());
        }
    }
    Ok((stems, md1a, md1bc))
}

/// `text` as one Markdown table cell: a `|` would end the cell and a line break the row,
/// and run names come from the run directories, so both are escaped.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn verdict_row(j: &Judged) -> String {
    let measured = match &j.verdict {
        Some(v) => v
            .measures
            .iter()
            .map(|m| {
                let band = m
                    .band
                    .as_ref()
                    .map_or(" (reported, not asserted)".into(), |b| {
                        format!(" (band {}: {})", b.name, b.describe())
                    });
                format!(
                    "{}{}: {}{band}",
                    if m.holds { "" } else { "**" },
                    m.what,
                    m.detail
                ) + if m.holds { "" } else { "**" }
            })
            .collect::<Vec<_>>()
            .join("<br>"),
        None => format!("missing or unreadable runs: {}", j.missing.join(", ")),
    };
    let status = match j.status() {
        "holds" => "holds".to_string(),
        s => format!("**{s}**"),
    };
    format!(
        "| {} | {} | {} | {status} | {} |",
        j.claim,
        j.statement,
        j.seed,
        cell(&measured.replace('|', "/"))
    )
}

/// A spread as `show` writes each number: the median, and the range when the seeds differ.
fn spread(s: &super::analysis::Spread, show: impl Fn(f64) -> String) -> String {
    if s.min == s.max {
        show(s.median)
    } else {
        format!("{} ({}-{})", show(s.median), show(s.min), show(s.max))
    }
}

/// An accuracy in percent with one decimal.
fn pct(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

/// The section "The AlexNet/ResNet18 grid": the grid as a table, and its claims' verdicts.
fn grid_section(a: &Analysis) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "\n## The AlexNet/ResNet18 grid\n\nXiao, Wang, Liu and Yu's reproduction (slides), which this project started from: AlexNet and ResNet18 on Fashion-MNIST with true labels, random labels and random pixels, and with weight decay or dropout (the grid presets `fashion-grid-*`: both nets on the same 128 training and 300 test images, stopping at 100% train accuracy). Accuracies in percent; over several RNG seeds, the median and the range. Fig. 1a below draws ResNet18's panel beside AlexNet's.\n\n| model | labels / inputs | regularizer | seeds | fitted | train | test | epochs to fit |\n|---|---|---|---|---|---|---|---|");
    for c in &a.grid {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} of {} | {} | {} | {} |",
            c.model,
            c.randomization,
            c.regularizer,
            c.seeds.len(),
            c.fitted,
            c.seeds.len(),
            spread(&c.train_acc, pct),
            spread(&c.test_acc, pct),
            c.epochs_to_fit
                .map_or("-".into(), |e| spread(&e, |x| x.to_string())),
        );
    }
    let _ = writeln!(
        md,
        "\n| claim | what | verdicts over seeds |\n|---|---|---|"
    );
    for c in crate::claims::GRID {
        let Some(t) = a.tallies.iter().find(|t| t.claim == c.id) else {
            continue;
        };
        let mut says = format!("holds on {} of {}", t.holds, t.total());
        if t.incomplete > 0 {
            says.push_str(&format!(", incomplete on {}", t.incomplete));
        }
        let _ = writeln!(md, "| {} | {} | {says} |", c.id, c.statement);
    }
    md
}

/// Seeds as a comma-separated list: `0, 1, 2`.
fn seed_list<'a>(seeds: impl IntoIterator<Item = &'a u64>) -> String {
    seeds
        .into_iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An effect's mean and interval in words: `+0.012 [-0.004, +0.028], n = 5`, or why it
/// has no interval.
fn interval_words(e: &crate::claims::stats::Effect) -> String {
    match &e.interval {
        Some(i) => format!("{:+.4} [{:+.4}, {:+.4}], n = {}", i.mean, i.lo, i.hi, i.n),
        None if !e.missing.is_empty() => {
            format!("no interval: no value on seed {}", seed_list(&e.missing))
        }
        None => format!("no interval: n = {}", e.values.len()),
    }
}

/// The paired measures over the registered seeds, and Xiao, Wang, Liu and Yu's conclusions
/// they answer.
fn effects_over_seeds(a: &Analysis) -> String {
    let mut md = String::new();
    if a.effects.is_empty() {
        return md;
    }
    if a.effects
        .iter()
        .all(|e| e.values.len() < 2 && e.missing.is_empty())
    {
        let _ = writeln!(
            md,
            "\n### Effects over seeds\n\nThe claims' paired measures (a regularizer's gain, the architecture margin, a slowdown) are judged over seeds by their 95% confidence interval, which needs runs of two or more registered seeds: `rethink reproduce --seeds N`."
        );
        return md;
    }
    let _ = writeln!(
        md,
        "\n### Effects over seeds\n\nA paired measure compares two runs of one seed (same data, same initialization stream). Over the seeds registered for its scale (golden/seeds.json) it is judged by its mean and 95% confidence interval ({}): it holds when the whole interval lies where the claim expects it, does not hold when the whole interval lies outside, and is not robust when the interval straddles an end. With fewer than two seeds it is incomplete.\n\n| claim | measure | expected | mean [95% CI], n | per seed | status |\n|---|---|---|---|---|---|",
        crate::claims::stats::METHOD
    );
    for e in &a.effects {
        let per_seed = e
            .seeds
            .iter()
            .zip(&e.values)
            .map(|(s, v)| format!("{s}: {v:+.4}"))
            .collect::<Vec<_>>()
            .join(", ");
        let left_out = if e.unregistered.is_empty() {
            String::new()
        } else {
            format!(
                " (seeds not registered, left out: {})",
                seed_list(&e.unregistered)
            )
        };
        let status = match e.status {
            "holds" => "holds".to_string(),
            s => format!("**{s}**"),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {per_seed}{left_out} | {status} |",
            e.claim,
            cell(&e.what),
            e.expected.describe(),
            interval_words(e)
        );
    }
    if !a.answers.is_empty() {
        let _ = writeln!(
            md,
            "\n### Xiao, Wang, Liu and Yu's conclusions\n\nEach conclusion of their explicit-regularization test, at each scale whose claim was judged: reproduced when every paired measure of that claim holds over the registered seeds.\n"
        );
        for ans in &a.answers {
            let mine: Vec<_> = a.effects.iter().filter(|e| e.claim == ans.claim).collect();
            let numbers = mine
                .iter()
                .map(|e| format!("{}: {}", e.what, interval_words(e)))
                .collect::<Vec<_>>()
                .join("; ");
            // Whether each effect is a robust gain: the words "help" and "gains" claim a sign.
            let above = mine
                .iter()
                .filter(|e| e.interval.is_some_and(|i| i.lo > 0.0))
                .count();
            let verb = match ans.status {
                "holds" => "reproduced",
                "does not hold" => "contradicted",
                "not robust" => "not robust",
                _ => "incomplete",
            };
            let _ = writeln!(
                md,
                "- **{}** (\"{}\"): {} at {} scale ({}); {above} of {} intervals lie wholly above zero: {numbers}",
                ans.conclusion,
                ans.words,
                verb,
                ans.scale,
                ans.claim,
                mine.len()
            );
        }
    }
    md
}

/// report.md.
pub fn markdown(
    dir: &Path,
    a: &Analysis,
    runs: &[LoadedRun],
    skipped: &[String],
    hardware: &str,
    (md1a, md1bc): (&str, &str),
) -> String {
    let mut md = String::new();
    let total_s: f64 = runs.iter().map(|r| r.summary.wall_s).sum();
    let devices: std::collections::BTreeSet<&str> =
        runs.iter().map(|r| r.summary.device.as_str()).collect();
    let _ = writeln!(md, "# rethink: Zhang et al. 2017 reproduced\n");
    let _ = writeln!(
        md,
        "Zhang, Bengio, Hardt, Recht and Vinyals, *Understanding deep learning requires rethinking generalization* (ICLR 2017, arXiv:1611.03530).\n"
    );
    let _ = writeln!(
        md,
        "- runs: {} in `{}` ({} skipped)\n- hardware: {hardware}; devices used: {}\n- libtorch 2.11.0 through tch 0.24.0\n- training time: {:.1} minutes in all (sum of the runs' wall times)\n",
        runs.len(),
        super::runs_dir(dir).display(),
        skipped.len(),
        devices.into_iter().collect::<Vec<_>>().join(", "),
        total_s / 60.0
    );
    if !skipped.is_empty() {
        let _ = writeln!(md, "Runs left out of this report:\n");
        for s in skipped {
            let _ = writeln!(md, "- {s}");
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "## Verdicts\n\nEach claim is judged by the same check and band as the test that asserts it: golden/cpu-bands.json for CPU-scale claims, golden/gpu-bands.json for the nightly's full-scale ones. A claim is incomplete when one of its runs is missing or unreadable.\n\n| claim | what | seed | verdict | measured |\n|---|---|---|---|---|"
    );
    for j in &a.judged {
        let _ = writeln!(md, "{}", verdict_row(j));
    }
    if a.judged.is_empty() {
        let _ = writeln!(md, "| - | no claim's runs are among these runs | | | |");
    }
    let seeds: std::collections::BTreeSet<u64> = a.judged.iter().map(|j| j.seed).collect();
    if seeds.len() > 1 {
        let _ = writeln!(
            md,
            "\n### Verdicts over seeds\n\nThe runs hold {} seeds ({}); each claim's verdicts counted over them.\n\n| claim | holds | does not hold | not robust | incomplete |\n|---|---|---|---|---|",
            seeds.len(),
            seed_list(&seeds)
        );
        for t in &a.tallies {
            let _ = writeln!(
                md,
                "| {} | {} of {} | {} | {} | {} |",
                t.claim,
                t.holds,
                t.total(),
                t.fails,
                t.not_robust,
                t.incomplete
            );
        }
    }
    md.push_str(&effects_over_seeds(a));
    if !a.grid.is_empty() {
        md.push_str(&grid_section(a));
    }
    let _ = writeln!(md, "\n## Fig. 1a: fitting randomized data\n\nTraining loss against SGD steps; each line is one randomization. The paper (CIFAR-10, Inception) shows every line reaching zero, random labels last.\n\n{md1a}");
    let _ = writeln!(md, "## Fig. 1b and 1c: label corruption\n\nTime to fit (relative to true labels) and error against the corruption level P. The paper shows training error at zero for every P while test error climbs towards chance (0.9).\n\n{md1bc}");
    let _ = writeln!(md, "## Table 1: explicit regularization\n\nThe paper's numbers (Table 1, CIFAR-10) appear only beside runs of the same model on the same data set. At CPU scale (Fashion-MNIST) the columns stay empty: the paper has no Fashion-MNIST row to compare with. Our augmentation is random crop plus horizontal flip (flips only at CPU scale, see golden/cpu-bands.json).\n");
    let _ = writeln!(md, "| run | model | data | augment | weight decay | dropout | labels | train | test | paper train | paper test | test - paper |\n|---|---|---|---|---|---|---|---|---|---|---|---|");
    for t in &a.table {
        let pct = |x: Option<f64>| x.map_or(String::new(), |v| format!("{:.2}", v * 100.0));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {} | {} |",
            cell(&t.run),
            t.model,
            t.dataset,
            if t.augment { "yes" } else { "no" },
            t.weight_decay,
            t.dropout,
            if t.random_labels { "random" } else { "true" },
            t.train_acc * 100.0,
            t.test_acc * 100.0,
            pct(t.paper.map(|p| p.0)),
            pct(t.paper.map(|p| p.1)),
            t.paper.map_or(String::new(), |p| format!(
                "{:+.2}",
                (t.test_acc - p.1) * 100.0
            )),
        );
    }
    let _ = writeln!(md, "\n## Every run\n\n| run | seed | status | epochs | epochs to fit | train | test | best test | seconds |\n|---|---|---|---|---|---|---|---|---|");
    for r in runs {
        let s = &r.summary;
        let _ = writeln!(
            md,
            "| {} | {} | {:?} | {} | {} | {:.4} | {:.4} | {:.4} | {:.1} |",
            cell(&s.name),
            r.exp.train.seed,
            s.status,
            s.epochs,
            s.epochs_to_fit.map_or("-".into(), |e| e.to_string()),
            s.final_train_acc,
            s.final_test_acc,
            s.best_test_acc,
            s.wall_s
        );
    }
    let _ = writeln!(md, "\n## How to read this\n\nEach run directory under `runs/` holds `config.json` (rerun it with `rethink run --config`), `metrics.jsonl` (one line per epoch) and `summary.json`. `summary.json` beside this file has the same numbers for machines.");
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::experiment::testutil::fake;
    use crate::report::LoadedRun;

    #[test]
    fn the_grid_section_shows_medians_ranges_and_verdict_counts() {
        let runs: Vec<LoadedRun> = (0..3u64)
            .flat_map(|seed| {
                [
                    "fashion-grid-alexnet-random-labels",
                    "fashion-grid-resnet18-random-labels",
                ]
                .map(|p| {
                    let r = fake(p, 20, Some(30 + seed as usize), 0.1 + 0.01 * seed as f64);
                    let mut exp = r.experiment;
                    exp.train.seed = seed;
                    LoadedRun {
                        dir: p.into(),
                        exp,
                        summary: r.summary,
                        metrics: r.metrics,
                    }
                })
            })
            .collect();
        let a = crate::report::analysis::analyze(&runs, &[]);
        let md = grid_section(&a);
        assert!(md.contains("## The AlexNet/ResNet18 grid"), "{md}");
        // Median 11.0% of 10-12%, epochs to fit 31 of 30-32, on 3 seeds.
        assert!(
            md.contains("| alexnet | random-labels | none | 3 | 3 of 3 | 100.0 | 11.0 (10.0-12.0) | 31 (30-32) |"),
            "{md}"
        );
        assert!(
            md.contains("| grid-fits-random-labels |") && md.contains("holds on 3 of 3"),
            "{md}"
        );
    }

    #[test]
    fn a_run_name_stays_in_its_table_cell() {
        assert_eq!(cell("a|b\nc\\d"), "a\\|b c\\\\d");
        let row = format!("| {} | x |", cell("evil | name\n| forged | row |"));
        assert_eq!(row.lines().count(), 1);
        let b = row.as_bytes();
        let separators = (0..b.len())
            .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
            .count();
        assert_eq!(separators, 3, "{row}");
    }
}

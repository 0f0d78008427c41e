//! The commands that read results: `report`, `merge`, `history`, `diff`, `claims`, and
//! the theory commands `theorem` and `kernel`.
use super::*;

pub(crate) fn report_cmd(dir: &std::path::Path) -> Result<()> {
    print_report(dir, &report::report(dir)?)
}

/// The report's warnings, verdicts and files, as `report` and `merge` print them.
pub(crate) fn print_report(dir: &std::path::Path, r: &report::ReportSummary) -> Result<()> {
    for w in &r.skipped {
        eprintln!("warning: {w}");
    }
    for j in &r.verdicts {
        println!("{}: {} (seed {})", j.status(), j.claim, j.seed);
        match &j.verdict {
            Some(v) if !v.holds => println!("{}", v.to_string().trim_end()),
            None => println!("  missing or unreadable runs: {}", j.missing.join(", ")),
            _ => {}
        }
    }
    println!(
        "wrote {} ({} runs, figures: {})",
        dir.join("report.md").display(),
        r.runs,
        r.figures.join(", ")
    );
    Ok(())
}

pub(crate) fn theorem_cmd(a: TheoremArgs) -> Result<()> {
    let cfg = rethink::theory::expressivity::TheoremConfig {
        n: a.n,
        d: a.d,
        seed: a.seed,
        classes: a.classes,
        dataset: a.dataset,
    };
    let r = cfg.run(a.data_dir.as_deref())?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("points: {} ({} of them, d = {})", r.points, r.n, r.d);
    if r.merged + r.conflicting > 0 {
        println!(
            "identical points: {} merged (same target), {} dropped (an identical point has another target: no function fits both)",
            r.merged, r.conflicting
        );
    }
    println!(
        "weights: {} = 2·{} + {}",
        r.weights,
        (r.weights - r.d) / 2,
        r.d
    );
    println!(
        "max |c(x_i) - y_i|: {:.3e} (relative {:.3e}), from {}; {:.3e} in the construction's own order",
        r.max_abs_residual,
        r.max_rel_residual,
        r.residual_evaluation,
        r.max_abs_residual_construction_order
    );
    if let (Some(a), Some(b)) = (r.class_acc_distinct, r.class_acc_all) {
        println!(
            "labels fitted: {:.6} of the distinct points, {:.6} of all {}",
            a, b, r.n
        );
    }
    println!(
        "smallest gap between projections: {:.3e} of their range",
        r.min_relative_gap
    );
    println!(
        "time: {:.2} s to construct, {:.2} s in all",
        r.construct_s, r.wall_s
    );
    Ok(())
}

pub(crate) fn kernel_cmd(a: KernelArgs) -> Result<()> {
    let device = train::parse_device(&a.device)?;
    let cfg = rethink::theory::kernel::KernelConfig {
        dataset: a.dataset,
        train_size: a.train_size,
        test_size: a.test_size,
        randomization: a.randomization,
        gamma: a.gamma,
        seed: a.seed,
        solver: a.solver,
    };
    let r = cfg.run(a.data_dir.as_deref(), device)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "{} {} (gamma {}): {} training images ({} distinct), {} test images",
        r.dataset, r.randomization, r.gamma, r.train_size, r.distinct, r.test_size
    );
    println!(
        "train error: {:.4} (max residual {:.2e})",
        r.train_error, r.max_train_residual
    );
    println!("test error: {:.4}", r.test_error);
    println!("rkhs norm: {:.2}", r.rkhs_norm);
    match r.solver {
        rethink::theory::kernel::Solver::F32Refined => println!(
            "solver: f32-refined (the f64 kernel matrix would not fit in memory; f32 factor, {} f64 refinement step(s))",
            r.refinements
        ),
        s => println!("solver: {s}"),
    }
    println!("time: {:.1} s", r.wall_s);
    Ok(())
}

pub(crate) fn merge_cmd(
    out: &std::path::Path,
    shards: &[PathBuf],
    history: Option<&std::path::Path>,
) -> Result<()> {
    let m = report::nightly::merge(out, shards, history)?;
    for (shard, n) in &m.copied {
        println!("{}: {n} run(s)", shard.display());
    }
    if !m.duplicates.is_empty() {
        println!(
            "in more than one shard, kept once: {}",
            m.duplicates.join(", ")
        );
    }
    if let Some(h) = history {
        println!("appended {} line(s) to {}", m.history_lines, h.display());
    }
    for f in &m.left_out {
        eprintln!(
            "warning: {}: not part of a run record (a checkpoint, a link or another file): not merged",
            f.display()
        );
    }
    print_report(out, &m.report)?;
    if !m.dropped.is_empty() {
        for d in &m.dropped {
            eprintln!(
                "warning: {}: a link, or a run's files without config.json: not merged",
                d.display()
            );
        }
        bail!(
            "dropped {} director(ies): links, or a run's files without config.json (named above)",
            m.dropped.len()
        );
    }
    Ok(())
}

pub(crate) fn history_cmd(file: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let written = report::nightly::history_figures(file, out)?;
    for w in &written {
        println!("wrote {}", w.display());
    }
    if written.is_empty() {
        bail!(
            "{}: no judged claim with a measure; nothing to draw",
            file.display()
        );
    }
    Ok(())
}

pub(crate) fn claims_cmd(scale: Option<Scale>, quiet: bool) -> Result<()> {
    for c in rethink::claims::all().filter(|c| scale.is_none_or(|s| c.scale == s)) {
        if quiet {
            println!("{}", c.id);
        } else {
            println!("{} [{}] {} ({})", c.id, c.scale, c.statement, c.paper);
        }
    }
    Ok(())
}

/// `diff`: prints what moved; whether anything did.
pub(crate) fn diff_cmd(old: &std::path::Path, new: &std::path::Path) -> Result<bool> {
    let moved = report::nightly::diff(old, new)?;
    for m in &moved {
        println!("{m}");
    }
    Ok(!moved.is_empty())
}

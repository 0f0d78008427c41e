//! `rethink reproduce --executor slurm`.
use super::*;

/// `reproduce --executor slurm`: the suite's plan in OUT/plan.jsonl, a job array over its
/// unfinished runs and a merge job that writes the report once all of them succeed.
pub(crate) fn reproduce_on_slurm(
    a: &ReproduceArgs,
    suite: &[Experiment],
    threads: Option<i32>,
) -> Result<()> {
    use rethink::suite::{plan as plans, slurm};
    let (plan, entries) = plans::write(&a.out, suite)?;
    let out = plans::results_dir(&plan);
    let runs = rethink::suite::runs_dir(&out);
    let unfinished =
        |e: &&plans::PlanEntry| RunDir::finished_run(&runs.join(&e.name), &e.config).is_none();
    let pending: Vec<usize> = entries.iter().filter(unfinished).map(|e| e.index).collect();
    println!(
        "wrote {} ({} runs, {} to train)",
        plan.display(),
        entries.len(),
        pending.len()
    );
    if pending.is_empty() {
        println!("every run of the plan has finished: nothing to submit; the report:");
        return report_cmd(&out);
    }
    let opts = a.slurm.options(a.scale);
    let mut run_flags = vec!["--device".to_string(), a.device.clone()];
    if let Some(d) = &a.data_dir {
        let d = std::fs::canonicalize(d).with_context(|| format!("{}", d.display()))?;
        run_flags.extend(["--data-dir".into(), d.to_string_lossy().into_owned()]);
    }
    let launch = slurm::Launch {
        exe: std::env::current_exe().context("finding this binary for the batch scripts")?,
        threads: threads.map_or(opts.cpus_per_run, |t| t as u32),
        run_flags,
    };
    // A dry run works without a cluster, assuming Slurm's default array limit.
    let max = if a.slurm.dry_run && !slurm::configured() {
        println!(
            "no Slurm configuration found (SLURM_CONF, /etc/slurm/slurm.conf): assuming MaxArraySize {}",
            slurm::DEFAULT_MAX_ARRAY_SIZE
        );
        slurm::DEFAULT_MAX_ARRAY_SIZE
    } else {
        slurm::max_array_size()?
    };
    let scripts = slurm::write_scripts(&plan, &pending, &launch, &opts, max)?;
    let (merge, arrays) = scripts
        .split_last()
        .expect("the merge job's script is last");
    if a.slurm.dry_run {
        let ids: Vec<String> = (0..arrays.len()).map(|k| format!("<array {k}>")).collect();
        for s in arrays {
            println!("sbatch {}", s.sbatch.join(" "));
        }
        println!(
            "sbatch {} {}",
            slurm::after_ok(&ids),
            merge.sbatch.join(" ")
        );
        println!("dry run: nothing submitted");
        return Ok(());
    }
    let logs = slurm::slurm_dir(&out).join("logs");
    let mut ids = Vec::new();
    for s in arrays {
        let id = slurm::submit(s, &[])?;
        println!(
            "submitted array job {id}: {} run(s) of the plan (indices {}), logs {}/{id}_*.out",
            s.indices.len(),
            slurm::array_spec(&s.indices, None),
            logs.display()
        );
        ids.push(id);
    }
    let merge_id = slurm::submit(merge, &[slurm::after_ok(&ids)])?;
    println!(
        "submitted merge job {merge_id}: rethink report {} once every run has succeeded (cancelled if one fails), log {}/merge-{merge_id}.out",
        out.display(),
        logs.display()
    );
    if !a.slurm.wait {
        println!(
            "follow with: squeue -j {},{merge_id}; submit the same command again to train what did not finish",
            ids.join(",")
        );
        return Ok(());
    }
    let mut all = ids.clone();
    all.push(merge_id.clone());
    let spinner = ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    loop {
        let n = slurm::active_tasks(&all)?;
        if n == 0 {
            break;
        }
        spinner.set_message(format!(
            "waiting for {n} Slurm task(s) (jobs {})",
            all.join(", ")
        ));
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    spinner.finish_and_clear();
    let merge_state = slurm::job_states(&merge_id)
        .ok()
        .and_then(|s| s.into_iter().next())
        .map_or_else(
            || "in an unknown state (Slurm no longer keeps the job)".to_string(),
            |s| format!("{} ({})", s.state, s.reason),
        );
    let failed: Vec<String> = pending
        .iter()
        .map(|&i| &entries[i])
        .filter(unfinished)
        .map(|e| {
            let job = arrays
                .iter()
                .zip(&ids)
                .find(|(s, _)| s.indices.contains(&e.index))
                .map(|(s, id)| format!("{id}_{}", e.index - s.offset))
                .unwrap_or_default();
            format!(
                "{} (index {}, log {}/{job}.out)",
                e.name,
                e.index,
                logs.display()
            )
        })
        .collect();
    // A merge job whose record Slurm has purged succeeded when every run finished and
    // the report is there.
    let merged = merge_state.starts_with("COMPLETED")
        || (merge_state.starts_with("in an unknown state") && out.join("report.md").is_file());
    if !failed.is_empty() || !merged {
        bail!(
            "the merge job {merge_id} ended {merge_state}; {} run(s) did not finish: {}; submit the same command again to train only those",
            failed.len(),
            failed.join(", ")
        );
    }
    // The merge job's log holds the report's verdicts as `rethink report` prints them.
    let log = logs.join(format!("merge-{merge_id}.out"));
    match rethink::fsio::read_text(
        &log,
        "cannot read the merge job's log",
        rethink::fsio::cap::LOG,
    ) {
        Ok(text) => {
            println!("every run finished; the merge job {merge_id} wrote the report:");
            write!(std::io::stdout().lock(), "{text}").map_err(StdoutError)?;
            Ok(())
        }
        Err(e) => {
            eprintln!("warning: {e}; writing the report here");
            report_cmd(&out)
        }
    }
}

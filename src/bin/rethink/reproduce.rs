//! `rethink reproduce`: a scale's suite in this process, in `--jobs` processes, or on
//! Slurm (slurm.rs), then the report.
use super::*;

pub(crate) fn reproduce_cmd(a: ReproduceArgs, threads: Option<i32>) -> Result<()> {
    let mut suite = a.runs.suite(a.scale)?;
    if a.executor == Executor::Local {
        let given = a.slurm.given();
        if !given.is_empty() {
            bail!("{} apply to --executor slurm only", given.join(", "));
        }
    }
    if a.list {
        for e in &suite {
            println!("{}", e.name);
        }
        return Ok(());
    }
    let device = train::parse_device(&a.device)?;
    if a.executor == Executor::Slurm {
        if a.jobs > 1 {
            bail!("--jobs is for --executor local; with slurm, --max-parallel caps how many runs train at once");
        }
        return reproduce_on_slurm(&a, &suite, threads);
    }
    if a.jobs > 1 && a.shard.is_none() {
        return reproduce_in_jobs(&a, threads);
    }
    // A job of --jobs, or the whole suite in this process: SIGTERM stops the run in
    // training at its next step with its checkpoint saved.
    stop_on_sigterm();
    if let Some((k, n)) = a.shard {
        suite = rethink::suite::shard(suite, k, n);
    }
    // A job of --jobs logs plain lines: several jobs share the terminal.
    let multi = if a.shard.is_some() {
        MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
    } else {
        MultiProgress::new()
    };
    let overall = multi.add(ProgressBar::new(suite.len() as u64));
    overall.set_style(
        ProgressStyle::with_template("suite [{bar:30}] run {pos}/{len} ({elapsed}) {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let current = multi.add(bar(0, false));
    let mut log = EpochLog::new(&a.log, multi.is_hidden());
    let mut running = None;
    let mut skipped = 0;
    rethink::suite::reproduce(
        &suite,
        &a.out,
        device,
        a.data_dir.as_deref(),
        &mut |ev| match ev {
            rethink::suite::Event::Start {
                index,
                exp,
                skipped: skip,
                resumed,
                redone,
                set_aside,
                ..
            } => {
                overall.set_position(index as u64);
                if let Some(note) = start_note(set_aside.as_ref(), resumed, redone) {
                    // Printed above the progress bars (or plainly, when they are hidden).
                    multi.suspend(|| eprintln!("{}: {note}", exp.name));
                }
                if skip {
                    skipped += 1;
                    overall.set_message(format!("{} already complete, skipped", exp.name));
                    if multi.is_hidden() {
                        // A log line: a closed stdout must not stop the training.
                        let _ = writeln!(
                            std::io::stdout().lock(),
                            "{}: already complete, skipped",
                            exp.name
                        );
                    }
                } else {
                    log.start();
                    running = Some(exp.clone());
                    overall.set_message(String::new());
                    current.reset();
                    current.set_length(exp.train.max_epochs as u64);
                    current.set_prefix(exp.name.clone());
                }
            }
            rethink::suite::Event::Epoch(m) => {
                if let Some(exp) = &running {
                    log.epoch(exp, m);
                }
                current.set_position(m.epoch as u64);
                current.set_message(accuracies(m));
            }
            rethink::suite::Event::Done(s) => {
                let line = format!(
                    "{}: {:?}, train {:.4}, test {:.4}, {} epochs, {:.0} s",
                    s.name, s.status, s.final_train_acc, s.final_test_acc, s.epochs, s.wall_s
                );
                // Without a terminal the bars are hidden: log plain lines instead.
                if multi.is_hidden() {
                    let _ = writeln!(std::io::stdout().lock(), "{line}");
                } else {
                    let _ = multi.println(line);
                }
            }
        },
    )?;
    overall.finish_and_clear();
    current.finish_and_clear();
    if skipped > 0 {
        println!("{skipped} run(s) were already complete and were not redone");
    }
    if a.shard.is_some() {
        return Ok(());
    }
    report_cmd(&a.out)
}

/// `reproduce --jobs N`: N processes of this binary, each training every Nth run of the
/// suite into the same `OUT/runs`, then one report over all of them.
pub(crate) fn reproduce_in_jobs(a: &ReproduceArgs, threads: Option<i32>) -> Result<()> {
    let exe = std::env::current_exe().context("finding this binary to start the jobs")?;
    let mut jobs = Vec::new();
    for k in 0..a.jobs {
        let mut c = std::process::Command::new(&exe);
        if let Some(t) = threads {
            c.args(["--threads", &t.to_string()]);
        }
        c.args([
            "reproduce",
            "--scale",
            &a.scale.name(),
            "--device",
            &a.device,
        ])
        .arg("--out")
        .arg(&a.out)
        .args(["--shard", &format!("{k}/{}", a.jobs)])
        .args(["--log-every", &a.log.log_every.to_string()])
        .args(a.runs.to_args());
        if let Some(d) = &a.data_dir {
            c.arg("--data-dir").arg(d);
        }
        stop_with_parent(&mut c);
        jobs.push(c.spawn().context("starting a reproduce job")?);
    }
    let mut failed = Vec::new();
    for (k, mut job) in jobs.into_iter().enumerate() {
        if !job.wait().context("waiting for a reproduce job")?.success() {
            failed.push(k.to_string());
        }
    }
    if !failed.is_empty() {
        anyhow::bail!(
            "reproduce: job {} of {} failed (its error is above); run the same command again to resume",
            failed.join(", "),
            a.jobs
        );
    }
    report_cmd(&a.out)
}

/// A job started by `reproduce --jobs` gets SIGTERM when the `reproduce` that started it
/// ends, whatever ends it (SIGTERM, SIGINT, SIGKILL to it alone, or an error): a job left
/// training would hold its runs' locks, and a rerun would be refused. A job killed so
/// leaves its run resumable from its last checkpoint.
pub(crate) fn stop_with_parent(c: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec only async-signal-safe calls are made (prctl, getppid).
    unsafe {
        c.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have ended before the prctl: then there is no one to wait for.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

//! `rethink run` (one experiment, or one entry of a plan) and `rethink plan`.
use super::*;

pub(crate) fn experiment_from(a: &RunArgs) -> Result<Experiment> {
    let base = match (&a.config, &a.preset) {
        (Some(path), _) => Experiment::from_file(path)?,
        (None, Some(p)) => Experiment::preset(p)?,
        (None, None) => Experiment::preset("fashion-cpu-true-labels")?,
    };
    let mut e = base.clone();
    a.overrides.apply(&mut e);
    // The name says what runs: flags that change the preset or config change the name.
    match &a.name {
        Some(n) => e.name.clone_from(n),
        None if e != base => e.name = e.derived_name(),
        None => {}
    }
    e.validate()?;
    Ok(e)
}

/// `train acc 0.987 test acc 0.123` for a progress bar or line; the test accuracy only at an
/// epoch whose test set was evaluated.
pub(crate) fn accuracies(m: &rethink::train::EpochMetrics) -> String {
    let test = m
        .test_acc
        .map_or_else(String::new, |a| format!(" test acc {a:.3}"));
    format!("train acc {:.3}{test}", m.train_acc)
}

/// Progress as plain lines where no bar is drawn (no terminal: a batch job's log, a job of
/// `reproduce --jobs`): the run in training, its epoch and accuracies, at most once per
/// `--log-every`, so that a long run shows it is alive without a line for every epoch.
pub(crate) struct EpochLog {
    every: std::time::Duration,
    last: std::time::Instant,
    on: bool,
}

impl EpochLog {
    /// A log that writes only when `on` (the bars are hidden and the command is not quiet).
    pub(crate) fn new(a: &LogArgs, on: bool) -> Self {
        Self {
            every: std::time::Duration::from_secs(a.log_every),
            last: std::time::Instant::now(),
            on,
        }
    }

    /// Counts the interval from the start of a run.
    pub(crate) fn start(&mut self) {
        self.last = std::time::Instant::now();
    }

    /// A line for epoch `m` of `exp` once the interval has passed since the last line (or
    /// the run's start). A closed stdout must not stop the training: a failed write is
    /// dropped.
    pub(crate) fn epoch(&mut self, exp: &Experiment, m: &rethink::train::EpochMetrics) {
        if !self.on || self.last.elapsed() < self.every {
            return;
        }
        self.last = std::time::Instant::now();
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}: epoch {}/{}, {}",
            exp.name,
            m.epoch,
            exp.train.max_epochs,
            accuracies(m)
        );
    }
}

pub(crate) fn bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] epoch {pos}/{len} {msg} (eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb
}

/// SIGTERM (a scheduler's time limit or preemption, or `reproduce --jobs` ending) asks the
/// training to stop at its next step with a checkpoint saved; the command then exits with
/// [`rethink::suite::slurm::REQUEUE_STATUS`]. A second SIGTERM ends the process at once.
pub(crate) fn stop_on_sigterm() {
    extern "C" fn on_term(_: libc::c_int) {
        rethink::train::request_stop();
        // SAFETY: signal() is async-signal-safe; the default action ends the process.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
        }
    }
    // SAFETY: the handler only stores an atomic and calls signal().
    unsafe {
        libc::signal(
            libc::SIGTERM,
            on_term as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

pub(crate) fn run(a: RunArgs) -> Result<()> {
    if a.list_presets {
        for n in Experiment::preset_names() {
            println!("{n}");
        }
        return Ok(());
    }
    let device = train::parse_device(&a.device)?;
    stop_on_sigterm();
    if let (Some(plan), Some(index)) = (&a.plan, a.index) {
        return run_planned(&a, plan, index, device);
    }
    // Everything that can be checked is checked before a run directory is touched: a run
    // that cannot start (no data, no CUDA) must not cost an earlier run its files.
    let (mut dir, exp, out) = match &a.resume {
        Some(path) => {
            let given = a.overrides.given();
            if !given.is_empty() {
                bail!(
                    "--resume continues the run as its config.json says; drop the flags that change the experiment ({})",
                    given.join(", ")
                );
            }
            // Opening a run to resume it keeps its config, metrics and checkpoint.
            let (dir, exp) = RunDir::resume(path)?;
            rethink::experiment::check_runnable(&exp, device, a.data_dir.as_deref())?;
            (dir, exp, path.clone())
        }
        None => {
            let exp = experiment_from(&a)?;
            rethink::experiment::check_runnable(&exp, device, a.data_dir.as_deref())?;
            let out = a.out.clone().expect("clap requires --out");
            (RunDir::create(&out, a.force)?, exp, out)
        }
    };
    dir.keep_checkpoint = a.keep_checkpoint;
    let pb = bar(exp.train.max_epochs as u64, a.quiet);
    pb.set_prefix(exp.name.clone());
    let mut log = EpochLog::new(&a.log, !a.quiet && pb.is_hidden());
    let rec = dir.train(&exp, device, a.data_dir.as_deref(), &mut |m| {
        log.epoch(&exp, m);
        pb.set_position(m.epoch as u64);
        pb.set_message(format!("{} loss {:.4}", accuracies(m), m.train_loss));
    });
    pb.finish_and_clear();
    let rec = rec?;
    let s = &rec.summary;
    println!(
        "{}: {:?} after {} epochs ({} steps, {:.1} s on {}): train acc {:.4}, test acc {:.4}, epochs to fit {}",
        exp.name,
        s.status,
        s.epochs,
        s.steps,
        s.wall_s,
        s.device,
        s.final_train_acc,
        s.final_test_acc,
        s.epochs_to_fit.map_or("never".into(), |e| e.to_string())
    );
    println!("wrote {}", out.display());
    if s.status == Stop::NonFiniteLoss {
        bail!(
            "training stopped at epoch {}: the loss became non-finite (see {})",
            s.epochs,
            out.join("summary.json").display()
        );
    }
    Ok(())
}

/// What a run about to train does with its directory, for one line above the progress
/// bars: moved aside and trained anew, resumed, or trained anew; `None` for a new run.
pub(crate) fn start_note(
    set_aside: Option<&rethink::suite::SetAside>,
    resumed: bool,
    redone: bool,
) -> Option<String> {
    match (set_aside, resumed, redone) {
        (Some(a), _, _) => Some(format!(
            "{}; moved it to {} and training it anew",
            a.why,
            a.to.display()
        )),
        (None, true, _) => Some("resuming from its checkpoint".into()),
        (None, _, true) => Some("training it anew".into()),
        _ => None,
    }
}

/// `run --plan P --index I`: the plan's run I, into the plan's folder.
pub(crate) fn run_planned(
    a: &RunArgs,
    plan: &Path,
    index: usize,
    device: tch::Device,
) -> Result<()> {
    use rethink::suite::{plan as plans, Event};
    let given = a.overrides.given();
    if !given.is_empty() {
        bail!(
            "--plan runs the plan's config as it is; drop the flags that change the experiment ({})",
            given.join(", ")
        );
    }
    let entry = plans::entry(plan, index)?;
    let exp = &entry.config;
    let out = plans::results_dir(plan);
    let path = rethink::suite::runs_dir(&out).join(&exp.name);
    if RunDir::finished_run(&path, exp).is_some() {
        println!("{}: already finished in {}", exp.name, path.display());
        return Ok(());
    }
    rethink::experiment::check_runnable(exp, device, a.data_dir.as_deref())?;
    let pb = bar(exp.train.max_epochs as u64, a.quiet);
    pb.set_prefix(exp.name.clone());
    let mut log = EpochLog::new(&a.log, !a.quiet && pb.is_hidden());
    let mut done = None;
    let result = rethink::suite::train_one(
        exp,
        (index, 1),
        &out,
        device,
        a.data_dir.as_deref(),
        &mut |ev| match ev {
            Event::Start {
                resumed,
                redone,
                set_aside,
                ..
            } => {
                if let Some(note) = start_note(set_aside.as_ref(), resumed, redone) {
                    pb.suspend(|| eprintln!("{}: {note}", exp.name));
                }
            }
            Event::Epoch(m) => {
                log.epoch(exp, m);
                pb.set_position(m.epoch as u64);
                pb.set_message(accuracies(m));
            }
            Event::Done(s) => {
                done = Some((s.status, s.epochs, s.final_train_acc, s.final_test_acc))
            }
        },
    );
    pb.finish_and_clear();
    result?;
    if let Some((status, epochs, train, test)) = done {
        println!(
            "{}: {status:?} after {epochs} epochs: train acc {train:.4}, test acc {test:.4}",
            exp.name
        );
    }
    println!("wrote {}", path.display());
    Ok(())
}

pub(crate) fn plan_cmd(a: &PlanArgs) -> Result<()> {
    let suite = a.runs.suite(a.scale)?;
    let (path, entries) = rethink::suite::plan::write(&a.out, &suite)?;
    println!("wrote {} ({} runs)", path.display(), entries.len());
    println!(
        "train run I with: rethink run --plan {} --index I",
        path.display()
    );
    Ok(())
}

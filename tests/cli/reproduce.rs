//! `rethink reproduce` resumes an interrupted suite, and `rethink report` writes the report
//! and figures, naming (and skipping) a run whose summary is corrupt.
use crate::common::*;
use rethink::experiment::{Experiment, RunDir};
use rethink::randomize::Randomization;
use rethink::suite::Event;

/// A small suite: three corruption levels and a pixel randomization, 300 images, 8 epochs.
fn small_suite() -> Vec<Experiment> {
    [
        Randomization::TrueLabels,
        Randomization::Corrupt(0.5),
        Randomization::RandomLabels,
        Randomization::Gaussian,
    ]
    .into_iter()
    .map(|r| {
        let mut e = Experiment::preset("fashion-cpu-true-labels").unwrap();
        e.randomization = r;
        e.name = format!("small-{}", r.to_string().replace(':', "-"));
        e.train_size = Some(300);
        e.test_size = Some(300);
        e.train.max_epochs = 8;
        e
    })
    .collect()
}

/// Runs the suite; returns (name, skipped, redone) for each run.
fn reproduce(suite: &[Experiment], out: &std::path::Path) -> Vec<(String, bool, bool)> {
    tch::set_num_threads(THREADS);
    let mut starts = Vec::new();
    rethink::suite::reproduce(suite, out, tch::Device::Cpu, None, &mut |ev| {
        if let Event::Start {
            exp,
            skipped,
            redone,
            ..
        } = ev
        {
            starts.push((exp.name.clone(), skipped, redone));
        }
    })
    .unwrap();
    starts
}

#[test]
fn an_interrupted_reproduce_redoes_only_the_unfinished_runs() {
    require_fashion();
    let tmp = tempdir();
    let suite = small_suite();
    // "Interrupted" after two runs: the first two are complete, the third has a config and
    // a partial metrics file but no summary.
    reproduce(&suite[..2], tmp.path());
    let third = tmp.path().join("runs").join(&suite[2].name);
    std::fs::create_dir_all(&third).unwrap();
    std::fs::write(third.join("metrics.jsonl"), "{\"epoch\":0").unwrap();
    let before = std::fs::read(
        tmp.path()
            .join("runs")
            .join(&suite[0].name)
            .join("summary.json"),
    )
    .unwrap();
    let starts = reproduce(&suite, tmp.path());
    let skipped: Vec<bool> = starts.iter().map(|s| s.1).collect();
    assert_eq!(skipped, vec![true, true, false, false], "{starts:?}");
    // The third held a partial run without a checkpoint: said to be trained anew.
    let redone: Vec<bool> = starts.iter().map(|s| s.2).collect();
    assert_eq!(redone, vec![false, false, true, false], "{starts:?}");
    let after = std::fs::read(
        tmp.path()
            .join("runs")
            .join(&suite[0].name)
            .join("summary.json"),
    )
    .unwrap();
    assert_eq!(before, after, "a complete run was redone");
    assert!(rethink::experiment::RunDir::read_summary(&third).is_ok());
    // What it held was moved aside, not deleted.
    let aside = rethink::suite::set_aside_dir(tmp.path()).join(format!("{}.1", suite[2].name));
    assert_eq!(
        std::fs::read_to_string(aside.join("metrics.jsonl")).unwrap(),
        "{\"epoch\":0"
    );
    // A changed experiment under the same name is not mistaken for a finished one.
    let mut changed = suite.clone();
    changed[0].train.max_epochs = 9;
    let starts = reproduce(&changed, tmp.path());
    assert_eq!(starts.iter().filter(|s| !s.1).count(), 1, "{starts:?}");
}

#[test]
fn an_interrupted_reproduce_resumes_a_run_from_its_checkpoint() {
    require_fashion();
    let tmp = tempdir();
    let suite = small_suite();
    reproduce(&suite[..1], tmp.path());
    let dir = tmp.path().join("runs").join(&suite[0].name);
    let whole = metrics_without_times(&dir);
    // The same run, interrupted: its checkpoint kept and its summary never written.
    tch::set_num_threads(THREADS);
    let mut rd = RunDir::create(&dir, true).unwrap();
    rd.keep_checkpoint = true;
    rd.train(&suite[0], tch::Device::Cpu, None, &mut |_| {})
        .unwrap();
    drop(rd);
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let mut resumed = Vec::new();
    tch::set_num_threads(THREADS);
    rethink::suite::reproduce(&suite[..1], tmp.path(), tch::Device::Cpu, None, &mut |ev| {
        if let Event::Start {
            resumed: r,
            skipped,
            ..
        } = ev
        {
            resumed.push((r, skipped));
        }
    })
    .unwrap();
    assert_eq!(resumed, vec![(true, false)]);
    assert_eq!(metrics_without_times(&dir), whole);
    assert!(!dir.join(rethink::experiment::CHECKPOINT).exists());

    // Interrupted again, with a truncated checkpoint: moved aside, saying why, and trained
    // anew; a corrupt checkpoint never blocks the suite.
    let mut rd = RunDir::create(&dir, true).unwrap();
    rd.keep_checkpoint = true;
    tch::set_num_threads(THREADS);
    rd.train(&suite[0], tch::Device::Cpu, None, &mut |_| {})
        .unwrap();
    drop(rd);
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let ckpt = dir.join(rethink::experiment::CHECKPOINT);
    let bytes = std::fs::read(&ckpt).unwrap();
    std::fs::write(&ckpt, &bytes[..bytes.len() / 2]).unwrap();
    let mut set_aside = Vec::new();
    tch::set_num_threads(THREADS);
    rethink::suite::reproduce(&suite[..1], tmp.path(), tch::Device::Cpu, None, &mut |ev| {
        if let Event::Start {
            resumed,
            set_aside: a,
            ..
        } = ev
        {
            set_aside.push((resumed, a));
        }
    })
    .unwrap();
    let (resumed, a) = set_aside.pop().unwrap();
    let a = a.expect("the run with a corrupt checkpoint is set aside");
    assert!(!resumed);
    assert!(
        a.why.contains("checkpoint") && !a.why.contains("frame #"),
        "why: {}",
        a.why
    );
    assert_eq!(
        std::fs::read(a.to.join(rethink::experiment::CHECKPOINT))
            .unwrap()
            .len(),
        bytes.len() / 2
    );
    assert_eq!(metrics_without_times(&dir), whole);
}

/// The processes running now whose parent is `pid` (from `/proc/*/stat`), with their
/// state letter.
fn children_of(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let (state, ppid) = (f.next(), f.next().and_then(|p| p.parse::<u32>().ok()));
        if ppid == Some(pid) {
            let child = head.split_whitespace().next().unwrap().parse().unwrap();
            out.push((child, state.and_then(|s| s.chars().next()).unwrap_or('?')));
        }
    }
    out
}

/// Whether process `pid` has ended (gone, or a zombie no one has reaped yet).
fn ended(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with(['Z', 'X']))
    })
}

/// SIGTERM to `reproduce --jobs 2` alone (not its process group, as a scheduler or `kill`
/// sends it) stops its two jobs too: none is left training with its run's lock held, so
/// the same command can run again.
#[test]
fn a_sigterm_to_reproduce_stops_its_jobs_and_frees_their_runs() {
    require_fashion();
    let tmp = tempdir();
    let mut parent = rethink()
        .args([
            "--threads",
            "1",
            "reproduce",
            "--scale",
            "cpu",
            "--jobs",
            "2",
            "--out",
        ])
        .arg(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = parent.id();
    let runs = tmp.path().join("runs");
    let started = std::time::Instant::now();
    // Both jobs training: each holds a run directory.
    let jobs = loop {
        let jobs = children_of(pid);
        let dirs = std::fs::read_dir(&runs).map_or(0, |d| d.count());
        if jobs.len() == 2 && dirs >= 2 {
            break jobs;
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "the two jobs did not start: {jobs:?}, {dirs} run directories"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    parent.wait().unwrap();
    let killed = std::time::Instant::now();
    for (job, _) in &jobs {
        while !ended(*job) {
            assert!(
                killed.elapsed().as_secs() < 30,
                "job {job} still runs 30 s after reproduce ended"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    for d in std::fs::read_dir(&runs).unwrap().flatten() {
        let f = std::fs::File::open(d.path()).unwrap();
        assert!(
            f.try_lock().is_ok(),
            "{} is still locked",
            d.path().display()
        );
    }
}

#[test]
fn report_writes_figures_and_names_a_corrupt_summary_while_reporting_the_rest() {
    require_fashion();
    let tmp = tempdir();
    // The small suite draws the figures; two claims' real runs get verdicts.
    let mut suite = small_suite();
    for p in ["fashion-cpu-gaussian", "fashion-cpu-random-pixels"] {
        suite.push(Experiment::preset(p).unwrap());
    }
    reproduce(&suite, tmp.path());
    let bad = tmp
        .path()
        .join("runs")
        .join("fashion-cpu-gaussian")
        .join("summary.json");
    std::fs::write(&bad, "{ \"name\": ").unwrap();
    let o = cli(&["report", tmp.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&bad.display().to_string()),
        "the corrupt file is not named: {}",
        stderr(&o)
    );
    for f in [
        "report.md",
        "summary.json",
        "fig1b.svg",
        "fig1b.png",
        "fig1c.svg",
        "fig1c.png",
    ] {
        let p = tmp.path().join(f);
        assert!(
            p.is_file() && std::fs::metadata(&p).unwrap().len() > 500,
            "{f} missing or empty"
        );
    }
    let png = std::fs::read(tmp.path().join("fig1c.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    let md = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
    assert!(md.contains("## Verdicts"), "{md}");
    let row = |claim: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {claim} |")))
            .unwrap_or_else(|| panic!("no verdict for {claim}:\n{md}"))
            .to_string()
    };
    // The intact run's claim is judged by the registry's check; the one whose summary is
    // corrupt is incomplete and names its run; claims with no run here are left out.
    assert!(row("mlp-fits-random-pixels").contains("| holds |"), "{md}");
    let incomplete = row("mlp-fits-gaussian");
    assert!(
        incomplete.contains("**incomplete**") && incomplete.contains("fashion-cpu-gaussian"),
        "{incomplete}"
    );
    assert!(!md.contains("| label-corruption |"), "{md}");
    assert!(
        md.contains(&bad.display().to_string()),
        "report.md does not name the skipped run"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["runs"], 5);
    assert_eq!(summary["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(summary["verdicts"].as_array().unwrap().len(), 2);
}

#[test]
fn reproduce_over_seeds_lists_each_run_once_per_seed() {
    let one = cli(&["reproduce", "--scale", "grid", "--list"]);
    let three = cli(&["reproduce", "--scale", "grid", "--seeds", "3", "--list"]);
    assert!(
        one.status.success() && three.status.success(),
        "{}",
        stderr(&three)
    );
    let (one, three) = (stdout(&one), stdout(&three));
    let names: Vec<&str> = one.lines().collect();
    assert_eq!(names.len(), 14, "{one}");
    let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    for k in 1..3 {
        want.extend(names.iter().map(|n| format!("{n}-seed{k}")));
    }
    assert_eq!(three.lines().collect::<Vec<_>>(), want);
    // --seeds and --seed do not mix, and 0 seeds is refused.
    let both = cli(&["reproduce", "--seeds", "2", "--seed", "1", "--list"]);
    assert!(!both.status.success());
    let zero = cli(&["reproduce", "--seeds", "0", "--list"]);
    assert!(
        !zero.status.success() && stderr(&zero).contains("0"),
        "{}",
        stderr(&zero)
    );
}

/// `--executor slurm --dry-run` needs no cluster: it writes the plan and the batch scripts
/// and prints the sbatch commands (an array over the unfinished runs, then the merge job
/// held by afterok), and submits and trains nothing. Flags of the wrong executor, and a
/// planned run given flags that change it, are refused with the flags named.
#[test]
fn a_slurm_dry_run_writes_the_plan_and_scripts_and_wrong_flags_are_named() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let o = rethink()
        .env("SLURM_CONF", tmp.path().join("no-such-slurm.conf"))
        .args([
            "reproduce",
            "--scale",
            "smoke",
            "--executor",
            "slurm",
            "--gpus-per-run",
            "1",
            "--max-parallel",
            "3",
            "--sbatch-arg=--account=lab",
            "--dry-run",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let runs = rethink::suite::experiments(rethink::experiment::Scale::Smoke).len();
    assert!(
        text.contains(&format!("({runs} runs, {runs} to train)")),
        "{text}"
    );
    let sbatch: Vec<&str> = text.lines().filter(|l| l.starts_with("sbatch ")).collect();
    assert_eq!(sbatch.len(), 2, "{text}");
    for want in [
        format!("--array=0-{}%3", runs - 1),
        "--gres=gpu:1".into(),
        "--account=lab".into(),
        "--requeue".into(),
    ] {
        assert!(sbatch[0].contains(&want), "{want}: {}", sbatch[0]);
    }
    assert!(sbatch[1].contains("--dependency=afterok:"), "{}", sbatch[1]);
    assert!(
        sbatch[1].contains("--kill-on-invalid-dep=yes"),
        "{}",
        sbatch[1]
    );
    assert!(text.contains("dry run: nothing submitted"), "{text}");
    assert!(out.join("slurm/array-0.sh").is_file());
    assert!(out.join("slurm/merge.sh").is_file());
    let plan = rethink::suite::plan::read(&out.join("plan.jsonl")).unwrap();
    assert_eq!(plan.len(), runs);
    assert!(!out.join("runs").exists(), "a dry run trained something");

    let refused = |args: &[&str], want: &str| {
        let o = cli(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    };
    refused(
        &[
            "reproduce",
            "--scale",
            "smoke",
            "--partition",
            "gpu",
            "--wait",
            "--list",
        ],
        "--partition, --wait apply to --executor slurm only",
    );
    refused(
        &["reproduce", "--executor", "slurm", "--jobs", "2"],
        "--jobs is for --executor local",
    );
    let plan_path = out.join("plan.jsonl");
    let plan_path = plan_path.to_str().unwrap();
    refused(
        &["run", "--plan", plan_path, "--index", "0", "--lr", "0.5"],
        "drop the flags that change the experiment (--lr)",
    );
    refused(
        &["run", "--plan", plan_path, "--index", &runs.to_string()],
        &format!("has no run {runs}"),
    );
    refused(
        &[
            "reproduce",
            "--scale",
            "smoke",
            "--only",
            "no-such-run",
            "--list",
        ],
        "\"no-such-run\" is not a run of this suite",
    );
}

/// Without a terminal the progress bars are hidden, so the run in training is logged as
/// plain lines at most once per `--log-every` (0: every epoch), also from the jobs that
/// `--jobs` starts (the flag passes on to them); each line's accuracy is the epoch's
/// recorded one.
#[test]
fn without_a_terminal_reproduce_logs_the_epochs_of_the_run_in_training() {
    require_fashion();
    let tmp = tempdir();
    let name = "fashion-smoke-alexnet-true-labels";
    let o = rethink()
        .args([
            "--threads",
            "1",
            "reproduce",
            "--scale",
            "smoke",
            "--only",
            name,
            "--jobs",
            "2",
            "--log-every",
            "0",
            "--out",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let rec = RunDir::read_record(&tmp.path().join("runs").join(name)).unwrap();
    assert!(rec.metrics.len() > 2, "{} epochs", rec.metrics.len());
    for m in &rec.metrics[1..] {
        let line = format!(
            "{name}: epoch {}/{}, train acc {:.3}",
            m.epoch, rec.experiment.train.max_epochs, m.train_acc
        );
        assert!(text.contains(&line), "no {line:?} in:\n{text}");
    }
}

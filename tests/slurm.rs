//! `rethink reproduce --executor slurm` against a real Slurm: `make slurm-test` starts a
//! private single-node cluster (scripts/slurm-local.sh, 2 CPUs, 2 fake GPUs), runs these
//! tests with its `SLURM_CONF`, and stops it. They are left out of `make test` (the nextest
//! profiles' default filter) and fail, never skip, without a cluster.
//!
//! The grid is the AlexNet half of the smoke scale: five runs of the nightly's Fashion-MNIST
//! claims in miniature, which train in seconds on CPU.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const GRID: [&str; 5] = [
    "fashion-smoke-alexnet-true-labels",
    "fashion-smoke-alexnet-random-labels",
    "fashion-smoke-alexnet-random-pixels",
    "fashion-smoke-alexnet-weight-decay-true-labels",
    "fashion-smoke-alexnet-weight-decay-random-labels",
];

/// The cluster's configuration: these tests need one.
fn slurm_conf() -> String {
    match std::env::var("SLURM_CONF") {
        Ok(c) if Path::new(&c).is_file() => c,
        _ => panic!(
            "these tests need a Slurm cluster: run `make slurm-test`, or `eval \"$(scripts/slurm-local.sh up)\"` first"
        ),
    }
}

fn rethink() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rethink"));
    c.env("SLURM_CONF", slurm_conf())
        .env("RETHINK_DEVICE", "cpu")
        .env_remove("RETHINK_DATA_DIR");
    c
}

fn only(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| ["--only".to_string(), n.to_string()])
        .collect()
}

/// `rethink --threads 1 reproduce --scale smoke --only ... --out OUT` + `extra`.
fn reproduce(out: &Path, names: &[&str], extra: &[&str]) -> Output {
    rethink()
        .args(["--threads", "1", "reproduce", "--scale", "smoke"])
        .args(only(names))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run rethink")
}

fn text(o: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A run's file without its wall times (`wall_s`) and machine description: a JSON lines
/// file as its values, a JSON file as one value.
fn without_times(path: &Path) -> Vec<serde_json::Value> {
    let t = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parse = |s: &str| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_str(s).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        strip_times(&mut v);
        v
    };
    if path.extension().is_some_and(|e| e == "jsonl") {
        t.lines()
            .filter(|l| !l.trim().is_empty())
            .map(parse)
            .collect()
    } else {
        vec![parse(&t)]
    }
}

fn strip_times(v: &mut serde_json::Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("wall_s");
        o.remove("environment");
        for x in o.values_mut() {
            strip_times(x);
        }
    }
}

/// The judged claims of a results folder's `summary.json`: each claim's verdict and measures.
fn verdicts(out: &Path) -> serde_json::Value {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    s["verdicts"].clone()
}

/// The job ids `reproduce --executor slurm` printed: the arrays', then the merge job's.
fn job_ids(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let rest = l
                .strip_prefix("submitted array job ")
                .or_else(|| l.strip_prefix("submitted merge job "))?;
            Some(rest.split(':').next()?.to_string())
        })
        .collect()
}

/// Waits until no task of `ids` is pending or running.
fn wait_for(ids: &[String], limit: Duration) {
    let start = Instant::now();
    loop {
        let o = Command::new("squeue")
            .env("SLURM_CONF", slurm_conf())
            .args(["-h", "-r", "-j", &ids.join(",")])
            .output()
            .expect("squeue");
        if String::from_utf8_lossy(&o.stdout).trim().is_empty() {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "jobs {ids:?} still queued after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn run_dir(out: &Path, name: &str) -> PathBuf {
    out.join("runs").join(name)
}

#[test]
fn a_smoke_grid_on_slurm_gives_the_local_verdicts_and_metrics_and_a_resubmission_trains_nothing() {
    let tmp = tempdir();
    let (local, cluster) = (tmp.path().join("local"), tmp.path().join("slurm"));
    let o = reproduce(&local, &GRID, &["--jobs", "2"]);
    assert!(o.status.success(), "{}", text(&o));

    // One of the cluster's two (fake) GPUs per run: two runs at once, each with its own.
    let start = Instant::now();
    let o = reproduce(
        &cluster,
        &GRID,
        &["--executor", "slurm", "--gpus-per-run", "1", "--wait"],
    );
    eprintln!(
        "--executor slurm --wait took {:?}\n{}",
        start.elapsed(),
        text(&o)
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        job_ids(&o).len(),
        2,
        "one array and the merge job: {}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("the merge job"),
        "{}",
        text(&o)
    );
    assert!(cluster.join("report.md").is_file());
    let logs: Vec<String> = std::fs::read_dir(cluster.join("slurm/logs"))
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .filter(|t| t.contains("rethink: plan run"))
        .collect();
    assert_eq!(logs.len(), GRID.len());
    for log in &logs {
        assert!(
            log.contains("GPUs 0") || log.contains("GPUs 1"),
            "a task was given no GPU: {log}"
        );
    }
    assert_eq!(verdicts(&cluster), verdicts(&local));
    let judged = verdicts(&local);
    assert_eq!(
        judged.as_array().map(Vec::len),
        Some(GRID.len()),
        "{judged}"
    );
    assert!(judged
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["verdict"]["holds"] == true));
    for name in GRID {
        for file in ["metrics.jsonl", "summary.json", "config.json"] {
            assert_eq!(
                without_times(&run_dir(&cluster, name).join(file)),
                without_times(&run_dir(&local, name).join(file)),
                "{name}/{file}"
            );
        }
    }

    // The same command again: every run has finished, nothing is submitted or trained.
    let stamp = |out: &Path| -> Vec<std::time::SystemTime> {
        GRID.iter()
            .map(|n| {
                std::fs::metadata(run_dir(out, n).join("summary.json"))
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect()
    };
    let before = stamp(&cluster);
    let o = reproduce(&cluster, &GRID, &["--executor", "slurm", "--wait"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(job_ids(&o).is_empty(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("nothing to submit"),
        "{}",
        text(&o)
    );
    assert_eq!(stamp(&cluster), before, "a finished run was trained again");
}

#[test]
fn a_task_requeued_mid_run_resumes_with_no_epoch_repeated_or_lost() {
    let name = "fashion-smoke-alexnet-random-pixels";
    let tmp = tempdir();
    let (whole, cut) = (tmp.path().join("whole"), tmp.path().join("cut"));
    let o = reproduce(&whole, &[name], &[]);
    assert!(o.status.success(), "{}", text(&o));

    let o = reproduce(&cut, &[name], &["--executor", "slurm"]);
    assert!(o.status.success(), "{}", text(&o));
    let ids = job_ids(&o);
    assert_eq!(ids.len(), 2, "{}", text(&o));
    let metrics = run_dir(&cut, name).join("metrics.jsonl");
    let lines = || std::fs::read_to_string(&metrics).map_or(0, |t| t.lines().count());
    let start = Instant::now();
    while lines() < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "the task measured no 4th epoch in 180 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // What a time limit or a preemption sends the task's step.
    let task = format!("{}_0", ids[0]);
    let s = Command::new("scancel")
        .env("SLURM_CONF", slurm_conf())
        .args(["--signal=TERM", &task])
        .status()
        .expect("scancel");
    assert!(s.success());
    let at_signal = lines();
    wait_for(&ids, Duration::from_secs(300));

    let log = std::fs::read_to_string(cut.join("slurm/logs").join(format!("{task}.out")))
        .expect("the task's log");
    eprintln!("{log}");
    assert!(log.contains("requeueing it"), "{log}");
    assert!(
        log.contains("restart 1"),
        "the task was not restarted: {log}"
    );
    assert!(log.contains("resuming from its checkpoint"), "{log}");
    let after = lines();
    eprintln!("metrics.jsonl: {at_signal} lines when signalled, {after} at the end");
    let got = without_times(&metrics);
    let epochs: Vec<u64> = got.iter().map(|m| m["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, (0..epochs.len() as u64).collect::<Vec<_>>());
    assert!(after > at_signal);
    assert_eq!(
        got,
        without_times(&run_dir(&whole, name).join("metrics.jsonl"))
    );
    assert_eq!(
        without_times(&run_dir(&cut, name).join("summary.json")),
        without_times(&run_dir(&whole, name).join("summary.json"))
    );
    assert!(
        cut.join("report.md").is_file(),
        "the merge job wrote no report"
    );
}

#[test]
fn a_failing_run_cancels_the_merge_and_the_command_says_so() {
    let names = [GRID[0], GRID[3]];
    let tmp = tempdir();
    let out = tmp.path().join("out");
    // A file where the first run's directory must go: that run fails.
    std::fs::create_dir_all(out.join("runs")).unwrap();
    std::fs::write(run_dir(&out, names[0]), "not a run directory").unwrap();
    let o = reproduce(&out, &names, &["--executor", "slurm", "--wait"]);
    eprintln!("{}", text(&o));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("CANCELLED"), "{err}");
    assert!(err.contains("1 run(s) did not finish"), "{err}");
    assert!(err.contains(names[0]), "{err}");
    assert!(!out.join("report.md").exists(), "the merge job ran");
    assert!(run_dir(&out, names[1]).join("summary.json").is_file());
}

//! An interrupted run resumes exactly: a real `rethink run` process is killed (SIGKILL)
//! mid-way, `rethink run --resume` continues it from its last checkpoint, and its
//! `metrics.jsonl` is byte-identical, apart from wall times, to an uninterrupted run's.
use crate::common::*;
use rethink::experiment::{RunDir, CHECKPOINT};
use std::path::Path;
use std::time::{Duration, Instant};

fn rethink_run(out: &Path, args: &[&str]) -> std::process::Command {
    let mut c = rethink();
    c.args([
        "--threads",
        "1",
        "run",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ])
    .args(args);
    c
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |t| t.lines().count())
}

/// Runs `args` to the end in one directory; in another, kills the run once it has measured
/// `kill_after` epochs and holds a checkpoint, resumes it, and compares the two.
fn killed_and_resumed_equals_uninterrupted(args: &[&str], kill_after: usize) {
    require_fashion();
    let tmp = tempdir();
    let (whole, cut) = (tmp.path().join("whole"), tmp.path().join("cut"));
    let o = rethink_run(&whole, args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !whole.join(CHECKPOINT).exists(),
        "a finished run keeps its checkpoint"
    );

    let mut child = rethink_run(&cut, args).spawn().unwrap();
    let start = Instant::now();
    while lines(&cut.join("metrics.jsonl")) < kill_after || !cut.join(CHECKPOINT).is_file() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed; kill it earlier"
        );
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the run never got far enough"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !cut.join("summary.json").exists(),
        "killed after it had finished"
    );
    let killed_at = lines(&cut.join("metrics.jsonl"));
    let first_line = |p: &Path| {
        let text = std::fs::read_to_string(p.join("metrics.jsonl")).unwrap();
        text.lines().next().unwrap().to_string()
    };
    let epoch0 = first_line(&cut);

    let o = rethink()
        .args([
            "--threads",
            "1",
            "run",
            "-q",
            "--resume",
            cut.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        metrics_without_times(&cut),
        metrics_without_times(&whole),
        "killed after {killed_at} epochs and resumed, the metrics differ from an uninterrupted run"
    );
    assert_eq!(
        RunDir::read_summary(&cut).unwrap().steps,
        RunDir::read_summary(&whole).unwrap().steps
    );
    assert!(!cut.join(CHECKPOINT).exists());
    // Resumed, not restarted: epoch 0 was not measured again (its wall time is the killed
    // run's).
    assert_eq!(first_line(&cut), epoch0);
    assert!(
        lines(&whole.join("metrics.jsonl")) > killed_at,
        "the run was killed at its end: nothing was resumed"
    );
}

#[test]
fn an_mlp_killed_mid_run_resumes_to_identical_metrics() {
    killed_and_resumed_equals_uninterrupted(&["--preset", "fashion-cpu-random-labels"], 40);
}

#[test]
fn an_mlp_with_dropout_killed_mid_run_resumes_to_identical_metrics() {
    // Dropout draws from libtorch's generator, reseeded each epoch from the run's seed.
    killed_and_resumed_equals_uninterrupted(
        &[
            "--preset",
            "fashion-cpu-dropout-random-labels",
            "--epochs",
            "60",
        ],
        20,
    );
}

#[test]
fn alexnet_killed_mid_run_resumes_to_identical_metrics() {
    killed_and_resumed_equals_uninterrupted(
        &[
            "--preset",
            "fashion-grid-alexnet-random-labels",
            "--test-size",
            "128",
            "--epochs",
            "10",
        ],
        4,
    );
}

#[test]
fn resume_refuses_a_finished_run_and_a_changed_experiment_and_keeps_a_checkpoint_when_asked() {
    require_fashion();
    let tmp = tempdir();
    let d = tmp.path().join("run");
    let args = [
        "--preset",
        "fashion-cpu-random-labels",
        "--epochs",
        "3",
        "--keep-checkpoint",
    ];
    let o = rethink_run(&d, &args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join(CHECKPOINT).is_file(), "--keep-checkpoint removed it");
    std::fs::remove_file(d.join(CHECKPOINT)).unwrap();
    let resume = |extra: &[&str]| {
        let mut c = rethink();
        c.args(["run", "-q", "--resume", d.to_str().unwrap()])
            .args(extra);
        c.output().unwrap()
    };
    let o = resume(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the run has finished"),
        "{}",
        stderr(&o)
    );
    let o = resume(&["--lr", "0.1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("drop the flags that change the experiment"),
        "{}",
        stderr(&o)
    );
}

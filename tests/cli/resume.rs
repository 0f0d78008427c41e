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
    let resume = |extra: &[&str]| {
        let mut c = rethink();
        c.args(["run", "-q", "--resume", d.to_str().unwrap()])
            .args(extra);
        c.output().unwrap()
    };
    let refused_as_finished = || {
        let o = resume(&[]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("the run has finished"),
            "{}",
            stderr(&o)
        );
    };
    // Finished, with its checkpoint kept: still nothing to resume, and nothing is touched.
    let before = metrics_without_times(&d);
    refused_as_finished();
    assert!(
        d.join(CHECKPOINT).is_file(),
        "a refused resume removed the kept checkpoint"
    );
    assert_eq!(metrics_without_times(&d), before);
    std::fs::remove_file(d.join(CHECKPOINT)).unwrap();
    refused_as_finished();
    let o = resume(&["--lr", "0.1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("drop the flags that change the experiment"),
        "{}",
        stderr(&o)
    );
}

/// The `amp` wiring through the real loop, on the CPU (where autocast does nothing, so the
/// run is fp32 through the amp optimizer and its loss scaler; the CLI refuses `--amp` off
/// CUDA, and only this test lets it through): a run interrupted after its checkpoint and
/// resumed measures what an uninterrupted one does, and the checkpoint carries the loss
/// scaler's state.
#[test]
fn amp_through_the_real_loop_checkpoints_and_resumes_with_its_loss_scaler() {
    use rethink::experiment::Experiment;
    require_fashion();
    tch::set_num_threads(THREADS);
    let mut exp = Experiment::preset("fashion-smoke-alexnet-random-labels").unwrap();
    exp.train.amp = true;
    exp.train.max_epochs = 6;
    exp.train.target_train_acc = None;
    exp.name = "amp-on-cpu".into();
    let tmp = tempdir();
    let (whole, cut) = (tmp.path().join("whole"), tmp.path().join("cut"));
    let cpu = tch::Device::Cpu;

    let refused = RunDir::create(&whole, false)
        .unwrap()
        .train(&exp, cpu, None, &mut |_| {})
        .unwrap_err();
    assert!(
        rethink::error::chain(&refused).contains("needs a cuda device"),
        "{refused}"
    );

    let mut dir = RunDir::create(&whole, true).unwrap();
    dir.amp_off_cuda = true;
    let rec = dir.train(&exp, cpu, None, &mut |_| {}).unwrap();
    assert_eq!(rec.summary.epochs, 6);

    // Interrupted when epoch 4 is measured: the last checkpoint holds an epoch before it
    // (after the first, checkpoints are written as often as their cost allows).
    let mut dir = RunDir::create(&cut, false).unwrap();
    dir.amp_off_cuda = true;
    let interrupted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dir.train(&exp, cpu, None, &mut |m| {
            if m.epoch == 4 {
                panic!("interrupted at epoch 4");
            }
        })
    }));
    assert!(interrupted.is_err(), "the run was not interrupted");
    drop(dir);
    let named = tch::Tensor::load_multi(cut.join(CHECKPOINT)).unwrap();
    let meta = named.iter().find(|(n, _)| n == "meta").unwrap();
    let meta: serde_json::Value =
        serde_json::from_slice(&Vec::<u8>::try_from(&meta.1).unwrap()).unwrap();
    let steps_at_checkpoint = meta["step"].as_u64().unwrap();
    let epoch = meta["epoch"].as_u64().unwrap();
    assert!((1..4).contains(&epoch), "checkpoint at epoch {epoch}");
    // (scale, good steps since it last changed, skipped): fp32 gradients are always finite.
    assert_eq!(
        meta["scaler"],
        serde_json::json!([65536.0, steps_at_checkpoint, 0]),
        "the checkpoint's loss scaler state"
    );

    let (mut dir, resumed_exp) = RunDir::resume(&cut).unwrap();
    assert_eq!(resumed_exp, exp);
    dir.amp_off_cuda = true;
    let resumed = dir.train(&exp, cpu, None, &mut |_| {}).unwrap();
    assert_eq!(metrics_without_times(&cut), metrics_without_times(&whole));
    assert_eq!(resumed.summary.steps, rec.summary.steps);
    assert!(!cut.join(CHECKPOINT).exists());
}

/// A resume or a `--force` that cannot start (no data where it is told to look, a
/// truncated checkpoint) fails before it touches the run: its config, metrics and
/// checkpoint are as they were.
#[test]
fn a_failed_resume_or_force_leaves_the_run_as_it_was() {
    require_fashion();
    let tmp = tempdir();
    let d = tmp.path().join("run");
    let o = rethink_run(
        &d,
        &[
            "--preset",
            "fashion-cpu-random-labels",
            "--epochs",
            "3",
            "--keep-checkpoint",
        ],
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // An interrupted run: a checkpoint and metrics, no summary.
    std::fs::remove_file(d.join("summary.json")).unwrap();
    let files = |d: &Path| {
        ["config.json", "metrics.jsonl", CHECKPOINT].map(|f| std::fs::read(d.join(f)).ok())
    };
    let before = files(&d);
    assert!(before.iter().all(Option::is_some));
    let ds = d.to_str().unwrap();
    let empty = tmp.path().join("no-data");
    std::fs::create_dir_all(&empty).unwrap();
    let no_data = empty.to_str().unwrap();

    let resume: &[&str] = &["--resume", ds];
    let force: &[&str] = &[
        "--force",
        "--preset",
        "fashion-cpu-random-labels",
        "--out",
        ds,
    ];
    for args in [resume, force] {
        let o = rethink()
            .args(["run", "-q", "--data-dir", no_data])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert_eq!(
            files(&d),
            before,
            "{args:?} without its data changed the run"
        );
    }

    // A config.json edited since the checkpoint: refused, naming the changed fields.
    let mut edited: serde_json::Value =
        serde_json::from_slice(before[0].as_ref().unwrap()).unwrap();
    edited["lr"] = 0.05.into();
    edited["train_size"] = 500.into();
    std::fs::write(d.join("config.json"), edited.to_string()).unwrap();
    let o = rethink()
        .args(["run", "-q", "--resume", ds])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has changed since this checkpoint was written (lr, train_size)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(&d)[1..], before[1..]);
    std::fs::write(d.join("config.json"), before[0].as_ref().unwrap()).unwrap();

    // A truncated checkpoint: the resume fails naming it in one line (no libtorch
    // backtrace), and the run keeps its metrics.
    let ckpt = std::fs::read(d.join(CHECKPOINT)).unwrap();
    std::fs::write(d.join(CHECKPOINT), &ckpt[..ckpt.len() / 2]).unwrap();
    let o = rethink()
        .args(["run", "-q", "--resume", ds])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(CHECKPOINT), "{}", stderr(&o));
    assert!(!stderr(&o).contains("frame #"), "{}", stderr(&o));
    let after = files(&d);
    assert_eq!((&after[0], &after[1]), (&before[0], &before[1]));
}

/// A planned run (`rethink run --plan P --index I`, what a Slurm task runs) sent SIGTERM
/// mid-way stops at its next step, keeps a checkpoint and exits 75, "requeue me"; the same
/// command again resumes it, and its metrics are an uninterrupted run's, each epoch once;
/// once more, it finds the run finished and trains nothing.
#[test]
fn sigterm_stops_a_planned_run_with_the_requeue_status_and_it_resumes_exactly() {
    require_fashion();
    let tmp = tempdir();
    let name = "fashion-smoke-alexnet-true-labels";
    let planned = |dir: &Path| {
        let o = cli(&[
            "plan",
            "--scale",
            "smoke",
            "--only",
            name,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut c = rethink();
        c.args(["--threads", "1", "run", "-q", "--plan"])
            .arg(dir.join("plan.jsonl"))
            .args(["--index", "0"]);
        c
    };
    let (whole, cut) = (tmp.path().join("whole"), tmp.path().join("cut"));
    let o = planned(&whole).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));

    let run = cut.join("runs").join(name);
    let child = planned(&cut)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while lines(&run.join("metrics.jsonl")) < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no third epoch in 120 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill(2) on the child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(stderr(&o).contains("stopped on request"), "{}", stderr(&o));
    assert!(
        run.join(CHECKPOINT).is_file(),
        "no checkpoint after SIGTERM"
    );
    assert!(!run.join("summary.json").exists());
    let measured = lines(&run.join("metrics.jsonl"));
    assert!(measured >= 3, "{measured} epochs measured before the stop");

    let o = planned(&cut).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("resuming from its checkpoint"),
        "{}",
        stderr(&o)
    );
    let whole_run = whole.join("runs").join(name);
    assert_eq!(
        metrics_without_times(&run),
        metrics_without_times(&whole_run)
    );
    assert!(lines(&run.join("metrics.jsonl")) > measured);
    assert!(!run.join(CHECKPOINT).exists());

    let before = std::fs::metadata(run.join("summary.json"))
        .unwrap()
        .modified()
        .unwrap();
    let o = planned(&cut).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("already finished"), "{}", stdout(&o));
    let after = std::fs::metadata(run.join("summary.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "a finished planned run was trained again");
}

//! The tests' run cache: a finished run of exactly the same experiment is reused, anything
//! else (another experiment, an unfinished run, another device) is trained anew.
use crate::common::*;
use rethink::experiment::{Experiment, RunDir};
use tch::Device;

#[test]
fn a_finished_run_of_the_same_experiment_is_reused_and_any_other_is_retrained() {
    require_fashion();
    let tmp = tempdir();
    let e = tiny_experiment(64, 2);
    let (dir, lock) = (tmp.path().join("run"), tmp.path().join("run.lock"));
    let first = train_once(&dir, &lock, &e, Device::Cpu).unwrap();
    let again = train_once(&dir, &lock, &e, Device::Cpu).unwrap();
    // Reused: the same record, wall times included, which a new run would not reproduce;
    // read back from disk, every float is the one that was written.
    assert_eq!(first.metrics, again.metrics);
    assert_eq!(first.summary, again.summary);

    // A stale entry, another experiment in the same place, is never used.
    let mut other = e.clone();
    other.train.seed = 1;
    let redone = train_once(&dir, &lock, &other, Device::Cpu).unwrap();
    assert_eq!(redone.experiment, other);
    assert_eq!(
        Experiment::from_file(&dir.join("config.json")).unwrap(),
        other
    );

    // An unfinished run (no summary) is trained again, not read.
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let finished = train_once(&dir, &lock, &other, Device::Cpu).unwrap();
    assert!(dir.join("summary.json").is_file());
    assert_ne!(finished.summary.wall_s, redone.summary.wall_s);

    // An interrupted run (a checkpoint, no summary) is resumed, not restarted.
    let mut rd = RunDir::create(&dir, true).unwrap();
    rd.keep_checkpoint = true;
    let kept = rd.train(&other, Device::Cpu, None, &mut |_| {}).unwrap();
    drop(rd);
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let resumed = train_once(&dir, &lock, &other, Device::Cpu).unwrap();
    assert_eq!(
        resumed.metrics[0], kept.metrics[0],
        "epoch 0 was measured again"
    );
    assert_eq!(
        metrics_without_times(&dir).lines().count(),
        kept.metrics.len()
    );

    // The key names the device and the experiment.
    assert_ne!(cache_key(&e, Device::Cpu), cache_key(&e, Device::Cuda(0)));
    assert_ne!(cache_key(&e, Device::Cpu), cache_key(&other, Device::Cpu));
    assert_eq!(
        cache_key(&e, Device::Cpu),
        cache_key(&e.clone(), Device::Cpu)
    );
}

/// Two experiments small enough to train in a second, distinct by seed.
fn probe_experiments() -> [Experiment; 2] {
    let e = tiny_experiment(32, 2);
    let mut other = e.clone();
    other.train.seed = 1;
    [e, other]
}

/// Not a test of its own: the process that `concurrent_tests_train_each_distinct_run_once`
/// starts twice, which asks the cache in `RETHINK_RUN_CACHE` for the probe runs, one of
/// them twice.
#[test]
#[ignore = "started by concurrent_tests_train_each_distinct_run_once"]
fn cache_probe_process() {
    let [a, b] = probe_experiments();
    for e in [&a, &b, &a] {
        run_cached(e).unwrap();
    }
}

/// As under `cargo nextest run`, where each test is its own process: two processes that
/// need the same runs at the same moment train each distinct run once (one waits for the
/// other's lock, then reads its finished run), and the training log says so. The whole
/// suite's log is `run-cache/trained.log` under the target directory's tmp folder.
#[test]
fn concurrent_tests_train_each_distinct_run_once() {
    require_fashion();
    let tmp = tempdir();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "run_cache::cache_probe_process", "--ignored"])
                .env("RETHINK_RUN_CACHE", tmp.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("1 passed"), "the probe did not run: {text}");
    }
    // 2 processes asked for 3 runs each, 6 requests of 2 distinct experiments.
    assert_eq!(trainings(tmp.path()), (2, 2));
    for e in probe_experiments() {
        let dir = tmp.path().join(cache_key(&e, Device::Cpu));
        assert!(RunDir::finished_run(&dir, &e).is_some(), "{}", e.name);
    }
}

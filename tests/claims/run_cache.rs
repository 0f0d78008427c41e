//! The tests' run cache: a finished run of exactly the same experiment is reused, anything
//! else (another experiment, an unfinished run, another device) is trained anew.
use crate::common::*;
use rethink::experiment::{Experiment, RunDir};
use tch::Device;

#[test]
fn a_finished_run_of_the_same_experiment_is_reused_and_any_other_is_retrained() {
    require_fashion();
    let tmp = tempdir();
    let mut e = Experiment::preset("fashion-cpu-random-labels").unwrap();
    e.train_size = Some(64);
    e.test_size = Some(64);
    e.train.max_epochs = 2;
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

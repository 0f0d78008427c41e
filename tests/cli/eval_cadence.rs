//! The test set's evaluation cadence (`test_every`) changes what is measured, never what is
//! trained: at every cadence a run stops at the same epoch, with the same training-set
//! metrics at every epoch and the same final test accuracy, and the test set is measured at
//! exactly the epochs the cadence names and after the last.
use crate::common::*;
use rethink::experiment::{self, Experiment, RunRecord};
use tch::Device;

/// AlexNet with dropout on 32 random-labelled images, 7 epochs: dropout draws and batch
/// norm statistics are what an evaluation could disturb, if it disturbed anything.
fn small(test_every: usize) -> Experiment {
    let mut e = Experiment::preset("fashion-smoke-alexnet-random-labels").unwrap();
    e.train_size = Some(32);
    e.test_size = Some(40);
    e.dropout = 0.3;
    e.train.max_epochs = 7;
    e.train.test_every = test_every;
    e
}

fn run(test_every: usize) -> RunRecord {
    require_fashion();
    tch::set_num_threads(THREADS);
    experiment::run(&small(test_every), Device::Cpu).unwrap()
}

/// The epochs whose metrics hold a test-set evaluation.
fn tested(r: &RunRecord) -> Vec<usize> {
    r.metrics
        .iter()
        .filter(|m| m.test_acc.is_some() && m.test_loss.is_some())
        .map(|m| m.epoch)
        .collect()
}

#[test]
fn the_test_cadence_changes_what_is_measured_never_what_is_trained() {
    let every = run(1);
    assert_eq!(every.summary.epochs, 7, "{:?}", every.summary.status);
    assert_eq!(tested(&every), (0..=7).collect::<Vec<_>>());
    for (cadence, want) in [(3, vec![3, 6, 7]), (0, vec![7])] {
        let r = run(cadence);
        assert_eq!(tested(&r), want, "test_every {cadence}");
        assert_eq!(r.summary.status, every.summary.status);
        assert_eq!(r.metrics.len(), every.metrics.len());
        for (a, b) in r.metrics.iter().zip(&every.metrics) {
            let train = |m: &rethink::train::EpochMetrics| {
                (
                    m.epoch,
                    m.step,
                    m.lr,
                    m.train_loss.to_bits(),
                    m.train_acc.to_bits(),
                )
            };
            assert_eq!(
                train(a),
                train(b),
                "test_every {cadence}, epoch {}",
                a.epoch
            );
            if a.test_acc.is_some() {
                assert_eq!(
                    a.test_acc, b.test_acc,
                    "test_every {cadence}, epoch {}",
                    a.epoch
                );
                assert_eq!(
                    a.test_loss, b.test_loss,
                    "test_every {cadence}, epoch {}",
                    a.epoch
                );
            }
        }
        let s = &r.summary;
        assert_eq!(s.final_test_acc, every.summary.final_test_acc);
        assert_eq!(s.final_train_acc, every.summary.final_train_acc);
        assert!(want.contains(&s.best_test_epoch), "{}", s.best_test_epoch);
        if cadence == 0 {
            assert_eq!((s.best_test_acc, s.best_test_epoch), (s.final_test_acc, 7));
        }
    }
}

#[test]
fn config_json_names_the_cadence_only_when_it_is_not_every_epoch() {
    let json = |e: &Experiment| serde_json::to_value(e).unwrap();
    assert!(json(&small(1)).get("test_every").is_none());
    assert_eq!(json(&small(0))["test_every"], 0);
    let back: Experiment = serde_json::from_value(json(&small(3))).unwrap();
    assert_eq!(back, small(3));
    // Every CPU-, grid- and smoke-scale preset evaluates its test set once, after its last
    // epoch; the full-scale ones every epoch (the early-stopping gain reads the best).
    for p in [
        "fashion-cpu-true-labels",
        "fashion-grid-resnet18-random-labels",
        "fashion-smoke-alexnet-random-labels",
    ] {
        assert_eq!(Experiment::preset(p).unwrap().train.test_every, 0, "{p}");
    }
    for p in [
        "cifar10-alexnet-true-labels",
        "fashion-resnet18-random-labels",
    ] {
        assert_eq!(Experiment::preset(p).unwrap().train.test_every, 1, "{p}");
    }
}

#[test]
fn a_run_at_a_finer_test_cadence_stands_in_for_a_coarser_one() {
    for (have, want) in [(1, 0), (1, 3), (3, 6), (3, 0), (0, 0), (2, 2)] {
        assert!(small(have).covers(&small(want)), "{have} covers {want}");
    }
    for (have, want) in [(0, 1), (3, 1), (2, 3), (0, 2)] {
        assert!(
            !small(have).covers(&small(want)),
            "{have} does not cover {want}"
        );
    }
    let mut renamed = small(1);
    renamed.name = "another-name".into();
    assert!(renamed.covers(&small(0)), "the name is not the setup");
    let mut reseeded = small(1);
    reseeded.train.seed += 1;
    assert!(!reseeded.covers(&small(0)), "another seed is another run");
}

//! Every preset a suite lists is a valid preset name that `rethink run --preset NAME`
//! accepts and trains: the CPU suite on the real Fashion-MNIST, the full-scale suite on small
//! files in the real formats (the whole data sets are for GPU runners).
use crate::common::*;
use rethink::data::{cifar, idx};
use rethink::experiment::{Experiment, Scale};
use std::path::Path;

/// Small Fashion-MNIST (IDX) and CIFAR-10 (binary batches) copies under `root`: a few
/// images each, since what is tested is that every preset runs, not what it measures.
fn write_small_data(root: &Path) {
    let fashion = root.join("fashion-mnist");
    std::fs::create_dir_all(&fashion).unwrap();
    for (images, labels, n) in [
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 16),
        ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 8),
    ] {
        let pix: Vec<u8> = (0..n * 784).map(|i| (i * 7 % 251) as u8).collect();
        let lab: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        std::fs::write(fashion.join(images), idx::encode(&[n, 28, 28], &pix)).unwrap();
        std::fs::write(fashion.join(labels), idx::encode(&[n], &lab)).unwrap();
    }
    let c = root.join("cifar10");
    std::fs::create_dir_all(&c).unwrap();
    for (k, name) in cifar::TRAIN_FILES
        .iter()
        .chain([&cifar::TEST_FILE])
        .enumerate()
    {
        let mut bytes = Vec::new();
        for i in 0..4usize {
            bytes.push(((i + k) % 10) as u8);
            bytes.extend((0..cifar::RECORD - 1).map(|j| ((i * 31 + j * 7 + k) % 256) as u8));
        }
        std::fs::write(c.join(name), bytes).unwrap();
    }
}

fn runs_one_epoch(name: &str, data_dir: Option<&Path>, out: &Path) {
    let mut args = vec![
        "--threads",
        "1",
        "run",
        "--preset",
        name,
        "--epochs",
        "1",
        "-q",
    ];
    let dir = out.join(name);
    let dir = dir.to_str().unwrap();
    args.extend(["--device", "cpu", "--out", dir]);
    if let Some(d) = data_dir {
        args.extend(["--data-dir", d.to_str().unwrap()]);
    }
    let o = cli(&args);
    assert!(
        o.status.success(),
        "rethink run --preset {name}: {}",
        stderr(&o)
    );
    let e = Experiment::from_file(&out.join(name).join("config.json")).unwrap();
    let mut want = Experiment::preset(name).unwrap();
    want.train.max_epochs = 1;
    // --epochs changed what runs, so the run is named for it, not for the preset.
    assert_eq!(e.name, want.derived_name());
    assert_ne!(e.name, name);
    want.name.clone_from(&e.name);
    assert_eq!(e, want, "{name}: the run is not the preset");
}

#[test]
fn every_cpu_suite_preset_runs_for_one_epoch() {
    require_fashion();
    let tmp = tempdir();
    for e in rethink::suite::experiments(Scale::Cpu) {
        // The grid-scale runs (ResNet18 takes seconds per epoch) are each trained in full by
        // a claim's test (the grid's, or AlexNet's at CPU scale), through the CLI's own
        // library call.
        let graded = rethink::claims::all().any(|c| c.runs.contains(&e.name.as_str()));
        if e.name.starts_with("fashion-grid-") {
            assert!(graded, "{}: no claim trains it", e.name);
            continue;
        }
        runs_one_epoch(&e.name, None, tmp.path());
    }
}

#[test]
fn every_full_scale_suite_preset_runs_for_one_epoch() {
    let tmp = tempdir();
    let data = tmp.path().join("data");
    write_small_data(&data);
    for e in rethink::suite::experiments(Scale::Gpu) {
        runs_one_epoch(&e.name, Some(&data), tmp.path());
    }
}

/// Every mid-scale suite preset runs on the real Fashion-MNIST (for one epoch, on 20
/// class-balanced training and 20 test images: the mid claims' own profile trains them in
/// full), with the preset's class-balanced subset, cosine schedule over the budget given and
/// no early stop; and `--subset validation` evaluates on training images the run did not
/// train on, leaving the test file unread.
#[test]
fn every_mid_suite_preset_runs_on_a_balanced_subset() {
    use rethink::data::Subset;
    use rethink::train::Schedule;
    require_fashion();
    let tmp = tempdir();
    for e in rethink::suite::experiments(Scale::Mid) {
        assert_eq!(e.subset, Subset::Balanced, "{}", e.name);
        assert_eq!(e.train.target_train_acc, None, "{}: a fixed budget", e.name);
        for subset in ["balanced", "validation"] {
            let dir = tmp.path().join(format!("{}-{subset}", e.name));
            let o = cli(&[
                "--threads",
                "1",
                "run",
                "--preset",
                &e.name,
                "--train-size",
                "20",
                "--test-size",
                "20",
                "--epochs",
                "1",
                "--subset",
                subset,
                "-q",
                "--out",
                dir.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}: {}", e.name, stderr(&o));
            let ran = Experiment::from_file(&dir.join("config.json")).unwrap();
            assert_eq!(
                ran.train.schedule,
                Schedule::Cosine { epochs: 1 },
                "{}",
                e.name
            );
            let summary: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                    .unwrap();
            assert_eq!(summary["epochs"], 1, "{}", e.name);
            assert_eq!(summary["train_size"], 20, "{}", e.name);
        }
    }
    // A class-balanced subset of a size no class count divides is refused, naming the flag's
    // field.
    let o = cli(&[
        "run",
        "--preset",
        "fashion-mid-mlp1x512-true-labels",
        "--train-size",
        "25",
        "--epochs",
        "1",
        "-q",
        "--out",
        tmp.path().join("odd").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o)
            .contains("train_size: a class-balanced subset needs a multiple of 10 images, not 25"),
        "{}",
        stderr(&o)
    );
}

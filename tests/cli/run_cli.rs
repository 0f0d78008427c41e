//! `rethink run` on real Fashion-MNIST: 1,000 training images, MLP 1x512 (issue: engine).
use crate::common::*;
use rethink::experiment::{RunDir, Summary};
use std::path::Path;

fn run_cli(dir: &Path, extra: &[&str]) -> Summary {
    require_fashion();
    let mut args = vec![
        "--threads",
        "1",
        "run",
        "--out",
        dir.to_str().unwrap(),
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = cli(&args);
    assert!(
        o.status.success(),
        "rethink {args:?} failed: {}",
        stderr(&o)
    );
    RunDir::read_summary(dir).unwrap()
}

#[test]
fn run_random_labels_memorizes_1000_images_at_chance_test_accuracy() {
    let tmp = tempdir();
    let s = run_cli(tmp.path(), &["--preset", "fashion-cpu-random-labels"]);
    assert!(s.final_train_acc >= 0.99, "{s:?}");
    assert!((0.05..=0.15).contains(&s.final_test_acc), "{s:?}");
    assert_eq!(s.train_size, 1000);
    assert!(
        s.corrupted > 850 && s.corrupted < 950,
        "about 0.9·1000 labels change: {}",
        s.corrupted
    );
    for f in [
        "config.json",
        "metrics.jsonl",
        "summary.json",
        "corrupted.json",
    ] {
        assert!(tmp.path().join(f).is_file(), "{f} missing");
    }
    let metrics = RunDir::read_metrics(tmp.path()).unwrap();
    assert_eq!(
        metrics.len(),
        s.epochs + 1,
        "one line per epoch, plus epoch 0"
    );
    assert_eq!(metrics.last().unwrap().step, s.steps);
    // 1,000 images in batches of 128: 8 steps per epoch, the last batch partial but kept.
    assert_eq!(s.steps, 8 * s.epochs);
}

#[test]
fn run_true_labels_fits_and_generalizes() {
    let tmp = tempdir();
    let s = run_cli(tmp.path(), &["--preset", "fashion-cpu-true-labels"]);
    assert!(s.final_train_acc >= 0.99, "{s:?}");
    assert!(s.final_test_acc >= 0.70, "{s:?}");
    assert_eq!(s.epochs_to_fit, Some(s.epochs));
    assert_eq!(s.status, rethink::train::Stop::TargetReached);
}

#[test]
fn two_runs_of_one_config_give_identical_metrics_apart_from_wall_time() {
    let tmp = tempdir();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run_cli(
        &a,
        &[
            "--preset",
            "fashion-cpu-corrupt-0.5",
            "--epochs",
            "40",
            "--seed",
            "3",
        ],
    );
    let config = a.join("config.json");
    run_cli(&b, &["--config", config.to_str().unwrap()]);
    let (ma, mb) = (metrics_without_times(&a), metrics_without_times(&b));
    assert_eq!(ma.lines().count(), 41);
    assert_eq!(ma, mb);
    // A different seed gives a different run.
    let c = tmp.path().join("c");
    run_cli(&c, &["--config", config.to_str().unwrap(), "--seed", "4"]);
    assert_ne!(ma, metrics_without_times(&c));
}

#[test]
fn invalid_configs_exit_non_zero_naming_the_field() {
    let tmp = tempdir();
    let o = cli(&[
        "run",
        "--randomization",
        "corrupt:1.5",
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("invalid randomization: corruption probability 1.5 is outside [0, 1]"),
        "{}",
        stderr(&o)
    );

    let exp = rethink::experiment::Experiment::preset("fashion-cpu-true-labels").unwrap();
    let json = serde_json::to_string_pretty(&exp)
        .unwrap()
        .replace("\"true-labels\"", "\"corrupt:1.5\"");
    let cfg = tmp.path().join("bad.json");
    std::fs::write(&cfg, json).unwrap();
    let o = cli(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        tmp.path().join("y").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("bad.json") && err.contains("corruption probability 1.5 is outside [0, 1]"),
        "{err}"
    );

    for (flag, value, field) in [
        ("--batch-size", "0", "invalid batch_size"),
        (
            "--train-size",
            "70000",
            "invalid train_size: 70000 is larger than the 60000 images",
        ),
        ("--dropout", "1.0", "invalid dropout"),
    ] {
        let out = tmp.path().join(flag.trim_start_matches('-'));
        let o = cli(&["run", flag, value, "--out", out.to_str().unwrap(), "-q"]);
        assert!(!o.status.success(), "{flag} {value} accepted");
        assert!(stderr(&o).contains(field), "{flag}: {}", stderr(&o));
    }
}

#[test]
fn a_non_empty_run_directory_is_refused_without_force() {
    let tmp = tempdir();
    std::fs::write(tmp.path().join("notes.txt"), "keep me").unwrap();
    let o = cli(&[
        "run",
        "--out",
        tmp.path().to_str().unwrap(),
        "--epochs",
        "1",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("run directory is not empty; pass --force to overwrite"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn a_non_finite_loss_stops_the_run_with_a_clear_status() {
    let tmp = tempdir();
    require_fashion();
    let o = cli(&[
        "--threads",
        "1",
        "run",
        "--lr",
        "1e9",
        "--epochs",
        "50",
        "--out",
        tmp.path().to_str().unwrap(),
        "-q",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the loss became non-finite"),
        "{}",
        stderr(&o)
    );
    let s = RunDir::read_summary(tmp.path()).unwrap();
    assert_eq!(s.status, rethink::train::Stop::NonFiniteLoss);
    assert!(s.epochs < 50, "stopped early: {s:?}");
    assert_eq!(
        RunDir::read_metrics(tmp.path()).unwrap().len(),
        s.epochs + 1
    );
}

/// `--channels-last` trains the same AlexNet in NHWC layout: it is recorded in config.json
/// (and absent when off), and three epochs give the same losses up to float rounding
/// (measured: 1e-6 relative).
#[test]
fn channels_last_trains_the_same_model_in_another_layout() {
    let tmp = tempdir();
    let (a, c) = (tmp.path().join("nchw"), tmp.path().join("nhwc"));
    let base = [
        "--preset",
        "fashion-grid-alexnet-random-pixels",
        "--epochs",
        "3",
    ];
    run_cli(&a, &base);
    run_cli(&c, &[&base[..], &["--channels-last"]].concat());
    let config = |d: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("config.json")).unwrap()).unwrap()
    };
    assert_eq!(config(&c)["channels_last"], true);
    assert!(config(&a).get("channels_last").is_none());
    let losses = |d: &Path| -> Vec<f64> {
        std::fs::read_to_string(d.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["train_loss"]
                    .as_f64()
                    .unwrap()
            })
            .collect()
    };
    let (la, lc) = (losses(&a), losses(&c));
    assert_eq!(la.len(), 4);
    for (x, y) in la.iter().zip(&lc) {
        assert!((x - y).abs() <= 1e-4 * x.abs(), "{la:?} vs {lc:?}");
    }
}

/// `--amp` is libtorch's CUDA autocast: asked for on CPU, the run stops before training and
/// says why, naming the setting.
#[test]
fn amp_on_cpu_is_refused_with_a_clear_error() {
    let tmp = tempdir();
    let out = tmp.path().join("amp");
    let o = cli(&[
        "run",
        "--preset",
        "fashion-cpu-true-labels",
        "--device",
        "cpu",
        "--amp",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("amp") && err.contains("cuda"), "{err}");
    assert!(!out.join("summary.json").exists());
}

#[test]
fn a_run_is_named_for_what_runs_unless_named_explicitly() {
    let tmp = tempdir();
    let name_of = |dir: &str, extra: &[&str]| {
        let d = tmp.path().join(dir);
        let mut args = vec!["--epochs", "0", "--train-size", "64", "--test-size", "64"];
        args.extend_from_slice(extra);
        run_cli(&d, &args).name
    };
    let changed = name_of(
        "a",
        &["--model", "alexnet", "--randomization", "random-labels"],
    );
    assert!(
        changed.starts_with("fashion-mnist-alexnet-random-labels-"),
        "{changed}"
    );
    let other = name_of(
        "b",
        &[
            "--model",
            "alexnet",
            "--randomization",
            "random-labels",
            "--seed",
            "1",
        ],
    );
    assert_ne!(changed, other, "two different runs share a name");
    assert_eq!(
        name_of("c", &["--name", "mine", "--model", "alexnet"]),
        "mine"
    );
}

#[test]
fn the_device_defaults_to_rethink_device_which_the_tests_pin_to_the_cpu() {
    require_fashion();
    let tmp = tempdir();
    let s = run_cli(
        &tmp.path().join("a"),
        &["--epochs", "0", "--train-size", "64"],
    );
    assert_eq!(s.device, "cpu");
    // The variable is read: CUDA asked for on a machine without it is refused by name.
    let o = rethink()
        .env("RETHINK_DEVICE", "cuda:7")
        .args(["run", "--epochs", "0", "-q", "--out"])
        .arg(tmp.path().join("b"))
        .output()
        .unwrap();
    if !tch::Cuda::is_available() {
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("cuda requested"), "{}", stderr(&o));
    }
}

/// Without a terminal `run` logs its epochs as plain lines (here every epoch,
/// `--log-every 0`), and `-q` silences them with the bar.
#[test]
fn without_a_terminal_run_logs_its_epochs_unless_quiet() {
    require_fashion();
    let tmp = tempdir();
    let args = |dir: &Path, quiet: bool| {
        let mut a = vec![
            "--threads".to_string(),
            "1".into(),
            "run".into(),
            "--preset".into(),
            "fashion-smoke-alexnet-true-labels".into(),
            "--epochs".into(),
            "3".into(),
            "--log-every".into(),
            "0".into(),
            "--out".into(),
            dir.display().to_string(),
        ];
        if quiet {
            a.push("-q".into());
        }
        a
    };
    let (loud, quiet) = (tmp.path().join("loud"), tmp.path().join("quiet"));
    let o = rethink().args(args(&loud, false)).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let rec = RunDir::read_record(&loud).unwrap();
    for m in &rec.metrics[1..] {
        let line = format!(
            "{}: epoch {}/3, train acc {:.3}",
            rec.experiment.name, m.epoch, m.train_acc
        );
        assert!(text.contains(&line), "no {line:?} in:\n{text}");
    }
    let o = rethink().args(args(&quiet, true)).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains(": epoch "), "{}", stdout(&o));
}

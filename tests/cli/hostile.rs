//! Hostile input on the command line: every value that once panicked (exit 101, a Rust
//! panic with libtorch frames) is refused with one line naming the field or the file, and
//! nothing is written.
use crate::common::*;
use rethink::experiment::Experiment;
use std::path::Path;

/// Runs the binary; asserts a one-line refusal (exit 1) that contains each of `names`.
fn refused(args: &[&str], names: &[&str]) {
    let o = cli(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "rethink {args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "rethink {args:?}: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in names {
        assert!(err.contains(n), "rethink {args:?}: {err} does not name {n}");
    }
}

/// A preset's config with `edit` applied, written to `dir/config.json`.
fn config(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let e = Experiment::preset("fashion-cpu-true-labels").unwrap();
    let mut v = serde_json::to_value(&e).unwrap();
    edit(&mut v);
    let p = dir.join("config.json");
    std::fs::write(&p, v.to_string()).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn training_values_beyond_their_types_or_meaning_are_refused_by_field() {
    let tmp = tempdir();
    let out = tmp.path().join("run");
    let out = out.to_str().unwrap();
    let run = |extra: &[&str], names: &[&str]| {
        let mut args = vec!["run", "--out", out, "-q"];
        args.extend_from_slice(extra);
        refused(&args, names);
    };
    let two63 = "9223372036854775808";
    run(&["--lr", "1e39"], &["invalid lr", "1e39"]);
    run(&["--weight-decay", "1e39"], &["invalid weight_decay"]);
    run(&["--batch-size", two63], &["invalid batch_size", two63]);
    run(&["--train-size", two63], &["invalid train_size"]);
    let dir = tmp.path();
    for (field, value, name) in [
        (
            "test_size",
            serde_json::json!(9223372036854775808u64),
            "invalid test_size",
        ),
        (
            "schedule",
            serde_json::json!({"kind": "exponential", "gamma": 1e300}),
            "invalid schedule.gamma",
        ),
        (
            "schedule",
            serde_json::json!({"kind": "exponential", "gamma": -1.0}),
            "invalid schedule.gamma",
        ),
        (
            "schedule",
            serde_json::json!({"kind": "step", "every": 10, "gamma": 0.0}),
            "invalid schedule.gamma",
        ),
        (
            "schedule",
            serde_json::json!({"kind": "step", "every": 0, "gamma": 0.5}),
            "invalid schedule.every",
        ),
    ] {
        let c = config(dir, |v| v[field] = value.clone());
        run(&["--config", &c], &[name]);
    }
    let c = config(dir, |v| {
        v["preprocess"]["augment_pad"] = 1_000_000_000.into()
    });
    run(&["--config", &c], &["invalid preprocess.augment_pad"]);
    assert!(!Path::new(out).exists(), "a refused run wrote {out}");
}

#[test]
fn theory_values_that_mean_nothing_are_refused_by_field() {
    refused(
        &["theorem", "--n", "0", "--dataset", "fashion-mnist"],
        &["invalid n"],
    );
    refused(
        &["theorem", "--n", "5", "--classes", "0"],
        &["invalid classes"],
    );
    for g in ["0", "-1", "nan", "inf"] {
        refused(&["kernel", &format!("--gamma={g}")], &["invalid gamma"]);
    }
    // Points in 0 dimensions are all one point: refused, not "fitted" after dropping all but one.
    refused(&["theorem", "--n", "5", "--d", "0"], &["invalid d"]);
}

#[test]
fn seeds_and_jobs_beyond_their_caps_are_usage_errors() {
    for (flag, v) in [("--seeds", "100000000"), ("--jobs", "100000")] {
        let o = cli(&["reproduce", flag, v, "--list"]);
        assert_eq!(o.status.code(), Some(2), "{flag} {v}: {}", stderr(&o));
        assert!(stderr(&o).contains(flag), "{}", stderr(&o));
    }
}

#[test]
fn zero_threads_is_a_usage_error() {
    let o = cli(&["--threads", "0", "models"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("'--threads <THREADS>'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_data_set_of_zero_images_is_refused_naming_the_file() {
    let tmp = tempdir();
    let dir = tmp.path().join("fashion-mnist");
    std::fs::create_dir_all(&dir).unwrap();
    for (stem, n) in [
        ("train-images-idx3-ubyte", 0),
        ("t10k-images-idx3-ubyte", 10),
    ] {
        let data = vec![0u8; n * 784];
        std::fs::write(
            dir.join(stem),
            rethink::data::idx::encode(&[n, 28, 28], &data),
        )
        .unwrap();
    }
    for (stem, n) in [
        ("train-labels-idx1-ubyte", 0),
        ("t10k-labels-idx1-ubyte", 10),
    ] {
        std::fs::write(
            dir.join(stem),
            rethink::data::idx::encode(&[n], &vec![0u8; n]),
        )
        .unwrap();
    }
    let root = tmp.path().to_str().unwrap();
    let out = tmp.path().join("run");
    for args in [
        vec!["data", "info", "fashion-mnist", "--data-dir", root],
        vec![
            "run",
            "--data-dir",
            root,
            "--out",
            out.to_str().unwrap(),
            "-q",
        ],
    ] {
        refused(
            &args,
            &["train-images-idx3-ubyte: the header declares 0 images"],
        );
    }
    assert!(!out.exists());
}

/// A closed or full standard output ends a command with its error status (1; `diff` 2),
/// never a panic (exit 101): quietly for a closed pipe, with one line for a full disk.
#[test]
fn a_closed_or_full_stdout_is_an_error_status_not_a_panic() {
    use std::process::Stdio;
    let tmp = tempdir();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    // One small run in A, none in B: `diff` has lines to print and exits 1.
    require_fashion();
    let o = cli(&[
        "--threads",
        "1",
        "run",
        "-q",
        "--preset",
        "fashion-cpu-true-labels",
        "--train-size",
        "64",
        "--test-size",
        "64",
        "--epochs",
        "1",
        "--out",
        a.join("runs/r").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::create_dir_all(b.join("runs")).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let commands: [(&[&str], i32); 4] = [
        (&["claims"], 1),
        (&["models"], 1),
        (&["run", "--list-presets"], 1),
        (&["diff", a, b], 2),
    ];
    let o = cli(&["diff", a, b]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    for (args, status) in commands {
        // The reader has gone before anything is written.
        let mut child = rethink()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        // `diff` of two empty result sets prints nothing, so it has nothing to fail on.
        if args[0] != "diff" {
            assert_eq!(
                o.status.code(),
                Some(status),
                "{args:?} to a closed pipe: {err}"
            );
            assert!(err.is_empty(), "{args:?} to a closed pipe: {err}");
        }
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = rethink().args(args).stdout(full).output().unwrap();
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{args:?} to /dev/full: {err}");
        if args[0] != "diff" {
            assert_eq!(
                o.status.code(),
                Some(status),
                "{args:?} to /dev/full: {err}"
            );
            assert!(
                err.starts_with("error: cannot write to standard output"),
                "{args:?} to /dev/full: {err}"
            );
        }
    }
}

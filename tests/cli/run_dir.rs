//! The run directory never loses or redirects a write: planted links are replaced, not
//! followed; a second writer is refused; the first failed write stops the run; a run that
//! fails before measuring leaves nothing behind; `rethink report` refuses a run directory.
use crate::common::*;
use rethink::experiment::{Experiment, RunDir};
use std::path::Path;
use tch::Device;

/// A run of a few seconds: 64 images, 3 epochs.
fn tiny() -> Experiment {
    tiny_experiment(64, 3)
}

fn train(dir: &Path, exp: &Experiment) -> rethink::error::Result<usize> {
    require_fashion();
    tch::set_num_threads(THREADS);
    let rd = RunDir::create(dir, true)?;
    let mut epochs = 0;
    rd.train(exp, Device::Cpu, None, &mut |_| epochs += 1)?;
    Ok(epochs)
}

#[test]
fn a_link_planted_at_a_temporary_name_is_replaced_never_followed() {
    let tmp = tempdir();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json.tmp", "metrics.jsonl.tmp", "summary.json.tmp"] {
        std::os::unix::fs::symlink(&victim, dir.join(f)).unwrap();
    }
    train(&dir, &tiny()).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(RunDir::read_record(&dir)
        .unwrap()
        .is_finished_run_of(&tiny()));
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_link_in_place_of_the_run_directory_is_refused() {
    let tmp = tempdir();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let link = tmp.path().join("run");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let e = train(&link, &tiny()).unwrap_err().to_string();
    assert!(e.contains("is a symbolic link"), "{e}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_directory() {
    let tmp = tempdir();
    let first = RunDir::create(tmp.path(), true).unwrap();
    let e = RunDir::create(tmp.path(), true).unwrap_err().to_string();
    assert!(
        e.contains("another process is writing this run directory"),
        "{e}"
    );
    drop(first);
    RunDir::create(tmp.path(), true).unwrap();
}

#[test]
fn the_first_failed_write_stops_the_run_at_once_naming_the_file() {
    require_fashion();
    let tmp = tempdir();
    let rd = RunDir::create(tmp.path(), false).unwrap();
    // metrics.jsonl.tmp cannot be made: a non-empty directory holds its name.
    std::fs::create_dir_all(tmp.path().join("metrics.jsonl.tmp/x")).unwrap();
    let mut exp = tiny();
    exp.train.max_epochs = 500;
    let mut epochs = 0;
    let e = rd
        .train(&exp, Device::Cpu, None, &mut |_| epochs += 1)
        .unwrap_err();
    let e = rethink::error::chain(&e);
    assert!(e.contains("metrics.jsonl.tmp"), "{e}");
    assert_eq!(epochs, 1, "training went on after the write failed");
    assert!(!tmp.path().join("summary.json").exists());
}

#[test]
fn a_run_that_fails_before_measuring_leaves_nothing_and_a_retry_needs_no_force() {
    let tmp = tempdir();
    let out = tmp.path().join("run");
    let empty = tmp.path().join("no-data");
    std::fs::create_dir(&empty).unwrap();
    let o = cli(&[
        "run",
        "--preset",
        "fashion-cpu-true-labels",
        "--data-dir",
        empty.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("fashion-mnist"), "{}", stderr(&o));
    assert!(!out.exists(), "a failed run left {}", out.display());
}

#[test]
fn report_refuses_a_run_directory_and_leaves_its_summary_alone() {
    let tmp = tempdir();
    train(tmp.path(), &tiny()).unwrap();
    let before = std::fs::read(tmp.path().join("summary.json")).unwrap();
    let o = cli(&["report", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("is a run directory"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(tmp.path().join("summary.json")).unwrap(),
        before
    );
}

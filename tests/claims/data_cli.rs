//! The real Fashion-MNIST from Debian's package, and clear one-line errors on bad copies.
use crate::common::*;
use rethink::data::{self, DatasetKind};
use std::path::Path;

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

#[test]
fn real_fashion_mnist_has_the_published_shape_classes_and_checksums() {
    require_fashion();
    let raw = data::load(DatasetKind::FashionMnist, None).unwrap();
    assert_eq!(raw.train.images.size(), [60_000, 1, 28, 28]);
    assert_eq!(raw.test.images.size(), [10_000, 1, 28, 28]);
    let counts = Vec::<i64>::try_from(raw.train.labels.bincount::<tch::Tensor>(None, 10)).unwrap();
    assert_eq!(counts, vec![6_000; 10]);
    let test_counts =
        Vec::<i64>::try_from(raw.test.labels.bincount::<tch::Tensor>(None, 10)).unwrap();
    assert_eq!(test_counts, vec![1_000; 10]);
    let verified = data::verify(DatasetKind::FashionMnist, None).unwrap();
    assert_eq!(verified.len(), 4);
}

#[test]
fn data_verify_and_info_work_on_the_debian_files() {
    require_fashion();
    let o = cli(&["data", "verify", "fashion-mnist"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().filter(|l| l.starts_with("ok ")).count(),
        4,
        "{}",
        stdout(&o)
    );
    let o = cli(&["data", "info", "fashion-mnist"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("train: 60000 images of 1x28x28; per-channel mean [0.2860], std [0.3530]"),
        "{out}"
    );
    assert!(out.contains("test: 10000 images of 1x28x28"), "{out}");
}

/// Copies the real files into `root/fashion-mnist/`, applying `damage` to one of them.
fn damaged_copy(root: &Path, file: &str, damage: impl Fn(&mut Vec<u8>)) -> std::path::PathBuf {
    let src = data::search_dirs(DatasetKind::FashionMnist, None)
        .into_iter()
        .find(|d| d.join(FILES[0]).is_file())
        .expect("fashion-mnist installed");
    let dir = root.join("fashion-mnist");
    std::fs::create_dir_all(&dir).unwrap();
    for f in FILES {
        let mut bytes = std::fs::read(src.join(f)).unwrap();
        if f == file {
            damage(&mut bytes);
        }
        std::fs::write(dir.join(f), bytes).unwrap();
    }
    dir.join(file)
}

fn assert_one_line_error_naming(o: &std::process::Output, path: &Path) {
    assert!(!o.status.success(), "expected failure");
    let err = stderr(o);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(
        err.contains(&path.display().to_string()),
        "{err} does not name {}",
        path.display()
    );
}

#[test]
fn a_truncated_real_file_fails_with_a_one_line_error_naming_it() {
    require_fashion();
    let tmp = tempdir();
    let bad = damaged_copy(tmp.path(), "train-images-idx3-ubyte.gz", |b| {
        b.truncate(b.len() / 2)
    });
    let root = tmp.path().to_str().unwrap();
    for cmd in [["data", "info"], ["data", "verify"]] {
        let o = cli(&[cmd[0], cmd[1], "fashion-mnist", "--data-dir", root]);
        assert_one_line_error_naming(&o, &bad);
    }
    let o = cli(&["data", "info", "fashion-mnist", "--data-dir", root]);
    assert!(
        stderr(&o).contains("corrupt or truncated gzip data"),
        "{}",
        stderr(&o)
    );
    let out = tmp.path().join("run");
    let o = cli(&[
        "run",
        "--data-dir",
        root,
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_one_line_error_naming(&o, &bad);
    // A run that fails before measuring anything leaves nothing, so a retry needs no
    // --force (and nothing the user had written is touched).
    assert!(!out.exists());
}

#[test]
fn a_bit_flipped_real_file_fails_with_a_one_line_error_naming_it() {
    require_fashion();
    let tmp = tempdir();
    let bad = damaged_copy(tmp.path(), "t10k-labels-idx1-ubyte.gz", |b| {
        let i = b.len() / 2;
        b[i] ^= 0x10;
    });
    let root = tmp.path().to_str().unwrap();
    let o = cli(&["data", "verify", "fashion-mnist", "--data-dir", root]);
    assert_one_line_error_naming(&o, &bad);
    assert!(stderr(&o).contains("md5 mismatch"), "{}", stderr(&o));
    let o = cli(&["data", "info", "fashion-mnist", "--data-dir", root]);
    assert_one_line_error_naming(&o, &bad);
}

#[test]
fn a_missing_data_set_names_the_dirs_and_the_provider() {
    let tmp = tempdir();
    let o = cli(&[
        "data",
        "info",
        "cifar10",
        "--data-dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("data set cifar10 not found (searched"),
        "{err}"
    );
    assert!(
        err.contains(&tmp.path().join("cifar10").display().to_string()),
        "{err}"
    );
    assert!(err.contains("rethink data fetch cifar10"), "{err}");
    let o = rethink()
        .args(["data", "info", "mnist"])
        .env("RETHINK_DATA_DIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains(&tmp.path().join("mnist").display().to_string()),
        "{}",
        stderr(&o)
    );
}

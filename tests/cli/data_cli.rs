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
    assert!(
        out.contains("train/test: no test image is a training image"),
        "{out}"
    );
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

/// Each image of `images` (N × ...) as the bytes of its values.
fn image_bytes(images: &tch::Tensor) -> Vec<Vec<u8>> {
    let n = images.size()[0];
    let flat = images
        .to_kind(tch::Kind::Float)
        .reshape([n, -1])
        .contiguous();
    let per = flat.size()[1] as usize;
    let values = Vec::<f32>::try_from(flat.reshape([-1])).unwrap();
    values
        .chunks(per.max(1))
        .map(|c| c.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect()
}

/// No test image is a training image in any Fashion-MNIST run of any scale's suite, before
/// or after its randomization: the test images come from the data set's test file whatever
/// the sizes and randomization, so no lower-bound band can pass on a leak. Compared by
/// content, never by index: as loaded through the library's own check
/// (`data::shared_images`, which `rethink data info` reports for any data set), and after
/// randomization by the bytes of the float images the net sees. (Fashion-MNIST's two files
/// share no image, so on the data itself the count is exactly 0.)
#[test]
fn no_test_image_is_a_training_image_in_any_run_of_any_scale() {
    use rethink::experiment::Scale;
    use std::collections::{BTreeSet, HashSet};
    require_fashion();
    let raw = data::load(DatasetKind::FashionMnist, None).unwrap();
    let all = data::shared_images(&raw, None, None, data::Subset::First).unwrap();
    assert!(all.is_empty(), "the data set's files share images: {all:?}");
    let mut seen = BTreeSet::new();
    let mut checked = 0;
    for &scale in Scale::all() {
        for e in rethink::suite::experiments(scale) {
            let key = (
                e.train_size,
                e.test_size,
                e.subset,
                e.randomization.to_string(),
                e.train.seed,
            );
            if e.dataset != DatasetKind::FashionMnist || !seen.insert(key) {
                continue;
            }
            let shared = data::shared_images(&raw, e.train_size, e.test_size, e.subset).unwrap();
            assert!(shared.is_empty(), "{}: {shared:?}", e.name);
            let ds = data::Dataset::from_raw(
                &raw,
                e.train_size,
                e.test_size,
                e.subset,
                tch::Device::Cpu,
            )
            .unwrap();
            let r = rethink::randomize::apply(
                &ds.train,
                &ds.test,
                e.randomization,
                e.dataset.classes(),
                e.train.seed,
            )
            .unwrap();
            for (train, test, when) in [
                (&ds.train.images, &ds.test.images, "as loaded"),
                (&r.train.images, &r.test.images, "randomized"),
            ] {
                let train: HashSet<Vec<u8>> = image_bytes(train).into_iter().collect();
                let leaked = image_bytes(test)
                    .iter()
                    .filter(|t| train.contains(*t))
                    .count();
                assert_eq!(
                    leaked, 0,
                    "{} ({when}): {leaked} test images are training images",
                    e.name
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} distinct setups checked");
}

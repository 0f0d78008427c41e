//! Data sets: real Fashion-MNIST, MNIST and CIFAR-10, found on disk in the order of
//! [`search_dirs`] (README.md, "The command line"), loaded as `u8` tensors, and moved once
//! to a device.
//!
//! Subsets are deterministic: `--train-size N` takes the first N training images in file
//! order, and `--test-size N` the first N test images.
pub mod cifar;
pub mod fetch;
pub mod idx;
pub mod transform;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// The Debian package `dataset-fashion-mnist` installs here.
pub const DEBIAN_FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// The environment variable naming a data root.
pub const DATA_DIR_ENV: &str = "RETHINK_DATA_DIR";

/// The data sets the paper's experiments use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    FashionMnist,
    Mnist,
    Cifar10,
}

impl DatasetKind {
    /// Stored image shape `(channels, height, width)`.
    pub fn shape(self) -> (i64, i64, i64) {
        match self {
            DatasetKind::Cifar10 => (3, 32, 32),
            _ => (1, 28, 28),
        }
    }

    pub fn classes(self) -> i64 {
        10
    }

    /// What provides the data set, for "not found" errors.
    pub fn hint(self) -> String {
        let fetch = format!("run `rethink data fetch {}`", self.name());
        match self {
            DatasetKind::FashionMnist => {
                format!("install it with `apt-get install dataset-fashion-mnist` or {fetch}")
            }
            _ => fetch,
        }
    }
}

crate::named!(DatasetKind, "dataset", "data set");

/// The user cache: `$XDG_CACHE_HOME/rethink`, or `~/.cache/rethink`.
pub fn cache_root() -> Option<PathBuf> {
    match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => Some(PathBuf::from(x).join("rethink")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("rethink")),
    }
}

/// The directories searched for `kind`, in order.
///
/// An explicit root (`--data-dir`, else `RETHINK_DATA_DIR`) is authoritative: only it is
/// searched (as `ROOT/NAME` and `ROOT` itself), so that a mistyped path is an error rather
/// than a silent fallback. Without one: Debian's package location (Fashion-MNIST only),
/// then the user cache.
pub fn search_dirs(kind: DatasetKind, data_dir: Option<&Path>) -> Vec<PathBuf> {
    let explicit = data_dir.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(DATA_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    if let Some(root) = explicit {
        return vec![root.join(kind.name()), root];
    }
    let mut dirs = Vec::new();
    if kind == DatasetKind::FashionMnist {
        dirs.push(PathBuf::from(DEBIAN_FASHION_DIR));
    }
    if let Some(cache) = cache_root() {
        dirs.push(cache.join(kind.name()));
    }
    dirs
}

/// Where `rethink data fetch` puts `kind`: under the explicit root, else the user cache.
pub fn fetch_dir(kind: DatasetKind, data_dir: Option<&Path>) -> Result<PathBuf> {
    let explicit = data_dir.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(DATA_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    explicit
        .or_else(cache_root)
        .map(|r| r.join(kind.name()))
        .ok_or_else(|| {
            Error::config(
                "data-dir",
                "no --data-dir, RETHINK_DATA_DIR, XDG_CACHE_HOME or HOME to fetch into",
            )
        })
}

/// The logical IDX files of (Fashion-)MNIST: (images, labels) for train, then test.
const IDX_FILES: [(&str, &str); 2] = [
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
];

/// One IDX file of a data set in `dir`, as `STEM.gz` or `STEM`: `Ok` with its path,
/// `Err(None)` when neither name is there, `Err(Some(why))` when one is there but is no
/// readable file (a directory, a link to nothing, a link loop).
fn idx_file(dir: &Path, stem: &str) -> std::result::Result<PathBuf, Option<String>> {
    let mut problem = None;
    for p in [dir.join(format!("{stem}.gz")), dir.join(stem)] {
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => return Ok(p),
            Ok(_) => problem = Some(format!("{} is not a file", p.display())),
            Err(e) if std::fs::symlink_metadata(&p).is_ok() => {
                problem = Some(format!("{} cannot be read: {e}", p.display()));
            }
            Err(_) => {}
        }
    }
    Err(problem)
}

/// The files of a data set found in one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// (images, labels) for train, then test.
    Idx([(PathBuf, PathBuf); 2]),
    Cifar(cifar::Layout),
}

impl Located {
    /// Every file, for verification and messages.
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            Located::Idx(pairs) => pairs
                .iter()
                .flat_map(|(a, b)| [a.clone(), b.clone()])
                .collect(),
            Located::Cifar(cifar::Layout::Archive(p)) => vec![p.clone()],
            Located::Cifar(cifar::Layout::Extracted(d)) => cifar::TRAIN_FILES
                .iter()
                .chain([cifar::TEST_FILE].iter())
                .map(|n| d.join(n))
                .collect(),
        }
    }
}

/// `kind`'s files in `dir`: `Ok(Some)` when all are there, `Ok(None)` when none is, and
/// `Err` naming what is missing or unusable when only some are.
fn locate_in(kind: DatasetKind, dir: &Path) -> std::result::Result<Option<Located>, String> {
    match kind {
        DatasetKind::Cifar10 => Ok(cifar::locate(dir).map(Located::Cifar)),
        _ => {
            let stems = IDX_FILES.iter().flat_map(|(i, l)| [*i, *l]);
            let found: Vec<_> = stems.clone().map(|s| idx_file(dir, s)).collect();
            if found.iter().all(|f| matches!(f, Err(None))) {
                return Ok(None);
            }
            let problems: Vec<String> = stems
                .zip(&found)
                .filter_map(|(stem, f)| match f {
                    Ok(_) => None,
                    Err(Some(why)) => Some(why.clone()),
                    Err(None) => Some(format!("{} has no {stem}.gz or {stem}", dir.display())),
                })
                .collect();
            if !problems.is_empty() {
                return Err(problems.join("; "));
            }
            let p: Vec<PathBuf> = found.into_iter().flatten().collect();
            Ok(Some(Located::Idx([
                (p[0].clone(), p[1].clone()),
                (p[2].clone(), p[3].clone()),
            ])))
        }
    }
}

/// Finds `kind`'s files in the first directory that holds them all, or says where it
/// looked and what provides them. A directory holding only some of them, or one in an
/// unusable form, is named with each file that is missing or wrong.
pub fn locate(kind: DatasetKind, data_dir: Option<&Path>) -> Result<Located> {
    let dirs = search_dirs(kind, data_dir);
    let mut problems = Vec::new();
    for d in &dirs {
        match locate_in(kind, d) {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(why) => problems.push(why),
        }
    }
    if !problems.is_empty() {
        return Err(Error::IncompleteDataset {
            dataset: kind.name(),
            problems: problems.join("; "),
            hint: kind.hint(),
        });
    }
    Err(Error::MissingDataset {
        dataset: kind.name(),
        searched: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        hint: kind.hint(),
    })
}

/// Checks every file of `kind` against the upstream MD5 sums.
pub fn verify(kind: DatasetKind, data_dir: Option<&Path>) -> Result<Vec<fetch::Verified>> {
    let located = locate(kind, data_dir)?;
    let manifest = fetch::manifest(kind);
    match &located {
        Located::Cifar(cifar::Layout::Extracted(dir)) => {
            // Upstream publishes only the archive's MD5; extracted batches are checked by
            // parsing them whole (record sizes and labels).
            cifar::load(&cifar::Layout::Extracted(dir.clone()))?;
            Err(Error::format(
                dir,
                "extracted cifar-10 batches parse, but upstream publishes an md5 only for cifar-10-binary.tar.gz; keep the archive to verify",
            ))
        }
        _ => located
            .files()
            .iter()
            .map(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                let stem = name.trim_end_matches(".gz");
                let spec = manifest
                    .files
                    .iter()
                    .find(|s| s.name.trim_end_matches(".gz") == stem)
                    .expect("located files are in the manifest");
                fetch::verify_file(path, spec)
            })
            .collect(),
    }
}

/// One split as loaded: `u8` images `[N, C, H, W]` and `i64` labels `[N]`, on the CPU.
#[derive(Debug)]
pub struct RawSplit {
    pub images: Tensor,
    pub labels: Tensor,
}

impl RawSplit {
    pub fn len(&self) -> i64 {
        self.labels.size()[0]
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A whole data set as loaded from disk.
#[derive(Debug)]
pub struct RawData {
    pub kind: DatasetKind,
    /// The files it was read from.
    pub files: Vec<PathBuf>,
    pub train: RawSplit,
    pub test: RawSplit,
}

fn idx_split(kind: DatasetKind, images: &Path, labels: &Path) -> Result<RawSplit> {
    let im = idx::read(images)?;
    let lb = idx::read(labels)?;
    let (c, h, w) = kind.shape();
    if im.dims.len() != 3 || im.dims[1] as i64 != h || im.dims[2] as i64 != w {
        return Err(Error::format(
            images,
            format!(
                "expected images of shape [N, {h}, {w}], found {:?}",
                im.dims
            ),
        ));
    }
    if im.dims[0] == 0 {
        return Err(Error::format(
            images,
            "the header declares 0 images: nothing to train or test on",
        ));
    }
    if lb.dims.len() != 1 {
        return Err(Error::format(
            labels,
            format!("expected a 1-d label array, found {:?}", lb.dims),
        ));
    }
    if im.dims[0] != lb.dims[0] {
        return Err(Error::format(
            labels,
            format!(
                "{} labels, but {} has {} images",
                lb.dims[0],
                images.display(),
                im.dims[0]
            ),
        ));
    }
    if let Some(i) = lb.data.iter().position(|&l| l > 9) {
        return Err(Error::format(
            labels,
            format!("label {} at index {i} is over 9", lb.data[i]),
        ));
    }
    let n = im.dims[0] as i64;
    Ok(RawSplit {
        images: Tensor::from_slice(&im.data).reshape([n, c, h, w]),
        labels: Tensor::from_slice(&lb.data).to_kind(Kind::Int64),
    })
}

fn cifar_split(r: &cifar::Records) -> RawSplit {
    let n = r.len() as i64;
    RawSplit {
        images: Tensor::from_slice(&r.images).reshape([n, 3, 32, 32]),
        labels: Tensor::from_slice(&r.labels).to_kind(Kind::Int64),
    }
}

/// Loads `kind` from the first directory that holds it.
pub fn load(kind: DatasetKind, data_dir: Option<&Path>) -> Result<RawData> {
    let located = locate(kind, data_dir)?;
    load_located(kind, &located)
}

/// Loads from already located files.
pub fn load_located(kind: DatasetKind, located: &Located) -> Result<RawData> {
    let (train, test) = match located {
        Located::Idx([(ti, tl), (vi, vl)]) => (idx_split(kind, ti, tl)?, idx_split(kind, vi, vl)?),
        Located::Cifar(layout) => {
            let (tr, te) = cifar::load(layout)?;
            (cifar_split(&tr), cifar_split(&te))
        }
    };
    Ok(RawData {
        kind,
        files: located.files(),
        train,
        test,
    })
}

/// A test image that is also a training image, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedImage {
    /// Its indices in the training split (every copy among the training images compared).
    pub train: Vec<usize>,
    /// Its index in the test split.
    pub test: usize,
}

/// One md5 digest per image of `images[..n]` (`u8` `[N, C, H, W]`), over its bytes.
fn image_digests(images: &Tensor, n: i64) -> Vec<[u8; 16]> {
    use md5::{Digest, Md5};
    let bytes =
        Vec::<u8>::try_from(images.narrow(0, 0, n).contiguous().flatten(0, -1)).expect("u8 images");
    let per = bytes.len() / n.max(1) as usize;
    bytes
        .chunks(per.max(1))
        .map(|image| Md5::digest(image).into())
        .collect()
}

/// The test images among the first `test_size` (all when `None`) that are also among the
/// first `train_size` training images, compared by content (an md5 digest of every image's
/// pixels), not by index: a test image that the net was trained on would lift every
/// test-accuracy band it is read by. Subsets are the first images of each split, as
/// [`Dataset::from_raw`] takes them.
pub fn shared_images(
    raw: &RawData,
    train_size: Option<usize>,
    test_size: Option<usize>,
) -> Vec<SharedImage> {
    let n = |s: &RawSplit, k: Option<usize>| k.map_or(s.len(), |k| (k as i64).min(s.len()));
    let mut train: std::collections::HashMap<[u8; 16], Vec<usize>> = Default::default();
    let tr = &raw.train;
    for (i, d) in image_digests(&tr.images, n(tr, train_size))
        .into_iter()
        .enumerate()
    {
        train.entry(d).or_default().push(i);
    }
    let te = &raw.test;
    image_digests(&te.images, n(te, test_size))
        .into_iter()
        .enumerate()
        .filter_map(|(j, d)| {
            train.get(&d).map(|i| SharedImage {
                train: i.clone(),
                test: j,
            })
        })
        .collect()
}

/// Per-channel mean and (population) std of `[N, C, H, W]` images, as given (no scaling).
pub fn channel_stats(images: &Tensor) -> (Vec<f64>, Vec<f64>) {
    let c = images.size()[1];
    let x = images
        .to_kind(Kind::Double)
        .transpose(0, 1)
        .reshape([c, -1]);
    let mean = Vec::<f64>::try_from(x.mean_dim(1, false, Kind::Double)).expect("mean");
    let std = Vec::<f64>::try_from(x.std_dim(1, false, false)).expect("std");
    (mean, std)
}

/// One split on a device: float images in [0, 1] (or, after randomization, noise with the
/// same statistics) `[N, C, H, W]`, and `i64` labels `[N]`.
#[derive(Debug)]
pub struct Split {
    pub images: Tensor,
    pub labels: Tensor,
}

impl Split {
    pub fn len(&self) -> i64 {
        self.labels.size()[0]
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Train and test splits, moved once to `device`.
#[derive(Debug)]
pub struct Dataset {
    pub kind: DatasetKind,
    pub train: Split,
    pub test: Split,
}

impl Dataset {
    /// Takes the first `train_size` / `test_size` images (all when `None`), scales pixels to
    /// [0, 1] and moves everything to `device` in one copy per tensor.
    pub fn from_raw(
        raw: &RawData,
        train_size: Option<usize>,
        test_size: Option<usize>,
        device: Device,
    ) -> Result<Self> {
        let take = |s: &RawSplit, n: Option<usize>, field: &str| -> Result<Split> {
            let total = s.len();
            let n = match n {
                None => total,
                Some(0) => return Err(Error::config(field, "must be at least 1")),
                Some(n) if n as i64 > total => {
                    return Err(Error::config(
                        field,
                        format!("{n} is larger than the {total} images {} has", raw.kind),
                    ))
                }
                Some(n) => n as i64,
            };
            Ok(Split {
                images: s
                    .images
                    .narrow(0, 0, n)
                    .to_device(device)
                    .to_kind(Kind::Float)
                    / 255.0,
                labels: s.labels.narrow(0, 0, n).to_device(device),
            })
        };
        Ok(Dataset {
            kind: raw.kind,
            train: take(&raw.train, train_size, "train_size")?,
            test: take(&raw.test, test_size, "test_size")?,
        })
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Writes a small (Fashion-)MNIST in IDX format, gzip-compressed or not.
    pub fn write_idx_dataset(dir: &Path, n_train: usize, n_test: usize, gz: bool) {
        std::fs::create_dir_all(dir).unwrap();
        for ((images, labels), n) in IDX_FILES.iter().zip([n_train, n_test]) {
            let pix: Vec<u8> = (0..n * 784).map(|i| (i * 7 % 251) as u8).collect();
            let lab: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
            for (stem, bytes) in [
                (images, idx::encode(&[n, 28, 28], &pix)),
                (labels, idx::encode(&[n], &lab)),
            ] {
                if gz {
                    std::fs::write(dir.join(format!("{stem}.gz")), idx::gzip(&bytes)).unwrap();
                } else {
                    std::fs::write(dir.join(stem), bytes).unwrap();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn loads_generated_idx_and_cifar_from_an_explicit_root() {
        let root = tempfile::tempdir().unwrap();
        write_idx_dataset(&root.path().join("mnist"), 30, 10, false);
        let raw = load(DatasetKind::Mnist, Some(root.path())).unwrap();
        assert_eq!(raw.train.images.size(), [30, 1, 28, 28]);
        assert_eq!(raw.test.len(), 10);
        assert_eq!(raw.train.images.kind(), Kind::Uint8);

        cifar::testutil::write_extracted(&root.path().join("cifar10"), 4);
        let raw = load(DatasetKind::Cifar10, Some(root.path())).unwrap();
        assert_eq!(raw.train.images.size(), [20, 3, 32, 32]);
        let ds = Dataset::from_raw(&raw, Some(8), None, Device::Cpu).unwrap();
        assert_eq!(ds.train.images.size(), [8, 3, 32, 32]);
        assert!(ds.train.images.max().double_value(&[]) <= 1.0);
        let e = Dataset::from_raw(&raw, Some(21), None, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid train_size: 21 is larger than the 20 images cifar10 has"
        );
    }

    #[test]
    fn shared_images_are_found_by_content_within_the_subsets_compared() {
        let root = tempfile::tempdir().unwrap();
        // The generated files repeat their pixel pattern every 251 images of either split
        // (784 = 31 mod 251, and 251 is prime): test image j is training image i exactly
        // when i = j mod 251, so the first 10 test images are the first 10 training images.
        write_idx_dataset(&root.path().join("mnist"), 300, 10, false);
        let raw = load(DatasetKind::Mnist, Some(root.path())).unwrap();
        let shared = shared_images(&raw, None, None);
        let pairs: Vec<(Vec<usize>, usize)> =
            shared.iter().map(|s| (s.train.clone(), s.test)).collect();
        let want: Vec<(Vec<usize>, usize)> = (0..10)
            .map(|j| {
                (
                    if j < 300 - 251 {
                        vec![j, j + 251]
                    } else {
                        vec![j]
                    },
                    j,
                )
            })
            .collect();
        assert_eq!(pairs, want);
        // Only the subsets a run would take are compared.
        assert_eq!(shared_images(&raw, Some(4), Some(10)).len(), 4);
        assert!(shared_images(&raw, Some(300), Some(0)).is_empty());

        // CIFAR-10's generated batches differ in every image: nothing shared.
        cifar::testutil::write_extracted(&root.path().join("cifar10"), 4);
        let raw = load(DatasetKind::Cifar10, Some(root.path())).unwrap();
        assert!(shared_images(&raw, None, None).is_empty());
        // A test image copied from a training image is found, wherever it sits.
        let test = raw.test.images.copy();
        test.get(3).copy_(&raw.train.images.get(17));
        let raw = RawData {
            test: RawSplit {
                images: test,
                labels: raw.test.labels.copy(),
            },
            ..raw
        };
        let shared = shared_images(&raw, None, None);
        assert_eq!(
            shared,
            vec![SharedImage {
                train: vec![17],
                test: 3
            }]
        );
    }

    #[test]
    fn missing_data_set_names_dirs_and_provider() {
        let root = tempfile::tempdir().unwrap();
        let e = load(DatasetKind::FashionMnist, Some(root.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("data set fashion-mnist not found (searched "),
            "{e}"
        );
        assert!(e.contains(&root.path().join("fashion-mnist").display().to_string()));
        assert!(e.contains("apt-get install dataset-fashion-mnist"), "{e}");
        let e = load(DatasetKind::Cifar10, Some(root.path()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("rethink data fetch cifar10"), "{e}");
    }

    #[test]
    fn count_mismatch_and_bad_labels_are_named() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("mnist");
        write_idx_dataset(&dir, 20, 10, true);
        let lab: Vec<u8> = vec![1; 19];
        std::fs::write(
            dir.join("train-labels-idx1-ubyte.gz"),
            idx::gzip(&idx::encode(&[19], &lab)),
        )
        .unwrap();
        let e = load(DatasetKind::Mnist, Some(root.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train-labels-idx1-ubyte.gz: 19 labels, but"),
            "{e}"
        );
        assert!(e.contains("has 20 images"), "{e}");
        let mut lab: Vec<u8> = vec![1; 20];
        lab[3] = 10;
        std::fs::write(
            dir.join("train-labels-idx1-ubyte.gz"),
            idx::gzip(&idx::encode(&[20], &lab)),
        )
        .unwrap();
        let e = load(DatasetKind::Mnist, Some(root.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("train-labels-idx1-ubyte.gz: label 10 at index 3 is over 9"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_file_a_directory_and_a_link_loop_are_each_named() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("mnist");
        write_idx_dataset(&dir, 10, 10, true);
        let load_err = || {
            load(DatasetKind::Mnist, Some(root.path()))
                .unwrap_err()
                .to_string()
        };
        std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let e = load_err();
        assert!(
            e.contains("data set mnist is incomplete")
                && e.contains("has no t10k-labels-idx1-ubyte.gz or t10k-labels-idx1-ubyte"),
            "{e}"
        );
        std::fs::create_dir(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let e = load_err();
        assert!(e.contains("t10k-labels-idx1-ubyte.gz is not a file"), "{e}");
        std::fs::remove_dir(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let looped = dir.join("t10k-labels-idx1-ubyte.gz");
        std::os::unix::fs::symlink(&looped, &looped).unwrap();
        let e = load_err();
        assert!(
            e.contains("t10k-labels-idx1-ubyte.gz cannot be read") && e.contains("symbolic links"),
            "{e}"
        );
    }

    #[test]
    fn a_file_of_zero_images_is_named() {
        let root = tempfile::tempdir().unwrap();
        write_idx_dataset(&root.path().join("mnist"), 0, 10, false);
        let e = load(DatasetKind::Mnist, Some(root.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train-images-idx3-ubyte: the header declares 0 images"),
            "{e}"
        );
    }

    #[test]
    fn channel_stats_match_a_direct_computation() {
        let x = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0, 10.0, 10.0, 10.0, 14.0])
            .reshape([2, 2, 2, 1]);
        // channel 0: images 0 and 1 give [0, 1, 10, 10]; channel 1: [2, 3, 10, 14]
        let (m, s) = channel_stats(&x);
        assert!((m[0] - 5.25).abs() < 1e-12 && (m[1] - 7.25).abs() < 1e-12);
        let var0 = [0.0f64, 1.0, 10.0, 10.0]
            .iter()
            .map(|v| (v - 5.25f64).powi(2))
            .sum::<f64>()
            / 4.0;
        assert!((s[0] - var0.sqrt()).abs() < 1e-12);
    }
}

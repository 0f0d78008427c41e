//! Data sets: real Fashion-MNIST, MNIST and CIFAR-10, found on disk in the order of
//! [`search_dirs`] (README.md, "The command line"), loaded as `u8` tensors, and moved once
//! to a device.
//!
//! Subsets are deterministic ([`Subset`]): `--train-size N` takes the first N training
//! images in file order, or N/10 of each class with `--subset balanced`, and `--test-size N`
//! the first N test images; `--subset validation` evaluates on training images that the
//! balanced subset leaves out instead of the test set.
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

/// One md5 digest per image of `images` (`u8` `[N, C, H, W]`), over its bytes.
fn image_digests(images: &Tensor) -> Vec<[u8; 16]> {
    use md5::{Digest, Md5};
    let n = images.size()[0];
    let bytes = Vec::<u8>::try_from(images.contiguous().flatten(0, -1)).expect("u8 images");
    let per = bytes.len() / n.max(1) as usize;
    bytes
        .chunks(per.max(1))
        .map(|image| Md5::digest(image).into())
        .collect()
}

/// The evaluated images that are also training images, compared by content (an md5 digest
/// of every image's pixels), not by index: an evaluated image that the net was trained on
/// would lift every test-accuracy band it is read by. The subsets are those
/// [`Dataset::from_raw`] takes for the same sizes and [`Subset`]; indices are positions in
/// them.
pub fn shared_images(
    raw: &RawData,
    train_size: Option<usize>,
    test_size: Option<usize>,
    subset: Subset,
) -> Result<Vec<SharedImage>> {
    let (tr, te) = select(raw, train_size, test_size, subset)?;
    let mut train: std::collections::HashMap<[u8; 16], Vec<usize>> = Default::default();
    for (i, d) in image_digests(&tr.images).into_iter().enumerate() {
        train.entry(d).or_default().push(i);
    }
    Ok(image_digests(&te.images)
        .into_iter()
        .enumerate()
        .filter_map(|(j, d)| {
            train.get(&d).map(|i| SharedImage {
                train: i.clone(),
                test: j,
            })
        })
        .collect())
}

/// Which images a run trains and is evaluated on.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Subset {
    /// The first `train_size` training images and the first `test_size` test images, in
    /// file order.
    #[default]
    First,
    /// `train_size / classes` training images of each class (the first of each class, kept
    /// in file order), and the first `test_size` test images.
    Balanced,
    /// The balanced training subset, evaluated on a validation split instead of the test
    /// set: the next `test_size / classes` training images of each class after those trained
    /// on. For choosing hyperparameters without reading the test set.
    Validation,
}

impl Subset {
    pub fn is_first(&self) -> bool {
        *self == Subset::First
    }
}

/// `n` of `total`, the field's name in errors.
fn size(n: Option<usize>, total: i64, field: &str, kind: DatasetKind) -> Result<i64> {
    match n {
        None => Ok(total),
        Some(0) => Err(Error::config(field, "must be at least 1")),
        Some(n) if n as i64 > total => Err(Error::config(
            field,
            format!("{n} is larger than the {total} images {kind} has"),
        )),
        Some(n) => Ok(n as i64),
    }
}

/// The rows of `s` at `idx`.
fn rows(s: &RawSplit, idx: &Tensor) -> RawSplit {
    RawSplit {
        images: s.images.index_select(0, idx),
        labels: s.labels.index_select(0, idx),
    }
}

/// Indices (ascending) of the images of each class ranked `from..from + per` among that
/// class's images in file order, or an error naming `field` when a class has too few.
fn per_class(s: &RawSplit, from: i64, per: i64, field: &str, kind: DatasetKind) -> Result<Tensor> {
    let mut picked = Vec::new();
    for c in 0..kind.classes() {
        let of_class = s.labels.eq(c).nonzero().squeeze_dim(1);
        let have = of_class.size()[0];
        if have < from + per {
            return Err(Error::config(
                field,
                format!(
                    "{kind} has {have} training images of class {c}, and this subset needs {}",
                    from + per
                ),
            ));
        }
        picked.push(of_class.narrow(0, from, per));
    }
    Ok(Tensor::cat(&picked, 0).sort(0, false).0)
}

/// `n` images of each class per subset: `size` divided by the class count, or an error.
fn per_class_count(n: i64, field: &str, kind: DatasetKind) -> Result<i64> {
    let k = kind.classes();
    if n % k != 0 {
        return Err(Error::config(
            field,
            format!("a class-balanced subset needs a multiple of {k} images, not {n}"),
        ));
    }
    Ok(n / k)
}

/// The training and evaluated images (`u8`, on the CPU) of a subset of `raw`.
pub fn select(
    raw: &RawData,
    train_size: Option<usize>,
    test_size: Option<usize>,
    subset: Subset,
) -> Result<(RawSplit, RawSplit)> {
    let kind = raw.kind;
    let n_train = size(train_size, raw.train.len(), "train_size", kind)?;
    let first = |s: &RawSplit, n: i64| RawSplit {
        images: s.images.narrow(0, 0, n),
        labels: s.labels.narrow(0, 0, n),
    };
    if subset == Subset::First {
        let n_test = size(test_size, raw.test.len(), "test_size", kind)?;
        return Ok((first(&raw.train, n_train), first(&raw.test, n_test)));
    }
    let per = per_class_count(n_train, "train_size", kind)?;
    let train = rows(
        &raw.train,
        &per_class(&raw.train, 0, per, "train_size", kind)?,
    );
    match subset {
        Subset::Validation => {
            let n_val = size(test_size, raw.train.len(), "test_size", kind)?;
            let per_val = per_class_count(n_val, "test_size", kind)?;
            let val = per_class(&raw.train, per, per_val, "test_size", kind)?;
            Ok((train, rows(&raw.train, &val)))
        }
        _ => {
            let n_test = size(test_size, raw.test.len(), "test_size", kind)?;
            Ok((train, first(&raw.test, n_test)))
        }
    }
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
    /// Takes the subset of `train_size` / `test_size` images that `subset` names (all when
    /// `None`), scales pixels to [0, 1] and moves everything to `device` in one copy per
    /// tensor.
    pub fn from_raw(
        raw: &RawData,
        train_size: Option<usize>,
        test_size: Option<usize>,
        subset: Subset,
        device: Device,
    ) -> Result<Self> {
        let (train, test) = select(raw, train_size, test_size, subset)?;
        let put = |s: RawSplit| Split {
            images: s.images.to_device(device).to_kind(Kind::Float) / 255.0,
            labels: s.labels.to_device(device),
        };
        Ok(Dataset {
            kind: raw.kind,
            train: put(train),
            test: put(test),
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
        let ds = Dataset::from_raw(&raw, Some(8), None, Subset::First, Device::Cpu).unwrap();
        assert_eq!(ds.train.images.size(), [8, 3, 32, 32]);
        assert!(ds.train.images.max().double_value(&[]) <= 1.0);
        let e = Dataset::from_raw(&raw, Some(21), None, Subset::First, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid train_size: 21 is larger than the 20 images cifar10 has"
        );
    }

    #[test]
    fn balanced_subsets_take_each_class_equally_and_validation_takes_the_next_ones() {
        let root = tempfile::tempdir().unwrap();
        write_idx_dataset(&root.path().join("mnist"), 100, 10, false);
        let raw = load(DatasetKind::Mnist, Some(root.path())).unwrap();
        // Labels 0-3 only on the first 40 images: the first 20 are not balanced.
        let labels = raw.train.labels.copy();
        labels
            .narrow(0, 0, 40)
            .copy_(&Tensor::from_slice(&[0u8, 1, 2, 3]).repeat([10]));
        let raw = RawData {
            train: RawSplit {
                images: raw.train.images.copy(),
                labels,
            },
            ..raw
        };
        let (train, val) = select(&raw, Some(20), Some(10), Subset::Validation).unwrap();
        let counts =
            |s: &RawSplit| Vec::<i64>::try_from(s.labels.bincount::<Tensor>(None, 10)).unwrap();
        assert_eq!(counts(&train), [2; 10]);
        assert_eq!(counts(&val), [1; 10]);
        // Classes 0-3: the first two of each; classes 4-9 first appear at image 44.
        let train_idx: Vec<u8> = Vec::try_from(train.images.flatten(1, -1).select(1, 0)).unwrap();
        let first_pixel = |i: usize| ((i * 784 * 7) % 251) as u8;
        assert_eq!(train_idx[..8], [0, 1, 2, 3, 4, 5, 6, 7].map(first_pixel));
        let (_, test) = select(&raw, Some(20), Some(10), Subset::Balanced).unwrap();
        assert!(test.images.equal(&raw.test.images));
        // Sizes that no balanced subset has are errors that name the field.
        let err = |tr, te, s| select(&raw, Some(tr), Some(te), s).unwrap_err().to_string();
        assert_eq!(
            err(25, 10, Subset::Balanced),
            "invalid train_size: a class-balanced subset needs a multiple of 10 images, not 25"
        );
        assert_eq!(
            err(20, 100, Subset::Validation),
            "invalid test_size: mnist has 6 training images of class 4, and this subset needs 12"
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
        let shared = shared_images(&raw, None, None, Subset::First).unwrap();
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
        let first = |train, test| shared_images(&raw, Some(train), Some(test), Subset::First);
        assert_eq!(first(4, 10).unwrap().len(), 4);
        assert!(first(300, 0).is_err());
        // A class-balanced subset of 30 takes training images 0-29 (labels cycle 0-9), so
        // it shares the 10 test images; its validation split, images 30-59, shares none.
        let balanced = |test, s| shared_images(&raw, Some(30), Some(test), s).unwrap().len();
        assert_eq!(balanced(10, Subset::Balanced), 10);
        assert_eq!(balanced(30, Subset::Validation), 0);

        // CIFAR-10's generated batches differ in every image: nothing shared.
        cifar::testutil::write_extracted(&root.path().join("cifar10"), 4);
        let raw = load(DatasetKind::Cifar10, Some(root.path())).unwrap();
        assert!(shared_images(&raw, None, None, Subset::First)
            .unwrap()
            .is_empty());
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
        let shared = shared_images(&raw, None, None, Subset::First).unwrap();
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

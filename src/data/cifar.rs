//! CIFAR-10's binary format: `data_batch_1.bin` .. `data_batch_5.bin` and `test_batch.bin`,
//! each 10,000 records of one label byte and 3×32×32 pixel bytes (R, then G, then B planes).
//! They are read from an extracted folder or straight from `cifar-10-binary.tar.gz`.
use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bytes in one record: a label and a 3×32×32 image.
pub const RECORD: usize = 1 + 3 * 32 * 32;
/// The size of one batch file: 10,000 records.
pub const BATCH_BYTES: usize = 10_000 * RECORD;
/// The training batches, in order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch.
pub const TEST_FILE: &str = "test_batch.bin";
/// The upstream archive's name.
pub const ARCHIVE: &str = "cifar-10-binary.tar.gz";
/// The folder inside the archive.
pub const ARCHIVE_DIR: &str = "cifar-10-batches-bin";

/// Images (`[n, 3, 32, 32]` bytes, row-major) and labels of some records.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Records {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Records {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Parses one batch file's bytes, appending to `out`. `path` names the file in errors.
pub fn parse_batch(bytes: &[u8], path: &Path, out: &mut Records) -> Result<()> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(Error::format(
            path,
            format!(
                "{} bytes is not a whole number of {RECORD}-byte cifar-10 records (truncated or not a cifar-10 batch)",
                bytes.len()
            ),
        ));
    }
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        if rec[0] > 9 {
            return Err(Error::format(
                path,
                format!("record {i}: label {} is over 9", rec[0]),
            ));
        }
        out.labels.push(rec[0]);
        out.images.extend_from_slice(&rec[1..]);
    }
    Ok(())
}

/// Where the CIFAR-10 files are in a folder: extracted batches or the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// The folder holding the six `.bin` files.
    Extracted(PathBuf),
    /// The upstream `cifar-10-binary.tar.gz`.
    Archive(PathBuf),
}

/// Finds CIFAR-10 in `dir`: `dir/*.bin`, `dir/cifar-10-batches-bin/*.bin`, or the archive.
pub fn locate(dir: &Path) -> Option<Layout> {
    for d in [dir.to_path_buf(), dir.join(ARCHIVE_DIR)] {
        if d.join(TEST_FILE).is_file() {
            return Some(Layout::Extracted(d));
        }
    }
    let archive = dir.join(ARCHIVE);
    archive.is_file().then_some(Layout::Archive(archive))
}

/// Reads the training and test records.
pub fn load(layout: &Layout) -> Result<(Records, Records)> {
    let mut train = Records::default();
    let mut test = Records::default();
    match layout {
        Layout::Extracted(dir) => {
            for name in TRAIN_FILES {
                let path = dir.join(name);
                let bytes =
                    std::fs::read(&path).map_err(|e| Error::io(&path, "cannot read file", e))?;
                parse_batch(&bytes, &path, &mut train)?;
            }
            let path = dir.join(TEST_FILE);
            let bytes =
                std::fs::read(&path).map_err(|e| Error::io(&path, "cannot read file", e))?;
            parse_batch(&bytes, &path, &mut test)?;
        }
        Layout::Archive(path) => {
            let files = read_archive(path)?;
            for name in TRAIN_FILES {
                let bytes = files.get(name).ok_or_else(|| missing_member(path, name))?;
                parse_batch(bytes, &path.join(name), &mut train)?;
            }
            let bytes = files
                .get(TEST_FILE)
                .ok_or_else(|| missing_member(path, TEST_FILE))?;
            parse_batch(bytes, &path.join(TEST_FILE), &mut test)?;
        }
    }
    Ok((train, test))
}

fn missing_member(archive: &Path, name: &str) -> Error {
    Error::format(archive, format!("archive has no {ARCHIVE_DIR}/{name}"))
}

/// Reads the batch files out of the tar.gz (flate2 + tar), keyed by file name.
fn read_archive(path: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open archive", e))?;
    let bad = |e: std::io::Error| Error::format(path, format!("corrupt or truncated tar.gz: {e}"));
    let mut archive = tar::Archive::new(GzDecoder::new(std::io::BufReader::new(file)));
    let mut files = BTreeMap::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry
            .path()
            .map_err(bad)?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".bin") {
            // The tar header's size is checked before anything is allocated or read.
            if entry.size() > BATCH_BYTES as u64 {
                return Err(Error::format(
                    path,
                    format!(
                        "archive member {name} declares {} bytes, more than a cifar-10 batch ({BATCH_BYTES})",
                        entry.size()
                    ),
                ));
            }
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut bytes).map_err(bad)?;
            files.insert(name, bytes);
        }
    }
    Ok(files)
}

/// Writers for tests: small files in the real formats.
#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Encodes records; pixel values are derived from `salt` and the index.
    pub fn encode(labels: &[u8], salt: u8) -> Vec<u8> {
        let mut out = Vec::with_capacity(labels.len() * RECORD);
        for (i, &l) in labels.iter().enumerate() {
            out.push(l);
            out.extend((0..RECORD - 1).map(|j| (i as u8).wrapping_mul(17) ^ (j as u8) ^ salt));
        }
        out
    }

    /// Writes the six batches (with `per_file` records each) to `dir`, returns the expected records.
    pub fn write_extracted(dir: &Path, per_file: usize) -> (Records, Records) {
        std::fs::create_dir_all(dir).unwrap();
        let mut train = Records::default();
        let mut test = Records::default();
        for (k, name) in TRAIN_FILES.iter().chain([TEST_FILE].iter()).enumerate() {
            let labels: Vec<u8> = (0..per_file).map(|i| ((i + k) % 10) as u8).collect();
            let bytes = encode(&labels, k as u8);
            let out = if *name == TEST_FILE {
                &mut test
            } else {
                &mut train
            };
            parse_batch(&bytes, Path::new(name), out).unwrap();
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        (train, test)
    }

    /// Packs `src` (a folder of `.bin` files) as `cifar-10-binary.tar.gz` in `dir`.
    pub fn write_archive(src: &Path, dir: &Path) -> PathBuf {
        let path = dir.join(ARCHIVE);
        let file = std::fs::File::create(&path).unwrap();
        let enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut tar = tar::Builder::new(enc);
        tar.append_dir_all(ARCHIVE_DIR, src).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Fuzzing: arbitrary bytes, as a batch or as an archive, give an error, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..8000)) {
            let _ = parse_batch(&bytes, Path::new("b.bin"), &mut Records::default());
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join(ARCHIVE);
            std::fs::write(&p, &bytes).unwrap();
            prop_assert!(load(&Layout::Archive(p)).is_err());
        }

        #[test]
        fn batch_round_trips(labels in proptest::collection::vec(0u8..10, 1..20), salt in any::<u8>()) {
            let mut out = Records::default();
            parse_batch(&encode(&labels, salt), Path::new("b.bin"), &mut out).unwrap();
            prop_assert_eq!(&out.labels, &labels);
            prop_assert_eq!(out.images.len(), labels.len() * 3072);
            prop_assert_eq!(out.images[5], 0u8.wrapping_mul(17) ^ 5 ^ salt);
        }
    }

    #[test]
    fn an_archive_member_declaring_more_than_a_batch_is_refused_before_reading() {
        let mut h = tar::Header::new_gnu();
        h.set_path(format!("{ARCHIVE_DIR}/data_batch_1.bin"))
            .unwrap();
        h.set_size(1 << 40);
        h.set_mode(0o644);
        h.set_cksum();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(ARCHIVE);
        std::fs::write(&p, crate::data::idx::gzip(h.as_bytes())).unwrap();
        let e = load(&Layout::Archive(p)).unwrap_err().to_string();
        assert!(
            e.contains("data_batch_1.bin declares 1099511627776 bytes, more than a cifar-10 batch"),
            "{e}"
        );
    }

    #[test]
    fn extracted_and_archive_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("cifar10").join(ARCHIVE_DIR);
        let (train, test) = write_extracted(&src, 7);
        let layout = locate(&dir.path().join("cifar10")).unwrap();
        assert_eq!(layout, Layout::Extracted(src.clone()));
        assert_eq!(load(&layout).unwrap(), (train.clone(), test.clone()));

        let adir = dir.path().join("packed");
        std::fs::create_dir_all(&adir).unwrap();
        let archive = write_archive(&src, &adir);
        let layout = locate(&adir).unwrap();
        assert_eq!(layout, Layout::Archive(archive));
        let (tr, te) = load(&layout).unwrap();
        assert_eq!((tr.len(), te.len()), (35, 7));
        assert_eq!((tr, te), (train, test));
    }

    #[test]
    fn bad_batches_are_named() {
        let mut out = Records::default();
        let mut bytes = encode(&[1, 2, 3], 0);
        bytes[RECORD] = 12;
        let e = parse_batch(&bytes, Path::new("data_batch_3.bin"), &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "data_batch_3.bin: record 1: label 12 is over 9"
        );
        let e = parse_batch(&bytes[..RECORD + 10], Path::new("t.bin"), &mut out).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.bin: 3083 bytes is not a whole number"),
            "{e}"
        );
    }

    #[test]
    fn truncated_archive_and_missing_members_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        write_extracted(&src, 3);
        let archive = write_archive(&src, dir.path());
        let bytes = std::fs::read(&archive).unwrap();
        std::fs::write(&archive, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let e = load(&Layout::Archive(archive.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cifar-10-binary.tar.gz: corrupt or truncated tar.gz"),
            "{e}"
        );

        std::fs::remove_file(src.join("data_batch_4.bin")).unwrap();
        let e = load(&Layout::Extracted(src.clone()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("data_batch_4.bin: cannot read file"), "{e}");
        let archive = write_archive(&src, dir.path());
        let e = load(&Layout::Archive(archive)).unwrap_err().to_string();
        assert!(
            e.ends_with("archive has no cifar-10-batches-bin/data_batch_4.bin"),
            "{e}"
        );
    }
}

//! The IDX format of MNIST and Fashion-MNIST, gzip-compressed or not.
//!
//! An IDX file is `0x00 0x00 TYPE NDIMS`, then NDIMS big-endian u32 sizes, then the data.
//! Only TYPE 0x08 (unsigned byte) occurs in these data sets, and only it is read.
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::Path;

/// The unsigned-byte IDX data type, the only one used by (Fashion-)MNIST.
pub const TYPE_U8: u8 = 0x08;

/// A decoded IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// The sizes of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The values in row-major order; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

/// Reads a whole file, decompressing it when its name ends in `.gz`.
/// A truncated or corrupt gzip stream is an error naming the file.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "cannot read file", e))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("corrupt or truncated gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Parses IDX bytes; `path` is only used to name the file in errors.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Idx> {
    if bytes.len() < 4 {
        return Err(Error::format(
            path,
            format!("file is {} bytes, too short for an idx header", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::format(
            path,
            format!(
                "wrong magic number 0x{:02x}{:02x}{:02x}{:02x}: not an idx file",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    if bytes[2] != TYPE_U8 {
        return Err(Error::format(
            path,
            format!(
                "unsupported idx data type 0x{:02x} (only 0x08, unsigned byte, is read)",
                bytes[2]
            ),
        ));
    }
    let ndims = bytes[3] as usize;
    if ndims == 0 {
        return Err(Error::format(path, "idx header declares 0 dimensions"));
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(Error::format(
            path,
            format!(
                "truncated idx header: {} bytes, {ndims} dimensions need {header}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::format(path, format!("dimensions {dims:?} overflow")))?;
    let actual = bytes.len() - header;
    if actual != expected {
        let what = if actual < expected {
            "truncated data"
        } else {
            "trailing data"
        };
        return Err(Error::format(
            path,
            format!("{what}: dimensions {dims:?} need {expected} bytes after the header, found {actual}"),
        ));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads and parses an IDX file, gzip-compressed if its name ends in `.gz`.
pub fn read(path: &Path) -> Result<Idx> {
    parse(&read_maybe_gz(path)?, path)
}

/// Encodes an unsigned-byte IDX array (the format's writer, for tests and small fixtures;
/// the library itself never writes data sets).
pub fn encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, TYPE_U8, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p() -> &'static Path {
        Path::new("x.idx")
    }

    proptest! {
        #[test]
        fn round_trips(dims in proptest::collection::vec(1usize..6, 1..4), seed in any::<u64>(), gz in any::<bool>()) {
            let n: usize = dims.iter().product();
            let data: Vec<u8> = (0..n).map(|i| (seed.wrapping_mul(31).wrapping_add(i as u64 * 7919) % 256) as u8).collect();
            let dir = tempfile::tempdir().unwrap();
            let bytes = encode(&dims, &data);
            let path = dir.path().join(if gz { "a.idx.gz" } else { "a.idx" });
            std::fs::write(&path, if gz { gzip(&bytes) } else { bytes }).unwrap();
            let idx = read(&path).unwrap();
            prop_assert_eq!(idx.dims, dims);
            prop_assert_eq!(idx.data, data);
        }
    }

    fn err(bytes: &[u8]) -> String {
        parse(bytes, p()).unwrap_err().to_string()
    }

    #[test]
    fn wrong_magic_is_named() {
        let mut b = encode(&[2, 2], &[1, 2, 3, 4]);
        b[0] = 0x1f;
        assert!(err(&b).contains("x.idx: wrong magic number"), "{}", err(&b));
        let mut b = encode(&[2], &[1, 2]);
        b[2] = 0x0d;
        assert!(err(&b).contains("unsupported idx data type 0x0d"));
    }

    #[test]
    fn size_disagreements_are_named() {
        let b = encode(&[3, 2], &[0; 6]);
        assert!(err(&b[..b.len() - 1]).contains("truncated data: dimensions [3, 2] need 6 bytes"));
        let mut long = b.clone();
        long.push(0);
        assert!(err(&long).contains("trailing data"));
        assert!(err(&b[..6]).contains("truncated idx header"));
        assert!(err(&[0, 0]).contains("too short"));
    }

    #[test]
    fn truncated_and_corrupt_gzip_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let gz = gzip(&encode(&[100], &[7; 100]));
        let path = dir.path().join("t.gz");
        std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("t.gz: corrupt or truncated gzip data"), "{e}");
        let mut flipped = gz.clone();
        let n = flipped.len();
        flipped[n - 6] ^= 0x40; // inside the CRC32 trailer
        std::fs::write(&path, &flipped).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("t.gz: corrupt or truncated gzip data"), "{e}");
    }

    #[test]
    fn missing_file_is_named() {
        let e = read(Path::new("/nonexistent/train-images-idx3-ubyte.gz")).unwrap_err();
        assert!(e
            .to_string()
            .contains("/nonexistent/train-images-idx3-ubyte.gz: cannot read file"));
    }
}

//! The IDX format of MNIST and Fashion-MNIST, gzip-compressed or not.
//!
//! An IDX file is `0x00 0x00 TYPE NDIMS`, then NDIMS big-endian u32 sizes, then the data.
//! Only TYPE 0x08 (unsigned byte) occurs in these data sets, and only it is read.
use crate::error::{Error, Result};
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

/// The most items (images or labels) an IDX file may declare: far more than any
/// (Fashion-)MNIST split (60,000), and few enough that a file's declared size is checked
/// before anything beyond its header is decompressed or allocated.
pub const MAX_ITEMS: usize = 1_000_000;

/// The members of a gzip file, one after another, read as one stream. Anything after the
/// last member that is not another member is an error, never taken as a truncated member.
pub struct GzMembers<'a> {
    rest: &'a [u8],
    current: Option<flate2::bufread::GzDecoder<&'a [u8]>>,
    started: bool,
}

impl<'a> GzMembers<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        GzMembers {
            rest: bytes,
            current: None,
            started: false,
        }
    }
}

impl Read for GzMembers<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::{Error as IoError, ErrorKind};
        loop {
            if let Some(d) = &mut self.current {
                let n = d.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                // The member ended; its decoder read nothing past it.
                self.rest = self.current.take().map_or(self.rest, |d| d.into_inner());
            }
            if self.rest.is_empty() && self.started {
                return Ok(0);
            }
            if !self.rest.starts_with(&[0x1f, 0x8b]) {
                return Err(IoError::new(
                    ErrorKind::InvalidData,
                    if self.started {
                        format!(
                            "{} bytes of trailing junk after the gzip data",
                            self.rest.len()
                        )
                    } else {
                        "not gzip data (no gzip magic number)".into()
                    },
                ));
            }
            self.started = true;
            self.current = Some(flate2::bufread::GzDecoder::new(self.rest));
        }
    }
}

fn gz_error(path: &Path, e: &std::io::Error) -> Error {
    Error::format(path, format!("corrupt or truncated gzip data: {e}"))
}

/// Reads as many bytes as `buf` holds, fewer only at the end of the stream.
fn read_upto(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Parses IDX bytes; `path` is only used to name the file in errors.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Idx> {
    from_reader(&mut &bytes[..], path, |e| {
        Error::format(path, format!("cannot read idx data: {e}"))
    })
}

/// Reads an IDX array from `r`: the header first, whose declared size is checked (against
/// [`MAX_ITEMS`] and overflow) before the data is read, then exactly that many bytes, then a
/// check that nothing follows. `io_err` turns a read error into this file's error.
fn from_reader(
    r: &mut impl Read,
    path: &Path,
    io_err: impl Fn(&std::io::Error) -> Error,
) -> Result<Idx> {
    let mut magic = [0u8; 4];
    let got = read_upto(r, &mut magic).map_err(|e| io_err(&e))?;
    if got < 4 {
        return Err(Error::format(
            path,
            format!("file is {got} bytes, too short for an idx header"),
        ));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(Error::format(
            path,
            format!(
                "wrong magic number 0x{:02x}{:02x}{:02x}{:02x}: not an idx file",
                magic[0], magic[1], magic[2], magic[3]
            ),
        ));
    }
    if magic[2] != TYPE_U8 {
        return Err(Error::format(
            path,
            format!(
                "unsupported idx data type 0x{:02x} (only 0x08, unsigned byte, is read)",
                magic[2]
            ),
        ));
    }
    let ndims = magic[3] as usize;
    if ndims == 0 {
        return Err(Error::format(path, "idx header declares 0 dimensions"));
    }
    let header = 4 + 4 * ndims;
    let mut sizes = vec![0u8; 4 * ndims];
    let got = read_upto(r, &mut sizes).map_err(|e| io_err(&e))?;
    if got < sizes.len() {
        return Err(Error::format(
            path,
            format!(
                "truncated idx header: {} bytes, {ndims} dimensions need {header}",
                4 + got
            ),
        ));
    }
    let dims: Vec<usize> = sizes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if dims[0] > MAX_ITEMS {
        return Err(Error::format(
            path,
            format!(
                "the header declares {} items, more than the {MAX_ITEMS} this reader accepts (a (Fashion-)MNIST file has at most 60,000)",
                dims[0]
            ),
        ));
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ITEMS * 32 * 32 * 3)
        .ok_or_else(|| Error::format(path, format!("dimensions {dims:?} are too large")))?;
    let mut data = Vec::with_capacity(expected);
    r.take(expected as u64)
        .read_to_end(&mut data)
        .map_err(|e| io_err(&e))?;
    if data.len() < expected {
        return Err(Error::format(
            path,
            format!(
                "truncated data: dimensions {dims:?} need {expected} bytes after the header, found {}",
                data.len()
            ),
        ));
    }
    let mut more = [0u8; 1];
    if read_upto(r, &mut more).map_err(|e| io_err(&e))? > 0 {
        return Err(Error::format(
            path,
            format!("trailing data: dimensions {dims:?} need {expected} bytes after the header, and more follow"),
        ));
    }
    Ok(Idx { dims, data })
}

/// Reads and parses an IDX file, gzip-compressed if its name ends in `.gz`. A gzip file is
/// decompressed as it is parsed, so a header that declares too much is refused before the
/// rest is decompressed.
pub fn read(path: &Path) -> Result<Idx> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "cannot read file", e))?;
    if path.extension().is_some_and(|e| e == "gz") {
        from_reader(&mut GzMembers::new(&bytes), path, |e| gz_error(path, e))
    } else {
        parse(&bytes, path)
    }
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
        // Fuzzing: arbitrary bytes, raw or gzip-compressed, and valid files with bytes
        // changed, give an error or an array, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&bytes, p());
            let _ = from_reader(&mut GzMembers::new(&bytes), p(), |e| gz_error(p(), e));
            let _ = from_reader(&mut GzMembers::new(&gzip(&bytes)), p(), |e| gz_error(p(), e));
        }

        #[test]
        fn valid_files_with_bytes_changed_never_panic(
            dims in proptest::collection::vec(0usize..6, 1..4),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            gz in any::<bool>(),
        ) {
            let n: usize = dims.iter().product();
            let mut bytes = encode(&dims, &vec![3; n]);
            if gz {
                bytes = gzip(&bytes);
            }
            for (at, v) in edits {
                let i = at % bytes.len();
                bytes[i] = v;
            }
            let r = if gz {
                from_reader(&mut GzMembers::new(&bytes), p(), |e| gz_error(p(), e))
            } else {
                parse(&bytes, p())
            };
            if let Ok(idx) = r {
                prop_assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>());
            }
        }

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
    fn a_declared_size_beyond_the_limit_is_refused_before_decompressing() {
        // A bomb: the header declares 2^31 images of 28x28; the data is 16 MB of zeros,
        // which compresses to about 16 KB.
        let mut b = encode(&[1 << 31, 28, 28], &[]);
        b.extend(std::iter::repeat_n(0u8, 16 << 20));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.gz");
        std::fs::write(&path, gzip(&b)).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(
            e.contains("bomb.gz: the header declares 2147483648 items, more than the 1000000"),
            "{e}"
        );
        let e = err(&b[..20]);
        assert!(e.contains("declares 2147483648 items"), "{e}");
    }

    #[test]
    fn gzip_members_are_read_in_turn_and_junk_after_them_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let b = encode(&[4], &[1, 2, 3, 4]);
        let path = dir.path().join("m.gz");
        let mut two = gzip(&b[..6]);
        two.extend(gzip(&b[6..]));
        std::fs::write(&path, &two).unwrap();
        assert_eq!(read(&path).unwrap().data, vec![1, 2, 3, 4]);
        let mut junk = gzip(&b);
        junk.extend(b"junk!");
        std::fs::write(&path, &junk).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(
            e.contains("m.gz: corrupt or truncated gzip data: 5 bytes of trailing junk after the gzip data"),
            "{e}"
        );
        std::fs::write(&path, &b).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("not gzip data"), "{e}");
    }

    #[test]
    fn missing_file_is_named() {
        let e = read(Path::new("/nonexistent/train-images-idx3-ubyte.gz")).unwrap_err();
        assert!(e
            .to_string()
            .contains("/nonexistent/train-images-idx3-ubyte.gz: cannot read file"));
    }
}

//! Upstream locations and MD5 sums, verification, and downloads that never leave a file
//! that looks complete: bytes go to `NAME.partial`, are verified, and only then renamed.
use super::DatasetKind;
use crate::error::{Error, Result};
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// One upstream file.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    /// The file name as published.
    pub name: &'static str,
    /// The published MD5 of that file.
    pub md5: &'static str,
    /// For gzip files: the MD5 of the decompressed payload. Repackagers (Debian's
    /// `dataset-fashion-mnist` among them) recompress, which changes the gzip bytes
    /// but not the payload; such a copy verifies by its payload.
    pub payload_md5: Option<&'static str>,
}

/// Where a data set comes from.
#[derive(Debug, Clone, Copy)]
pub struct Manifest {
    /// Mirrors, tried in order; a file's URL is `base + name`.
    pub mirrors: &'static [&'static str],
    pub files: &'static [FileSpec],
}

const FASHION: Manifest = Manifest {
    mirrors: &[
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
    files: &[
        FileSpec {
            name: "train-images-idx3-ubyte.gz",
            md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            payload_md5: Some("f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        },
        FileSpec {
            name: "train-labels-idx1-ubyte.gz",
            md5: "25c81989df183df01b3e8a0aad5dffbe",
            payload_md5: Some("9018921c3c673c538a1fc5bad174d6f9"),
        },
        FileSpec {
            name: "t10k-images-idx3-ubyte.gz",
            md5: "bef4ecab320f06d8554ea6380940ec79",
            payload_md5: Some("8181f5470baa50b63fa0f6fddb340f0a"),
        },
        FileSpec {
            name: "t10k-labels-idx1-ubyte.gz",
            md5: "bb300cfdad3c16e7a12a480ee83cd310",
            payload_md5: Some("15d484375f8d13e6eb1aabb0c3f46965"),
        },
    ],
};

const MNIST: Manifest = Manifest {
    mirrors: &[
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    files: &[
        FileSpec {
            name: "train-images-idx3-ubyte.gz",
            md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            payload_md5: Some("6bbc9ace898e44ae57da46a324031adb"),
        },
        FileSpec {
            name: "train-labels-idx1-ubyte.gz",
            md5: "d53e105ee54ea40749a09fcbcd1e9432",
            payload_md5: Some("a25bea736e30d166cdddb491f175f624"),
        },
        FileSpec {
            name: "t10k-images-idx3-ubyte.gz",
            md5: "9fb629c4189551a2d022fa330f9573f3",
            payload_md5: Some("2646ac647ad5339dbf082846283269ea"),
        },
        FileSpec {
            name: "t10k-labels-idx1-ubyte.gz",
            md5: "ec29112dd5afa0611ce80d1b7f02629c",
            payload_md5: Some("27ae3e4e09519cfbb04c329615203637"),
        },
    ],
};

const CIFAR10: Manifest = Manifest {
    mirrors: &["https://www.cs.toronto.edu/~kriz/"],
    files: &[FileSpec {
        name: "cifar-10-binary.tar.gz",
        md5: "c32a1d4ab5d03f1284b67883e8d87530",
        payload_md5: None,
    }],
};

/// The upstream manifest of a data set.
pub fn manifest(kind: DatasetKind) -> &'static Manifest {
    match kind {
        DatasetKind::FashionMnist => &FASHION,
        DatasetKind::Mnist => &MNIST,
        DatasetKind::Cifar10 => &CIFAR10,
    }
}

/// The hex MD5 of a byte slice.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

/// The MD5 of everything `r` yields, read in blocks.
fn md5_of_reader(r: &mut impl std::io::Read) -> std::io::Result<String> {
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match r.read(&mut buf)? {
            0 => return Ok(hex(&h.finalize())),
            n => h.update(&buf[..n]),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How one file verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub path: PathBuf,
    pub md5: String,
    /// `true` when the file's own bytes match the published MD5; `false` when only its
    /// decompressed payload does (a recompressed copy) or it is an uncompressed copy.
    pub exact: bool,
}

/// Checks one file against its spec: the published MD5, or else the payload's.
pub fn verify_file(path: &Path, spec: &FileSpec) -> Result<Verified> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "cannot read file", e))?;
    let md5 = md5_hex(&bytes);
    if md5 == spec.md5 {
        return Ok(Verified {
            path: path.into(),
            md5,
            exact: true,
        });
    }
    if let Some(payload_md5) = spec.payload_md5 {
        // `path` may be the .gz or an already decompressed copy.
        // Hashed as it is decompressed: a gzip bomb costs time, not memory.
        let got = if path.extension().is_some_and(|e| e == "gz") {
            match md5_of_reader(&mut super::idx::GzMembers::new(&bytes)) {
                Ok(m) => m,
                Err(_) => {
                    return Err(Error::Checksum {
                        path: path.into(),
                        expected: spec.md5.into(),
                        actual: format!(
                        "{md5}, and the gzip data is corrupt, so it is no recompressed copy either"
                    ),
                    })
                }
            }
        } else {
            md5.clone()
        };
        if got == payload_md5 {
            return Ok(Verified {
                path: path.into(),
                md5,
                exact: false,
            });
        }
        return Err(Error::Checksum {
            path: path.into(),
            expected: format!("{} (file) or {payload_md5} (decompressed)", spec.md5),
            actual: format!("{md5} (file), {got} (decompressed)"),
        });
    }
    Err(Error::Checksum {
        path: path.into(),
        expected: spec.md5.into(),
        actual: md5,
    })
}

/// How long a download waits to connect, and for each read: a mirror that accepts the
/// connection and then never answers fails after `read` instead of hanging.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: std::time::Duration,
    pub read: std::time::Duration,
}

impl Timeouts {
    pub const DEFAULT: Timeouts = Timeouts {
        connect: std::time::Duration::from_secs(30),
        read: std::time::Duration::from_secs(60),
    };
}

/// Tries per mirror before the next one: a transient failure is retried once.
const ATTEMPTS: usize = 2;

/// Downloads every file of `kind` missing from `dir`, verifying each before it is renamed
/// into place, each mirror tried [`ATTEMPTS`] times with [`Timeouts::DEFAULT`].
/// `progress(name, done, total)` is called as bytes arrive.
pub fn fetch(
    kind: DatasetKind,
    dir: &Path,
    progress: &mut dyn FnMut(&str, u64, Option<u64>),
) -> Result<Vec<Verified>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create directory", e))?;
    let m = manifest(kind);
    let mut out = Vec::new();
    for spec in m.files {
        let dest = dir.join(spec.name);
        if dest.is_file() {
            if let Ok(v) = verify_file(&dest, spec) {
                out.push(v);
                continue;
            }
        }
        let mut last = None;
        'mirrors: for base in m.mirrors {
            let url = format!("{base}{}", spec.name);
            for _ in 0..ATTEMPTS {
                match download_verified(&url, &dest, spec, Timeouts::DEFAULT, progress) {
                    Ok(v) => {
                        last = None;
                        out.push(v);
                        break 'mirrors;
                    }
                    Err(e) => last = Some(e),
                }
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
    }
    Ok(out)
}

fn download_verified(
    url: &str,
    dest: &Path,
    spec: &FileSpec,
    timeouts: Timeouts,
    progress: &mut dyn FnMut(&str, u64, Option<u64>),
) -> Result<Verified> {
    let partial = dest.with_extension("partial");
    let download = |source: Box<dyn std::error::Error + Send + Sync>| Error::Download {
        url: url.into(),
        source,
    };
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(timeouts.connect)
        .timeout_read(timeouts.read)
        .build();
    let resp = agent.get(url).call().map_err(|e| download(Box::new(e)))?;
    let total = resp.header("content-length").and_then(|s| s.parse().ok());
    let mut reader = resp.into_reader();
    let mut file = std::fs::File::create(&partial)
        .map_err(|e| Error::io(&partial, "cannot create file", e))?;
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| download(Box::new(e)))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n])
            .map_err(|e| Error::io(&partial, "cannot write file", e))?;
        done += n as u64;
        progress(spec.name, done, total);
    }
    file.sync_all()
        .map_err(|e| Error::io(&partial, "cannot write file", e))?;
    drop(file);
    let verified = verify_file(&partial, spec);
    match verified {
        Ok(mut v) => {
            std::fs::rename(&partial, dest)
                .map_err(|e| Error::io(dest, "cannot move file into place", e))?;
            v.path = dest.into();
            Ok(v)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `body` once per connection on 127.0.0.1, for `count` connections.
    fn serve(body: Vec<u8>, count: usize) -> String {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(count) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
            }
        });
        format!("http://{addr}/f.gz")
    }

    #[test]
    fn a_download_is_verified_before_it_is_moved_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let body = super::super::idx::gzip(b"payload bytes");
        let good = FileSpec {
            name: "f.gz",
            md5: Box::leak(md5_hex(&body).into_boxed_str()),
            payload_md5: None,
        };
        let dest = dir.path().join("f.gz");
        let mut seen = 0;
        let v = download_verified(
            &serve(body.clone(), 1),
            &dest,
            &good,
            Timeouts::DEFAULT,
            &mut |_, done, total| {
                seen = done;
                assert_eq!(total, Some(body.len() as u64));
            },
        )
        .unwrap();
        assert_eq!(v.path, dest);
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        assert_eq!(seen, body.len() as u64);
        assert!(!dir.path().join("f.partial").exists());

        // A download whose checksum is wrong never appears under the real name.
        let bad = FileSpec {
            md5: "00000000000000000000000000000000",
            ..good
        };
        let dest2 = dir.path().join("g.gz");
        let e = download_verified(
            &serve(body, 1),
            &dest2,
            &bad,
            Timeouts::DEFAULT,
            &mut |_, _, _| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("md5 mismatch"), "{e}");
        assert!(!dest2.exists() && !dir.path().join("g.partial").exists());
    }

    #[test]
    fn a_mirror_that_accepts_and_never_answers_times_out_naming_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/f.gz", listener.local_addr().unwrap());
        // Accepts the connection, reads nothing, answers nothing.
        let held = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
        let dir = tempfile::tempdir().unwrap();
        let spec = FileSpec {
            name: "f.gz",
            md5: "00000000000000000000000000000000",
            payload_md5: None,
        };
        let timeouts = Timeouts {
            connect: std::time::Duration::from_secs(5),
            read: std::time::Duration::from_millis(300),
        };
        let start = std::time::Instant::now();
        let dest = dir.path().join("f.gz");
        let e = download_verified(&url, &dest, &spec, timeouts, &mut |_, _, _| {}).unwrap_err();
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        let text = crate::error::chain(&e);
        assert!(text.contains(&url), "{text}");
        assert!(!dest.exists() && !dir.path().join("f.partial").exists());
        drop(held.join());
    }

    #[test]
    fn md5_matches_rfc1321_vectors() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn verify_accepts_exact_and_recompressed_and_rejects_others() {
        let dir = tempfile::tempdir().unwrap();
        let payload = b"hello idx".to_vec();
        let gz = super::super::idx::gzip(&payload);
        let spec = FileSpec {
            name: "f.gz",
            md5: Box::leak(md5_hex(&gz).into_boxed_str()),
            payload_md5: Some(Box::leak(md5_hex(&payload).into_boxed_str())),
        };
        let p = dir.path().join("f.gz");
        std::fs::write(&p, &gz).unwrap();
        assert!(verify_file(&p, &spec).unwrap().exact);
        // Recompressed with another level: different bytes, same payload.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&payload).unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        assert!(!verify_file(&p, &spec).unwrap().exact);
        // Another payload.
        std::fs::write(&p, super::super::idx::gzip(b"hellO idx")).unwrap();
        let e = verify_file(&p, &spec).unwrap_err().to_string();
        assert!(e.contains("f.gz: md5 mismatch"), "{e}");
    }
}

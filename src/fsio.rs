//! Reading and writing the project's own files safely: a reader takes only a regular file
//! of bounded size (never a FIFO, a device or a directory, which would block or never
//! end), and a writer replaces its target atomically through a fresh temporary file in
//! the same folder, never writing through a link and never leaving a truncated file under
//! its final name.
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The size caps of the records the project reads back.
pub mod cap {
    /// A config, a summary, a corruption record or a report's JSON.
    pub const SMALL: u64 = 64 << 20;
    /// A run's `metrics.jsonl` or a history file.
    pub const LOG: u64 = 1 << 30;
    /// A checkpoint (a model's variables and momentum buffers).
    pub const CHECKPOINT: u64 = 16 << 30;
}

/// The bytes of `path`, which must be a regular file (a link to one is followed) of at
/// most `cap` bytes. Anything else is an error naming the file: a FIFO would block the
/// reader until a writer came, and a device such as `/dev/zero` would never end.
pub fn read_regular(path: &Path, action: &'static str, cap: u64) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, action, e))?;
    if !meta.is_file() {
        return Err(Error::format(
            path,
            format!("{action}: not a regular file ({})", kind(&meta)),
        ));
    }
    if meta.len() > cap {
        return Err(Error::format(
            path,
            format!(
                "{action}: {} bytes, more than the {cap} allowed",
                meta.len()
            ),
        ));
    }
    let f = File::open(path).map_err(|e| Error::io(path, action, e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow after the size check: never read past the cap.
    f.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, action, e))?;
    if bytes.len() as u64 > cap {
        return Err(Error::format(
            path,
            format!("{action}: grew past the {cap} bytes allowed while being read"),
        ));
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_text(path: &Path, action: &'static str, cap: u64) -> Result<String> {
    String::from_utf8(read_regular(path, action, cap)?)
        .map_err(|e| Error::format(path, format!("{action}: not UTF-8 text ({e})")))
}

fn kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Takes the advisory lock on directory `dir`, held while the returned handle lives; when
/// another process holds it, an error on `dir` saying `busy`.
pub fn lock_dir(dir: &Path, busy: &str) -> Result<File> {
    let lock = File::open(dir).map_err(|e| Error::io(dir, "cannot open directory", e))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::RunDir {
            path: dir.into(),
            what: busy.into(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(dir, "cannot lock directory", e)),
    }
}

/// Removes `path` if it is there: a file, or a link (never what the link points to).
pub fn remove_if_present(path: &Path, action: &'static str) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, action, e)),
        _ => Ok(()),
    }
}

/// `path` with `.tmp` appended: where [`write_atomic`] writes before the rename.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// Writes `bytes` to `path` through `path.tmp` and a rename, so that a reader never sees
/// a half-written file. A stale `path.tmp` (a killed writer's) or a link planted there is
/// removed first, and the temporary file is created anew (`create_new`, which never follows
/// a link); a failed write removes it again. The rename replaces `path` itself, even when
/// `path` is a link.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    place(path, &tmp, |f, _| {
        f.write_all(bytes)
            .map_err(|e| Error::io(&tmp, "cannot write file", e))
    })
}

/// Like [`write_atomic`], for a writer that needs a path (a figure's backend): `write`
/// fills the temporary file `DIR/.tmp-NAME`, which keeps `path`'s extension, and the file
/// is then renamed to `path`.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".tmp-{name}"));
    place(path, &tmp, |_, tmp| write(tmp))
}

/// Creates `tmp` afresh, lets `fill` write it, syncs it and renames it to `path`; on any
/// failure `tmp` is removed and `path` is left as it was.
fn place(path: &Path, tmp: &Path, fill: impl FnOnce(&mut File, &Path) -> Result<()>) -> Result<()> {
    remove_if_present(tmp, "cannot remove stale temporary file")?;
    let mut f = File::options()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(|e| Error::io(tmp, "cannot create file", e))?;
    let written = fill(&mut f, tmp).and_then(|()| {
        // `fill` may have written through its own handle: sync what is on disk now.
        File::open(tmp)
            .and_then(|g| g.sync_all())
            .map_err(|e| Error::io(tmp, "cannot write file", e))
    });
    drop(f);
    if let Err(e) = written {
        let _ = std::fs::remove_file(tmp);
        return Err(e);
    }
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        Error::io(path, "cannot move file into place", e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_refuse_what_is_not_a_regular_file_and_what_is_too_big() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = read_regular(&fifo, "cannot read summary", cap::SMALL).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = read_regular(&zero, "cannot read metrics", cap::LOG).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        let e = read_regular(dir.path(), "cannot read", cap::SMALL).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, [b'x'; 11]).unwrap();
        let e = read_regular(&big, "cannot read", 10).unwrap_err();
        assert!(e.to_string().contains("11 bytes"), "{e}");
        assert_eq!(read_regular(&big, "cannot read", 11).unwrap().len(), 11);
    }

    #[test]
    fn an_atomic_write_replaces_a_planted_link_and_a_failed_one_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "secret").unwrap();
        let fig = dir.path().join("fig.png");
        std::os::unix::fs::symlink(&secret, &fig).unwrap();
        write_atomic_with(&fig, |tmp| {
            assert_eq!(tmp.extension().unwrap(), "png");
            std::fs::write(tmp, "figure").map_err(|e| Error::io(tmp, "cannot write", e))
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret");
        assert!(!std::fs::symlink_metadata(&fig).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&fig).unwrap(), "figure");
        let failed = write_atomic_with(&fig, |tmp| {
            std::fs::write(tmp, "half").unwrap();
            Err(Error::format(tmp, "disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&fig).unwrap(), "figure");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporary file is left behind");
    }
}

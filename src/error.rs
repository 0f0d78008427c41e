//! The library's one error type. Messages are lowercase and name the file or field
//! that is wrong; the underlying cause is kept as the `#[source]`.
use std::path::PathBuf;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{}: {action}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A data file is malformed: wrong magic, wrong size, truncated, bad label, ...
    #[error("{}: {what}", path.display())]
    Format { path: PathBuf, what: String },

    /// A file's MD5 does not match the published one.
    #[error("{}: md5 mismatch: expected {expected}, got {actual}", path.display())]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    /// A data set is not in any of the directories searched.
    #[error("data set {dataset} not found (searched {searched}); {hint}")]
    MissingDataset {
        dataset: String,
        searched: String,
        hint: String,
    },

    /// A data set's directory holds some of its files, or holds them in an unusable form.
    #[error("data set {dataset} is incomplete: {problems}; {hint}")]
    IncompleteDataset {
        dataset: String,
        problems: String,
        hint: String,
    },

    /// A checkpoint does not fit the run it should resume.
    #[error("checkpoint does not fit this run: {0}")]
    Checkpoint(String),

    /// A download failed.
    #[error("download of {url} failed")]
    Download {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// An experiment or command argument is invalid; `field` names it.
    #[error("invalid {field}: {message}")]
    Config { field: String, message: String },

    /// A JSON file could not be parsed or written.
    #[error("{}: invalid json", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A run directory cannot be used.
    #[error("{}: {what}", path.display())]
    RunDir { path: PathBuf, what: String },

    /// A numerical problem: a singular system, a non-finite value, ties that cannot be separated.
    #[error("{0}")]
    Numerical(String),

    /// A device's memory cannot hold even the smallest unit of the work (`what` says which).
    #[error("out of memory: {what}")]
    OutOfMemory {
        what: String,
        #[source]
        source: tch::TchError,
    },

    /// Training stopped because the process was asked to (SIGTERM, through the training
    /// engine's `request_stop`) before the run finished. Its checkpoint holds the last
    /// epoch boundary, from which the run resumes exactly.
    #[error("stopped on request in epoch {epoch}, after {step} steps; the run resumes from its last checkpoint")]
    Stopped { epoch: usize, step: usize },

    /// A Slurm command failed or answered what it should not.
    #[error("slurm: {0}")]
    Slurm(String),

    /// An error raised by libtorch.
    #[error("libtorch error")]
    Torch(#[from] tch::TchError),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            path: path.into(),
            action,
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            what: what.into(),
        }
    }

    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error and its causes on one line, `outer: cause: cause`.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

//! Errors from reading GraphStorm/DGL partitions and the files next to them.

use std::path::PathBuf;

/// A GraphStorm/DGL partition file could not be read. Every message names the file, says what
/// is wrong and ends with a `hint:`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DglError {
    /// A file could not be opened or read.
    #[error("cannot {action} `{path}`: {source}; hint: check that the file exists and is readable")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file ends before a value that the format requires.
    #[error(
        "`{path}` is truncated: it ends at byte {len} while reading {what} at byte {offset}; hint: the file was cut short (disk full or an interrupted copy); copy or write the partition again"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was being read.
        what: String,
        /// Where it starts.
        offset: u64,
        /// The file's length.
        len: u64,
    },
    /// A magic number or version is not one DGL writes (or one this reader knows).
    #[error("`{path}`: {what} at byte {offset} is {found}, expected {expected}; hint: {hint}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// The field (e.g. `file magic`, `format version`).
        what: String,
        /// Where it is.
        offset: u64,
        /// The value found.
        found: String,
        /// The value(s) accepted.
        expected: String,
        /// What to do.
        hint: &'static str,
    },
    /// The file parses but its content is not what a partition holds, or is inconsistent.
    #[error("`{path}`: {problem}; hint: {hint}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// What to do.
        hint: &'static str,
    },
    /// A raw-id mapping parquet file is unreadable or lacks a usable column.
    #[error(
        "`{path}`{}: {problem}; hint: {hint}",
        column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default()
    )]
    RawIdMap {
        /// The parquet file (or the folder when no file is found).
        path: PathBuf,
        /// The column, when the problem is in one.
        column: Option<String>,
        /// What is wrong.
        problem: String,
        /// What to do.
        hint: &'static str,
    },
}

impl DglError {
    /// An [`DglError::Invalid`] for `path`.
    pub(crate) fn invalid(
        path: impl Into<PathBuf>,
        problem: impl Into<String>,
        hint: &'static str,
    ) -> Self {
        DglError::Invalid {
            path: path.into(),
            problem: problem.into(),
            hint,
        }
    }
}

/// Maps `path` read-only. DGL files are read once into gs's own arrays, so a file changing
/// afterwards cannot affect the loaded graph.
pub(crate) fn map_file(path: &std::path::Path) -> Result<memmap2::Mmap, DglError> {
    let io = |action| {
        move |source| DglError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let file = std::fs::File::open(path).map_err(io("open"))?;
    // SAFETY: the map is only read while parsing, and every array is copied out of it before
    // it is dropped; partition files are not rewritten in place by DGL or GraphStorm.
    unsafe { memmap2::Mmap::map(&file) }.map_err(io("map"))
}

/// The hint for a file that is not what DGL writes.
pub(crate) const REWRITE_HINT: &str =
    "the file is corrupt or not written by DGL/GraphStorm; partition the graph again";

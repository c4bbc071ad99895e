//! The crate's error enum. Every message names the path (and node type) at fault and ends with a
//! `hint:` saying what to do.

use std::path::PathBuf;

/// Why an output set could not be written or read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The number of node ids differs from the number of value rows.
    #[error(
        "`{}`: node type `{ntype}` has {ids} node ids but {rows} rows of values; hint: pass \
         exactly one node id per row (for `Values::F32`, rows = data.len() / width)",
        dir.display()
    )]
    LengthMismatch {
        /// The output directory.
        dir: PathBuf,
        /// The node type.
        ntype: String,
        /// Number of node ids given.
        ids: usize,
        /// Number of value rows given.
        rows: usize,
    },

    /// `Values::F32` data whose length is not a multiple of its width.
    #[error(
        "`{}`: node type `{ntype}` has {len} values, not a multiple of the width {width}; hint: \
         pass a row-major [nodes x width] buffer whose width is the number of classes, 1 for \
         regression, or the embedding size",
        dir.display()
    )]
    RaggedValues {
        /// The output directory.
        dir: PathBuf,
        /// The node type.
        ntype: String,
        /// `data.len()`.
        len: usize,
        /// The declared width.
        width: usize,
    },

    /// `Values::F32` with width 0.
    #[error(
        "`{}`: node type `{ntype}` has width 0; hint: width is the number of values per node \
         (classes, 1 for regression, or the embedding size) and must be at least 1",
        dir.display()
    )]
    ZeroWidth {
        /// The output directory.
        dir: PathBuf,
        /// The node type.
        ntype: String,
    },

    /// Class indices passed where only float vectors make sense (embeddings).
    #[error(
        "`{}`: node type `{ntype}`: embeddings must be float vectors, got class indices; hint: \
         pass `Values::F32 {{ data, width }}` with width = the embedding size",
        dir.display()
    )]
    ClassIndexEmbedding {
        /// The output directory.
        dir: PathBuf,
        /// The node type.
        ntype: String,
    },

    /// A node type that cannot be used as a directory name.
    #[error(
        "`{}`: node type name `{ntype}` is not allowed: {reason}; hint: node types become \
         directory names, so use a non-empty name without `/`, NUL, and other than `.` or `..`",
        dir.display()
    )]
    InvalidNodeType {
        /// The output directory.
        dir: PathBuf,
        /// The node type as given.
        ntype: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The same node type twice in one call.
    #[error(
        "`{}`: node type `{ntype}` is given twice; hint: concatenate its ids and values into one \
         entry",
        dir.display()
    )]
    DuplicateNodeType {
        /// The output directory.
        dir: PathBuf,
        /// The repeated node type.
        ntype: String,
    },

    /// An [`OutputOptions`](crate::OutputOptions) value is out of range.
    #[error("`{}`: {what}; hint: {hint}", dir.display())]
    InvalidOption {
        /// The output directory.
        dir: PathBuf,
        /// What is wrong.
        what: String,
        /// What to do.
        hint: &'static str,
    },

    /// The output directory cannot be used as a target.
    #[error("`{}`: {reason}; hint: {hint}", path.display())]
    InvalidTarget {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
        /// What to do.
        hint: &'static str,
    },

    /// A filesystem operation failed.
    #[error("cannot {op} `{}`: {source}; hint: check that the path exists, is writable and that the disk is not full", path.display())]
    Io {
        /// The path operated on.
        path: PathBuf,
        /// What was being done ("create", "write", "rename", ...).
        op: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The parquet library refused to write or read a file.
    #[error("parquet error in `{}`: {source}; hint: if reading, check that the file is a complete GraphStorm output file", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The parquet error.
        source: parquet::errors::ParquetError,
    },

    /// No output directory for a node type.
    #[error(
        "`{}` does not exist, so there are no predictions for node type `{ntype}`; hint: check \
         the prediction directory and that `{ntype}` is one of the target node types",
        dir.display()
    )]
    NotFound {
        /// The node type directory looked in.
        dir: PathBuf,
        /// The node type.
        ntype: String,
    },

    /// A file read back does not have the expected columns or contents.
    #[error("`{}`: {reason}; hint: expected GraphStorm remapped output with columns `nid` and `pred`", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (line number for csv).
        reason: String,
    },
}

impl OutputError {
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

//! `GconstructError`: every way graph construction can fail, each naming the file, column and
//! row (or the first offending value) and ending with what to do next.

use std::path::PathBuf;

/// An error from [`crate::construct`] or [`crate::apply_transforms`].
#[derive(Debug, thiserror::Error)]
pub enum GconstructError {
    /// The config file could not be read or is not JSON.
    #[error(
        "cannot read the gconstruct config `{path}`: {reason}\nhint: pass --conf-file with a gconstruct JSON file (`version: gconstruct-v0.1`)"
    )]
    ConfigRead {
        /// The config path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The config is JSON but not a valid gconstruct config.
    #[error("bad gconstruct config at {at}: {reason}\nhint: {hint}")]
    Config {
        /// Where in the config, e.g. `nodes[1].features[0]`.
        at: String,
        /// What is wrong.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// A feature of GraphStorm's gconstruct that gs does not implement.
    #[error("{what} is not supported by gs gconstruct (at {at})\nhint: {hint}")]
    Unsupported {
        /// The unsupported feature.
        what: String,
        /// Where in the config.
        at: String,
        /// What to do instead.
        hint: String,
    },
    /// An input path or glob matched no file.
    #[error(
        "input file `{pattern}` (at {at}) does not exist or is not a file\nhint: relative paths are resolved against the working directory (as GraphStorm does) and then against the config file's folder `{conf_dir}`; fix the path in `files`"
    )]
    MissingInput {
        /// The path or pattern as written.
        pattern: String,
        /// Where in the config.
        at: String,
        /// The config file's folder.
        conf_dir: PathBuf,
    },
    /// A file could not be read or parsed (CSV syntax, unreadable Parquet, I/O).
    #[error("cannot read `{path}`: {reason}\nhint: {hint}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// A column named by the config is not in a file.
    #[error(
        "`{path}` has no column `{column}` (needed by {at}); its columns are: {available}\nhint: fix the column name in the config or add the column to the file"
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// Where in the config the column is named.
        at: String,
        /// The columns the file has.
        available: String,
    },
    /// A value in a file is unusable: a null id, a non-numeric feature, a label that is not a
    /// class id, a vector of the wrong length, NaN/Inf in a numeric feature, ...
    #[error("`{path}` row {row}, column `{column}`: {reason}\nhint: {hint}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The data row (0-based, header excluded).
        row: usize,
        /// The column.
        column: String,
        /// What is wrong, with the offending value.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// A node id appears twice in the node tables of one type.
    #[error(
        "duplicate node id {id} of node type `{ntype}` at {at} (first seen at {first_at})\nhint: node ids must be unique per node type; remove the duplicate row"
    )]
    DuplicateNodeId {
        /// The node type.
        ntype: String,
        /// The id, quoted.
        id: String,
        /// Where the second occurrence is: file, row and column.
        at: String,
        /// Where the first occurrence is.
        first_at: String,
    },
    /// An edge points to a node id that no node table of its type has.
    #[error(
        "edge `{etype}` at {at} points to node id {id}, which is not a `{ntype}` node ({count} such edges in this edge type)\nhint: add the node to the `{ntype}` node files, fix the edge, or pass --skip-nonexist-edges to drop such edges"
    )]
    UnknownNode {
        /// The edge type, `src:rel:dst`.
        etype: String,
        /// The node type the id should belong to.
        ntype: String,
        /// The unknown id, quoted.
        id: String,
        /// Where the edge is: file, row and column.
        at: String,
        /// How many edges of the type point to unknown nodes.
        count: usize,
    },
    /// A fitted transform cannot be applied (e.g. `max_val == min_val`) or re-applied.
    #[error("feature `{feature}`: {reason}\nhint: {hint}")]
    Transform {
        /// The feature name.
        feature: String,
        /// What is wrong.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// Building the graph or writing the partition failed.
    #[error(transparent)]
    Graph(#[from] gs_graph::GraphError),
    /// Writing the partition failed.
    #[error(transparent)]
    Storage(#[from] gs_graph::StorageError),
    /// Partitioning failed (boxed: it is rare and large).
    #[error(transparent)]
    Partition(Box<gs_partition::PartitionError>),
    /// Writing an output file failed.
    #[error("cannot {action} `{path}`: {reason}\nhint: {hint}")]
    Write {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
        /// What to do.
        hint: String,
    },
}

/// `` `file` row R, column `c` `` for error messages.
pub(crate) fn location(path: &std::path::Path, row: usize, column: &str) -> String {
    format!("`{}` row {row}, column `{column}`", path.display())
}

impl GconstructError {
    pub(crate) fn config(
        at: impl Into<String>,
        reason: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        GconstructError::Config {
            at: at.into(),
            reason: reason.into(),
            hint: hint.into(),
        }
    }

    pub(crate) fn write(
        action: &'static str,
        path: &std::path::Path,
        e: impl std::fmt::Display,
    ) -> Self {
        GconstructError::Write {
            action,
            path: path.to_path_buf(),
            reason: e.to_string(),
            hint: "check that the output folder is writable and has free space".into(),
        }
    }
}

impl From<gs_partition::PartitionError> for GconstructError {
    fn from(e: gs_partition::PartitionError) -> Self {
        GconstructError::Partition(Box::new(e))
    }
}

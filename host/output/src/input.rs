//! What callers hand in: node ids, values, options; and the checks run before anything is written.

use std::collections::HashSet;
use std::path::Path;

use crate::OutputError;

/// The node ids of one node type, one per row, already in GraphStorm's raw id space.
#[derive(Debug, Clone, Copy)]
pub enum NodeIds<'a> {
    /// Integer raw ids (the graph's input ids were integers): written as an `int64` column.
    Int(&'a [i64]),
    /// String raw ids: written as a `utf8` column.
    Raw(&'a [String]),
}

impl NodeIds<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Int(ids) => ids.len(),
            Self::Raw(ids) => ids.len(),
        }
    }
}

/// The values of one node type, one row per node id.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// A row-major `[nodes x width]` buffer: class probabilities or logits (width = number of
    /// classes), a regression value (width 1), or an embedding. Written as `list<float32>`.
    F32 {
        /// `nodes * width` values.
        data: &'a [f32],
        /// Values per node, at least 1.
        width: usize,
    },
    /// One predicted class per node (GraphStorm's `return_proba=false`, the argmax). Written as
    /// a plain `int64` column. Predictions only.
    ClassIndex(&'a [i64]),
}

impl Values<'_> {
    /// Rows, assuming [`validate`] passed.
    pub(crate) fn rows(&self) -> usize {
        match *self {
            Self::F32 { data, width } => data.len() / width.max(1),
            Self::ClassIndex(v) => v.len(),
        }
    }
}

/// The on-disk format, GraphStorm's `remap_result --output-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Parquet files (`*.parquet`), GraphStorm's default.
    #[default]
    Parquet,
    /// Delimited text (`*.csv`) with a header row; a vector is written as its values joined by
    /// `;` (GraphStorm's `--output-delimiter`, default `,`).
    Csv {
        /// The column separator; not `"`, `\n` or `\r`.
        delimiter: char,
    },
}

/// How to write an output set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOptions {
    /// At most this many rows per file (GraphStorm's `--output-chunk-size`; the launcher's
    /// default is 100 000). Must be at least 1.
    pub chunk_size: usize,
    /// Parquet (default) or csv.
    pub format: OutputFormat,
}

/// GraphStorm launcher's default `--output-chunk-size`.
pub const DEFAULT_CHUNK_SIZE: usize = 100_000;

impl Default for OutputOptions {
    fn default() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            format: OutputFormat::Parquet,
        }
    }
}

/// Checks everything about a call before the first byte is written.
pub(crate) fn validate(
    dir: &Path,
    per_type: &[(&str, NodeIds<'_>, Values<'_>)],
    opts: &OutputOptions,
    allow_class_index: bool,
) -> Result<(), OutputError> {
    if opts.chunk_size == 0 {
        return Err(OutputError::InvalidOption {
            dir: dir.to_path_buf(),
            what: "chunk_size is 0".into(),
            hint: "use at least 1 row per file (GraphStorm's default is 100000)",
        });
    }
    if let OutputFormat::Csv { delimiter } = opts.format
        && matches!(delimiter, '"' | '\n' | '\r')
    {
        return Err(OutputError::InvalidOption {
            dir: dir.to_path_buf(),
            what: format!("csv delimiter {delimiter:?} is not allowed"),
            hint: "use a single character other than a quote or a line break, e.g. `,` or a tab",
        });
    }
    let mut seen = HashSet::new();
    for (ntype, ids, values) in per_type {
        let ntype_err = |reason| OutputError::InvalidNodeType {
            dir: dir.to_path_buf(),
            ntype: (*ntype).to_owned(),
            reason,
        };
        if ntype.is_empty() {
            return Err(ntype_err("it is empty"));
        }
        if *ntype == "." || *ntype == ".." {
            return Err(ntype_err("it is a relative path component"));
        }
        if ntype.contains('/') {
            return Err(ntype_err("it contains a path separator"));
        }
        if ntype.contains('\0') {
            return Err(ntype_err("it contains a NUL byte"));
        }
        if !seen.insert(*ntype) {
            return Err(OutputError::DuplicateNodeType {
                dir: dir.to_path_buf(),
                ntype: (*ntype).to_owned(),
            });
        }
        match *values {
            Values::F32 { width: 0, .. } => {
                return Err(OutputError::ZeroWidth {
                    dir: dir.to_path_buf(),
                    ntype: (*ntype).to_owned(),
                });
            }
            Values::F32 { data, width } if data.len() % width != 0 => {
                return Err(OutputError::RaggedValues {
                    dir: dir.to_path_buf(),
                    ntype: (*ntype).to_owned(),
                    len: data.len(),
                    width,
                });
            }
            Values::ClassIndex(_) if !allow_class_index => {
                return Err(OutputError::ClassIndexEmbedding {
                    dir: dir.to_path_buf(),
                    ntype: (*ntype).to_owned(),
                });
            }
            _ => {}
        }
        if ids.len() != values.rows() {
            return Err(OutputError::LengthMismatch {
                dir: dir.to_path_buf(),
                ntype: (*ntype).to_owned(),
                ids: ids.len(),
                rows: values.rows(),
            });
        }
    }
    Ok(())
}

//! GraphStorm's names: files, columns and the metadata JSON, as written by
//! `python/graphstorm/gconstruct/remap_result.py` and `python/graphstorm/model/utils.py`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::input::{OutputFormat, Values};

/// Node id column (`GS_REMAP_NID_COL`).
pub(crate) const NID_COL: &str = "nid";
/// Prediction column (`GS_REMAP_PREDICTION_COL`).
pub(crate) const PRED_COL: &str = "pred";
/// Embedding column (`GS_REMAP_EMBED_COL`).
pub(crate) const EMB_COL: &str = "emb";
/// What `remap_result` puts between the values of one vector in csv output.
pub(crate) const CSV_LIST_SEP: char = ';';

/// This process is rank 0 of a world of one, so every file name starts with rank `00000`.
const RANK: usize = 0;

/// Which output set is being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Predictions,
    Embeddings,
}

impl Kind {
    /// The value column.
    pub(crate) fn value_col(self) -> &'static str {
        match self {
            Self::Predictions => PRED_COL,
            Self::Embeddings => EMB_COL,
        }
    }

    /// The metadata file at the top of the output directory.
    pub(crate) fn info_file(self) -> &'static str {
        match self {
            Self::Predictions => "result_info.json",
            Self::Embeddings => "emb_info.json",
        }
    }

    /// Name of chunk `chunk` of this rank's output.
    ///
    /// `remap_result` builds node prediction names as `f"pred.{pred_file stem}"` +
    /// `f"_{pad_file_index(i)}"`, so for the trainer's `predict-00000.pt` the real file is
    /// `pred.predict-00000_00000.parquet` (GraphStorm's own end-to-end check
    /// `tests/end2end-tests/data_process/check_node_predict_remap.py` opens exactly that name),
    /// although `output-remapping.rst` shows `predict-00000_00000.parquet`. We follow the code.
    /// Embeddings have no prefix: `embed-00000_00000.parquet`.
    pub(crate) fn chunk_file_name(self, chunk: usize, format: OutputFormat) -> String {
        let stem = match self {
            Self::Predictions => "pred.predict",
            Self::Embeddings => "embed",
        };
        // `pad_file_index` is `str(i).zfill(5)`: at least five digits, more when needed.
        format!("{stem}-{RANK:05}_{chunk:05}.{}", extension(format))
    }
}

pub(crate) fn extension(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Parquet => "parquet",
        OutputFormat::Csv { .. } => "csv",
    }
}

/// The metadata JSON for a set of node types.
///
/// GraphStorm's trainer writes `result_info.json` as `{"format", "world_size", "ntypes"}` (read
/// back by `remap_result`) and `emb_info.json` as `{"format", "emb_name", "emb_dim",
/// "world_size"}`; `output.rst` describes `result_info.json` with `emb_name` instead of `ntypes`,
/// so predictions carry both keys. `format` is the format actually on disk (GraphStorm leaves the
/// trainer's `"pytorch"` there after remapping) and `world_size` is 1.
pub(crate) fn info_json(
    kind: Kind,
    format: OutputFormat,
    per_type: &[(&str, Values<'_>)],
) -> Value {
    let names: Vec<&str> = per_type.iter().map(|(n, _)| *n).collect();
    let fmt = extension(format);
    match kind {
        Kind::Predictions => json!({
            "format": fmt,
            "world_size": 1,
            "ntypes": names,
            "emb_name": names,
        }),
        Kind::Embeddings => {
            let dims: BTreeMap<&str, usize> = per_type
                .iter()
                .map(|(n, v)| {
                    let dim = match v {
                        Values::F32 { width, .. } => *width,
                        Values::ClassIndex(_) => 1,
                    };
                    (*n, dim)
                })
                .collect();
            json!({
                "format": fmt,
                "emb_name": names,
                "emb_dim": dims,
                "world_size": 1,
            })
        }
    }
}

/// The metadata file's bytes (GraphStorm uses `json.dump(indent=4)`; readers parse JSON, so the
/// two-space indentation here is equivalent).
pub(crate) fn info_text(info: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(info).expect("a serde_json::Value always serialises");
    out.push(b'\n');
    out
}

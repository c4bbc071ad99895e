//! Edge-task predictions as `remap_result` leaves them (GraphStorm's `--pred-etypes` path):
//!
//! ```text
//! pred_dir/
//!     result_info.json                       {"format", "world_size": 1, "etypes"}
//!     <src>_<rel>_<dst>/
//!         pred.predict-00000_00000.parquet   columns: pred, src_nid, dst_nid
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::atomic::Staging;
use crate::input::{NodeIds, OutputFormat, OutputOptions, Values};
use crate::layout::{Kind, PRED_COL, info_text};
use crate::{OutputError, parquet_io};

/// Source id column of edge predictions, as `remap_result` names it.
pub const SRC_NID_COL: &str = "src_nid";
/// Destination id column of edge predictions.
pub const DST_NID_COL: &str = "dst_nid";

/// One edge type's predicted edges: `[src, rel, dst]`, the raw ids of each edge's endpoints
/// and its values.
pub type EdgeRows<'a> = ([&'a str; 3], NodeIds<'a>, NodeIds<'a>, Values<'a>);

/// Writes edge predictions, replacing `pred_dir` atomically; parquet only. Returns the final
/// paths of the data files, then the metadata file.
pub fn write_edge_predictions(
    pred_dir: &Path,
    per_etype: &[EdgeRows<'_>],
    opts: &OutputOptions,
) -> Result<Vec<PathBuf>, OutputError> {
    let invalid = |what: String, hint: &'static str| OutputError::InvalidOption {
        dir: pred_dir.to_path_buf(),
        what,
        hint,
    };
    if opts.chunk_size == 0 {
        return Err(invalid(
            "chunk_size is 0".into(),
            "use at least 1 row per file (GraphStorm's default is 100000)",
        ));
    }
    if opts.format != OutputFormat::Parquet {
        return Err(invalid(
            "edge predictions in csv are not supported yet".into(),
            "write parquet (the default)",
        ));
    }
    for (etype, src, dst, values) in per_etype {
        let rows = values.rows();
        if src.len() != rows || dst.len() != rows {
            return Err(invalid(
                format!(
                    "edge type {etype:?} has {rows} predictions but {} source and {} \
                     destination ids",
                    src.len(),
                    dst.len()
                ),
                "pass one source and one destination id per prediction",
            ));
        }
    }
    let staging = Staging::create(pred_dir)?;
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for ([s, r, d], src, dst, values) in per_etype {
        let name = format!("{s}_{r}_{d}");
        let sub = staging.path().join(&name);
        fs::create_dir(&sub).map_err(|e| OutputError::io(&sub, "create directory", e))?;
        subdirs.push(sub.clone());
        let rows = values.rows();
        for (chunk, start) in (0..rows).step_by(opts.chunk_size).enumerate() {
            let end = (start + opts.chunk_size).min(rows);
            let file = Kind::Predictions.chunk_file_name(chunk, opts.format);
            parquet_io::write_columns(
                &sub.join(&file),
                PRED_COL,
                &[(SRC_NID_COL, *src), (DST_NID_COL, *dst)],
                *values,
                start..end,
            )?;
            files.push(pred_dir.join(&name).join(file));
        }
    }
    let etypes: Vec<[&str; 3]> = per_etype.iter().map(|(e, ..)| *e).collect();
    let info = json!({"format": "parquet", "world_size": 1, "etypes": etypes});
    let info_path = staging.path().join(Kind::Predictions.info_file());
    {
        use std::io::Write as _;
        let mut f =
            fs::File::create(&info_path).map_err(|e| OutputError::io(&info_path, "create", e))?;
        f.write_all(&info_text(&info))
            .map_err(|e| OutputError::io(&info_path, "write", e))?;
        f.sync_all()
            .map_err(|e| OutputError::io(&info_path, "fsync", e))?;
    }
    files.push(pred_dir.join(Kind::Predictions.info_file()));
    staging.commit(&subdirs)?;
    Ok(files)
}

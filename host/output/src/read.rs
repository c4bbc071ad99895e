//! Reading node predictions back: for tests and for users' sanity checks.

use std::fs;
use std::path::{Path, PathBuf};

use crate::edges::{DST_NID_COL, SRC_NID_COL};
use crate::layout::{EMB_COL, PRED_COL};
use crate::{OutputError, csv_io, parquet_io};

/// Reads every prediction file of one node type under `pred_dir/<ntype>/`, in (rank, chunk)
/// order, and returns the node ids as text (integers in decimal) and one float row per node
/// (an integer class index becomes a one-value row).
///
/// It reads this crate's files and GraphStorm's own `remap_result` output (parquet with the
/// default snappy codec, or csv with the default column names): both `pred.predict-R_C.*`
/// (what `remap_result` writes) and `predict-R_C.*` (the name in GraphStorm's docs) are
/// accepted. When a directory holds both parquet and csv files only the parquet ones are read.
/// An existing directory without prediction files yields empty vectors.
pub fn read_node_predictions(
    pred_dir: &Path,
    ntype: &str,
) -> Result<(Vec<String>, Vec<Vec<f32>>), OutputError> {
    let dir = pred_dir.join(ntype);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OutputError::NotFound {
                dir,
                ntype: ntype.to_owned(),
            });
        }
        Err(e) => return Err(OutputError::io(&dir, "list", e)),
    };
    let mut parquet = Vec::new();
    let mut csv = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| OutputError::io(&dir, "list", e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(key) = chunk_key(name, "parquet") {
            parquet.push((key, entry.path()));
        } else if let Some(key) = chunk_key(name, "csv") {
            csv.push((key, entry.path()));
        }
    }
    let mut files: Vec<((u64, u64), PathBuf)> = if parquet.is_empty() { csv } else { parquet };
    files.sort();

    let mut nids = Vec::new();
    let mut preds = Vec::new();
    for (_, path) in &files {
        if path.extension().is_some_and(|e| e == "parquet") {
            parquet_io::read_file(path, PRED_COL, &mut nids, &mut preds)?;
        } else {
            csv_io::read_file(path, &mut nids, &mut preds)?;
        }
    }
    Ok((nids, preds))
}

/// Reads every parquet embedding file of one node type under `emb_dir/<ntype>/`
/// (`embed-<rank>_<chunk>.parquet`, columns `emb` and `nid`), in (rank, chunk) order: the node
/// ids as text and one embedding row per node.
pub fn read_node_embeddings(
    emb_dir: &Path,
    ntype: &str,
) -> Result<(Vec<String>, Vec<Vec<f32>>), OutputError> {
    let dir = emb_dir.join(ntype);
    let entries = fs::read_dir(&dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => OutputError::NotFound {
            dir: dir.clone(),
            ntype: ntype.to_owned(),
        },
        _ => OutputError::io(&dir, "list", e),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| OutputError::io(&dir, "list", e))?;
        let name = entry.file_name();
        let Some(key) = name
            .to_str()
            .and_then(|n| n.strip_prefix("embed-"))
            .and_then(|n| chunk_key(&format!("predict-{n}"), "parquet"))
        else {
            continue;
        };
        files.push((key, entry.path()));
    }
    files.sort();
    let (mut nids, mut rows) = (Vec::new(), Vec::new());
    for (_, path) in &files {
        parquet_io::read_file(path, EMB_COL, &mut nids, &mut rows)?;
    }
    Ok((nids, rows))
}

/// One edge type's predictions read back: raw source and destination ids and value rows.
pub struct EdgePredictions {
    /// Raw id of each edge's source node.
    pub src: Vec<String>,
    /// Raw id of each edge's destination node.
    pub dst: Vec<String>,
    /// One value row per edge (a class index becomes a one-value row).
    pub preds: Vec<Vec<f32>>,
}

/// Reads every parquet prediction file of one edge type under
/// `pred_dir/<src>_<rel>_<dst>/` (`pred.predict-<rank>_<chunk>.parquet`, columns `pred`,
/// `src_nid`, `dst_nid`), in (rank, chunk) order.
pub fn read_edge_predictions(
    pred_dir: &Path,
    etype: [&str; 3],
) -> Result<EdgePredictions, OutputError> {
    let name = etype.join("_");
    let dir = pred_dir.join(&name);
    let entries = fs::read_dir(&dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => OutputError::NotFound {
            dir: dir.clone(),
            ntype: name.clone(),
        },
        _ => OutputError::io(&dir, "list", e),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| OutputError::io(&dir, "list", e))?;
        if let Some(key) = entry
            .file_name()
            .to_str()
            .and_then(|n| chunk_key(n, "parquet"))
        {
            files.push((key, entry.path()));
        }
    }
    files.sort();
    let mut ids = [Vec::new(), Vec::new()];
    let mut preds = Vec::new();
    for (_, path) in &files {
        parquet_io::read_rows(
            path,
            &[SRC_NID_COL, DST_NID_COL],
            PRED_COL,
            &mut ids,
            &mut preds,
        )?;
    }
    let [src, dst] = ids;
    Ok(EdgePredictions { src, dst, preds })
}

/// `(rank, chunk)` of `[pred.]predict-<rank>_<chunk>.<ext>`, sorted numerically because
/// indices past 99999 grow a sixth digit.
fn chunk_key(name: &str, ext: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
    let rest = stem
        .strip_prefix("pred.predict-")
        .or_else(|| stem.strip_prefix("predict-"))?;
    let (rank, chunk) = rest.split_once('_')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(rank) || !all_digits(chunk) {
        return None;
    }
    Some((rank.parse().ok()?, chunk.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::chunk_key;

    #[test]
    fn chunk_keys() {
        assert_eq!(
            chunk_key("pred.predict-00000_00012.parquet", "parquet"),
            Some((0, 12))
        );
        assert_eq!(
            chunk_key("predict-00001_100000.csv", "csv"),
            Some((1, 100_000))
        );
        assert_eq!(chunk_key("predict-00000.pt", "parquet"), None);
        assert_eq!(
            chunk_key("predict_nids-00000_00000.parquet", "parquet"),
            None
        );
        assert_eq!(chunk_key("embed-00000_00000.parquet", "parquet"), None);
    }
}

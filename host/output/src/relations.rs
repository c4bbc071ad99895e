//! Relation embeddings of link prediction's relational score functions (`distmult`, `rotate`,
//! `transe_*`), written beside the node embeddings as GraphStorm does:
//!
//! ```text
//! emb_dir/
//!     relation2id_map.json   {"('src', 'rel', 'dst')": row, ...}   (GraphStorm's keys)
//!     rel_emb.npy            float32 [num_etypes, width]
//! ```
//!
//! GraphStorm writes the table as `rel_emb.pt`, a torch pickle only torch can read; gs writes
//! the same rows in NumPy's `.npy` format (`numpy.load`, `torch.from_numpy`). Each file is
//! written to a temporary name and renamed, so a reader never sees half of one.

use std::fs;
use std::path::{Path, PathBuf};

use crate::OutputError;

/// Name of the relation-id map.
pub const RELATION_MAP_FILE: &str = "relation2id_map.json";
/// Name of the relation table.
pub const RELATION_TABLE_FILE: &str = "rel_emb.npy";

/// Writes `relation2id_map.json` and `rel_emb.npy` into `dir` (created if missing): row `i`
/// of `data` (`[etypes.len(), width]`, row-major) is the embedding of `etypes[i]`.
pub fn write_relation_embeddings(
    dir: &Path,
    etypes: &[[&str; 3]],
    data: &[f32],
    width: usize,
) -> Result<Vec<PathBuf>, OutputError> {
    if data.len() != etypes.len() * width {
        return Err(OutputError::InvalidOption {
            dir: dir.to_path_buf(),
            what: format!(
                "{} relation values for {} edge types of width {width}",
                data.len(),
                etypes.len()
            ),
            hint: "pass one row of `width` values per edge type",
        });
    }
    fs::create_dir_all(dir).map_err(|e| OutputError::io(dir, "create", e))?;
    let map: serde_json::Map<String, serde_json::Value> = etypes
        .iter()
        .enumerate()
        .map(|(i, [s, r, d])| (format!("('{s}', '{r}', '{d}')"), i.into()))
        .collect();
    let map_text = serde_json::to_string_pretty(&map).expect("a map of numbers serialises");
    let map_path = dir.join(RELATION_MAP_FILE);
    write_atomically(&map_path, map_text.as_bytes())?;
    let table_path = dir.join(RELATION_TABLE_FILE);
    write_atomically(&table_path, &npy_f32(data, [etypes.len(), width]))?;
    Ok(vec![map_path, table_path])
}

/// A float32 C-order array in NumPy's `.npy` format, version 1.0.
fn npy_f32(data: &[f32], shape: [usize; 2]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        shape[0], shape[1]
    );
    // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple
    // of 64 and ended by a newline.
    let unpadded = 10 + dict.len() + 1;
    let header_len = dict.len() + 1 + (64 - unpadded % 64) % 64;
    let mut out = Vec::with_capacity(10 + header_len + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(10 + header_len - 1, b' ');
    out.push(b'\n');
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let staging = path.with_file_name(format!(".{name}.{}", std::process::id()));
    fs::write(&staging, bytes).map_err(|e| OutputError::io(&staging, "write", e))?;
    fs::rename(&staging, path).map_err(|e| OutputError::io(path, "rename", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_npy_header_is_numpys_and_the_map_graphstorms() {
        let dir = tempfile::tempdir().unwrap();
        let etypes = [["a", "r", "b"], ["b", "r-rev", "a"]];
        let files =
            write_relation_embeddings(dir.path(), &etypes, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3)
                .unwrap();
        assert_eq!(files.len(), 2);
        let map: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&files[0]).unwrap()).unwrap();
        assert_eq!(map["('b', 'r-rev', 'a')"], 1);
        let npy = fs::read(&files[1]).unwrap();
        let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0, "data starts 64-aligned");
        let header = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
        assert!(header.contains("'shape': (2, 3)") && header.ends_with('\n'));
        let values: Vec<f32> = npy[10 + header_len..]
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!(write_relation_embeddings(dir.path(), &etypes, &[1.0], 3).is_err());
    }
}

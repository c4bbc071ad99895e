//! Raw ids for a DGL partition: `raw_id_mappings/` holds them by gconstruct id, and
//! `node_mapping.pt` (GraphStorm gconstruct) or per-part `orig_nids.dgl` (GSPartition) maps
//! each shuffled per-type id back to its gconstruct id, as GraphStorm's `remap_result` does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::config::DglConfig;
use super::error::{DglError, REWRITE_HINT, map_file};
use super::{tensor_dict, torch_pt};
use crate::error::StorageError;
use crate::graph::HeteroGraph;
use crate::storage::raw_id_map;

/// Sets raw ids from `raw_id_mappings/` (keyed by gconstruct id) through the shuffle mapping.
pub(crate) fn attach_raw_ids(
    cfg: &DglConfig,
    part_config: &Path,
    graph: &mut HeteroGraph,
) -> Result<(), StorageError> {
    let counts: BTreeMap<String, u64> = cfg
        .ntypes
        .iter()
        .enumerate()
        .map(|(t, n)| (n.clone(), cfg.node_ranges.count(t)))
        .collect();
    let by_orig = raw_id_map::read_beside(part_config, &counts)?;
    if by_orig.is_empty() {
        return Ok(());
    }
    let dir = part_config.parent().unwrap_or(Path::new(""));
    let (mapping, source) = shuffle_mapping(cfg, dir)?;
    for (nt, raw) in by_orig {
        let ids = mapping.get(&nt).ok_or_else(|| {
            DglError::invalid(&source, format!("has no mapping for node type `{nt}`"), "partition the graph again with GraphStorm, which writes node_mapping.pt for every node type")
        })?;
        let shuffled: Vec<u64> = ids.iter().map(|&i| i as u64).collect();
        if shuffled.len() as u64 != counts[&nt] {
            return Err(DglError::invalid(
                &source,
                format!(
                    "maps {} ids of `{nt}`, but the type has {}",
                    shuffled.len(),
                    counts[&nt]
                ),
                REWRITE_HINT,
            )
            .into());
        }
        let gathered = raw.gather(&shuffled).ok_or_else(|| {
            DglError::invalid(
                &source,
                format!(
                    "maps a `{nt}` node to an id beyond the {} raw ids",
                    raw.len()
                ),
                REWRITE_HINT,
            )
        })?;
        graph
            .set_raw_ids(&nt, gathered)
            .map_err(|source| StorageError::Graph {
                path: part_config.to_path_buf(),
                source,
            })?;
    }
    Ok(())
}

/// Shuffled per-type id -> gconstruct id, from `node_mapping.pt` or else per-part
/// `orig_nids.dgl` (GSPartition); returns it and the file(s) it came from.
fn shuffle_mapping(
    cfg: &DglConfig,
    dir: &Path,
) -> Result<(BTreeMap<String, Vec<i64>>, PathBuf), DglError> {
    let pt = dir.join("node_mapping.pt");
    if pt.is_file() {
        let single_type = match cfg.ntypes.as_slice() {
            [only] => Some(only.as_str()),
            _ => None,
        };
        return Ok((torch_pt::read_int_tensors(&pt, single_type)?, pt));
    }
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for files in &cfg.parts {
        let path = files.graph.with_file_name("orig_nids.dgl");
        if !path.is_file() {
            return Err(DglError::invalid(
                dir.join("raw_id_mappings"),
                "raw ids are present but neither node_mapping.pt nor part*/orig_nids.dgl maps the shuffled ids back to them",
                "keep node_mapping.pt (GraphStorm gconstruct) or orig_nids.dgl (GSPartition) with the partition, or remove raw_id_mappings/ to load without raw ids",
            ));
        }
        let map = map_file(&path)?;
        for (nt, array) in tensor_dict::parse(&path, &map)? {
            out.entry(nt.clone())
                .or_default()
                .extend(array.ints(&path, &format!("tensor `{nt}`"))?);
        }
    }
    Ok((out, dir.join("part*/orig_nids.dgl")))
}

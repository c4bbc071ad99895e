//! `load`: a gs partition back into a `HeteroGraph`, with data arrays memory-mapped.

use std::path::Path;

use safetensors::Dtype;

use super::format::{INDICES_SUFFIX, INDPTR_SUFFIX, PartFiles, parse_part_config};
use super::tensors::MappedFile;
use crate::error::StorageError;
use crate::graph::HeteroGraph;
use crate::types::EdgeType;

/// Loads the partition described by the part-config JSON at `part_config`: gs's own format or
/// a GraphStorm/DGL partition (see [`crate::load_dgl`], which also returns per-part facts).
///
/// In gs's format, structure and data arrays view the mapped safetensors files (no copy)
/// whenever the data is aligned, which it always is in files gs writes; only one-part
/// partitions exist in it yet. In both formats, `raw_id_mappings/` beside the JSON, when
/// present, gives the node types their raw ids ([`HeteroGraph::raw_ids`]).
pub fn load(part_config: &Path) -> Result<HeteroGraph, StorageError> {
    let text = std::fs::read_to_string(part_config).map_err(|source| StorageError::Io {
        action: "read",
        path: part_config.to_path_buf(),
        source,
    })?;
    if serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|root| super::dgl::is_dgl(&root))
    {
        return Ok(super::dgl::load_dgl(part_config)?.graph);
    }
    let config = parse_part_config(part_config, &text)?;
    let mut graph = HeteroGraph::new();
    for (nt, &n) in &config.node_counts {
        graph
            .add_node_type(nt, n)
            .map_err(|source| StorageError::Graph {
                path: part_config.to_path_buf(),
                source,
            })?;
    }
    let PartFiles {
        graph: graph_file,
        node_data,
        edge_data,
    } = &config.parts[0];
    load_structure(&mut graph, graph_file, &config.edge_counts)?;
    load_node_data(&mut graph, node_data)?;
    load_edge_data(&mut graph, edge_data)?;
    // gs's per-type ids are gconstruct's ids, so the mappings apply directly.
    for (nt, ids) in super::raw_id_map::read_beside(part_config, &config.node_counts)? {
        graph
            .set_raw_ids(&nt, ids)
            .map_err(|source| StorageError::Graph {
                path: part_config.to_path_buf(),
                source,
            })?;
    }
    Ok(graph)
}

fn load_structure(
    graph: &mut HeteroGraph,
    path: &Path,
    edge_counts: &std::collections::BTreeMap<EdgeType, u64>,
) -> Result<(), StorageError> {
    let file = MappedFile::open(path)?;
    let mut expected = std::collections::BTreeSet::new();
    for (et, &num_edges) in edge_counts {
        let mut take = |suffix: &str, len: Option<u64>| {
            let key = format!("{et}/{suffix}");
            let meta = file
                .tensors
                .get(&key)
                .ok_or_else(|| StorageError::MissingTensor {
                    path: path.to_path_buf(),
                    key: key.clone(),
                })?;
            if !matches!(meta.dtype, Dtype::U64 | Dtype::I64) || meta.shape.len() != 1 {
                return Err(file.bad(
                    &key,
                    format!("has dtype {:?} and shape {:?}", meta.dtype, meta.shape),
                    "CSC arrays must be 1-D U64 or I64",
                ));
            }
            if let Some(n) = len.filter(|&n| n != meta.shape[0] as u64) {
                return Err(file.bad(
                    &key,
                    format!(
                        "has {} entries but the part-config's edge_map gives {n} edges",
                        meta.shape[0]
                    ),
                    "the partition is inconsistent; write it again with gs",
                ));
            }
            let buffer = file.buffer::<u64>(meta);
            expected.insert(key);
            Ok(buffer)
        };
        let indptr = take(INDPTR_SUFFIX, None)?;
        let indices = take(INDICES_SUFFIX, Some(num_edges))?;
        graph
            .insert_csc(et, indptr, indices)
            .map_err(|source| StorageError::Graph {
                path: path.to_path_buf(),
                source,
            })?;
    }
    if let Some(extra) = file.tensors.keys().find(|k| !expected.contains(*k)) {
        return Err(file.bad(
            extra,
            "is not a CSC array of an edge type the part-config lists".to_string(),
            "the partition is inconsistent; write it again with gs",
        ));
    }
    Ok(())
}

fn load_node_data(graph: &mut HeteroGraph, path: &Path) -> Result<(), StorageError> {
    let file = MappedFile::open(path)?;
    for (key, meta) in &file.tensors {
        let (nt, name) = split_key(&file, key, "ntype/name")?;
        if graph.num_nodes(nt).is_none() {
            return Err(file.bad(
                key,
                format!("belongs to node type `{nt}`, which the part-config does not list"),
                "the partition is inconsistent; write it again with gs",
            ));
        }
        let array = file.array(key, meta)?;
        graph
            .set_node_data(nt, name, array)
            .map_err(|source| StorageError::Graph {
                path: path.to_path_buf(),
                source,
            })?;
    }
    Ok(())
}

fn load_edge_data(graph: &mut HeteroGraph, path: &Path) -> Result<(), StorageError> {
    let file = MappedFile::open(path)?;
    for (key, meta) in &file.tensors {
        let (et, name) = split_key(&file, key, "src:rel:dst/name")?;
        let et: EdgeType = et.parse().map_err(|e: crate::GraphError| {
            file.bad(key, e.to_string(), "name edge data `src:rel:dst/name`")
        })?;
        if graph.num_edges(&et).is_none() {
            return Err(file.bad(
                key,
                format!("belongs to edge type `{et}`, which the part-config does not list"),
                "the partition is inconsistent; write it again with gs",
            ));
        }
        let array = file.array(key, meta)?;
        graph
            .set_edge_data(&et, name, array)
            .map_err(|source| StorageError::Graph {
                path: path.to_path_buf(),
                source,
            })?;
    }
    Ok(())
}

fn split_key<'k>(
    file: &MappedFile,
    key: &'k str,
    form: &str,
) -> Result<(&'k str, &'k str), StorageError> {
    key.split_once('/')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| {
            file.bad(
                key,
                format!("is not named `{form}`"),
                "data arrays are named `<type>/<name>`",
            )
        })
}

//! Writing gs partitions atomically: [`write_partitioned`] (one part) and [`write_partitions`]
//! (a graph split by a [`PartAssignment`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::format::{
    EDGE_DATA_FILE, EDGE_MAPPING_FILE, GRAPH_FILE, INDICES_SUFFIX, INDPTR_SUFFIX, NODE_DATA_FILE,
    NODE_MAPPING_FILE, part_config_json,
};
use super::raw_id_map::{RAW_ID_DIR, write_raw_id_mapping};
use super::tensors::{RawTensor, write_file};
use crate::buffer::Buffer;
use crate::error::StorageError;
use crate::graph::HeteroGraph;
use crate::partition::{PartAssignment, PartLayout, reshuffle};
use safetensors::Dtype;

/// Writes `graph` as a one-part gs partition in folder `dir` and returns the path of its
/// part-config, `dir/<graph_name>.json`.
///
/// Layout (gs format version [`crate::GS_FORMAT_VERSION`]):
///
/// ```text
/// dir/<graph_name>.json            DGL's part-config schema, plus gs's keys:
///     graph_name, num_nodes, num_edges, part_method ("none"), num_parts (1), halo_hops,
///     node_map {ntype: [[start, end)]}, edge_map {"src:rel:dst": [[start, end)]},
///     ntypes {ntype: id}, etypes {"src:rel:dst": id}      (ids = sorted order),
///     gs_format_version: 1,
///     part-0: {gs_graph, gs_node_data, gs_edge_data}      (paths relative to the JSON)
/// dir/part0/graph.safetensors      "src:rel:dst/csc_indptr"  U64 [num_dst + 1]
///                                  "src:rel:dst/csc_indices" U64 [num_edges] (source ids)
/// dir/part0/node_data.safetensors  "ntype/name"        F32 | I64 | U8, [n] or [n, d]
/// dir/part0/edge_data.safetensors  "src:rel:dst/name"  same, rows in edge-id (CSC) order
/// ```
///
/// As in DGL, `node_map`/`edge_map` give homogeneous id ranges with types laid out in type-id
/// order, so a type's count is its range's length. gs never writes DGL's
/// `part_graph`/`node_feats`/`edge_feats` keys, which promise DGL's `.dgl` files. [`crate::load`]
/// also accepts I64 CSC arrays and BOOL data arrays.
///
/// Node types with raw ids ([`HeteroGraph::raw_ids`]) get `dir/raw_id_mappings/<ntype>/`
/// parquet files (`orig`, `new`), as GraphStorm's gconstruct writes them.
///
/// The partition is built in a hidden temporary folder next to `dir` and renamed into place
/// only when every file is written and synced, so a crash never leaves a folder that looks
/// complete. `dir` must not exist or must be empty.
pub fn write_partitioned(
    graph: &HeteroGraph,
    dir: &Path,
    graph_name: &str,
) -> Result<PathBuf, StorageError> {
    write_atomically(dir, graph_name, |tmp| {
        write_raw_ids(graph, tmp)?;
        write_into(
            graph,
            &PartLayout::single(graph),
            tmp,
            graph_name,
            "none",
            false,
        )
    })
}

/// Writes `graph` split into the parts of `assignment`, in folder `dir` (the same rules as
/// [`write_partitioned`]), and returns the path of its part-config. `part_method` is recorded
/// in the part-config (`random`, `metis`, ...).
///
/// As DGL does, nodes are renumbered so that each part's nodes of a type are contiguous (part
/// 0's first), and edges belong to the part of their destination node. Part `p` holds, per
/// type, its nodes' data and their in-edges (CSC over all source nodes, by new id) with the
/// edges' data. `node_map`/`edge_map` give each part's ranges, and
/// `node_mapping.safetensors` / `edge_mapping.safetensors` beside the part-config give, per
/// type, the input graph's id of every new id (DGL's `node_mapping.pt`). `raw_id_mappings/`
/// keeps mapping raw ids to the input graph's ids, as in GraphStorm; [`crate::load`] composes
/// the two, and a graph without raw ids gets its input ids as raw ids, so outputs name nodes
/// as the input did.
pub fn write_partitions(
    graph: &HeteroGraph,
    assignment: &PartAssignment,
    dir: &Path,
    graph_name: &str,
    part_method: &str,
) -> Result<PathBuf, StorageError> {
    let graph_err = |source| StorageError::Graph {
        path: dir.to_path_buf(),
        source,
    };
    let shuffled = reshuffle(graph, assignment).map_err(graph_err)?;
    write_atomically(dir, graph_name, |tmp| {
        write_raw_ids(graph, tmp)?;
        write_into(
            &shuffled.graph,
            &shuffled.layout,
            tmp,
            graph_name,
            part_method,
            true,
        )?;
        write_mapping(&tmp.join(NODE_MAPPING_FILE), &shuffled.node_mapping)?;
        write_mapping(&tmp.join(EDGE_MAPPING_FILE), &shuffled.edge_mapping)?;
        Ok(())
    })
}

/// One I64 tensor per type, named by the type: the input graph's id of every new id.
fn write_mapping<K: ToString>(
    path: &Path,
    mapping: &std::collections::BTreeMap<K, Vec<i64>>,
) -> Result<(), StorageError> {
    let bytes: Vec<Vec<u8>> = mapping
        .values()
        .map(|ids| ids.iter().flat_map(|i| i.to_le_bytes()).collect())
        .collect();
    let tensors = mapping
        .iter()
        .zip(&bytes)
        .map(|((key, ids), b)| (key.to_string(), raw_tensor(Dtype::I64, ids.len(), b)))
        .collect();
    write_file(path, tensors)
}

fn raw_tensor(dtype: Dtype, len: usize, bytes: &[u8]) -> RawTensor<'_> {
    RawTensor {
        dtype,
        shape: vec![len],
        bytes,
    }
}

fn write_raw_ids(graph: &HeteroGraph, dir: &Path) -> Result<(), StorageError> {
    for nt in graph.node_types() {
        if let Some(ids) = graph.raw_ids(nt) {
            write_raw_id_mapping(&dir.join(RAW_ID_DIR).join(nt), ids)?;
        }
    }
    Ok(())
}

/// Runs `write` on a fresh hidden folder beside `dir`, then renames it to `dir`.
fn write_atomically(
    dir: &Path,
    graph_name: &str,
    write: impl FnOnce(&Path) -> Result<(), StorageError>,
) -> Result<PathBuf, StorageError> {
    check_graph_name(graph_name)?;
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| StorageError::Io {
            action,
            path,
            source,
        }
    };
    if dir.exists() {
        let empty = dir.is_dir() && fs::read_dir(dir).map_err(io("read", dir))?.next().is_none();
        if !empty {
            return Err(StorageError::OutputExists {
                path: dir.to_path_buf(),
            });
        }
    }
    let name = dir.file_name().ok_or_else(|| StorageError::OutputExists {
        path: dir.to_path_buf(),
    })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io("create", &parent))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = parent.join(format!(
        ".{}.gs-tmp-{}-{nanos}",
        name.to_string_lossy(),
        std::process::id()
    ));

    let result = write(&tmp).and_then(|()| {
        if dir.exists() {
            fs::remove_dir(dir).map_err(io("replace the empty folder", dir))?;
        }
        fs::rename(&tmp, dir).map_err(io("rename the finished partition into", dir))
    });
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Make the rename itself durable; failure here does not undo a complete partition.
    if let Ok(d) = fs::File::open(&parent) {
        let _ = d.sync_all();
    }
    Ok(dir.join(format!("{graph_name}.json")))
}

/// Writes the part files of `graph` (already renumbered so that parts are contiguous) and the
/// part-config into `tmp`; `with_mappings` names the id mapping files in the part-config.
fn write_into(
    graph: &HeteroGraph,
    layout: &PartLayout,
    tmp: &Path,
    graph_name: &str,
    part_method: &str,
    with_mappings: bool,
) -> Result<(), StorageError> {
    for p in 0..layout.num_parts() {
        let part = tmp.join(format!("part{p}"));
        fs::create_dir_all(&part).map_err(|source| StorageError::Io {
            action: "create",
            path: part.clone(),
            source,
        })?;
        let node_rows = |nt: &str| {
            let r = layout.node_range(p, nt);
            r.start as usize..r.end as usize
        };

        // Per edge type: the part's destinations' slice of the CSC, indptr rebased to 0.
        let mut indptrs = Vec::new();
        let mut edge_rows = Vec::new();
        for et in graph.edge_types() {
            let csc = graph.csc(et).expect("edge type listed by the graph");
            let dst = node_rows(&et.dst);
            let ptr = &csc.indptr()[dst.start..=dst.end];
            indptrs.push(Buffer::Owned(
                ptr.iter().map(|&x| x - ptr[0]).collect::<Vec<u64>>(),
            ));
            edge_rows.push(ptr[0] as usize..ptr[ptr.len() - 1] as usize);
        }
        let mut structure = Vec::new();
        for ((et, indptr), rows) in graph.edge_types().zip(&indptrs).zip(&edge_rows) {
            let csc = graph.csc(et).expect("edge type listed by the graph");
            let indices = &csc.indices_bytes()[rows.start * 8..rows.end * 8];
            structure.push((
                format!("{et}/{INDPTR_SUFFIX}"),
                raw_tensor(Dtype::U64, indptr.as_slice().len(), indptr.as_bytes()),
            ));
            structure.push((
                format!("{et}/{INDICES_SUFFIX}"),
                raw_tensor(Dtype::U64, rows.len(), indices),
            ));
        }
        write_file(&part.join(GRAPH_FILE), structure)?;

        let node_data = graph
            .node_types()
            .flat_map(|nt| {
                let rows = node_rows(nt);
                graph
                    .node_data_all(nt)
                    .map(move |(k, a)| (format!("{nt}/{k}"), RawTensor::rows_of(a, rows.clone())))
            })
            .collect();
        write_file(&part.join(NODE_DATA_FILE), node_data)?;

        let edge_data = graph
            .edge_types()
            .zip(&edge_rows)
            .flat_map(|(et, rows)| {
                graph
                    .edge_data_all(et)
                    .map(move |(k, a)| (format!("{et}/{k}"), RawTensor::rows_of(a, rows.clone())))
            })
            .collect();
        write_file(&part.join(EDGE_DATA_FILE), edge_data)?;
    }

    let json_path = tmp.join(format!("{graph_name}.json"));
    let json = part_config_json(graph, graph_name, layout, part_method, with_mappings);
    let text = serde_json::to_string_pretty(&json).expect("a JSON value always serialises");
    let io = |source| StorageError::Io {
        action: "write",
        path: json_path.clone(),
        source,
    };
    fs::write(&json_path, text + "\n").map_err(io)?;
    fs::File::open(&json_path)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    Ok(())
}

fn check_graph_name(name: &str) -> Result<(), StorageError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StorageError::BadGraphName {
            name: name.to_string(),
        })
    }
}

//! `write_partitioned`: a graph to gs's one-part partition, atomically.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::format::{
    EDGE_DATA_FILE, GRAPH_FILE, INDICES_SUFFIX, INDPTR_SUFFIX, NODE_DATA_FILE, part_config_json,
};
use super::tensors::{RawTensor, write_file};
use crate::error::StorageError;
use crate::graph::HeteroGraph;
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
/// The partition is built in a hidden temporary folder next to `dir` and renamed into place
/// only when every file is written and synced, so a crash never leaves a folder that looks
/// complete. `dir` must not exist or must be empty.
pub fn write_partitioned(
    graph: &HeteroGraph,
    dir: &Path,
    graph_name: &str,
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

    let result = write_into(graph, &tmp, graph_name).and_then(|()| {
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

fn write_into(graph: &HeteroGraph, tmp: &Path, graph_name: &str) -> Result<(), StorageError> {
    let part = tmp.join("part0");
    fs::create_dir_all(&part).map_err(|source| StorageError::Io {
        action: "create",
        path: part.clone(),
        source,
    })?;

    let mut structure = Vec::new();
    for et in graph.edge_types() {
        let csc = graph.csc(et).expect("edge type listed by the graph");
        let raw = |shape: usize, bytes| RawTensor {
            dtype: Dtype::U64,
            shape: vec![shape],
            bytes,
        };
        structure.push((
            format!("{et}/{INDPTR_SUFFIX}"),
            raw(csc.indptr().len(), csc.indptr_bytes()),
        ));
        structure.push((
            format!("{et}/{INDICES_SUFFIX}"),
            raw(csc.indices().len(), csc.indices_bytes()),
        ));
    }
    write_file(&part.join(GRAPH_FILE), structure)?;

    let node_data = graph
        .node_types()
        .flat_map(|nt| {
            graph
                .node_data_all(nt)
                .map(move |(k, a)| (format!("{nt}/{k}"), RawTensor::from_array(a)))
        })
        .collect();
    write_file(&part.join(NODE_DATA_FILE), node_data)?;

    let edge_data = graph
        .edge_types()
        .flat_map(|et| {
            graph
                .edge_data_all(et)
                .map(move |(k, a)| (format!("{et}/{k}"), RawTensor::from_array(a)))
        })
        .collect();
    write_file(&part.join(EDGE_DATA_FILE), edge_data)?;

    let json_path = tmp.join(format!("{graph_name}.json"));
    let text = serde_json::to_string_pretty(&part_config_json(graph, graph_name))
        .expect("a JSON value always serialises");
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

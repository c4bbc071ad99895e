//! Assembling GraphStorm/DGL partitions into one [`HeteroGraph`].
//!
//! Node ids of each type are DGL's shuffled per-type ids (part 0's range first, as `node_map`
//! defines them). Each part contributes its inner (owned) edges, so every edge appears once;
//! HALO nodes and edges are only used to resolve ids. Features are placed by per-type id.
//! Raw ids come from `raw_id_mappings/` through `node_mapping.pt` (or per-part
//! `orig_nids.dgl`), as GraphStorm's `remap_result` maps them.

use std::collections::BTreeMap;
use std::path::Path;

use super::config::{self, DglConfig};
use super::error::{DglError, REWRITE_HINT, map_file};
use super::graph_file::{self, PartGraph};
use super::remap::attach_raw_ids;
use super::scatter::{Piece, permute_rows, scatter};
use super::tensor_dict;
use crate::error::StorageError;
use crate::graph::HeteroGraph;
use crate::types::EdgeType;

/// Facts about one partition, as DGL reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DglPartitionInfo {
    /// Partition index.
    pub part: usize,
    /// Nodes in the partition's graph, HALO nodes included.
    pub num_local_nodes: u64,
    /// Nodes the partition owns (`inner_node` = 1).
    pub num_inner_nodes: u64,
    /// Edges in the partition's graph, HALO edges included.
    pub num_local_edges: u64,
    /// Edges the partition owns (`inner_edge` = 1).
    pub num_inner_edges: u64,
}

/// A GraphStorm/DGL partitioned graph read into one process.
#[derive(Debug, Clone)]
pub struct DglGraph {
    /// The graph; node ids are DGL's shuffled per-type ids.
    pub graph: HeteroGraph,
    /// The graph name from the part-config.
    pub graph_name: String,
    /// For each edge type, DGL's per-type edge id of each gs edge (CSC position).
    pub edge_ids: BTreeMap<EdgeType, Vec<u64>>,
    /// Per-partition counts.
    pub parts: Vec<DglPartitionInfo>,
}

/// True when `root` (a parsed part-config) describes a GraphStorm/DGL partition.
pub(crate) fn is_dgl(root: &serde_json::Value) -> bool {
    config::is_dgl_config(root)
}

fn read_config(part_config: &Path) -> Result<DglConfig, StorageError> {
    let text = std::fs::read_to_string(part_config).map_err(|source| StorageError::Io {
        action: "read",
        path: part_config.to_path_buf(),
        source,
    })?;
    let root: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| StorageError::Json {
            path: part_config.to_path_buf(),
            source,
        })?;
    Ok(config::parse(part_config, &root)?)
}

/// Reads only the partitions' graph files and reports their local/inner node and edge counts.
pub fn inspect_dgl_partitions(part_config: &Path) -> Result<Vec<DglPartitionInfo>, StorageError> {
    let cfg = read_config(part_config)?;
    let mut out = Vec::new();
    for (p, files) in cfg.parts.iter().enumerate() {
        let map = map_file(&files.graph)?;
        let pg = graph_file::parse(&files.graph, &map)?;
        out.push(info(p, &pg, &files.graph)?);
    }
    Ok(out)
}

fn info(part: usize, pg: &PartGraph, path: &Path) -> Result<DglPartitionInfo, DglError> {
    let ones = |data: &BTreeMap<String, Vec<i64>>, key: &str| -> Result<u64, DglError> {
        let v = data.get(key).ok_or_else(|| missing(path, key))?;
        Ok(v.iter().filter(|&&x| x != 0).count() as u64)
    };
    Ok(DglPartitionInfo {
        part,
        num_local_nodes: pg.num_nodes,
        num_inner_nodes: ones(&pg.ndata, "inner_node")?,
        num_local_edges: pg.src.len() as u64,
        num_inner_edges: ones(&pg.edata, "inner_edge")?,
    })
}

fn missing(path: &Path, key: &str) -> DglError {
    DglError::invalid(
        path,
        format!("has no `{key}` data"),
        "a partition graph carries `_ID`, `inner_node`, `inner_edge` (DGL's partition_graph writes them); partition the graph again",
    )
}

/// Node ids of one partition resolved against the part-config.
struct LocalNodes {
    /// (DGL node type id, per-type id) of each local node.
    ids: Vec<(usize, u64)>,
    inner: Vec<bool>,
}

fn resolve_nodes(cfg: &DglConfig, pg: &PartGraph, path: &Path) -> Result<LocalNodes, DglError> {
    let gids = pg.ndata.get("_ID").ok_or_else(|| missing(path, "_ID"))?;
    let inner = pg
        .ndata
        .get("inner_node")
        .ok_or_else(|| missing(path, "inner_node"))?;
    let types = pg.ndata.get("_TYPE");
    let mut ids = Vec::with_capacity(gids.len());
    for (v, &gid) in gids.iter().enumerate() {
        let (t, id) = u64::try_from(gid)
            .ok()
            .and_then(|g| cfg.node_ranges.locate(g))
            .ok_or_else(|| {
                DglError::invalid(
                    path,
                    format!("local node {v} has global id {gid}, which no `node_map` range holds"),
                    "the graph file does not belong to this part-config; keep the partition folder as written",
                )
            })?;
        if let Some(&ty) = types.and_then(|ts| ts.get(v))
            && ty != t as i64
        {
            return Err(DglError::invalid(
                path,
                format!(
                    "local node {v} has _TYPE {ty} but `node_map` puts global id {gid} in type {t} (`{}`)",
                    cfg.ntypes[t]
                ),
                REWRITE_HINT,
            ));
        }
        ids.push((t, id));
    }
    Ok(LocalNodes {
        ids,
        inner: inner.iter().map(|&x| x != 0).collect(),
    })
}

/// Loads every partition of the GraphStorm/DGL part-config at `part_config`.
pub fn load_dgl(part_config: &Path) -> Result<DglGraph, StorageError> {
    let cfg = read_config(part_config)?;
    let graph_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StorageError::Graph { path, source }
    };
    let mut graph = HeteroGraph::new();
    for (t, nt) in cfg.ntypes.iter().enumerate() {
        graph
            .add_node_type(nt, cfg.node_ranges.count(t))
            .map_err(graph_err(part_config))?;
    }
    // Per edge type: (src, dst) per-type node ids indexed by per-type edge id.
    let mut ends: Vec<(Vec<u64>, Vec<u64>)> = (0..cfg.etypes.len())
        .map(|t| {
            let n = cfg.edge_ranges.count(t) as usize;
            (vec![u64::MAX; n], vec![u64::MAX; n])
        })
        .collect();
    let mut node_pieces: BTreeMap<(String, String), Vec<Piece>> = BTreeMap::new();
    let mut edge_pieces: BTreeMap<(usize, String), Vec<Piece>> = BTreeMap::new();
    let mut parts = Vec::new();

    for (p, files) in cfg.parts.iter().enumerate() {
        let map = map_file(&files.graph)?;
        let pg = graph_file::parse(&files.graph, &map)?;
        drop(map);
        parts.push(info(p, &pg, &files.graph)?);
        let nodes = resolve_nodes(&cfg, &pg, &files.graph)?;
        let inner_nodes = inner_by_type(cfg.ntypes.len(), &nodes);
        let inner_edges = add_inner_edges(&cfg, &pg, &nodes, &files.graph, &mut ends)?;

        let map = map_file(&files.node_feats)?;
        for (key, array) in tensor_dict::parse(&files.node_feats, &map)? {
            let (nt, feat) = split_key(&files.node_feats, &key)?;
            let t = cfg.ntypes.iter().position(|n| n == nt).ok_or_else(|| {
                DglError::invalid(
                    &files.node_feats,
                    format!(
                        "tensor `{key}` names node type `{nt}`, which the part-config does not list"
                    ),
                    REWRITE_HINT,
                )
            })?;
            let piece = piece(&files.node_feats, &key, &array, inner_nodes[t].clone())?;
            node_pieces
                .entry((nt.to_string(), feat.to_string()))
                .or_default()
                .push(piece);
        }
        let map = map_file(&files.edge_feats)?;
        for (key, array) in tensor_dict::parse(&files.edge_feats, &map)? {
            let (et, feat) = split_key(&files.edge_feats, &key)?;
            let unknown = || {
                let problem = format!(
                    "tensor `{key}` names edge type `{et}`, which the part-config does not list"
                );
                DglError::invalid(&files.edge_feats, problem, REWRITE_HINT)
            };
            let t = cfg
                .etypes
                .iter()
                .position(|e| e.to_string() == et)
                .ok_or_else(unknown)?;
            let piece = piece(&files.edge_feats, &key, &array, inner_edges[t].clone())?;
            edge_pieces
                .entry((t, feat.to_string()))
                .or_default()
                .push(piece);
        }
    }

    let mut edge_ids = BTreeMap::new();
    let mut orders = Vec::new();
    for (t, et) in cfg.etypes.iter().enumerate() {
        let (src, dst) = &ends[t];
        if let Some(e) = src.iter().position(|&s| s == u64::MAX) {
            return Err(DglError::invalid(
                part_config,
                format!("no partition owns edge {e} of `{et}` (edge_map gives {} edges)", src.len()),
                "a partition folder is missing or from another run; keep the partition directory as written",
            )
            .into());
        }
        let order = graph
            .add_edges(et, src, dst)
            .map_err(graph_err(part_config))?;
        edge_ids.insert(et.clone(), order.iter().map(|&i| i as u64).collect());
        orders.push(order);
    }
    for ((nt, feat), pieces) in &node_pieces {
        let n = graph.num_nodes(nt).unwrap_or(0);
        let array = scatter(pieces, n).map_err(|problem| {
            DglError::invalid(
                part_config,
                format!("node feature `{nt}/{feat}`: {problem}"),
                REWRITE_HINT,
            )
        })?;
        graph
            .set_node_data(nt, feat, array)
            .map_err(graph_err(part_config))?;
    }
    for ((t, feat), pieces) in &edge_pieces {
        let et = &cfg.etypes[*t];
        let array = scatter(pieces, ends[*t].0.len() as u64).map_err(|problem| {
            DglError::invalid(
                part_config,
                format!("edge feature `{et}/{feat}`: {problem}"),
                REWRITE_HINT,
            )
        })?;
        let array = permute_rows(&array, &orders[*t]);
        graph
            .set_edge_data(et, feat, array)
            .map_err(graph_err(part_config))?;
    }
    attach_raw_ids(&cfg, part_config, &mut graph)?;
    Ok(DglGraph {
        graph,
        graph_name: cfg.graph_name.clone(),
        edge_ids,
        parts,
    })
}

/// Per node type id: per-type ids of the inner nodes in local order (feature row order).
fn inner_by_type(num_types: usize, nodes: &LocalNodes) -> Vec<Vec<u64>> {
    let mut out = vec![Vec::new(); num_types];
    for (&(t, id), &inner) in nodes.ids.iter().zip(&nodes.inner) {
        if inner {
            out[t].push(id);
        }
    }
    out
}

/// Records the part's inner edges in `ends`; returns, per edge type id, the per-type edge ids
/// of its inner edges in local edge order (feature row order).
fn add_inner_edges(
    cfg: &DglConfig,
    pg: &PartGraph,
    nodes: &LocalNodes,
    path: &Path,
    ends: &mut [(Vec<u64>, Vec<u64>)],
) -> Result<Vec<Vec<u64>>, DglError> {
    let gids = pg.edata.get("_ID").ok_or_else(|| missing(path, "_ID"))?;
    let inner = pg
        .edata
        .get("inner_edge")
        .ok_or_else(|| missing(path, "inner_edge"))?;
    let types = pg.edata.get("_TYPE");
    let mut out = vec![Vec::new(); cfg.etypes.len()];
    for e in 0..pg.src.len() {
        if inner[e] == 0 {
            continue;
        }
        let gid = gids[e];
        let (t, id) = u64::try_from(gid)
            .ok()
            .and_then(|g| cfg.edge_ranges.locate(g))
            .ok_or_else(|| {
                DglError::invalid(
                    path,
                    format!("edge {e} has global id {gid}, which no `edge_map` range holds"),
                    REWRITE_HINT,
                )
            })?;
        if let Some(&ty) = types.and_then(|ts| ts.get(e))
            && ty != t as i64
        {
            return Err(DglError::invalid(
                path,
                format!("edge {e} has _TYPE {ty} but `edge_map` puts global id {gid} in type {t}"),
                REWRITE_HINT,
            ));
        }
        let et = &cfg.etypes[t];
        let (s, d) = (nodes.ids[pg.src[e] as usize], nodes.ids[pg.dst[e] as usize]);
        if cfg.ntypes[s.0] != et.src || cfg.ntypes[d.0] != et.dst {
            return Err(DglError::invalid(
                path,
                format!(
                    "edge {e} of `{et}` joins a `{}` node to a `{}` node",
                    cfg.ntypes[s.0], cfg.ntypes[d.0]
                ),
                REWRITE_HINT,
            ));
        }
        let (src, dst) = &mut ends[t];
        if src[id as usize] != u64::MAX {
            return Err(DglError::invalid(
                path,
                format!("edge {id} of `{et}` is owned by two partitions"),
                REWRITE_HINT,
            ));
        }
        src[id as usize] = s.1;
        dst[id as usize] = d.1;
        out[t].push(id);
    }
    Ok(out)
}

fn split_key<'k>(path: &Path, key: &'k str) -> Result<(&'k str, &'k str), DglError> {
    key.split_once('/')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| {
            DglError::invalid(
                path,
                format!("tensor `{key}` is not named `<type>/<feature>`"),
                REWRITE_HINT,
            )
        })
}

fn piece(
    path: &Path,
    key: &str,
    array: &super::ndarray::NdArray<'_>,
    ids: Vec<u64>,
) -> Result<Piece, DglError> {
    let rows = array
        .to_array()
        .map_err(|p| DglError::invalid(path, format!("tensor `{key}` {p}"), REWRITE_HINT))?;
    if rows.num_rows() != ids.len() {
        return Err(DglError::invalid(
            path,
            format!(
                "tensor `{key}` has {} rows but the partition owns {} of that type",
                rows.num_rows(),
                ids.len()
            ),
            REWRITE_HINT,
        ));
    }
    Ok(Piece { ids, rows })
}

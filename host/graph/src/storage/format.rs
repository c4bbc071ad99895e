//! The part-config JSON: DGL's schema plus gs's version key and per-part file keys.
//!
//! ```json
//! {
//!   "graph_name": "demo", "gs_format_version": 1,
//!   "num_nodes": 5000, "num_edges": 60000,
//!   "part_method": "none", "num_parts": 1, "halo_hops": 1,
//!   "node_map": {"author": [[0, 2000]], "paper": [[2000, 5000]]},
//!   "edge_map": {"author:writes:paper": [[0, 15000]], ...},
//!   "ntypes": {"author": 0, "paper": 1},
//!   "etypes": {"author:writes:paper": 0, ...},
//!   "part-0": {"gs_graph": "part0/graph.safetensors",
//!              "gs_node_data": "part0/node_data.safetensors",
//!              "gs_edge_data": "part0/edge_data.safetensors"}
//! }
//! ```
//!
//! As in DGL, `node_map`/`edge_map` give each part's `[start, end)` range of homogeneous ids per
//! type (types laid out in type-id order), so a type's count is the sum of its range lengths.
//! Paths are relative to the JSON's folder. gs never writes DGL's `part_graph`/`node_feats`
//! keys, which promise DGL's `.dgl` files.
//!
//! A graph in several parts has `part-0` … `part-{N-1}`, ranges laid out part by part as DGL
//! lays them (part 0's types, then part 1's, ...), and `gs_node_mapping` / `gs_edge_mapping`
//! naming the safetensors files that map the renumbered ids back to the input graph's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::error::StorageError;
use crate::graph::HeteroGraph;
use crate::partition::PartLayout;
use crate::types::EdgeType;

/// The gs partition format version this build writes and reads.
pub const GS_FORMAT_VERSION: u32 = 1;

pub(crate) const VERSION_KEY: &str = "gs_format_version";
pub(crate) const GRAPH_KEY: &str = "gs_graph";
pub(crate) const NODE_DATA_KEY: &str = "gs_node_data";
pub(crate) const EDGE_DATA_KEY: &str = "gs_edge_data";
pub(crate) const GRAPH_FILE: &str = "graph.safetensors";
pub(crate) const NODE_DATA_FILE: &str = "node_data.safetensors";
pub(crate) const EDGE_DATA_FILE: &str = "edge_data.safetensors";
pub(crate) const NODE_MAPPING_KEY: &str = "gs_node_mapping";
pub(crate) const EDGE_MAPPING_KEY: &str = "gs_edge_mapping";
/// Beside the part-config of a graph in several parts: per node (edge) type, tensor `<type>`
/// (I64, one entry per id) holds the input graph's id of every partitioned id.
pub(crate) const NODE_MAPPING_FILE: &str = "node_mapping.safetensors";
pub(crate) const EDGE_MAPPING_FILE: &str = "edge_mapping.safetensors";
/// Tensor name suffixes in `graph.safetensors`, after `src:rel:dst/`.
pub(crate) const INDPTR_SUFFIX: &str = "csc_indptr";
pub(crate) const INDICES_SUFFIX: &str = "csc_indices";

/// DGL's per-part keys; their presence without gs's version key means a DGL partition.
const DGL_PART_KEYS: [&str; 3] = ["part_graph", "node_feats", "edge_feats"];

/// Files of one partition, resolved against the JSON's folder.
#[derive(Debug, Clone)]
pub(crate) struct PartFiles {
    pub(crate) graph: PathBuf,
    pub(crate) node_data: PathBuf,
    pub(crate) edge_data: PathBuf,
}

/// What a part-config says, checked for internal consistency.
#[derive(Debug, Clone)]
pub(crate) struct PartConfig {
    pub(crate) node_counts: BTreeMap<String, u64>,
    pub(crate) layout: PartLayout,
    pub(crate) part_method: String,
    pub(crate) parts: Vec<PartFiles>,
    /// The file mapping partitioned ids back to the input graph's (`gs_node_mapping`), for
    /// graphs partitioned into several parts.
    pub(crate) node_mapping: Option<PathBuf>,
}

/// The JSON for `graph` split as `layout` says (one part: [`PartLayout::single`]), with part
/// `p`'s files under `part{p}/`, naming the id mapping files when `with_mappings`.
///
/// Homogeneous id ranges follow DGL: part 0's nodes of each type in type-id order, then part
/// 1's, ...; so `node_map[ntype][p]` is part `p`'s range for `ntype`.
pub(crate) fn part_config_json(
    graph: &HeteroGraph,
    graph_name: &str,
    layout: &PartLayout,
    part_method: &str,
    with_mappings: bool,
) -> Value {
    fn ranges<K: Ord + ToString>(per_part: &[BTreeMap<K, u64>]) -> Map<String, Value> {
        let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut start = 0u64;
        for part in per_part {
            for (key, &n) in part {
                map.entry(key.to_string())
                    .or_default()
                    .push(json!([start, start + n]));
                start += n;
            }
        }
        map.into_iter().map(|(k, v)| (k, Value::Array(v))).collect()
    }
    let ntypes: Map<String, Value> = graph
        .node_types()
        .enumerate()
        .map(|(id, nt)| (nt.to_string(), json!(id)))
        .collect();
    let etypes: Map<String, Value> = graph
        .edge_types()
        .enumerate()
        .map(|(id, et)| (et.to_string(), json!(id)))
        .collect();
    let mut root = json!({
        "graph_name": graph_name,
        VERSION_KEY: GS_FORMAT_VERSION,
        "num_nodes": graph.total_nodes(),
        "num_edges": graph.total_edges(),
        "part_method": part_method,
        "num_parts": layout.num_parts(),
        "halo_hops": 1,
        "node_map": ranges(&layout.nodes),
        "edge_map": ranges(&layout.edges),
        "ntypes": ntypes,
        "etypes": etypes,
    });
    let obj = root.as_object_mut().expect("built as an object");
    for p in 0..layout.num_parts() {
        obj.insert(
            format!("part-{p}"),
            json!({
                GRAPH_KEY: format!("part{p}/{GRAPH_FILE}"),
                NODE_DATA_KEY: format!("part{p}/{NODE_DATA_FILE}"),
                EDGE_DATA_KEY: format!("part{p}/{EDGE_DATA_FILE}"),
            }),
        );
    }
    if with_mappings {
        obj.insert(NODE_MAPPING_KEY.into(), json!(NODE_MAPPING_FILE));
        obj.insert(EDGE_MAPPING_KEY.into(), json!(EDGE_MAPPING_FILE));
    }
    root
}

/// Parses and checks a part-config read from `path`.
pub(crate) fn parse_part_config(path: &Path, text: &str) -> Result<PartConfig, StorageError> {
    let root: Value = serde_json::from_str(text).map_err(|source| StorageError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let j = JsonFile { path };
    let root = j.as_object(&root, "(top level)")?;

    check_version(&j, root)?;
    let num_parts = j.u64(root, "num_parts", "num_parts")?;
    if num_parts == 0 {
        return Err(j.bad("num_parts", "at least 1", "0".into()));
    }
    let node_ranges = range_counts(&j, root, "node_map", "ntypes", num_parts, |s| {
        crate::types::validate_type_name(s).map(|()| s.to_string())
    })?;
    let edge_ranges: BTreeMap<EdgeType, Vec<u64>> =
        range_counts(&j, root, "edge_map", "etypes", num_parts, |s| s.parse())?;
    let node_counts: BTreeMap<String, u64> = node_ranges
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().sum()))
        .collect();
    let edge_counts: BTreeMap<EdgeType, u64> = edge_ranges
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().sum()))
        .collect();
    let per_part = |p: usize| -> (BTreeMap<String, u64>, BTreeMap<EdgeType, u64>) {
        (
            node_ranges.iter().map(|(k, v)| (k.clone(), v[p])).collect(),
            edge_ranges.iter().map(|(k, v)| (k.clone(), v[p])).collect(),
        )
    };
    let (nodes, edges) = (0..num_parts as usize).map(per_part).unzip();
    let layout = PartLayout { nodes, edges };
    for et in edge_counts.keys() {
        for nt in [&et.src, &et.dst] {
            if !node_counts.contains_key(nt) {
                return Err(j.bad(
                    format!("etypes.{et}"),
                    "an edge type between node types listed in `ntypes`",
                    format!("node type `{nt}` that `ntypes` does not list"),
                ));
            }
        }
    }
    let total = |key: &str, sum: u64| -> Result<(), StorageError> {
        let n = j.u64(root, key, key)?;
        if n != sum {
            return Err(j.bad(
                key,
                format!("{sum} (the sum of the per-type ranges)"),
                n.to_string(),
            ));
        }
        Ok(())
    };
    total("num_nodes", node_counts.values().sum())?;
    total("num_edges", edge_counts.values().sum())?;

    let dir = path.parent().unwrap_or(Path::new(""));
    let parts = (0..num_parts)
        .map(|p| {
            let key = format!("part-{p}");
            let part = j.as_object(j.get(root, &key, &key)?, &key)?;
            let file = |k: &str| -> Result<PathBuf, StorageError> {
                let dotted = format!("{key}.{k}");
                let v = j.get(part, k, &dotted)?;
                let s = v
                    .as_str()
                    .ok_or_else(|| j.bad(&dotted, "a relative file path", short(v)))?;
                Ok(dir.join(s))
            };
            Ok(PartFiles {
                graph: file(GRAPH_KEY)?,
                node_data: file(NODE_DATA_KEY)?,
                edge_data: file(EDGE_DATA_KEY)?,
            })
        })
        .collect::<Result<_, StorageError>>()?;
    let node_mapping = match root.get(NODE_MAPPING_KEY) {
        None if num_parts > 1 => {
            return Err(StorageError::MissingKey {
                path: path.to_path_buf(),
                key: NODE_MAPPING_KEY.into(),
            });
        }
        None => None,
        Some(v) => Some(
            dir.join(
                v.as_str()
                    .ok_or_else(|| j.bad(NODE_MAPPING_KEY, "a relative file path", short(v)))?,
            ),
        ),
    };
    let part_method = root
        .get("part_method")
        .and_then(Value::as_str)
        .unwrap_or("none")
        .to_string();
    Ok(PartConfig {
        node_counts,
        layout,
        part_method,
        parts,
        node_mapping,
    })
}

fn check_version(j: &JsonFile<'_>, root: &Map<String, Value>) -> Result<(), StorageError> {
    let Some(v) = root.get(VERSION_KEY) else {
        let dgl = root
            .get("part-0")
            .and_then(Value::as_object)
            .is_some_and(|p| DGL_PART_KEYS.iter().any(|k| p.contains_key(*k)));
        return Err(if dgl {
            StorageError::DglPartition {
                path: j.path.to_path_buf(),
            }
        } else {
            StorageError::NotPartitionConfig {
                path: j.path.to_path_buf(),
            }
        });
    };
    if v.as_u64() != Some(u64::from(GS_FORMAT_VERSION)) {
        return Err(StorageError::UnsupportedVersion {
            path: j.path.to_path_buf(),
            found: short(v),
            supported: GS_FORMAT_VERSION,
        });
    }
    Ok(())
}

/// Reads `map_key` (`{type: [[start, end), ...]}`) and checks that its types are exactly those
/// of `ids_key` (`{type: id}`); returns each type's count in every part.
fn range_counts<K: Ord>(
    j: &JsonFile<'_>,
    root: &Map<String, Value>,
    map_key: &str,
    ids_key: &str,
    num_parts: u64,
    parse_name: impl Fn(&str) -> Result<K, crate::error::GraphError>,
) -> Result<BTreeMap<K, Vec<u64>>, StorageError> {
    let ranges = j.as_object(j.get(root, map_key, map_key)?, map_key)?;
    let ids = j.as_object(j.get(root, ids_key, ids_key)?, ids_key)?;
    let mut counts = BTreeMap::new();
    for (name, id) in ids {
        let dotted = format!("{ids_key}.{name}");
        if id.as_u64().is_none() {
            return Err(j.bad(&dotted, "a type id (non-negative integer)", short(id)));
        }
        let key =
            parse_name(name).map_err(|e| j.bad(&dotted, "a valid type name", e.to_string()))?;
        let dotted = format!("{map_key}.{name}");
        let list = j.get(ranges, name, &dotted)?;
        let pairs = list
            .as_array()
            .filter(|a| a.len() as u64 == num_parts)
            .ok_or_else(|| {
                j.bad(
                    &dotted,
                    format!("a list of {num_parts} [start, end] ranges"),
                    short(list),
                )
            })?;
        let mut lengths = Vec::with_capacity(pairs.len());
        for pair in pairs {
            let se: Option<Vec<u64>> = pair
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect());
            match se.as_deref() {
                Some([s, e]) if s <= e => lengths.push(e - s),
                _ => {
                    return Err(j.bad(
                        &dotted,
                        "[start, end] ranges with start <= end",
                        short(list),
                    ));
                }
            }
        }
        counts.insert(key, lengths);
    }
    if let Some(extra) = ranges.keys().find(|k| !ids.contains_key(*k)) {
        return Err(j.bad(
            format!("{map_key}.{extra}"),
            format!("a type that `{ids_key}` lists"),
            format!("a type missing from `{ids_key}`"),
        ));
    }
    Ok(counts)
}

struct JsonFile<'a> {
    path: &'a Path,
}

impl JsonFile<'_> {
    fn get<'v>(
        &self,
        obj: &'v Map<String, Value>,
        key: &str,
        dotted: &str,
    ) -> Result<&'v Value, StorageError> {
        obj.get(key).ok_or_else(|| StorageError::MissingKey {
            path: self.path.to_path_buf(),
            key: dotted.to_string(),
        })
    }

    fn as_object<'v>(
        &self,
        v: &'v Value,
        dotted: &str,
    ) -> Result<&'v Map<String, Value>, StorageError> {
        v.as_object()
            .ok_or_else(|| self.bad(dotted, "an object", short(v)))
    }

    fn u64(&self, obj: &Map<String, Value>, key: &str, dotted: &str) -> Result<u64, StorageError> {
        let v = self.get(obj, key, dotted)?;
        v.as_u64()
            .ok_or_else(|| self.bad(dotted, "a non-negative integer", short(v)))
    }

    fn bad(
        &self,
        key: impl Into<String>,
        expected: impl Into<String>,
        found: String,
    ) -> StorageError {
        StorageError::BadValue {
            path: self.path.to_path_buf(),
            key: key.into(),
            expected: expected.into(),
            found,
        }
    }
}

/// A JSON value shortened for an error message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

//! `load`: a gs partition back into a `HeteroGraph`; one part's arrays stay memory-mapped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::Dtype;

use super::format::{INDICES_SUFFIX, INDPTR_SUFFIX, PartFiles, parse_part_config};
use super::tensors::MappedFile;
use crate::array::Array;
use crate::buffer::Buffer;
use crate::error::StorageError;
use crate::graph::HeteroGraph;
use crate::raw_ids::RawIds;
use crate::types::{EdgeType, NodeId};

/// Loads the partition described by the part-config JSON at `part_config`: gs's own format or
/// a GraphStorm/DGL partition (see [`crate::load_dgl`], which also returns per-part facts).
///
/// In gs's one-part format, structure and data arrays view the mapped safetensors files (no
/// copy) whenever the data is aligned, which it always is in files gs writes. A graph in
/// several parts is assembled into one graph in memory (its arrays are concatenated), with the
/// partitioned ids. In both formats, `raw_id_mappings/` beside the JSON, when present, gives the
/// node types their raw ids ([`HeteroGraph::raw_ids`]); in several parts, composed with
/// `node_mapping.safetensors`, and without raw-id files the input graph's ids become the raw
/// ids.
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
        graph.add_node_type(nt, n).map_err(graph_err(part_config))?;
    }
    let parts = config
        .parts
        .iter()
        .enumerate()
        .map(|(p, files)| PartData::read(files, &config.layout.nodes[p], &config.layout.edges[p]))
        .collect::<Result<Vec<_>, _>>()?;
    if parts.len() == 1 {
        let part = parts.into_iter().next().expect("one part");
        part.insert_into(&mut graph)?;
    } else {
        concat_parts(&mut graph, &parts)?;
    }
    // gs's per-type ids are gconstruct's ids, or map to them through the node mapping.
    let mut raw = super::raw_id_map::read_beside(part_config, &config.node_counts)?;
    if let Some(path) = &config.node_mapping {
        for (nt, ids) in read_node_mapping(path, &config.node_counts)? {
            let composed = match raw.get(&nt) {
                Some(r) => {
                    let ids: Vec<NodeId> = ids.iter().map(|&i| i as NodeId).collect();
                    r.gather(&ids)
                        .expect("the mapping was checked to be a permutation")
                }
                None => RawIds::from_ints(ids),
            };
            raw.insert(nt, composed);
        }
    }
    for (nt, ids) in raw {
        graph
            .set_raw_ids(&nt, ids)
            .map_err(graph_err(part_config))?;
    }
    Ok(graph)
}

/// What each part of a gs partition holds, from its part-config alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GsPartsSummary {
    /// `part_method` as recorded (`none` for one part written directly).
    pub part_method: String,
    /// Per part: nodes of each type the part owns.
    pub nodes: Vec<BTreeMap<String, u64>>,
    /// Per part: edges of each type the part holds (the in-edges of its nodes).
    pub edges: Vec<BTreeMap<EdgeType, u64>>,
}

/// Reads a gs part-config and says how the graph is split, without opening the part files.
pub fn inspect_gs_partitions(part_config: &Path) -> Result<GsPartsSummary, StorageError> {
    let text = std::fs::read_to_string(part_config).map_err(|source| StorageError::Io {
        action: "read",
        path: part_config.to_path_buf(),
        source,
    })?;
    let config = parse_part_config(part_config, &text)?;
    Ok(GsPartsSummary {
        part_method: config.part_method,
        nodes: config.layout.nodes,
        edges: config.layout.edges,
    })
}

fn graph_err(path: &Path) -> impl FnOnce(crate::GraphError) -> StorageError {
    let path = path.to_path_buf();
    move |source| StorageError::Graph { path, source }
}

/// `indptr` and `indices` of one edge type's CSC.
type CscBuffers = (Buffer<u64>, Buffer<u64>);

/// The mapped arrays of one part, checked against the part-config's counts for that part.
struct PartData {
    files: PartFiles,
    csc: BTreeMap<EdgeType, CscBuffers>,
    node_data: BTreeMap<String, BTreeMap<String, Array>>,
    edge_data: BTreeMap<EdgeType, BTreeMap<String, Array>>,
}

impl PartData {
    fn read(
        files: &PartFiles,
        nodes: &BTreeMap<String, u64>,
        edges: &BTreeMap<EdgeType, u64>,
    ) -> Result<Self, StorageError> {
        let csc = read_structure(&files.graph, nodes, edges)?;
        let node_data = read_data(&files.node_data, "ntype/name", |name| {
            Ok(nodes.get(name).map(|&n| (name.to_string(), n)))
        })?;
        let edge_data = read_data(&files.edge_data, "src:rel:dst/name", |name| {
            let et: EdgeType = name.parse().map_err(|e: crate::GraphError| e.to_string())?;
            Ok(edges.get(&et).map(|&n| (et, n)))
        })?;
        Ok(PartData {
            files: files.clone(),
            csc,
            node_data,
            edge_data,
        })
    }

    /// Moves a lone part's arrays into `graph` as they are (mapped, no copy).
    fn insert_into(self, graph: &mut HeteroGraph) -> Result<(), StorageError> {
        for (et, (indptr, indices)) in self.csc {
            graph
                .insert_csc(&et, indptr, indices)
                .map_err(graph_err(&self.files.graph))?;
        }
        for (nt, arrays) in self.node_data {
            for (name, a) in arrays {
                graph
                    .set_node_data(&nt, &name, a)
                    .map_err(graph_err(&self.files.node_data))?;
            }
        }
        for (et, arrays) in self.edge_data {
            for (name, a) in arrays {
                graph
                    .set_edge_data(&et, &name, a)
                    .map_err(graph_err(&self.files.edge_data))?;
            }
        }
        Ok(())
    }
}

/// Assembles several parts into `graph`: CSC slices and data rows concatenated in part order,
/// which is the partitioned id order.
fn concat_parts(graph: &mut HeteroGraph, parts: &[PartData]) -> Result<(), StorageError> {
    let first = &parts[0];
    for et in first.csc.keys() {
        let mut indptr = vec![0u64];
        let mut indices = Vec::new();
        for part in parts {
            let (ptr, idx) = &part.csc[et];
            let base = indices.len() as u64;
            indptr.extend(ptr.as_slice()[1..].iter().map(|&x| base + x));
            indices.extend_from_slice(idx.as_slice());
        }
        graph
            .add_csc(et, indptr, indices)
            .map_err(graph_err(&first.files.graph))?;
    }
    for (nt, arrays) in &first.node_data {
        for name in arrays.keys() {
            let joined = concat_array(
                parts,
                |p| &p.files.node_data,
                format!("{nt}/{name}"),
                |p| p.node_data.get(nt)?.get(name),
            )?;
            graph
                .set_node_data(nt, name, joined)
                .map_err(graph_err(&first.files.node_data))?;
        }
    }
    for (et, arrays) in &first.edge_data {
        for name in arrays.keys() {
            let joined = concat_array(
                parts,
                |p| &p.files.edge_data,
                format!("{et}/{name}"),
                |p| p.edge_data.get(et)?.get(name),
            )?;
            graph
                .set_edge_data(et, name, joined)
                .map_err(graph_err(&first.files.edge_data))?;
        }
    }
    Ok(())
}

/// One data array of every part, stacked; `key` names it and `file` the file it is read from.
fn concat_array<'p>(
    parts: &'p [PartData],
    file: impl Fn(&'p PartData) -> &'p PathBuf,
    key: String,
    get: impl Fn(&'p PartData) -> Option<&'p Array>,
) -> Result<Array, StorageError> {
    let mismatch = |part: &'p PartData| StorageError::BadTensor {
        path: file(part).clone(),
        key: key.clone(),
        problem: "is missing here or differs in dtype or width from part 0's array".into(),
        hint: "every part must hold the same arrays; partition the graph again with gs".into(),
    };
    let arrays = parts
        .iter()
        .map(|p| get(p).ok_or_else(|| mismatch(p)))
        .collect::<Result<Vec<_>, _>>()?;
    Array::concat_rows(&arrays).ok_or_else(|| mismatch(&parts[1]))
}

/// Reads `node_mapping.safetensors`: per node type, a permutation of `0..count`.
fn read_node_mapping(
    path: &Path,
    counts: &BTreeMap<String, u64>,
) -> Result<BTreeMap<String, Vec<i64>>, StorageError> {
    let file = MappedFile::open(path)?;
    let hint = "the node mapping must hold, per node type, each id 0..n once as I64; partition the graph again with gs";
    let mut out = BTreeMap::new();
    for (nt, &n) in counts {
        let meta = file
            .tensors
            .get(nt)
            .ok_or_else(|| StorageError::MissingTensor {
                path: path.to_path_buf(),
                key: nt.clone(),
            })?;
        if meta.dtype != Dtype::I64 || meta.shape != [n as usize] {
            return Err(file.bad(
                nt,
                format!(
                    "has dtype {:?} and shape {:?}, not I64 [{n}]",
                    meta.dtype, meta.shape
                ),
                hint,
            ));
        }
        let ids = file.buffer::<i64>(meta).as_slice().to_vec();
        let mut seen = vec![false; n as usize];
        for (i, &id) in ids.iter().enumerate() {
            match usize::try_from(id).ok().filter(|&v| v < seen.len()) {
                Some(v) if !seen[v] => seen[v] = true,
                _ => {
                    return Err(file.bad(
                        nt,
                        format!("entry {i} is {id}, out of range or repeated"),
                        hint,
                    ));
                }
            }
        }
        out.insert(nt.clone(), ids);
    }
    Ok(out)
}

/// One part's CSC buffers per edge type: `indptr` over the part's destination nodes, `indices`
/// over its edges.
fn read_structure(
    path: &Path,
    nodes: &BTreeMap<String, u64>,
    edges: &BTreeMap<EdgeType, u64>,
) -> Result<BTreeMap<EdgeType, CscBuffers>, StorageError> {
    const REWRITE: &str = "the partition is inconsistent; write it again with gs";
    let file = MappedFile::open_populated(path)?;
    let mut expected = std::collections::BTreeSet::new();
    let mut out = BTreeMap::new();
    for (et, &num_edges) in edges {
        let mut take = |suffix: &str, len: u64, what: &str| {
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
            if len != meta.shape[0] as u64 {
                return Err(file.bad(
                    &key,
                    format!(
                        "has {} entries but the part-config gives {len} ({what})",
                        meta.shape[0]
                    ),
                    REWRITE,
                ));
            }
            expected.insert(key);
            Ok(file.buffer::<u64>(meta))
        };
        let num_dst = nodes.get(&et.dst).copied().unwrap_or(0);
        let indptr = take(
            INDPTR_SUFFIX,
            num_dst + 1,
            "the part's destination nodes + 1",
        )?;
        let indices = take(INDICES_SUFFIX, num_edges, "the part's edges in edge_map")?;
        let ptr = indptr.as_slice();
        if ptr.first() != Some(&0) || ptr.last() != Some(&num_edges) {
            return Err(file.bad(
                &format!("{et}/{INDPTR_SUFFIX}"),
                format!(
                    "runs from {:?} to {:?}, not from 0 to {num_edges}",
                    ptr.first(),
                    ptr.last()
                ),
                REWRITE,
            ));
        }
        out.insert(et.clone(), (indptr, indices));
    }
    if let Some(extra) = file.tensors.keys().find(|k| !expected.contains(*k)) {
        return Err(file.bad(
            extra,
            "is not a CSC array of an edge type the part-config lists".to_string(),
            REWRITE,
        ));
    }
    Ok(out)
}

/// The data arrays of one part's node or edge data file, keyed `<type>/<name>`. `owner` parses
/// a type name into the map key and the part's row count for it (`None`: unknown type).
fn read_data<K: Ord>(
    path: &Path,
    form: &str,
    owner: impl Fn(&str) -> Result<Option<(K, u64)>, String>,
) -> Result<BTreeMap<K, BTreeMap<String, Array>>, StorageError> {
    const REWRITE: &str = "the partition is inconsistent; write it again with gs";
    let file = MappedFile::open(path)?;
    let mut out: BTreeMap<K, BTreeMap<String, Array>> = BTreeMap::new();
    for (key, meta) in &file.tensors {
        let (owner_name, name) = split_key(&file, key, form)?;
        let (owner_key, rows) = owner(owner_name)
            .map_err(|e| file.bad(key, e, &format!("name data `{form}`")))?
            .ok_or_else(|| {
                file.bad(
                    key,
                    format!("belongs to `{owner_name}`, which the part-config does not list"),
                    REWRITE,
                )
            })?;
        let array = file.array(key, meta)?;
        if array.num_rows() as u64 != rows {
            return Err(file.bad(
                key,
                format!("has {} rows but the part holds {rows}", array.num_rows()),
                REWRITE,
            ));
        }
        out.entry(owner_key)
            .or_default()
            .insert(name.to_string(), array);
    }
    Ok(out)
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

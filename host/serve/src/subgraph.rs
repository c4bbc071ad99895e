//! A payload's subgraph as a graph of its own: every node type and edge type of the model
//! (empty where the payload has none), the payload's nodes numbered per type in order, its
//! edges plus the reverse edges the training graph had, the model's input features computed
//! from the raw values, and the learnable embedding of every node of a learnable type.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use gs_gconstruct::TransformTarget;
use gs_graph::{Array, EdgeType, HeteroGraph, NodeId};
use gs_train::serving::{ServingRecord, edge_type};

use crate::codes::{RequestError, StatusCode};
use crate::features::{ValueAt, feature_rows};
use crate::payload::{Payload, PayloadEdge};
use crate::raw_value::RawValue;
use crate::served_model::{ServedModel, UnseenNodeEmbedding};

/// The reserved payload feature of a node's learnable embedding.
pub const LEARNABLE_FEATURE: &str = "gs_learnable_embedding";

/// A request's graph and how its nodes are numbered.
pub(crate) struct Subgraph {
    pub(crate) graph: Arc<HeteroGraph>,
    /// Local id of each raw node id, per node type.
    pub(crate) index: BTreeMap<String, HashMap<String, NodeId>>,
    /// Nodes of learnable types that training never saw and the payload gave no embedding.
    pub(crate) unseen: usize,
}

/// One edge type's edges in the subgraph: endpoints, and the payload edge each came from
/// (a reverse edge the server added comes from its forward edge).
#[derive(Default)]
struct EdgeList {
    src: Vec<NodeId>,
    dst: Vec<NodeId>,
    origin: Vec<usize>,
    /// The edge type whose transforms compute the features: the payload edges' own.
    features_of: Option<[String; 3]>,
}

/// Local ids of the payload's nodes per type, and the payload rows of each type.
type Numbering = (
    BTreeMap<String, HashMap<String, NodeId>>,
    BTreeMap<String, Vec<usize>>,
);

/// Builds the subgraph of `payload` for `model`.
pub(crate) fn build(model: &ServedModel, payload: &Payload) -> Result<Subgraph, RequestError> {
    let record = &model.record;
    let (index, members) = number_nodes(record, payload)?;
    let mut edges = collect_edges(record, payload, &index)?;
    add_reverse_edges(record, &mut edges);
    let mut graph = HeteroGraph::new();
    for n in &record.node_types {
        let count = index[&n.name].len() as u64;
        graph.add_node_type(&n.name, count).map_err(internal)?;
    }
    set_node_features(model, payload, &members, &mut graph)?;
    set_edges(model, payload, &edges, &mut graph)?;
    let unseen = learnable_inputs(model, payload, &members, &edges, &mut graph)?;
    Ok(Subgraph {
        graph: Arc::new(graph),
        index,
        unseen,
    })
}

/// Numbers the payload's nodes per type in order; an unknown type is 403, a node listed
/// twice 411.
fn number_nodes(record: &ServingRecord, payload: &Payload) -> Result<Numbering, RequestError> {
    let mut index: BTreeMap<String, HashMap<String, NodeId>> = record
        .node_types
        .iter()
        .map(|n| (n.name.clone(), HashMap::new()))
        .collect();
    let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, node) in payload.nodes.iter().enumerate() {
        let Some(ids) = index.get_mut(&node.node_type) else {
            let known: Vec<&str> = record.node_types.iter().map(|n| n.name.as_str()).collect();
            return Err(RequestError::new(
                StatusCode::UnknownType,
                format!(
                    "`graph.nodes[{i}].node_type` is `{}`, which the model does not know; its \
                     node types are {known:?}",
                    node.node_type
                ),
            ));
        };
        let next = ids.len() as NodeId;
        if ids.insert(node.node_id.clone(), next).is_some() {
            return Err(RequestError::construction(
                "DGL_CREATE_ERROR",
                format!(
                    "`graph.nodes[{i}]` repeats node `{}` of type `{}`; list each node once",
                    node.node_id, node.node_type
                ),
            ));
        }
        members.entry(node.node_type.clone()).or_default().push(i);
    }
    Ok((index, members))
}

/// The payload's edges per edge type of the model (every type listed); an unknown type is
/// 403, an endpoint not in `graph.nodes` 411.
fn collect_edges(
    record: &ServingRecord,
    payload: &Payload,
    index: &BTreeMap<String, HashMap<String, NodeId>>,
) -> Result<BTreeMap<[String; 3], EdgeList>, RequestError> {
    let mut edges: BTreeMap<[String; 3], EdgeList> = record
        .edge_types
        .iter()
        .map(|e| (e.etype.clone(), EdgeList::default()))
        .collect();
    for (i, edge) in payload.edges.iter().enumerate() {
        let (s, d) = endpoints(index, edge, i)?;
        let Some(list) = edges.get_mut(&edge.edge_type) else {
            let known: Vec<String> = record
                .edge_types
                .iter()
                .map(|e| e.etype.join(","))
                .collect();
            return Err(RequestError::new(
                StatusCode::UnknownType,
                format!(
                    "`graph.edges[{i}].edge_type` is {:?}, which the model does not know; its \
                     edge types are {known:?}",
                    edge.edge_type
                ),
            ));
        };
        list.src.push(s);
        list.dst.push(d);
        list.origin.push(i);
        list.features_of = Some(edge.edge_type.clone());
    }
    Ok(edges)
}

/// The model's input features of every node type, from the payload's raw values.
fn set_node_features(
    model: &ServedModel,
    payload: &Payload,
    members: &BTreeMap<String, Vec<usize>>,
    graph: &mut HeteroGraph,
) -> Result<(), RequestError> {
    for n in &model.record.node_types {
        let rows = members.get(&n.name).map_or(&[][..], Vec::as_slice);
        for f in &n.features {
            let values = rows
                .iter()
                .map(|&i| {
                    let node = &payload.nodes[i];
                    let v = node.features.get(&f.name).ok_or_else(|| {
                        RequestError::new(
                            StatusCode::NotFound,
                            format!(
                                "`graph.nodes[{i}]` (`{}` `{}`) has no feature `{}`, which the \
                                 model reads",
                                node.node_type, node.node_id, f.name
                            ),
                        )
                    })?;
                    let at = ValueAt {
                        list: "graph.nodes",
                        index: i,
                        feature: &f.name,
                        column: None,
                    };
                    Ok((at, v))
                })
                .collect::<Result<Vec<_>, RequestError>>()?;
            let target = TransformTarget::Node(n.name.clone());
            let transform = model.transform(&target, &f.name);
            let data = feature_rows(transform, &target, &f.name, f.width, &values)?;
            let array = Array::from_f32(data, &[rows.len(), f.width]).map_err(internal)?;
            graph
                .set_node_data(&n.name, &f.name, array)
                .map_err(internal)?;
        }
    }
    Ok(())
}

/// The edges of every edge type and the edge features message passing reads (a reverse
/// edge the server added carries its forward edge's values).
fn set_edges(
    model: &ServedModel,
    payload: &Payload,
    edges: &BTreeMap<[String; 3], EdgeList>,
    graph: &mut HeteroGraph,
) -> Result<(), RequestError> {
    for e in &model.record.edge_types {
        let list = &edges[&e.etype];
        let order = graph
            .add_edges(&edge_type(&e.etype), &list.src, &list.dst)
            .map_err(internal)?;
        for f in &e.features {
            let rows = order.iter().map(|&k| list.origin[k]);
            let values = edge_values(payload, rows, &f.name, "the model")?;
            let of = list.features_of.clone().unwrap_or_else(|| e.etype.clone());
            let target = TransformTarget::Edge(of);
            let transform = model.transform(&target, &f.name);
            let data = feature_rows(transform, &target, &f.name, f.width, &values)?;
            let array = Array::from_f32(data, &[values.len(), f.width]).map_err(internal)?;
            graph
                .set_edge_data(&edge_type(&e.etype), &f.name, array)
                .map_err(internal)?;
        }
    }
    Ok(())
}

/// The raw values of feature `name` of the payload's edges `rows`, each named for errors; an
/// edge without it is 404 (`reader` says who reads it).
pub(crate) fn edge_values<'a>(
    payload: &'a Payload,
    rows: impl Iterator<Item = usize>,
    name: &'a str,
    reader: &str,
) -> Result<Vec<(ValueAt<'a>, &'a RawValue)>, RequestError> {
    rows.map(|i| {
        let v = payload.edges[i].features.get(name).ok_or_else(|| {
            RequestError::new(
                StatusCode::NotFound,
                format!("`graph.edges[{i}]` has no feature `{name}`, which {reader} reads"),
            )
        })?;
        let at = ValueAt {
            list: "graph.edges",
            index: i,
            feature: name,
            column: None,
        };
        Ok((at, v))
    })
    .collect()
}

fn internal(e: impl std::fmt::Display) -> RequestError {
    RequestError::construction("DGL_CREATE_ERROR", e)
}

/// The local ids of an edge's endpoints, which must be nodes of `graph.nodes`.
fn endpoints(
    index: &BTreeMap<String, HashMap<String, NodeId>>,
    edge: &PayloadEdge,
    i: usize,
) -> Result<(NodeId, NodeId), RequestError> {
    let [src_type, _, dst_type] = &edge.edge_type;
    let find = |ntype: &str, id: &str, key: &str| {
        index
            .get(ntype)
            .and_then(|ids| ids.get(id))
            .copied()
            .ok_or_else(|| {
                RequestError::construction(
                    "MISSING_KEY_ERROR",
                    format!(
                        "`graph.edges[{i}].{key}` is `{id}`, which is not a `{ntype}` node of \
                         `graph.nodes`; list every endpoint in graph.nodes"
                    ),
                )
            })
    };
    Ok((
        find(src_type, &edge.src, "src_node_id")?,
        find(dst_type, &edge.dst, "dest_node_id")?,
    ))
}

/// For each pair of forward and reverse edge types the training graph had, the reverse of
/// every payload edge of one when the payload has none of the other, so a payload with one
/// direction and one with both give the same graph.
fn add_reverse_edges(record: &ServingRecord, edges: &mut BTreeMap<[String; 3], EdgeList>) {
    for [fwd, rev] in &record.reverse_edge_types {
        for (from, to) in [(fwd, rev), (rev, fwd)] {
            if edges[to].origin.is_empty() && !edges[from].origin.is_empty() {
                let from_list = &edges[from];
                let added = EdgeList {
                    src: from_list.dst.clone(),
                    dst: from_list.src.clone(),
                    origin: from_list.origin.clone(),
                    features_of: from_list.features_of.clone(),
                };
                edges.insert(to.clone(), added);
            }
        }
    }
}

/// Sets `gs_learnable_embedding` on every learnable node type: the payload's value, else the
/// trained row of the node's raw id, else what `--unseen-node-embedding` says. Returns the
/// number of unseen nodes.
fn learnable_inputs(
    model: &ServedModel,
    payload: &Payload,
    members: &BTreeMap<String, Vec<usize>>,
    edges: &BTreeMap<[String; 3], EdgeList>,
    graph: &mut HeteroGraph,
) -> Result<usize, RequestError> {
    let dim = model.record.learnable_dim;
    // Rows per learnable type; `None` for an unseen node without a payload value.
    let mut rows: BTreeMap<String, Vec<Option<Vec<f32>>>> = BTreeMap::new();
    let mut unseen = Vec::new();
    for (ntype, table) in &model.learnable.0 {
        let nodes = members.get(ntype).map_or(&[][..], Vec::as_slice);
        let mut out = Vec::with_capacity(nodes.len());
        for &i in nodes {
            let node = &payload.nodes[i];
            let row = match node.features.get(LEARNABLE_FEATURE) {
                Some(v) => {
                    let at = ValueAt {
                        list: "graph.nodes",
                        index: i,
                        feature: LEARNABLE_FEATURE,
                        column: None,
                    };
                    Some(feature_rows(
                        None,
                        &TransformTarget::Node(ntype.clone()),
                        LEARNABLE_FEATURE,
                        dim,
                        &[(at, v)],
                    )?)
                }
                None => table
                    .rows
                    .get(&node.node_id)
                    .map(|&r| Vec::<f32>::try_from(table.table.get(r)).unwrap_or_default()),
            };
            if row.is_none() {
                if model.options.unseen_node_embedding == UnseenNodeEmbedding::Error {
                    return Err(RequestError::new(
                        StatusCode::NotFound,
                        format!(
                            "`graph.nodes[{i}]` (`{ntype}` `{}`) was not in the training graph and \
                             has no `{LEARNABLE_FEATURE}`, which the model reads for node type \
                             `{ntype}`; hint: send its embedding, or start the server with \
                             --unseen-node-embedding zero|mean-of-neighbours",
                            node.node_id
                        ),
                    ));
                }
                unseen.push((ntype.clone(), out.len()));
            }
            out.push(row);
        }
        rows.insert(ntype.clone(), out);
    }
    if model.options.unseen_node_embedding == UnseenNodeEmbedding::MeanOfNeighbours {
        let means: Vec<Vec<f32>> = unseen
            .iter()
            .map(|(ntype, local)| {
                neighbour_mean(&rows, edges, ntype, *local as NodeId, dim)
                    .unwrap_or_else(|| model.learnable.0[ntype].mean.clone())
            })
            .collect();
        for ((ntype, local), mean) in unseen.iter().zip(means) {
            rows.get_mut(ntype).expect("a learnable type")[*local] = Some(mean);
        }
    }
    for (ntype, list) in rows {
        let n = list.len();
        let data: Vec<f32> = list
            .into_iter()
            .flat_map(|r| r.unwrap_or_else(|| vec![0.0; dim]))
            .collect();
        let array = Array::from_f32(data, &[n, dim]).map_err(internal)?;
        graph
            .set_node_data(&ntype, LEARNABLE_FEATURE, array)
            .map_err(internal)?;
    }
    Ok(unseen.len())
}

/// The mean of the known embeddings of the neighbours (either direction, any edge type) of
/// node `local` of `ntype`; `None` when none has one.
fn neighbour_mean(
    rows: &BTreeMap<String, Vec<Option<Vec<f32>>>>,
    edges: &BTreeMap<[String; 3], EdgeList>,
    ntype: &str,
    local: NodeId,
    dim: usize,
) -> Option<Vec<f32>> {
    let mut sum = vec![0.0f32; dim];
    let mut count = 0usize;
    let mut add = |other_type: &str, other: NodeId| {
        if let Some(Some(row)) = rows.get(other_type).and_then(|r| r.get(other as usize)) {
            for (s, x) in sum.iter_mut().zip(row) {
                *s += x;
            }
            count += 1;
        }
    };
    for (etype, list) in edges {
        for (&s, &d) in list.src.iter().zip(&list.dst) {
            if etype[0] == ntype && s == local {
                add(&etype[2], d);
            }
            if etype[2] == ntype && d == local {
                add(&etype[0], s);
            }
        }
    }
    if count == 0 {
        return None;
    }
    sum.iter_mut().for_each(|s| *s /= count as f32);
    Some(sum)
}

/// An edge type's name for messages.
pub(crate) fn etype_text(t: &[String; 3]) -> String {
    EdgeType::new(&t[0], &t[1], &t[2]).to_string()
}

/// The raw node id `id` of `ntype` in the subgraph, or the 404 of a target not in
/// `graph.nodes`.
pub(crate) fn target_node(
    sub: &Subgraph,
    ntype: &str,
    id: &str,
    at: &str,
) -> Result<NodeId, RequestError> {
    sub.index
        .get(ntype)
        .and_then(|ids| ids.get(id))
        .copied()
        .ok_or_else(|| {
            RequestError::new(
                StatusCode::NotFound,
                format!("`{at}` is `{ntype}` node `{id}`, which is not in `graph.nodes`"),
            )
        })
}

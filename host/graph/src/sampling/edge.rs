//! Edge mini-batches for edge tasks and link prediction.
//!
//! A batch's seeds are edges of one or more target edge types, named by their [`EdgeId`] (CSC
//! position). The blocks are sampled, with the neighbour sampler, for the union of the edges'
//! endpoints (and of any extra nodes, e.g. link-prediction negatives), as DGL's
//! `EdgeDataLoader` does. Options follow GraphStorm:
//!
//! - `exclude_training_targets` with `reverse_edge_types_map` (DGL's `exclude="reverse_types"`):
//!   the batch's target edges and their reverse edges are never sampled into the blocks, so a
//!   model cannot read the edge it must predict. gs's edge ids are CSC positions and are not
//!   aligned between an edge type and its reverse, so the reverse of `u -> v` of `src:rel:dst` is
//!   found by its endpoints: every `v -> u` edge of the reverse type is excluded (DGL excludes the
//!   one with the same id; they differ only for repeated edges).
//! - `edge_mask` (GraphStorm's `edge_mask_for_gnn_embeddings`, e.g. `train_mask`): only edges
//!   whose 0/1 edge data is non-zero carry messages. By default the sampler draws among allowed
//!   edges only (DGL's `sample_neighbors(mask=…)`); with `mask_after_sampling` (GraphStorm's
//!   `fast_*` loaders, `FastMultiLayerNeighborSampler`) it draws among all edges and then drops
//!   the masked-out ones, which is cheaper but yields fewer edges. Types without the mask are
//!   unrestricted, reverse types included, as in GraphStorm. With `mask_reverse_edges` (gs's
//!   option) a reverse edge type without the mask uses its forward type's mask through
//!   `reverse_edge_types_map`, matched by endpoints, so validation and test edges do not carry
//!   messages through their reverses; deriving it costs a pass over every edge of the type, so
//!   a task derives it once ([`EdgeBatchOptions::with_derived_masks`]) rather than at every
//!   batch.
//!
//! Deterministic given `rng_seed`, whatever the number of threads.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::fanout::Fanout;
use super::neighbor::{EdgeFilter, LayerBlocks, sample_core};
use crate::array::DType;
use crate::error::GraphError;
use crate::graph::HeteroGraph;
use crate::types::{EdgeId, EdgeType, NodeId};

/// Errors from edge mini-batches and link-prediction sampling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeSamplingError {
    /// A graph-level error (unknown type, bad fanout, …).
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// An edge id is not below the edge count of its type.
    #[error(
        "edge id {id} is out of range for edge type `{etype}` with {num_edges} edges; hint: edge ids are CSC positions of their edge type"
    )]
    EdgeIdOutOfRange {
        /// The edge type.
        etype: String,
        /// The offending id.
        id: EdgeId,
        /// Number of edges of the type.
        num_edges: u64,
    },
    /// Edge data that an option names is missing or has the wrong dtype or shape.
    #[error("edge data `{name}` of `{etype}`: {reason}; hint: {hint}")]
    BadEdgeData {
        /// The edge type.
        etype: String,
        /// The edge data name.
        name: String,
        /// What is wrong.
        reason: String,
        /// What to do.
        hint: &'static str,
    },
    /// A `reverse_edge_types_map` entry is not `head,rel,rev_rel,tail`.
    #[error(
        "reverse_edge_types_map entry `{entry}` is not `head,rel,rev_rel,tail`; hint: write e.g. `user,rates,rated-by,movie`"
    )]
    BadReverseMap {
        /// The entry.
        entry: String,
    },
    /// An unknown negative sampler name.
    #[error("unknown negative sampler `{name}`; hint: use one of {known}")]
    UnknownSampler {
        /// The name given.
        name: String,
        /// The accepted names.
        known: &'static str,
    },
    /// A parameter is out of range.
    #[error("`{name}` = {value} is not allowed; hint: use {expected}")]
    BadParam {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: String,
        /// The allowed range.
        expected: &'static str,
    },
}

/// Options of an edge mini-batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeBatchOptions {
    /// Per-layer fanouts, input-most first.
    pub fanouts: Vec<Fanout>,
    /// Remove the batch's target edges (and their reverses) from the blocks. GraphStorm's
    /// default for link prediction is true.
    pub exclude_training_targets: bool,
    /// Edge type → its reverse edge type (see [`parse_reverse_edge_types_map`]).
    pub reverse_edge_types_map: BTreeMap<EdgeType, EdgeType>,
    /// 0/1 edge data restricting message passing (e.g. `train_mask`); `None` = all edges.
    pub edge_mask: Option<String>,
    /// Apply `edge_mask` after sampling (GraphStorm's `fast_*` loaders) instead of before.
    pub mask_after_sampling: bool,
    /// Reverse edge types without `edge_mask` take their forward type's, matched by endpoints
    /// (gs's `mask_reverse_edges`); off, they are unrestricted (GraphStorm).
    pub mask_reverse_edges: bool,
    /// `edge_mask` of reverse edge types that lack it, derived once
    /// ([`EdgeBatchOptions::with_derived_masks`]); empty: derived at every batch.
    pub derived_masks: DerivedMasks,
}

/// The `edge_mask` of reverse edge types that lack it, derived from their forward type's mask
/// (see the module docs). Batches sample the same edges with or without it; with it they skip
/// a pass over every edge of those types.
#[derive(Clone, Default, PartialEq)]
pub struct DerivedMasks {
    /// The `edge_mask` the masks were derived for.
    name: String,
    /// Reverse edge type → its forward type and the mask of the reverse type's edges.
    masks: BTreeMap<EdgeType, (EdgeType, Arc<[u8]>)>,
}

impl DerivedMasks {
    /// The mask of `rev` derived from `fwd`'s mask `name`, if one was derived.
    fn get(&self, name: &str, fwd: &EdgeType, rev: &EdgeType) -> Option<&[u8]> {
        match self.masks.get(rev) {
            Some((f, mask)) if self.name == name && f == fwd => Some(mask),
            _ => None,
        }
    }
}

impl fmt::Debug for DerivedMasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let types: Vec<String> = self.masks.keys().map(ToString::to_string).collect();
        f.debug_struct("DerivedMasks")
            .field("name", &self.name)
            .field("reverse_types", &types)
            .finish()
    }
}

impl EdgeBatchOptions {
    /// These options with the `edge_mask` of every reverse edge type that lacks it derived
    /// now, once, instead of at every batch; the batches are the same.
    pub fn with_derived_masks(mut self, graph: &HeteroGraph) -> Result<Self, EdgeSamplingError> {
        self.derived_masks = DerivedMasks::default();
        let Some(name) = self.edge_mask.clone().filter(|_| self.mask_reverse_edges) else {
            return Ok(self);
        };
        let mut masks = BTreeMap::new();
        // As `build_filter`: a type with its own mask keeps it, and the first entry naming a
        // reverse type wins.
        for (fwd, rev) in &self.reverse_edge_types_map {
            if graph.csc(fwd).is_none()
                || graph.csc(rev).is_none()
                || graph.edge_data(rev, &name).is_some()
                || masks.contains_key(rev)
            {
                continue;
            }
            let Some(array) = graph.edge_data(fwd, &name) else {
                continue;
            };
            let forward = mask_slice(fwd, &name, array)?;
            let mask: Arc<[u8]> = reverse_mask(graph, fwd, rev, forward).into();
            masks.insert(rev.clone(), (fwd.clone(), mask));
        }
        self.derived_masks = DerivedMasks { name, masks };
        Ok(self)
    }
}

/// Parses GraphStorm's `reverse_edge_types_map` entries, `head,rel,rev_rel,tail`, into
/// `head:rel:tail → tail:rev_rel:head`.
pub fn parse_reverse_edge_types_map(
    entries: &[&str],
) -> Result<BTreeMap<EdgeType, EdgeType>, EdgeSamplingError> {
    entries
        .iter()
        .map(|entry| {
            let p: Vec<&str> = entry.split(',').map(str::trim).collect();
            let bad = || EdgeSamplingError::BadReverseMap {
                entry: entry.to_string(),
            };
            let [h, r, rr, t] = p.as_slice() else {
                return Err(bad());
            };
            let fwd = EdgeType::new(*h, *r, *t);
            let rev = EdgeType::new(*t, *rr, *h);
            fwd.validate().map_err(|_| bad())?;
            rev.validate().map_err(|_| bad())?;
            Ok((fwd, rev))
        })
        .collect()
}

/// Source and destination of each edge of a batch, as local indices into
/// [`EdgeMiniBatch::output_nodes`] of the edge type's source and destination node types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalPairs {
    /// Local source index of each pair.
    pub src: Vec<i64>,
    /// Local destination index of each pair.
    pub dst: Vec<i64>,
}

/// A sampled edge mini-batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeMiniBatch {
    /// The target edges per edge type (graph edge ids).
    pub targets: BTreeMap<EdgeType, Vec<EdgeId>>,
    /// The target edges' endpoints as local indices into `output_nodes`, in `targets` order.
    pub positives: BTreeMap<EdgeType, LocalPairs>,
    /// The last layer's destination nodes per node type (every type listed): the targets'
    /// endpoints in order of first appearance (sources before destinations, edge types in
    /// order), then any extra nodes not already present.
    pub output_nodes: BTreeMap<String, Vec<NodeId>>,
    /// The layers, input-most first (same conventions as [`crate::MiniBatch`]).
    pub layers: Vec<LayerBlocks>,
    /// Graph ids of the input layer's source nodes per node type.
    pub input_nodes: BTreeMap<String, Vec<NodeId>>,
}

impl EdgeMiniBatch {
    /// Local index of graph node `id` of `ntype` among the output nodes (linear search; for
    /// tests and small lookups).
    pub fn output_index(&self, ntype: &str, id: NodeId) -> Option<usize> {
        self.output_nodes.get(ntype)?.iter().position(|&v| v == id)
    }

    /// Total sampled edges over all layers.
    pub fn num_edges(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| &l.blocks)
            .map(|b| b.src.len())
            .sum()
    }
}

/// The destination node of edge `e` of a CSC (binary search on `indptr`).
pub(crate) fn edge_dst(indptr: &[u64], e: EdgeId) -> NodeId {
    (indptr.partition_point(|&p| p <= e) - 1) as NodeId
}

/// Endpoints `(src, dst)` of edges `eids` of `etype`, checked.
pub fn edge_endpoints(
    graph: &HeteroGraph,
    etype: &EdgeType,
    eids: &[EdgeId],
) -> Result<(Vec<NodeId>, Vec<NodeId>), EdgeSamplingError> {
    let csc = graph.csc_of(etype)?;
    let m = csc.num_edges();
    if let Some(&id) = eids.iter().find(|&&e| e >= m) {
        return Err(EdgeSamplingError::EdgeIdOutOfRange {
            etype: etype.to_string(),
            id,
            num_edges: m,
        });
    }
    let src = eids.iter().map(|&e| csc.indices()[e as usize]).collect();
    let dst = eids.iter().map(|&e| edge_dst(csc.indptr(), e)).collect();
    Ok((src, dst))
}

/// Appends `ids` to `nodes` (of one type) unless present, returning each id's local index.
struct Locals {
    nodes: BTreeMap<String, Vec<NodeId>>,
    index: BTreeMap<String, std::collections::HashMap<NodeId, usize>>,
}

impl Locals {
    fn new(graph: &HeteroGraph) -> Self {
        Locals {
            nodes: graph
                .node_types()
                .map(|t| (t.to_string(), Vec::new()))
                .collect(),
            index: BTreeMap::new(),
        }
    }

    fn add(&mut self, ntype: &str, ids: &[NodeId]) -> Vec<i64> {
        let nodes = self
            .nodes
            .get_mut(ntype)
            .expect("every node type is listed");
        let index = self.index.entry(ntype.to_string()).or_default();
        ids.iter()
            .map(|&v| {
                let next = nodes.len();
                *index.entry(v).or_insert_with(|| {
                    nodes.push(v);
                    next
                }) as i64
            })
            .collect()
    }
}

/// Samples an edge mini-batch for `targets` (edge ids per target edge type). `extra_nodes`
/// (e.g. negative destinations) are added to the output nodes, and their local indices are
/// returned in the same shape. See the module docs for the options.
pub fn sample_edge_batch(
    graph: &HeteroGraph,
    targets: &BTreeMap<EdgeType, Vec<EdgeId>>,
    extra_nodes: &BTreeMap<String, Vec<NodeId>>,
    opts: &EdgeBatchOptions,
    rng_seed: u64,
) -> Result<(EdgeMiniBatch, BTreeMap<String, Vec<i64>>), EdgeSamplingError> {
    let mut locals = Locals::new(graph);
    let mut positives = BTreeMap::new();
    let mut endpoints = BTreeMap::new();
    for (et, eids) in targets {
        let (s, d) = edge_endpoints(graph, et, eids)?;
        let ls = locals.add(&et.src, &s);
        let ld = locals.add(&et.dst, &d);
        positives.insert(et.clone(), LocalPairs { src: ls, dst: ld });
        endpoints.insert(et.clone(), (s, d));
    }
    let mut extra_local = BTreeMap::new();
    for (nt, ids) in extra_nodes {
        let n = graph.node_count(nt)?;
        crate::graph::check_ids(ids, n, nt, || "extra node of an edge batch".to_string())?;
        extra_local.insert(nt.clone(), locals.add(nt, ids));
    }
    let filter = build_filter(graph, &endpoints, targets, opts)?;
    let (layers, input_nodes) = sample_core(
        graph,
        locals.nodes.clone(),
        &opts.fanouts,
        rng_seed,
        filter.as_ref(),
    )?;
    Ok((
        EdgeMiniBatch {
            targets: targets.clone(),
            positives,
            output_nodes: locals.nodes,
            layers,
            input_nodes,
        },
        extra_local,
    ))
}

/// Edge ids of `rev` going `v -> u` for each pair `(u, v)`.
fn reverse_edges(
    graph: &HeteroGraph,
    rev: &EdgeType,
    src: &[NodeId],
    dst: &[NodeId],
) -> Vec<EdgeId> {
    let Some(csc) = graph.csc(rev) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (&u, &v) in src.iter().zip(dst) {
        if u >= csc.num_dst() {
            continue;
        }
        let (range, nbrs) = csc.in_edges(u);
        out.extend(
            nbrs.iter()
                .zip(range)
                .filter(|&(&s, _)| s == v)
                .map(|(_, e)| e),
        );
    }
    out
}

fn build_filter<'g>(
    graph: &'g HeteroGraph,
    endpoints: &BTreeMap<EdgeType, (Vec<NodeId>, Vec<NodeId>)>,
    targets: &BTreeMap<EdgeType, Vec<EdgeId>>,
    opts: &'g EdgeBatchOptions,
) -> Result<Option<EdgeFilter<'g>>, EdgeSamplingError> {
    if !opts.exclude_training_targets && opts.edge_mask.is_none() {
        return Ok(None);
    }
    let etypes: Vec<&EdgeType> = graph.edge_types().collect();
    let pos = |et: &EdgeType| etypes.iter().position(|e| *e == et);
    let mut excluded: Vec<Vec<EdgeId>> = vec![Vec::new(); etypes.len()];
    if opts.exclude_training_targets {
        for (et, eids) in targets {
            if let Some(i) = pos(et) {
                excluded[i].extend_from_slice(eids);
            }
            if let Some(rev) = opts.reverse_edge_types_map.get(et)
                && let Some(j) = pos(rev)
            {
                let (s, d) = &endpoints[et];
                excluded[j].extend(reverse_edges(graph, rev, s, d));
            }
        }
        for ex in &mut excluded {
            ex.sort_unstable();
            ex.dedup();
        }
    }
    let mut mask: Vec<Option<Cow<'g, [u8]>>> = vec![None; etypes.len()];
    if let Some(name) = &opts.edge_mask {
        for (i, et) in etypes.iter().enumerate() {
            if let Some(a) = graph.edge_data(et, name) {
                mask[i] = Some(Cow::Borrowed(mask_slice(et, name, a)?));
            }
        }
        // With `mask_reverse_edges`, reverse types without the mask borrow their forward
        // type's, matched by endpoints: derived once in `opts.derived_masks`, else here (a
        // pass over the type's edges).
        let reverses = opts
            .reverse_edge_types_map
            .iter()
            .filter(|_| opts.mask_reverse_edges);
        for (fwd, rev) in reverses {
            let (Some(fi), Some(ri)) = (pos(fwd), pos(rev)) else {
                continue;
            };
            if mask[ri].is_some() {
                continue;
            }
            if let Some(fm) = mask[fi].clone() {
                mask[ri] = Some(match opts.derived_masks.get(name, fwd, rev) {
                    Some(derived) => Cow::Borrowed(derived),
                    None => Cow::Owned(reverse_mask(graph, fwd, rev, &fm)),
                });
            }
        }
    }
    let filter = EdgeFilter {
        excluded,
        mask,
        mask_after: opts.mask_after_sampling,
    };
    Ok(Some(filter))
}

fn mask_slice<'g>(
    et: &EdgeType,
    name: &str,
    a: &'g crate::Array,
) -> Result<&'g [u8], EdgeSamplingError> {
    match (a.dtype(), a.shape().len()) {
        (DType::U8, 1) => Ok(a.as_u8().unwrap_or_default()),
        (dt, _) => Err(EdgeSamplingError::BadEdgeData {
            etype: et.to_string(),
            name: name.to_string(),
            reason: format!("it is {dt} with shape {:?}, not a uint8 mask", a.shape()),
            hint: "give the edge mask as a 1-D uint8 (0/1) array",
        }),
    }
}

/// A mask for `rev`'s edges: edge `v -> u` is allowed if some allowed `u -> v` edge of `fwd`
/// exists.
fn reverse_mask(graph: &HeteroGraph, fwd: &EdgeType, rev: &EdgeType, fm: &[u8]) -> Vec<u8> {
    let (fc, rc) = (
        graph.csc(fwd).expect("listed"),
        graph.csc(rev).expect("listed"),
    );
    let mut allowed = std::collections::HashSet::new();
    for v in 0..fc.num_dst() {
        let (range, nbrs) = fc.in_edges(v);
        for (e, &u) in range.zip(nbrs) {
            if fm[e as usize] != 0 {
                allowed.insert((u, v));
            }
        }
    }
    let mut out = vec![0u8; rc.num_edges() as usize];
    for u in 0..rc.num_dst() {
        let (range, nbrs) = rc.in_edges(u);
        for (e, &v) in range.zip(nbrs) {
            out[e as usize] = u8::from(allowed.contains(&(u, v)));
        }
    }
    out
}

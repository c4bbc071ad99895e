//! Uniform neighbour sampling without replacement into message-flow blocks (DGL's MFGs).
//!
//! Conventions, shared with the plugin interface:
//! - `layers[0]` is the input-most layer and `layers[L-1]` produces the seeds' outputs;
//!   `fanouts[l]` applies to `layers[l]` (DGL's order, see [`super::Fanout`]).
//! - In every layer and for every node type, the destination nodes come first, in order, in that
//!   layer's source nodes; the destination nodes of layer `l` are the source nodes of layer
//!   `l + 1`, and those of the last layer are the seeds (target type only).
//! - A block's edges are grouped by destination (ascending local index); each destination's
//!   sampled neighbours are in CSC order. New source nodes get local ids in order of first
//!   appearance, walking edge types in sorted order.
//! - Every layer has one block per edge type of the graph (possibly empty), in sorted order, and
//!   `src_nodes`/`dst_counts` list every node type.
//! - Randomness: each destination node draws from its own generator seeded from
//!   `(rng_seed, layer, edge type id, node id)`, so the result depends only on the graph, the
//!   seeds, the fanouts and `rng_seed` — not on the number of threads. The same node therefore
//!   draws the same neighbours in every batch with the same `rng_seed`: give each batch its own
//!   seed (as [`crate::SeedBatches`] does).

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

use super::fanout::Fanout;
use crate::error::GraphError;
use crate::graph::{HeteroGraph, check_ids};
use crate::seed::{IdBuildHasher, mix};
use crate::types::{EdgeId, EdgeType, NodeId};

/// The edges of one edge type in one layer, in local ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The edge type.
    pub etype: EdgeType,
    /// Number of source nodes (all source nodes of type `etype.src` in this layer).
    pub num_src: usize,
    /// Number of destination nodes (all destination nodes of type `etype.dst`).
    pub num_dst: usize,
    /// Local source index of each edge, into the layer's `src_nodes[etype.src]`.
    pub src: Vec<i64>,
    /// Local destination index of each edge (a prefix index of the same list for `etype.dst`).
    pub dst: Vec<i64>,
    /// Graph edge id of each edge (its CSC position), for edge features.
    pub edge_ids: Vec<EdgeId>,
}

/// One GNN layer of a mini-batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerBlocks {
    /// Graph node ids of the layer's source nodes per node type, in local order; the first
    /// `dst_counts[ntype]` of them are the destination nodes.
    pub src_nodes: BTreeMap<String, Vec<NodeId>>,
    /// Number of destination nodes per node type.
    pub dst_counts: BTreeMap<String, usize>,
    /// One block per edge type, in sorted edge-type order.
    pub blocks: Vec<Block>,
}

/// A sampled mini-batch: the computation graph of some seed nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniBatch {
    /// Node type of the seeds.
    pub target_ntype: String,
    /// The seeds (graph ids); the last layer's destination nodes.
    pub seeds: Vec<NodeId>,
    /// The layers, input-most first.
    pub layers: Vec<LayerBlocks>,
    /// Graph ids of the input layer's source nodes per node type, in local order: the rows of
    /// input features to gather. With zero layers, the seeds.
    pub input_nodes: BTreeMap<String, Vec<NodeId>>,
}

impl MiniBatch {
    /// Number of GNN layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Total sampled edges over all layers and edge types.
    pub fn num_edges(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| &l.blocks)
            .map(|b| b.src.len())
            .sum()
    }
}

/// A neighbour sampler with fixed per-layer fanouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sampler {
    fanouts: Vec<Fanout>,
}

impl Sampler {
    /// A sampler with `fanouts[l]` for layer `l` (input-most first).
    pub fn new(fanouts: Vec<Fanout>) -> Self {
        Sampler { fanouts }
    }

    /// All neighbours in every one of `num_layers` layers (full-neighbour evaluation).
    pub fn full(num_layers: usize) -> Self {
        Sampler {
            fanouts: super::full_fanouts(num_layers),
        }
    }

    /// The fanouts, input-most layer first.
    pub fn fanouts(&self) -> &[Fanout] {
        &self.fanouts
    }

    /// Number of layers.
    pub fn num_layers(&self) -> usize {
        self.fanouts.len()
    }

    /// Samples the blocks of `seeds`; see [`sample_blocks`].
    pub fn sample(
        &self,
        graph: &HeteroGraph,
        target_ntype: &str,
        seeds: &[NodeId],
        rng_seed: u64,
    ) -> Result<MiniBatch, GraphError> {
        sample_blocks(graph, target_ntype, seeds, &self.fanouts, rng_seed)
    }
}

/// Samples an `fanouts.len()`-layer computation graph for `seeds` (distinct ids of
/// `target_ntype`). Per destination node and edge type, up to `fanouts[l]` in-neighbours are
/// drawn uniformly without replacement (all of them when the in-degree is not larger, or when
/// the count is -1). Parallel over destination nodes; see the module docs for conventions.
pub fn sample_blocks(
    graph: &HeteroGraph,
    target_ntype: &str,
    seeds: &[NodeId],
    fanouts: &[Fanout],
    rng_seed: u64,
) -> Result<MiniBatch, GraphError> {
    let num_targets = graph.node_count(target_ntype)?;
    check_ids(seeds, num_targets, target_ntype, || "seed".to_string())?;
    let mut seen = HashSet::with_capacity_and_hasher(seeds.len(), IdBuildHasher::default());
    if let Some(&dup) = seeds.iter().find(|&&s| !seen.insert(s)) {
        return Err(GraphError::DuplicateSeed {
            ntype: target_ntype.to_string(),
            id: dup,
        });
    }
    let etypes: Vec<&EdgeType> = graph.edge_types().collect();
    let counts: Vec<Vec<Option<usize>>> = fanouts
        .iter()
        .enumerate()
        .map(|(layer, f)| resolve(layer, f, &etypes))
        .collect::<Result<_, _>>()?;

    let mut dst: BTreeMap<String, Vec<NodeId>> = graph
        .node_types()
        .map(|nt| (nt.to_string(), Vec::new()))
        .collect();
    dst.insert(target_ntype.to_string(), seeds.to_vec());
    let mut layers = Vec::with_capacity(fanouts.len());
    for layer in (0..fanouts.len()).rev() {
        let lb = sample_layer(graph, &etypes, &counts[layer], &dst, layer, rng_seed);
        dst = lb.src_nodes.clone();
        layers.push(lb);
    }
    layers.reverse();
    Ok(MiniBatch {
        target_ntype: target_ntype.to_string(),
        seeds: seeds.to_vec(),
        layers,
        input_nodes: dst,
    })
}

/// Per edge type (in `etypes` order): `None` = all neighbours, `Some(k)` = at most k.
fn resolve(
    layer: usize,
    f: &Fanout,
    etypes: &[&EdgeType],
) -> Result<Vec<Option<usize>>, GraphError> {
    if let Fanout::PerEtype(m) = f
        && let Some(extra) = m.keys().find(|et| !etypes.contains(et))
    {
        return Err(GraphError::BadFanout {
            layer,
            reason: format!("edge type `{extra}` is not in the graph"),
        });
    }
    etypes
        .iter()
        .map(|et| match f.count(et) {
            None => Err(GraphError::BadFanout {
                layer,
                reason: format!("no count for edge type `{et}`"),
            }),
            Some(Fanout::ALL) => Ok(None),
            Some(n) if n >= 0 => Ok(Some(n as usize)),
            Some(n) => Err(GraphError::BadFanout {
                layer,
                reason: format!("count {n} for `{et}` is below -1"),
            }),
        })
        .collect()
}

fn sample_layer(
    graph: &HeteroGraph,
    etypes: &[&EdgeType],
    counts: &[Option<usize>],
    dst: &BTreeMap<String, Vec<NodeId>>,
    layer: usize,
    rng_seed: u64,
) -> LayerBlocks {
    let mut src_nodes = dst.clone();
    let mut local: HashMap<&str, HashMap<NodeId, usize, IdBuildHasher>> = HashMap::new();
    let mut blocks = Vec::with_capacity(etypes.len());
    for (etype_id, (&et, &count)) in etypes.iter().zip(counts).enumerate() {
        let csc = graph.csc(et).expect("edge type listed by the graph");
        let dst_ids = &dst[&et.dst];
        let seed = mix(mix(rng_seed, layer as u64), etype_id as u64);
        let (offsets, eids) = sample_etype(csc, dst_ids, count, seed);

        let srcs = src_nodes
            .get_mut(&et.src)
            .expect("every node type is listed");
        let index = local.entry(et.src.as_str()).or_insert_with(|| {
            let mut m = HashMap::with_capacity_and_hasher(srcs.len() * 2, IdBuildHasher::default());
            m.extend(srcs.iter().enumerate().map(|(i, &v)| (v, i)));
            m
        });
        let indices = csc.indices();
        let mut block_src = Vec::with_capacity(eids.len());
        let mut block_dst = Vec::with_capacity(eids.len());
        for (d, w) in offsets.windows(2).enumerate() {
            for &e in &eids[w[0]..w[1]] {
                let s = indices[e as usize];
                let next = srcs.len();
                let l = *index.entry(s).or_insert_with(|| {
                    srcs.push(s);
                    next
                });
                block_src.push(l as i64);
                block_dst.push(d as i64);
            }
        }
        blocks.push(Block {
            etype: et.clone(),
            num_src: 0, // set below, once every edge type has added its sources
            num_dst: dst_ids.len(),
            src: block_src,
            dst: block_dst,
            edge_ids: eids,
        });
    }
    for b in &mut blocks {
        b.num_src = src_nodes[&b.etype.src].len();
    }
    let dst_counts = dst.iter().map(|(k, v)| (k.clone(), v.len())).collect();
    LayerBlocks {
        src_nodes,
        dst_counts,
        blocks,
    }
}

/// Samples the in-edges of each of `dst_ids` in parallel. Returns per-destination offsets into
/// the edge-id list, and the edge ids (CSC positions, ascending within a destination).
fn sample_etype(
    csc: &crate::Csc,
    dst_ids: &[NodeId],
    count: Option<usize>,
    seed: u64,
) -> (Vec<usize>, Vec<EdgeId>) {
    let ip = csc.indptr();
    let deg = |v: NodeId| (ip[v as usize + 1] - ip[v as usize]) as usize;
    let take = |v: NodeId| count.map_or(deg(v), |k| k.min(deg(v)));
    let sizes: Vec<usize> = dst_ids
        .par_iter()
        .with_min_len(256)
        .map(|&v| take(v))
        .collect();
    let mut offsets = Vec::with_capacity(sizes.len() + 1);
    offsets.push(0usize);
    for s in &sizes {
        offsets.push(offsets[offsets.len() - 1] + s);
    }
    let mut eids = vec![0 as EdgeId; offsets[offsets.len() - 1]];
    let mut slots: Vec<&mut [EdgeId]> = Vec::with_capacity(sizes.len());
    let mut rest = eids.as_mut_slice();
    for &s in &sizes {
        let (head, tail) = rest.split_at_mut(s);
        slots.push(head);
        rest = tail;
    }
    slots
        .into_par_iter()
        .zip(dst_ids.par_iter())
        .with_min_len(64)
        .for_each(|(slot, &v)| {
            let start = ip[v as usize];
            let d = deg(v);
            if slot.len() == d {
                for (i, e) in slot.iter_mut().enumerate() {
                    *e = start + i as u64;
                }
            } else {
                let mut rng = Pcg64Mcg::seed_from_u64(mix(seed, v));
                let mut picked = rand::seq::index::sample(&mut rng, d, slot.len()).into_vec();
                picked.sort_unstable();
                for (e, p) in slot.iter_mut().zip(picked) {
                    *e = start + p as u64;
                }
            }
        });
    (offsets, eids)
}

#[cfg(test)]
mod tests;

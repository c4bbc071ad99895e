//! Link-prediction batches: target-edge batching, GraphStorm's negative samplers, and
//! evaluation negatives including full ranking.
//!
//! Semantics follow GraphStorm's `dataloading/sampler.py` and `dataloading.py` (the training
//! samplers wrap DGL's `EdgeDataLoader`; the evaluation ones only generate node pairs):
//!
//! | name | negatives of a batch of B positives, `k = num_negative_edges` |
//! |---|---|
//! | `uniform` | per positive `i`, `k` destinations drawn uniformly over the destination type: pairs `(src_i, d_ij)` |
//! | `joint` | B destinations `p_0..p_{B-1}` drawn once; pair `j` of `B·k` is `(src_{j / k}, p_{j mod B})` (GraphStorm's `JointUniform`: `repeat(src, k)` against `tile(pool, k)`) |
//! | `inbatch_joint` | `joint`, then every `(src_i, dst_j)` with `i != j` from the batch itself (when B > 1) |
//! | `localuniform`, `localjoint` | as `uniform` / `joint` restricted to the trainer's partition; gs trains on one partition holding every node, so they equal `uniform` / `joint` |
//! | `all_etype_uniform`, `all_etype_joint` | as `uniform` / `joint`, with batches that hold edges of every target edge type ([`EdgeBatches`] with `all_etypes`) |
//! | `fast_uniform`, `fast_joint`, `fast_localuniform`, `fast_localjoint` | same negatives; message passing samples among all edges and then drops edges outside the edge mask (`FastMultiLayerNeighborSampler`), instead of sampling among masked edges |
//!
//! Hard negatives (`GSHardEdgeDstNegativeSampler`): an int64 edge data array `[E, m]` per edge
//! type (e.g. `edge_dst_hard_negative`, `-1` = no entry) lists each edge's hard negative
//! destinations. Per positive, its valid entries are shuffled and the first
//! `min(num_hard, valid, k)` of its `k` negatives are hard ones; the rest stay random.
//!
//! Evaluation ([`EvalNegatives`]): `uniform` (GraphStorm's `GlobalUniform`: per positive `k`
//! corrupted destinations and `k` corrupted sources), `joint` (`k` destinations and `k` sources
//! shared by the whole batch), `fixed` (`GSFixedEdgeDstNegativeSampler`: the edge's predefined
//! destinations, none may be `-1`), and full ranking against every destination node, raw or
//! filtered (the other true destinations of the positive's source are not counted), which
//! GraphStorm lacks. `fixed_test_size` (GraphStorm: a random subset of that many evaluation
//! edges per edge type) is seeded here.
//!
//! Everything is deterministic given the seeds: negatives are drawn per positive from
//! generators seeded by `(rng_seed, edge type, positive)`.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::edge::{
    EdgeBatchOptions, EdgeMiniBatch, EdgeSamplingError, edge_endpoints, sample_edge_batch,
};
use super::neighbor::NodeRng;
use crate::array::DType;
use crate::graph::HeteroGraph;
use crate::seed::mix;
use crate::types::{EdgeId, EdgeType, NodeId};

const NEG_STREAM: u64 = 0x004E_4547; // "NEG"
const HARD_STREAM: u64 = 0x4841_5244; // "HARD"
const SRC_STREAM: u64 = 0x0053_5243; // "SRC"

/// GraphStorm's training negative samplers (`train_negative_sampler`), see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NegativeSampler {
    /// `uniform` (GraphStorm's default).
    Uniform,
    /// `joint`.
    Joint,
    /// `inbatch_joint`.
    InbatchJoint,
    /// `localuniform` (= `uniform` on one partition).
    LocalUniform,
    /// `localjoint` (= `joint` on one partition).
    LocalJoint,
    /// `all_etype_uniform`.
    AllEtypeUniform,
    /// `all_etype_joint`.
    AllEtypeJoint,
    /// `fast_uniform`.
    FastUniform,
    /// `fast_joint`.
    FastJoint,
    /// `fast_localuniform`.
    FastLocalUniform,
    /// `fast_localjoint`.
    FastLocalJoint,
}

const SAMPLER_NAMES: &str = "uniform, joint, inbatch_joint, localuniform, localjoint, all_etype_uniform, all_etype_joint, fast_uniform, fast_joint, fast_localuniform, fast_localjoint";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Uniform,
    Joint,
    InbatchJoint,
}

impl NegativeSampler {
    /// Every sampler, in GraphStorm's documentation order.
    const ALL: [NegativeSampler; 11] = {
        use NegativeSampler::*;
        [
            Uniform,
            Joint,
            InbatchJoint,
            LocalUniform,
            LocalJoint,
            AllEtypeUniform,
            AllEtypeJoint,
            FastUniform,
            FastJoint,
            FastLocalUniform,
            FastLocalJoint,
        ]
    };

    fn shape(self) -> Shape {
        use NegativeSampler::*;
        match self {
            Uniform | LocalUniform | AllEtypeUniform | FastUniform | FastLocalUniform => {
                Shape::Uniform
            }
            Joint | LocalJoint | AllEtypeJoint | FastJoint | FastLocalJoint => Shape::Joint,
            InbatchJoint => Shape::InbatchJoint,
        }
    }

    /// True for the `fast_*` samplers (edge mask applied after neighbour sampling).
    pub fn is_fast(self) -> bool {
        use NegativeSampler::*;
        matches!(
            self,
            FastUniform | FastJoint | FastLocalUniform | FastLocalJoint
        )
    }

    /// True for `all_etype_*` (every batch holds every target edge type).
    pub fn all_etypes(self) -> bool {
        matches!(self, Self::AllEtypeUniform | Self::AllEtypeJoint)
    }

    /// GraphStorm's name.
    pub fn name(self) -> &'static str {
        use NegativeSampler::*;
        match self {
            Uniform => "uniform",
            Joint => "joint",
            InbatchJoint => "inbatch_joint",
            LocalUniform => "localuniform",
            LocalJoint => "localjoint",
            AllEtypeUniform => "all_etype_uniform",
            AllEtypeJoint => "all_etype_joint",
            FastUniform => "fast_uniform",
            FastJoint => "fast_joint",
            FastLocalUniform => "fast_localuniform",
            FastLocalJoint => "fast_localjoint",
        }
    }
}

impl FromStr for NegativeSampler {
    type Err = EdgeSamplingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NegativeSampler::ALL
            .into_iter()
            .find(|x| x.name() == s.trim())
            .ok_or_else(|| EdgeSamplingError::UnknownSampler {
                name: s.to_string(),
                known: SAMPLER_NAMES,
            })
    }
}

/// One training batch of target edges, with its own sampling seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeSeedBatch {
    /// Position in the epoch.
    pub index: usize,
    /// Target edge ids per edge type.
    pub targets: BTreeMap<EdgeType, Vec<EdgeId>>,
    /// Seed for sampling this batch.
    pub rng_seed: u64,
}

/// Splits target edges into training batches, shuffled per epoch when asked.
///
/// Mixed mode (GraphStorm's default loaders, via DGL's `EdgeDataLoader` on a dict of edge ids):
/// all `(edge type, edge)` pairs are shuffled together and cut into batches of `batch_size`.
/// `all_etypes` mode (`all_etype_*`, GraphStorm's `AllEtypeDistEdgeDataLoader`): edge type `t`
/// contributes `ceil(batch_size · n_t / total)` edges to every batch, the epoch has as many
/// batches as the longest type needs, and a type that has run out contributes one random edge.
#[derive(Debug, Clone)]
pub struct EdgeBatches {
    targets: BTreeMap<EdgeType, Vec<EdgeId>>,
    batch_size: usize,
    shuffle: bool,
    all_etypes: bool,
    seed: u64,
}

impl EdgeBatches {
    /// Batches over `targets`. `batch_size` must be at least 1.
    pub fn new(
        targets: BTreeMap<EdgeType, Vec<EdgeId>>,
        batch_size: usize,
        shuffle: bool,
        all_etypes: bool,
        seed: u64,
    ) -> Result<Self, EdgeSamplingError> {
        if batch_size == 0 {
            return Err(EdgeSamplingError::BadParam {
                name: "batch_size",
                value: "0".to_string(),
                expected: "at least 1",
            });
        }
        Ok(EdgeBatches {
            targets,
            batch_size,
            shuffle,
            all_etypes,
            seed,
        })
    }

    /// The batches of epoch `epoch`.
    pub fn epoch(&self, epoch: u64) -> Vec<EdgeSeedBatch> {
        let es = mix(mix(self.seed, 0x4550_4F43), epoch); // "EPOC"
        let rng_seed = |i: usize| mix(mix(es, 0x5341_4D50), i as u64);
        if !self.all_etypes {
            let mut all: Vec<(usize, EdgeId)> = self
                .targets
                .values()
                .enumerate()
                .flat_map(|(t, v)| v.iter().map(move |&e| (t, e)))
                .collect();
            if self.shuffle {
                shuffle(&mut all, es);
            }
            let keys: Vec<&EdgeType> = self.targets.keys().collect();
            return all
                .chunks(self.batch_size)
                .enumerate()
                .map(|(index, c)| {
                    let mut targets: BTreeMap<EdgeType, Vec<EdgeId>> = BTreeMap::new();
                    for &(t, e) in c {
                        targets.entry(keys[t].clone()).or_default().push(e);
                    }
                    EdgeSeedBatch {
                        index,
                        targets,
                        rng_seed: rng_seed(index),
                    }
                })
                .collect();
        }
        let total: usize = self.targets.values().map(Vec::len).sum();
        if total == 0 {
            return Vec::new();
        }
        let per: Vec<(EdgeType, Vec<EdgeId>, usize)> = self
            .targets
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .enumerate()
            .map(|(t, (et, v))| {
                let mut v = v.clone();
                if self.shuffle {
                    shuffle(&mut v, mix(es, t as u64));
                }
                let bs = (self.batch_size * v.len()).div_ceil(total).max(1);
                (et.clone(), v, bs)
            })
            .collect();
        let num = per
            .iter()
            .map(|(_, v, bs)| v.len().div_ceil(*bs))
            .max()
            .unwrap_or(0);
        (0..num)
            .map(|index| {
                let mut targets = BTreeMap::new();
                for (t, (et, v, bs)) in per.iter().enumerate() {
                    let lo = index * bs;
                    let ids = if lo < v.len() {
                        v[lo..(lo + bs).min(v.len())].to_vec()
                    } else {
                        let mut r = NodeRng::new(mix(es, 0x0052_4E44 + t as u64), index as u64);
                        vec![v[r.below(v.len() as u64) as usize]]
                    };
                    targets.insert(et.clone(), ids);
                }
                EdgeSeedBatch {
                    index,
                    targets,
                    rng_seed: rng_seed(index),
                }
            })
            .collect()
    }
}

fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut r = NodeRng::new(seed, 0);
    for i in (1..v.len()).rev() {
        let j = r.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

/// Hard negatives of one edge type: the int64 `[E, m]` edge data `field` and how many to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardNegatives {
    /// Edge data name (GraphStorm's `train_etypes_negative_dstnode`).
    pub field: String,
    /// Hard negatives per positive (`num_train_hard_negatives`).
    pub num: usize,
}

/// Options of a link-prediction training batch.
#[derive(Debug, Clone, PartialEq)]
pub struct LpTrainOptions {
    /// The negative sampler.
    pub sampler: NegativeSampler,
    /// Negatives per positive (`num_negative_edges`, GraphStorm's default 16).
    pub num_negatives: usize,
    /// Hard negatives per target edge type.
    pub hard_negatives: BTreeMap<EdgeType, HardNegatives>,
    /// Neighbour sampling of the batch (fanouts, exclusion, edge mask). A `fast_*` sampler
    /// applies the edge mask after sampling whatever `mask_after_sampling` says.
    pub edges: EdgeBatchOptions,
}

/// Negative edges of one target edge type, in graph ids and as local indices into the batch's
/// output nodes (`src` into the source type's, `dst` into the destination type's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegativePairs {
    /// Negatives per positive: the first `B · per_positive` pairs are positive `i`'s at
    /// `i · per_positive ..`; `inbatch_joint` appends its in-batch pairs after them.
    pub per_positive: usize,
    /// Graph ids of the negative sources.
    pub src_ids: Vec<NodeId>,
    /// Graph ids of the negative destinations.
    pub dst_ids: Vec<NodeId>,
    /// Local source indices.
    pub src: Vec<i64>,
    /// Local destination indices.
    pub dst: Vec<i64>,
}

/// A link-prediction training batch: the edge mini-batch (positives, blocks) and negatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LpBatch {
    /// Positives and blocks; negatives' nodes are among the output nodes.
    pub edges: EdgeMiniBatch,
    /// Negatives per target edge type.
    pub negatives: BTreeMap<EdgeType, NegativePairs>,
}

fn hard_array<'g>(
    graph: &'g HeteroGraph,
    et: &EdgeType,
    field: &str,
) -> Result<(&'g [i64], usize), EdgeSamplingError> {
    let bad = |reason: String| EdgeSamplingError::BadEdgeData {
        etype: et.to_string(),
        name: field.to_string(),
        reason,
        hint: "store negatives as an int64 [num_edges, m] edge array of destination ids, -1 for none",
    };
    let a = graph
        .edge_data(et, field)
        .ok_or_else(|| bad("the edge type has no such data".to_string()))?;
    if a.dtype() != DType::I64 {
        return Err(bad(format!("it is {}, not int64", a.dtype())));
    }
    Ok((a.as_i64().unwrap_or_default(), a.row_width()))
}

/// Samples a link-prediction training batch for `targets` (see the module docs).
pub fn sample_lp_batch(
    graph: &HeteroGraph,
    targets: &BTreeMap<EdgeType, Vec<EdgeId>>,
    opts: &LpTrainOptions,
    rng_seed: u64,
) -> Result<LpBatch, EdgeSamplingError> {
    let k = opts.num_negatives;
    let shape = opts.sampler.shape();
    let neg_seed = mix(rng_seed, NEG_STREAM);
    // Graph ids of every negative pair per etype.
    let mut raw: BTreeMap<EdgeType, (Vec<NodeId>, Vec<NodeId>)> = BTreeMap::new();
    for (t, (et, eids)) in targets.iter().enumerate() {
        let (src, dst) = edge_endpoints(graph, et, eids)?;
        let num_dst = graph.node_count(&et.dst)?;
        let b = eids.len();
        let seed = mix(neg_seed, t as u64);
        let (mut ns, mut nd) = (Vec::with_capacity(b * k), Vec::with_capacity(b * k));
        if num_dst > 0 && b > 0 {
            match shape {
                Shape::Uniform => {
                    for (i, &s) in src.iter().enumerate() {
                        let mut r = NodeRng::new(seed, i as u64);
                        for _ in 0..k {
                            ns.push(s);
                            nd.push(r.below(num_dst));
                        }
                    }
                }
                Shape::Joint | Shape::InbatchJoint => {
                    let mut r = NodeRng::new(seed, u64::MAX);
                    let pool: Vec<NodeId> = (0..b).map(|_| r.below(num_dst)).collect();
                    for j in 0..b * k {
                        ns.push(src[j / k]);
                        nd.push(pool[j % b]);
                    }
                }
            }
            if let Some(h) = opts.hard_negatives.get(et)
                && h.num > 0
            {
                let (arr, m) = hard_array(graph, et, &h.field)?;
                for (i, &e) in eids.iter().enumerate() {
                    let mut valid: Vec<i64> = arr[e as usize * m..(e as usize + 1) * m]
                        .iter()
                        .copied()
                        .filter(|&x| x >= 0)
                        .collect();
                    if let Some(&bad) = valid.iter().find(|&&x| x as u64 >= num_dst) {
                        return Err(EdgeSamplingError::BadEdgeData {
                            etype: et.to_string(),
                            name: h.field.clone(),
                            reason: format!(
                                "edge {e} lists node {bad}, beyond the {num_dst} nodes of `{}`",
                                et.dst
                            ),
                            hint: "hard negatives are destination node ids of the edge type",
                        });
                    }
                    shuffle(
                        &mut valid,
                        mix(mix(rng_seed, HARD_STREAM), (t as u64) << 40 | i as u64),
                    );
                    let n = h.num.min(valid.len()).min(k);
                    for j in 0..n {
                        nd[i * k + j] = valid[j] as NodeId;
                    }
                }
            }
            if shape == Shape::InbatchJoint && b > 1 {
                for (i, &s) in src.iter().enumerate() {
                    for j in (0..b).filter(|&j| j != i) {
                        ns.push(s);
                        nd.push(dst[j]);
                    }
                }
            }
        }
        raw.insert(et.clone(), (ns, nd));
    }
    let mut extra: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
    for (et, (_, nd)) in &raw {
        extra
            .entry(et.dst.clone())
            .or_default()
            .extend_from_slice(nd);
    }
    let mut edges_opts = opts.edges.clone();
    edges_opts.mask_after_sampling |= opts.sampler.is_fast();
    let (edges, extra_local) = sample_edge_batch(graph, targets, &extra, &edges_opts, rng_seed)?;
    let mut offset: BTreeMap<String, usize> = BTreeMap::new();
    let mut negatives = BTreeMap::new();
    for (et, (ns, nd)) in raw {
        let at = offset.entry(et.dst.clone()).or_insert(0);
        let dst_local = extra_local[&et.dst][*at..*at + nd.len()].to_vec();
        *at += nd.len();
        // Negative sources are positive sources: look them up among the output nodes.
        let pos = &edges.positives[&et];
        let src_local: Vec<i64> = (0..ns.len())
            .map(|j| {
                if j < pos.src.len() * k {
                    pos.src[j / k]
                } else {
                    // in-batch pairs: i-major over i != j
                    let b = pos.src.len();
                    pos.src[(j - b * k) / (b - 1)]
                }
            })
            .collect();
        negatives.insert(
            et,
            NegativePairs {
                per_positive: k,
                src_ids: ns,
                dst_ids: nd,
                src: src_local,
                dst: dst_local,
            },
        );
    }
    Ok(LpBatch { edges, negatives })
}

/// Evaluation batches per edge type, in order (no shuffling), with GraphStorm's
/// `fixed_test_size`: when set below an edge type's count, a seeded random subset of that many
/// edges is evaluated.
#[derive(Debug, Clone)]
pub struct EvalEdgeBatches {
    batches: Vec<(EdgeType, Vec<EdgeId>, u64)>,
}

impl EvalEdgeBatches {
    /// Batches of `batch_size` (at least 1) over `targets`.
    pub fn new(
        targets: &BTreeMap<EdgeType, Vec<EdgeId>>,
        batch_size: usize,
        fixed_test_size: Option<usize>,
        seed: u64,
    ) -> Result<Self, EdgeSamplingError> {
        if batch_size == 0 {
            return Err(EdgeSamplingError::BadParam {
                name: "eval_batch_size",
                value: "0".to_string(),
                expected: "at least 1",
            });
        }
        let mut batches = Vec::new();
        for (t, (et, eids)) in targets.iter().enumerate() {
            let mut ids = eids.clone();
            if let Some(n) = fixed_test_size
                && n < ids.len()
            {
                shuffle(&mut ids, mix(mix(seed, 0x4649_5845), t as u64)); // "FIXE"
                ids.truncate(n);
            }
            for (i, c) in ids.chunks(batch_size).enumerate() {
                batches.push((et.clone(), c.to_vec(), mix(mix(seed, t as u64), i as u64)));
            }
        }
        Ok(EvalEdgeBatches { batches })
    }

    /// The batches: edge type, edge ids and a sampling seed.
    pub fn batches(&self) -> &[(EdgeType, Vec<EdgeId>, u64)] {
        &self.batches
    }
}

/// How evaluation negatives are formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LpEvalOptions {
    /// `k` corrupted destinations and `k` corrupted sources per positive (`uniform`).
    Uniform(usize),
    /// `k` corrupted destinations and sources shared by the batch (`joint`, GraphStorm's
    /// default `eval_negative_sampler`).
    Joint(usize),
    /// Predefined destinations from an int64 `[E, m]` edge data array (`fixed`).
    Fixed(String),
    /// Rank against every node of the destination type; `filtered` leaves out the other true
    /// destinations of the positive's source ([`TrueEdges`] must be given).
    FullRanking {
        /// Filtered (true) or raw (false) ranking.
        filtered: bool,
    },
}

/// Evaluation negatives of a batch (graph ids; evaluation scores pairs, not blocks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalNegatives {
    /// `[B · k]` corrupted sources and destinations, positive `i`'s at `i · k ..`.
    PerPositive {
        /// Negatives per positive.
        k: usize,
        /// Corrupted sources (pair with the positive's destination).
        neg_src: Vec<NodeId>,
        /// Corrupted destinations (pair with the positive's source).
        neg_dst: Vec<NodeId>,
    },
    /// `k` corrupted sources and `k` destinations shared by every positive of the batch.
    Shared {
        /// Shared corrupted sources.
        neg_src: Vec<NodeId>,
        /// Shared corrupted destinations.
        neg_dst: Vec<NodeId>,
    },
    /// Predefined destinations, `[B · k]`.
    Fixed {
        /// Negatives per positive.
        k: usize,
        /// The destinations.
        neg_dst: Vec<NodeId>,
    },
    /// Every node of the destination type is a candidate.
    AllNodes {
        /// Number of candidate destinations.
        num_candidates: u64,
        /// Filtered ranking: per positive, the destinations not to count (the source's other
        /// true destinations, ascending, without the positive's own). `None` = raw ranking.
        exclude: Option<Vec<Vec<NodeId>>>,
    },
}

/// A link-prediction evaluation batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LpEvalBatch {
    /// The edge type.
    pub etype: EdgeType,
    /// Positive sources.
    pub pos_src: Vec<NodeId>,
    /// Positive destinations.
    pub pos_dst: Vec<NodeId>,
    /// The negatives.
    pub negatives: EvalNegatives,
}

/// Every true edge of an edge type by source: the filter of filtered ranking.
#[derive(Debug, Clone)]
pub struct TrueEdges {
    etype: EdgeType,
    indptr: Vec<u64>,
    dsts: Vec<NodeId>,
}

impl TrueEdges {
    /// Indexes all edges of `etype` by source (an out-edge CSR with sorted destinations).
    pub fn new(graph: &HeteroGraph, etype: &EdgeType) -> Result<Self, EdgeSamplingError> {
        let csc = graph.csc_of(etype)?;
        let n = graph.node_count(&etype.src)? as usize;
        let mut indptr = vec![0u64; n + 1];
        for &s in csc.indices() {
            indptr[s as usize + 1] += 1;
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        let mut next = indptr[..n].to_vec();
        let mut dsts = vec![0; csc.indices().len()];
        for v in 0..csc.num_dst() {
            for &s in csc.in_edges(v).1 {
                dsts[next[s as usize] as usize] = v;
                next[s as usize] += 1;
            }
        }
        Ok(TrueEdges {
            etype: etype.clone(),
            indptr,
            dsts,
        })
    }

    /// The edge type indexed.
    pub fn etype(&self) -> &EdgeType {
        &self.etype
    }

    /// True destinations of source `u`, ascending (with repeats for repeated edges).
    pub fn dsts_of(&self, u: NodeId) -> &[NodeId] {
        let u = u as usize;
        if u + 1 >= self.indptr.len() {
            return &[];
        }
        &self.dsts[self.indptr[u] as usize..self.indptr[u + 1] as usize]
    }
}

/// Builds an evaluation batch for edges `eids` of `etype`.
pub fn sample_lp_eval_batch(
    graph: &HeteroGraph,
    etype: &EdgeType,
    eids: &[EdgeId],
    opts: &LpEvalOptions,
    rng_seed: u64,
    true_edges: Option<&TrueEdges>,
) -> Result<LpEvalBatch, EdgeSamplingError> {
    let (pos_src, pos_dst) = edge_endpoints(graph, etype, eids)?;
    let ns = graph.node_count(&etype.src)?;
    let nd = graph.node_count(&etype.dst)?;
    let b = eids.len();
    let negatives = match opts {
        LpEvalOptions::Uniform(k) => {
            let (mut neg_src, mut neg_dst) = (Vec::with_capacity(b * k), Vec::with_capacity(b * k));
            for i in 0..b {
                let mut r = NodeRng::new(mix(rng_seed, NEG_STREAM), i as u64);
                let mut rs = NodeRng::new(mix(rng_seed, SRC_STREAM), i as u64);
                for _ in 0..*k {
                    neg_dst.push(r.below(nd.max(1)));
                    neg_src.push(rs.below(ns.max(1)));
                }
            }
            EvalNegatives::PerPositive {
                k: *k,
                neg_src,
                neg_dst,
            }
        }
        LpEvalOptions::Joint(k) => {
            let mut r = NodeRng::new(rng_seed, NEG_STREAM);
            let mut rs = NodeRng::new(rng_seed, SRC_STREAM);
            EvalNegatives::Shared {
                neg_dst: (0..*k).map(|_| r.below(nd.max(1))).collect(),
                neg_src: (0..*k).map(|_| rs.below(ns.max(1))).collect(),
            }
        }
        LpEvalOptions::Fixed(field) => {
            let (arr, m) = hard_array(graph, etype, field)?;
            let mut neg_dst = Vec::with_capacity(b * m);
            for &e in eids {
                let row = &arr[e as usize * m..(e as usize + 1) * m];
                if let Some(&x) = row.iter().find(|&&x| x < 0 || x as u64 >= nd) {
                    return Err(EdgeSamplingError::BadEdgeData {
                        etype: etype.to_string(),
                        name: field.clone(),
                        reason: format!(
                            "edge {e} has negative entry {x}; fixed evaluation needs {m} valid destinations for every edge"
                        ),
                        hint: "fill every row of the fixed negatives (GraphStorm's HardEdgeDstNegativeTransform pads with -1, which `fixed` refuses)",
                    });
                }
                neg_dst.extend(row.iter().map(|&x| x as NodeId));
            }
            EvalNegatives::Fixed { k: m, neg_dst }
        }
        LpEvalOptions::FullRanking { filtered } => {
            let exclude = if *filtered {
                let t = true_edges.filter(|t| t.etype() == etype).ok_or_else(|| {
                    EdgeSamplingError::BadParam {
                        name: "true_edges",
                        value: "none for this edge type".to_string(),
                        expected: "TrueEdges::new(graph, etype) for filtered ranking",
                    }
                })?;
                Some(
                    pos_src
                        .iter()
                        .zip(&pos_dst)
                        .map(|(&u, &v)| {
                            let mut d: Vec<NodeId> =
                                t.dsts_of(u).iter().copied().filter(|&x| x != v).collect();
                            d.dedup();
                            d
                        })
                        .collect(),
                )
            } else {
                None
            };
            EvalNegatives::AllNodes {
                num_candidates: nd,
                exclude,
            }
        }
    };
    Ok(LpEvalBatch {
        etype: etype.clone(),
        pos_src,
        pos_dst,
        negatives,
    })
}

/// Rank of the positive destination `pos` among all candidates by `scores` (one per
/// destination node): 1 + the number of other candidates, not in `exclude` (ascending), that
/// score at least as high (ties count against the positive).
pub fn rank_among_all(scores: &[f32], pos: NodeId, exclude: &[NodeId]) -> u64 {
    let p = scores[pos as usize];
    let mut rank = 1;
    let mut j = 0;
    for (c, &s) in scores.iter().enumerate() {
        let c = c as NodeId;
        while j < exclude.len() && exclude[j] < c {
            j += 1;
        }
        if c == pos || (j < exclude.len() && exclude[j] == c) {
            continue;
        }
        if s >= p {
            rank += 1;
        }
    }
    rank
}

#[cfg(test)]
mod tests;

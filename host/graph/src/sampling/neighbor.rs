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
//! - Randomness: each destination node draws from its own generator (SplitMix64, no allocation)
//!   seeded from `(rng_seed, layer, edge type id, node id)`, picking its neighbours with Floyd's
//!   algorithm, so the result depends only on the graph, the seeds, the fanouts and `rng_seed` —
//!   not on the number of threads. The same node therefore
//!   draws the same neighbours in every batch with the same `rng_seed`: give each batch its own
//!   seed (as [`crate::SeedBatches`] does).
//! - Speed: both passes over the destinations (sizes, then picks) run in parallel with
//!   prefetching ahead. Sources are relabelled through a pooled dense per-node array: in one
//!   ordered walk on pools of up to 3 threads, and on wider pools in parallel (claim each node's
//!   first position with an atomic minimum, then number first appearances in position order);
//!   both give exactly the sequential order. Node types above 2^28 nodes use a hash map.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

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
    let dst = output_nodes(graph, [(target_ntype, seeds)], "seed")?;
    let (layers, input_nodes) = sample_core(graph, dst, fanouts, rng_seed, None)?;
    Ok(MiniBatch {
        target_ntype: target_ntype.to_string(),
        seeds: seeds.to_vec(),
        layers,
        input_nodes,
    })
}

/// Every in-neighbour of `dst` (distinct ids per node type; types not listed get none) over
/// `num_layers` layers: the blocks full-neighbour inference runs on, as for a real-time
/// request's subgraph, whose targets may be of several node types. Returns the layers,
/// input-most first, and the input nodes; the last layer's destination nodes are `dst`, in order.
pub fn sample_all_neighbors(
    graph: &HeteroGraph,
    dst: &BTreeMap<String, Vec<NodeId>>,
    num_layers: usize,
) -> Result<(Vec<LayerBlocks>, BTreeMap<String, Vec<NodeId>>), GraphError> {
    let given = dst.iter().map(|(t, ids)| (t.as_str(), ids.as_slice()));
    let dst = output_nodes(graph, given, "target")?;
    sample_core(graph, dst, &super::full_fanouts(num_layers), 0, None)
}

/// The last layer's destination nodes of a batch: every node type of `graph`, with the ids
/// `given` for some (each list checked in range and distinct; `what` names them in errors),
/// none for the others.
fn output_nodes<'a>(
    graph: &HeteroGraph,
    given: impl IntoIterator<Item = (&'a str, &'a [NodeId])>,
    what: &str,
) -> Result<BTreeMap<String, Vec<NodeId>>, GraphError> {
    let mut dst: BTreeMap<String, Vec<NodeId>> = graph
        .node_types()
        .map(|nt| (nt.to_string(), Vec::new()))
        .collect();
    for (ntype, ids) in given {
        check_ids(ids, graph.node_count(ntype)?, ntype, || what.to_string())?;
        check_distinct(ntype, ids)?;
        dst.insert(ntype.to_string(), ids.to_vec());
    }
    Ok(dst)
}

pub(crate) fn check_distinct(ntype: &str, seeds: &[NodeId]) -> Result<(), GraphError> {
    let mut seen = HashSet::with_capacity_and_hasher(seeds.len(), IdBuildHasher::default());
    if let Some(&dup) = seeds.iter().find(|&&s| !seen.insert(s)) {
        return Err(GraphError::DuplicateSeed {
            ntype: ntype.to_string(),
            id: dup,
        });
    }
    Ok(())
}

/// Which edges the sampler may take, per edge type (indexed in the graph's sorted edge-type
/// order). Used by edge mini-batches.
#[derive(Debug, Default)]
pub(crate) struct EdgeFilter<'a> {
    /// Edge ids that must never be sampled, sorted ascending (e.g. the batch's target edges and
    /// their reverses). Empty when none.
    pub(crate) excluded: Vec<Vec<EdgeId>>,
    /// A 0/1 mask per edge: only edges with a non-zero entry may be used for message passing.
    pub(crate) mask: Vec<Option<std::borrow::Cow<'a, [u8]>>>,
    /// Apply `mask` after sampling (GraphStorm's `fast_*` loaders: sample among all edges, then
    /// drop masked-out ones) instead of before (sample among allowed edges only).
    pub(crate) mask_after: bool,
}

/// Graph node ids per node type.
pub(crate) type NodesByType = BTreeMap<String, Vec<NodeId>>;

/// Samples the layers for the given destination nodes of the output layer (every node type
/// listed, possibly empty; ids checked and distinct). Returns the layers, input-most first, and
/// the input nodes.
pub(crate) fn sample_core(
    graph: &HeteroGraph,
    mut dst: BTreeMap<String, Vec<NodeId>>,
    fanouts: &[Fanout],
    rng_seed: u64,
    filter: Option<&EdgeFilter<'_>>,
) -> Result<(Vec<LayerBlocks>, NodesByType), GraphError> {
    let etypes: Vec<&EdgeType> = graph.edge_types().collect();
    let counts: Vec<Vec<Option<usize>>> = fanouts
        .iter()
        .enumerate()
        .map(|(layer, f)| resolve(layer, f, &etypes))
        .collect::<Result<_, _>>()?;
    let mut layers = Vec::with_capacity(fanouts.len());
    for layer in (0..fanouts.len()).rev() {
        let lb = sample_layer(
            graph,
            &etypes,
            &counts[layer],
            &dst,
            layer,
            rng_seed,
            filter,
        );
        dst = lb.src_nodes.clone();
        layers.push(lb);
    }
    layers.reverse();
    Ok((layers, dst))
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
    filter: Option<&EdgeFilter<'_>>,
) -> LayerBlocks {
    // 1. Sample every edge type (parallel over destinations).
    let sampled: Vec<Sampled> = etypes
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(etype_id, (&et, &count))| {
            let csc = graph.csc(et).expect("edge type listed by the graph");
            let seed = mix(mix(rng_seed, layer as u64), etype_id as u64);
            let f = filter.map(|f| EtypeFilter {
                excluded: f.excluded.get(etype_id).map_or(&[][..], Vec::as_slice),
                mask: f.mask.get(etype_id).and_then(|m| m.as_deref()),
                mask_after: f.mask_after,
            });
            sample_etype(csc, &dst[&et.dst], count, seed, f)
        })
        .collect();
    // 2. Relabel sources per node type, walking edge types in order (first appearance).
    let mut src_nodes = BTreeMap::new();
    let mut locals: Vec<Option<Vec<i64>>> = (0..etypes.len()).map(|_| None).collect();
    for (ntype, prefix) in dst {
        let members: Vec<usize> = (0..etypes.len())
            .filter(|&i| etypes[i].src == *ntype)
            .collect();
        let parts: Vec<&[NodeId]> = members
            .iter()
            .map(|&i| sampled[i].srcs.as_slice())
            .collect();
        let num_nodes = graph.num_nodes(ntype).unwrap_or(0);
        let (nodes, local) = relabel(prefix, &parts, num_nodes, DENSE_MAX_NODES);
        for (i, l) in members.into_iter().zip(local) {
            locals[i] = Some(l);
        }
        src_nodes.insert(ntype.clone(), nodes);
    }
    let blocks = etypes
        .iter()
        .zip(sampled)
        .zip(locals)
        .map(|((&et, s), l)| Block {
            etype: et.clone(),
            num_src: src_nodes[&et.src].len(),
            num_dst: dst[&et.dst].len(),
            src: l.expect("every edge type's source type is listed"),
            dst: s.dst,
            edge_ids: s.eids,
        })
        .collect();
    let dst_counts = dst.iter().map(|(k, v)| (k.clone(), v.len())).collect();
    LayerBlocks {
        src_nodes,
        dst_counts,
        blocks,
    }
}

/// The sampled edges of one edge type: edge ids, their source node ids and local destination
/// indices, grouped by destination.
struct Sampled {
    eids: Vec<EdgeId>,
    srcs: Vec<NodeId>,
    dst: Vec<i64>,
}

#[derive(Clone, Copy)]
struct EtypeFilter<'a> {
    excluded: &'a [EdgeId],
    mask: Option<&'a [u8]>,
    mask_after: bool,
}

impl EtypeFilter<'_> {
    /// Excluded edge ids inside `range`.
    fn excluded_in(&self, a: EdgeId, b: EdgeId) -> &[EdgeId] {
        let lo = self.excluded.partition_point(|&e| e < a);
        let hi = self.excluded.partition_point(|&e| e < b);
        &self.excluded[lo..hi]
    }

    /// True when candidates must be listed one by one for the edges `a..b`.
    fn restricts(&self, a: EdgeId, b: EdgeId) -> bool {
        (self.mask.is_some() && !self.mask_after) || !self.excluded_in(a, b).is_empty()
    }

    /// The edges of `a..b` the sampler may draw from.
    fn candidates(&self, a: EdgeId, b: EdgeId, out: &mut Vec<EdgeId>) {
        out.clear();
        let ex = self.excluded_in(a, b);
        let mut j = 0;
        for e in a..b {
            if j < ex.len() && ex[j] == e {
                j += 1;
                continue;
            }
            if !self.mask_after && self.mask.is_some_and(|m| m[e as usize] == 0) {
                continue;
            }
            out.push(e);
        }
    }
}

/// Hints the CPU to start loading `x`'s cache line: sampling is bound by random reads, and
/// asking a few iterations ahead keeps several misses in flight.
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, and the pointer comes from a reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (x as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// How many items ahead to prefetch.
const AHEAD: usize = 8;

/// Destinations per parallel task.
const DST_CHUNK: usize = 64;

/// Samples the in-edges of each of `dst_ids` in parallel (two passes: sizes, then edges).
fn sample_etype(
    csc: &crate::Csc,
    dst_ids: &[NodeId],
    count: Option<usize>,
    seed: u64,
    filter: Option<EtypeFilter<'_>>,
) -> Sampled {
    let ip = csc.indptr();
    let ix = csc.indices();
    if count == Some(0) || dst_ids.is_empty() || ix.is_empty() {
        return Sampled {
            eids: Vec::new(),
            srcs: Vec::new(),
            dst: Vec::new(),
        };
    }
    let take = |avail: usize| count.map_or(avail, |k| k.min(avail));
    let sizes: Vec<usize> = dst_ids
        .par_iter()
        .enumerate()
        .with_min_len(512)
        .map_init(Vec::new, |cand, (di, &v)| {
            if let Some(&w) = dst_ids.get(di + AHEAD) {
                prefetch(&ip[w as usize]);
            }
            let (a, b) = (ip[v as usize], ip[v as usize + 1]);
            match filter {
                Some(f) if f.restricts(a, b) => {
                    f.candidates(a, b, cand);
                    take(cand.len())
                }
                _ => take((b - a) as usize),
            }
        })
        .collect();
    let mut offsets = Vec::with_capacity(sizes.len() + 1);
    let mut acc = 0usize;
    offsets.push(0);
    for s in &sizes {
        acc += s;
        offsets.push(acc);
    }
    let mut eids = vec![0 as EdgeId; acc];
    let mut srcs = vec![0 as NodeId; acc];
    let mut dstl = vec![0i64; acc];
    {
        let mut tasks = Vec::with_capacity(dst_ids.len().div_ceil(DST_CHUNK));
        let (mut re, mut rs, mut rd) = (&mut eids[..], &mut srcs[..], &mut dstl[..]);
        for c in 0..dst_ids.len().div_ceil(DST_CHUNK) {
            let (lo, hi) = (c * DST_CHUNK, ((c + 1) * DST_CHUNK).min(dst_ids.len()));
            let len = offsets[hi] - offsets[lo];
            let (e, e2) = std::mem::take(&mut re).split_at_mut(len);
            let (s, s2) = std::mem::take(&mut rs).split_at_mut(len);
            let (d, d2) = std::mem::take(&mut rd).split_at_mut(len);
            (re, rs, rd) = (e2, s2, d2);
            tasks.push((lo, hi, e, s, d));
        }
        tasks.into_par_iter().for_each(|(lo, hi, e, s, d)| {
            let mut picked: Vec<u64> = Vec::new();
            let mut cand: Vec<EdgeId> = Vec::new();
            let mut at = 0usize;
            for (di, &v) in dst_ids.iter().enumerate().take(hi).skip(lo) {
                if let Some(&w) = dst_ids.get(di + AHEAD)
                    && di + AHEAD < hi
                {
                    prefetch(&ix[ip[w as usize].min(ix.len() as u64 - 1) as usize]);
                }
                let n = sizes[di];
                if n == 0 {
                    continue;
                }
                let (a, b) = (ip[v as usize], ip[v as usize + 1]);
                let out = &mut e[at..at + n];
                let restricted = filter.is_some_and(|f| f.restricts(a, b));
                if restricted {
                    filter.expect("checked").candidates(a, b, &mut cand);
                    if n == cand.len() {
                        out.copy_from_slice(&cand);
                    } else {
                        let mut rng = NodeRng::new(seed, v);
                        pick(n, cand.len() as u64, &mut rng, &mut picked);
                        for (o, &p) in out.iter_mut().zip(&picked) {
                            *o = cand[p as usize];
                        }
                    }
                } else if n as u64 == b - a {
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = a + i as u64;
                    }
                } else {
                    let mut rng = NodeRng::new(seed, v);
                    pick(n, b - a, &mut rng, &mut picked);
                    for (o, &p) in out.iter_mut().zip(&picked) {
                        *o = a + p;
                    }
                }
                for i in at..at + n {
                    s[i] = ix[e[i] as usize];
                    d[i] = di as i64;
                }
                at += n;
            }
        });
    }
    let mut out = Sampled {
        eids,
        srcs,
        dst: dstl,
    };
    if let Some(EtypeFilter {
        mask: Some(m),
        mask_after: true,
        ..
    }) = filter
    {
        let keep: Vec<bool> = out.eids.iter().map(|&e| m[e as usize] != 0).collect();
        let mut i = 0;
        out.eids.retain(|_| (keep[i], i += 1).0);
        i = 0;
        out.srcs.retain(|_| (keep[i], i += 1).0);
        i = 0;
        out.dst.retain(|_| (keep[i], i += 1).0);
    }
    out
}

/// A destination node's own generator: SplitMix64 seeded from `(seed, node)`. Cheap to create
/// (no state beyond one word), so every node gets one without allocation.
pub(crate) struct NodeRng(u64);

impl NodeRng {
    pub(crate) fn new(seed: u64, node: NodeId) -> Self {
        NodeRng(mix(seed, node))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` by multiply-shift (bias below n / 2^64).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// `k` distinct offsets of `0..n` (`k < n`), uniformly, ascending, into `out`: Floyd's
/// algorithm, with a linear membership test for small `k` and a hash set above.
pub(crate) fn pick(k: usize, n: u64, rng: &mut NodeRng, out: &mut Vec<u64>) {
    out.clear();
    let k64 = k as u64;
    if k <= 64 {
        for j in n - k64..n {
            let t = rng.below(j + 1);
            out.push(if out.contains(&t) { j } else { t });
        }
    } else {
        let mut seen: HashSet<u64, IdBuildHasher> =
            HashSet::with_capacity_and_hasher(k, IdBuildHasher::default());
        for j in n - k64..n {
            let t = rng.below(j + 1);
            let x = if seen.contains(&t) { j } else { t };
            seen.insert(x);
            out.push(x);
        }
    }
    out.sort_unstable();
}

/// Node types up to this size relabel through a dense per-node scratch array (4 bytes a node,
/// pooled across calls); larger ones through a hash map on one thread.
const DENSE_MAX_NODES: u64 = 1 << 28;
/// Positions per parallel task when relabelling.
const POS_CHUNK: usize = 4096;
const UNSEEN: u32 = u32::MAX;

static SCRATCH: Mutex<Vec<Vec<AtomicU32>>> = Mutex::new(Vec::new());

fn take_scratch(n: usize) -> Vec<AtomicU32> {
    let mut pool = SCRATCH
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(i) = pool.iter().position(|s| s.len() >= n) {
        return pool.swap_remove(i);
    }
    drop(pool);
    (0..n)
        .into_par_iter()
        .map(|_| AtomicU32::new(UNSEEN))
        .collect()
}

fn put_scratch(s: Vec<AtomicU32>) {
    let mut pool = SCRATCH
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if pool.len() < 8 {
        pool.push(s);
    }
}

/// Local ids for the sources `parts` (one list per edge type, in order) of a node type whose
/// destination nodes are `prefix`: destination nodes keep their positions, other nodes are
/// numbered after them in order of first appearance. Returns the node list and the local id of
/// every source in `parts`.
fn relabel(
    prefix: &[NodeId],
    parts: &[&[NodeId]],
    num_nodes: u64,
    dense_max: u64,
) -> (Vec<NodeId>, Vec<Vec<i64>>) {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if total == 0 {
        return (prefix.to_vec(), parts.iter().map(|_| Vec::new()).collect());
    }
    let nd = prefix.len();
    if num_nodes > dense_max || (nd + total) as u64 >= u64::from(UNSEEN) {
        return relabel_hash(prefix, parts);
    }
    let slot = take_scratch(num_nodes as usize);
    let relaxed = Ordering::Relaxed;
    if rayon::current_num_threads() < PARALLEL_MIN_THREADS || total < SEQUENTIAL_BELOW {
        let out = relabel_sequential(prefix, parts, &slot);
        put_scratch(slot);
        return out;
    }
    prefix
        .par_iter()
        .with_min_len(POS_CHUNK)
        .enumerate()
        .for_each(|(i, &v)| slot[v as usize].store(i as u32, relaxed));
    let mut bases = Vec::with_capacity(parts.len());
    let mut acc = nd;
    for p in parts {
        bases.push(acc);
        acc += p.len();
    }
    // Claim: each node keeps the smallest position it appears at.
    parts.par_iter().zip(&bases).for_each(|(p, &base)| {
        p.par_iter()
            .with_min_len(POS_CHUNK)
            .enumerate()
            .for_each(|(i, &s)| {
                if let Some(&w) = p.get(i + AHEAD) {
                    prefetch(&slot[w as usize]);
                }
                let pos = (base + i) as u32;
                let cell = &slot[s as usize];
                if cell.load(relaxed) > pos {
                    cell.fetch_min(pos, relaxed);
                }
            });
    });
    // Each position's first-appearance position (or destination slot), read once; a position
    // whose node first appears there gets the next new local id, in position order.
    let claimed: Vec<Vec<u32>> = parts
        .par_iter()
        .map(|p| {
            p.par_iter()
                .with_min_len(POS_CHUNK)
                .enumerate()
                .map(|(i, &s)| {
                    if let Some(&w) = p.get(i + AHEAD) {
                        prefetch(&slot[w as usize]);
                    }
                    slot[s as usize].load(relaxed)
                })
                .collect()
        })
        .collect();
    // rank[pos - nd] = local id of the node first seen at `pos`: count first appearances per
    // chunk, then number them in position order, both in parallel.
    let chunks: Vec<(usize, usize, usize)> = parts
        .iter()
        .enumerate()
        .flat_map(|(pi, p)| {
            (0..p.len().div_ceil(POS_CHUNK))
                .map(move |c| (pi, c * POS_CHUNK, ((c + 1) * POS_CHUNK).min(p.len())))
        })
        .collect();
    let is_first = |pi: usize, i: usize| claimed[pi][i] as usize == bases[pi] + i;
    let firsts: Vec<usize> = chunks
        .par_iter()
        .map(|&(pi, lo, hi)| (lo..hi).filter(|&i| is_first(pi, i)).count())
        .collect();
    let num_new: usize = firsts.iter().sum();
    let mut rank = vec![0u32; total];
    let mut nodes = Vec::with_capacity(nd + num_new);
    nodes.extend_from_slice(prefix);
    nodes.resize(nd + num_new, 0);
    {
        let (mut rest_nodes, mut rest_rank) = (&mut nodes[nd..], &mut rank[..]);
        let mut tasks = Vec::with_capacity(chunks.len());
        let mut next_id = nd;
        for (&(pi, lo, hi), &f) in chunks.iter().zip(&firsts) {
            let (n_head, n_tail) = std::mem::take(&mut rest_nodes).split_at_mut(f);
            let (r_head, r_tail) = std::mem::take(&mut rest_rank).split_at_mut(hi - lo);
            (rest_nodes, rest_rank) = (n_tail, r_tail);
            tasks.push((pi, lo, hi, n_head, r_head, next_id));
            next_id += f;
        }
        tasks
            .into_par_iter()
            .for_each(|(pi, lo, hi, out, rk, mut id)| {
                let mut k = 0;
                for i in lo..hi {
                    if is_first(pi, i) {
                        rk[i - lo] = id as u32;
                        out[k] = parts[pi][i];
                        k += 1;
                        id += 1;
                    }
                }
            });
    }
    let locals: Vec<Vec<i64>> = claimed
        .par_iter()
        .map(|c| {
            c.par_iter()
                .with_min_len(POS_CHUNK)
                .map(|&m| {
                    let m = m as usize;
                    i64::from(if m < nd { m as u32 } else { rank[m - nd] })
                })
                .collect()
        })
        .collect();
    nodes
        .par_iter()
        .with_min_len(POS_CHUNK)
        .for_each(|&v| slot[v as usize].store(UNSEEN, relaxed));
    put_scratch(slot);
    (nodes, locals)
}

/// Below this many sources, or on pools of fewer than [`PARALLEL_MIN_THREADS`] threads,
/// relabelling walks the sources in order on the calling thread: one pass over the dense array
/// instead of three, with no atomic read-modify-writes. On the project's 2-core machine this
/// made 2-thread sampling about 1.3x faster than the parallel claim-and-number path.
const SEQUENTIAL_BELOW: usize = 1 << 14;
/// Pool width from which the parallel relabelling path is used (not measured on 2 cores).
const PARALLEL_MIN_THREADS: usize = 4;

/// [`relabel`] on the calling thread through the dense array `slot` (left clean).
fn relabel_sequential(
    prefix: &[NodeId],
    parts: &[&[NodeId]],
    slot: &[AtomicU32],
) -> (Vec<NodeId>, Vec<Vec<i64>>) {
    let relaxed = Ordering::Relaxed;
    let mut nodes = prefix.to_vec();
    for (i, &v) in prefix.iter().enumerate() {
        slot[v as usize].store(i as u32, relaxed);
    }
    let locals = parts
        .iter()
        .map(|p| {
            p.iter()
                .enumerate()
                .map(|(i, &s)| {
                    if let Some(&w) = p.get(i + AHEAD) {
                        prefetch(&slot[w as usize]);
                    }
                    let cell = &slot[s as usize];
                    let mut l = cell.load(relaxed);
                    if l == UNSEEN {
                        l = nodes.len() as u32;
                        cell.store(l, relaxed);
                        nodes.push(s);
                    }
                    i64::from(l)
                })
                .collect()
        })
        .collect();
    for &v in &nodes {
        slot[v as usize].store(UNSEEN, relaxed);
    }
    (nodes, locals)
}

/// [`relabel`] through a hash map, on one thread (huge node types).
fn relabel_hash(prefix: &[NodeId], parts: &[&[NodeId]]) -> (Vec<NodeId>, Vec<Vec<i64>>) {
    let mut nodes = prefix.to_vec();
    let mut index: HashMap<NodeId, usize, IdBuildHasher> =
        HashMap::with_capacity_and_hasher(nodes.len() * 2, IdBuildHasher::default());
    index.extend(nodes.iter().enumerate().map(|(i, &v)| (v, i)));
    let locals = parts
        .iter()
        .map(|p| {
            p.iter()
                .map(|&s| {
                    let next = nodes.len();
                    let l = *index.entry(s).or_insert_with(|| {
                        nodes.push(s);
                        next
                    });
                    l as i64
                })
                .collect()
        })
        .collect();
    (nodes, locals)
}

#[cfg(test)]
mod tests;

//! Graph generators for benchmarks and tests: a uniform random graph, an R-MAT (power-law)
//! graph, and Zachary's karate club as a small real fixture.
//!
//! The synthetic graphs have one node type [`SYNTHETIC_NTYPE`] and one edge type
//! [`synthetic_etype`], plus an optional float32 node feature `feat` of a given width (for
//! feature-gather benchmarks). Edges are drawn in fixed-size chunks, each from its own generator
//! seeded from `(seed, chunk)`, in parallel: the graph depends only on the parameters, never on
//! the number of threads. Self-loops and repeated edges are kept (as Graph500 keeps them).
//! Write a generated graph in gs's format with [`crate::write_partitioned`].

use rayon::prelude::*;

use crate::array::Array;
use crate::error::GraphError;
use crate::graph::HeteroGraph;
use crate::seed::mix;
use crate::types::{EdgeType, NodeId};

/// Node type of the synthetic graphs.
pub const SYNTHETIC_NTYPE: &str = "node";

/// Edges drawn per independently seeded chunk.
const CHUNK: usize = 1 << 16;

/// Edge type of the synthetic graphs: `node:to:node`.
pub fn synthetic_etype() -> EdgeType {
    EdgeType::new(SYNTHETIC_NTYPE, "to", SYNTHETIC_NTYPE)
}

/// How a synthetic graph's edges are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GraphKind {
    /// Both endpoints uniform over all nodes (Erdős–Rényi-like, `G(n, m)` with repeats).
    Uniform,
    /// R-MAT (Chakrabarti et al. 2004): each edge descends `ceil(log2 n)` levels of the adjacency
    /// matrix, choosing a quadrant with probabilities `a` (top-left), `b`, `c`, `d`; draws that
    /// land outside `n` are redrawn, and node labels are then permuted at random (as the
    /// Graph500 generator does) so that hubs are not the low ids.
    Rmat {
        /// Top-left quadrant probability.
        a: f64,
        /// Top-right quadrant probability.
        b: f64,
        /// Bottom-left quadrant probability.
        c: f64,
        /// Bottom-right quadrant probability.
        d: f64,
    },
}

impl GraphKind {
    /// R-MAT with Graph500's initiator: a = 0.57, b = 0.19, c = 0.19, d = 0.05.
    pub fn rmat_graph500() -> Self {
        GraphKind::Rmat {
            a: 0.57,
            b: 0.19,
            c: 0.19,
            d: 0.05,
        }
    }
}

/// Parameters of [`generate_synthetic`].
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticParams {
    /// How edges are drawn.
    pub kind: GraphKind,
    /// Number of nodes (at least 1).
    pub num_nodes: u64,
    /// Number of directed edges.
    pub num_edges: u64,
    /// Width of the float32 node feature `feat`; 0 adds no feature.
    pub feat_dim: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl SyntheticParams {
    /// A uniform random graph with `num_nodes` nodes and `num_edges` edges, no feature.
    pub fn uniform(num_nodes: u64, num_edges: u64, seed: u64) -> Self {
        SyntheticParams {
            kind: GraphKind::Uniform,
            num_nodes,
            num_edges,
            feat_dim: 0,
            seed,
        }
    }

    /// An R-MAT graph with Graph500's initiator, no feature.
    pub fn rmat(num_nodes: u64, num_edges: u64, seed: u64) -> Self {
        SyntheticParams {
            kind: GraphKind::rmat_graph500(),
            ..Self::uniform(num_nodes, num_edges, seed)
        }
    }

    fn validate(&self) -> Result<(), GraphError> {
        let bad = |name, value: String, expected| {
            Err(GraphError::BadParam {
                name,
                value,
                expected,
            })
        };
        if self.num_nodes == 0 || self.num_nodes > 1 << 48 {
            return bad(
                "num_nodes",
                self.num_nodes.to_string(),
                "between 1 and 2^48",
            );
        }
        if let GraphKind::Rmat { a, b, c, d } = self.kind {
            let ok = [a, b, c, d].iter().all(|p| p.is_finite() && *p >= 0.0)
                && ((a + b + c + d) - 1.0).abs() < 1e-6;
            if !ok {
                return bad(
                    "rmat",
                    format!("a={a}, b={b}, c={c}, d={d}"),
                    "four non-negative probabilities summing to 1",
                );
            }
        }
        Ok(())
    }
}

/// Builds a synthetic graph (see the module docs). Takes about a second for 1M nodes and
/// 10M edges on two cores.
pub fn generate_synthetic(p: &SyntheticParams) -> Result<HeteroGraph, GraphError> {
    p.validate()?;
    let n = p.num_nodes;
    let m = p.num_edges as usize;
    let num_chunks = m.div_ceil(CHUNK);
    let draw: Box<DrawEdge> = match p.kind {
        GraphKind::Uniform => Box::new(move |r: &mut SplitMix| (r.below(n), r.below(n))),
        GraphKind::Rmat { a, b, c, .. } => {
            let levels = 64 - (n - 1).leading_zeros().min(63);
            let levels = if n == 1 { 0 } else { levels };
            let (ta, tab, tabc) = (a, a + b, a + b + c);
            Box::new(move |r: &mut SplitMix| {
                loop {
                    let (mut s, mut d) = (0u64, 0u64);
                    for _ in 0..levels {
                        let u = r.unit();
                        let (bs, bd) = if u < ta {
                            (0, 0)
                        } else if u < tab {
                            (0, 1)
                        } else if u < tabc {
                            (1, 0)
                        } else {
                            (1, 1)
                        };
                        s = (s << 1) | bs;
                        d = (d << 1) | bd;
                    }
                    if s < n && d < n {
                        return (s, d);
                    }
                }
            })
        }
    };
    let mut src = vec![0 as NodeId; m];
    let mut dst = vec![0 as NodeId; m];
    src.par_chunks_mut(CHUNK)
        .zip(dst.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(chunk, (s, d))| {
            let mut r = SplitMix(mix(p.seed, chunk as u64));
            for (s, d) in s.iter_mut().zip(d.iter_mut()) {
                (*s, *d) = draw(&mut r);
            }
        });
    debug_assert_eq!(num_chunks, src.len().div_ceil(CHUNK));
    if matches!(p.kind, GraphKind::Rmat { .. }) {
        let perm = permutation(n, mix(p.seed, u64::MAX));
        src.par_iter_mut().for_each(|v| *v = perm[*v as usize]);
        dst.par_iter_mut().for_each(|v| *v = perm[*v as usize]);
    }
    let mut g = HeteroGraph::new();
    g.add_node_type(SYNTHETIC_NTYPE, n)?;
    let (indptr, indices) = coo_to_csc(n, &src, &dst);
    drop((src, dst));
    g.add_csc(&synthetic_etype(), indptr, indices)?;
    if p.feat_dim > 0 {
        let dim = p.feat_dim;
        let mut feat = vec![0f32; n as usize * dim];
        feat.par_chunks_mut(dim).enumerate().for_each(|(i, row)| {
            let mut r = SplitMix(mix(p.seed ^ 0xFEA7, i as u64));
            for x in row {
                *x = r.unit() as f32 * 2.0 - 1.0;
            }
        });
        g.set_node_data(
            SYNTHETIC_NTYPE,
            "feat",
            Array::from_f32(feat, &[n as usize, dim])?,
        )?;
    }
    Ok(g)
}

/// Draws one edge `(src, dst)`.
type DrawEdge = dyn Fn(&mut SplitMix) -> (NodeId, NodeId) + Sync;

/// A seeded random permutation of `0..n` (Fisher–Yates).
fn permutation(n: u64, seed: u64) -> Vec<NodeId> {
    let mut p: Vec<NodeId> = (0..n).collect();
    let mut r = SplitMix(seed);
    for i in (1..p.len()).rev() {
        let j = r.below(i as u64 + 1) as usize;
        p.swap(i, j);
    }
    p
}

/// CSC from edge lists, in parallel: counts per destination, then each destination's sources in
/// input order (the same order [`HeteroGraph::add_edges`] gives).
fn coo_to_csc(n: u64, src: &[NodeId], dst: &[NodeId]) -> (Vec<u64>, Vec<NodeId>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let n = n as usize;
    let counts: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    dst.par_iter().for_each(|&d| {
        counts[d as usize].fetch_add(1, Ordering::Relaxed);
    });
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0u64);
    let mut acc = 0u64;
    for c in &counts {
        acc += c.load(Ordering::Relaxed);
        indptr.push(acc);
    }
    // Stable scatter: sequential, so sources stay in input order within a destination.
    let mut next: Vec<u64> = indptr[..n].to_vec();
    let mut indices = vec![0 as NodeId; src.len()];
    for (&s, &d) in src.iter().zip(dst) {
        let slot = &mut next[d as usize];
        indices[*slot as usize] = s;
        *slot += 1;
    }
    (indptr, indices)
}

/// SplitMix64: a tiny, fast generator, good enough for graph generation.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (multiply-shift; bias below n / 2^64).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Node type of [`karate_club`].
pub const KARATE_NTYPE: &str = "member";

/// Zachary's karate club (W. W. Zachary, 1977; public domain): 34 members, 78 friendships, and
/// the faction each member joined after the club split (`label`: 0 = Mr. Hi, 1 = Officer, as
/// networkx's `club` attribute).
///
/// Node type [`KARATE_NTYPE`]; edge type `member:knows:member` holds each friendship in both
/// directions (156 edges). Node data: `label` (int64). Node ids are networkx's (0-based).
pub fn karate_club() -> HeteroGraph {
    let mut src = Vec::with_capacity(2 * KARATE_EDGES.len());
    let mut dst = Vec::with_capacity(2 * KARATE_EDGES.len());
    for &(a, b) in KARATE_EDGES {
        src.extend([a, b]);
        dst.extend([b, a]);
    }
    let mut g = HeteroGraph::new();
    let ok = "the karate club is a valid graph";
    g.add_node_type(KARATE_NTYPE, 34).expect(ok);
    g.add_edges(
        &EdgeType::new(KARATE_NTYPE, "knows", KARATE_NTYPE),
        &src,
        &dst,
    )
    .expect(ok);
    let officer = [
        9, 14, 15, 18, 20, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
    ];
    let label: Vec<i64> = (0..34).map(|i| i64::from(officer.contains(&i))).collect();
    g.set_node_data(
        KARATE_NTYPE,
        "label",
        Array::from_i64(label, &[34]).expect(ok),
    )
    .expect(ok);
    g
}

/// The 78 undirected friendships of Zachary's karate club, 0-based, `a < b`.
#[rustfmt::skip]
const KARATE_EDGES: &[(NodeId, NodeId)] = &[
    (0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6), (0, 7), (0, 8), (0, 10), (0, 11), (0, 12),
    (0, 13), (0, 17), (0, 19), (0, 21), (0, 31), (1, 2), (1, 3), (1, 7), (1, 13), (1, 17),
    (1, 19), (1, 21), (1, 30), (2, 3), (2, 7), (2, 8), (2, 9), (2, 13), (2, 27), (2, 28),
    (2, 32), (3, 7), (3, 12), (3, 13), (4, 6), (4, 10), (5, 6), (5, 10), (5, 16), (6, 16),
    (8, 30), (8, 32), (8, 33), (9, 33), (13, 33), (14, 32), (14, 33), (15, 32), (15, 33),
    (18, 32), (18, 33), (19, 33), (20, 32), (20, 33), (22, 32), (22, 33), (23, 25), (23, 27),
    (23, 29), (23, 32), (23, 33), (24, 25), (24, 27), (24, 31), (25, 31), (26, 29), (26, 33),
    (27, 33), (28, 31), (28, 33), (29, 32), (29, 33), (30, 32), (30, 33), (31, 32), (31, 33),
    (32, 33),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn karate_club_is_zacharys() {
        let g = karate_club();
        let et = EdgeType::new(KARATE_NTYPE, "knows", KARATE_NTYPE);
        assert_eq!(KARATE_EDGES.len(), 78);
        assert_eq!((g.total_nodes(), g.total_edges()), (34, 156));
        let csc = g.csc(&et).unwrap();
        assert_eq!(
            (csc.in_degree(0), csc.in_degree(33), csc.in_degree(32)),
            (16, 17, 12)
        );
        let (labels, _) = g
            .gather_i64(KARATE_NTYPE, "label", &(0..34).collect::<Vec<_>>())
            .unwrap();
        assert_eq!(labels.iter().sum::<i64>(), 17);
        assert_eq!((labels[0], labels[33], labels[8], labels[9]), (0, 1, 0, 1));
        let mut seen = std::collections::HashSet::new();
        assert!(
            KARATE_EDGES
                .iter()
                .all(|&(a, b)| a < b && seen.insert((a, b)))
        );
    }

    #[test]
    fn synthetic_graphs_are_seeded_and_thread_independent() {
        for kind in [GraphKind::Uniform, GraphKind::rmat_graph500()] {
            let p = SyntheticParams {
                kind,
                num_nodes: 1000,
                num_edges: 200_000,
                feat_dim: 4,
                seed: 3,
            };
            let run = |threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| generate_synthetic(&p).unwrap())
            };
            let (a, b) = (run(1), run(3));
            let et = synthetic_etype();
            assert_eq!(a.num_edges(&et), Some(200_000));
            assert_eq!(a.csc(&et).unwrap().indices(), b.csc(&et).unwrap().indices());
            assert_eq!(a.csc(&et).unwrap().indptr(), b.csc(&et).unwrap().indptr());
            assert_eq!(
                a.node_array(SYNTHETIC_NTYPE, "feat").unwrap().as_f32(),
                b.node_array(SYNTHETIC_NTYPE, "feat").unwrap().as_f32()
            );
            let other = generate_synthetic(&SyntheticParams {
                seed: 4,
                ..p.clone()
            })
            .unwrap();
            assert_ne!(
                a.csc(&et).unwrap().indices(),
                other.csc(&et).unwrap().indices()
            );
            let ip = a.csc(&et).unwrap().indptr();
            let max_deg = ip.windows(2).map(|w| w[1] - w[0]).max().unwrap();
            if kind == GraphKind::Uniform {
                assert!(
                    max_deg < 400,
                    "uniform in-degrees stay near 200, max {max_deg}"
                );
            } else {
                assert!(max_deg > 1000, "R-MAT has hubs, max in-degree {max_deg}");
            }
        }
        let bad = SyntheticParams {
            kind: GraphKind::Rmat {
                a: 0.5,
                b: 0.5,
                c: 0.5,
                d: 0.0,
            },
            ..SyntheticParams::uniform(10, 10, 0)
        };
        assert!(
            generate_synthetic(&bad)
                .unwrap_err()
                .to_string()
                .contains("summing to 1")
        );
        assert!(generate_synthetic(&SyntheticParams::uniform(0, 1, 0)).is_err());
    }

    #[test]
    fn synthetic_graphs_round_trip_through_the_format() {
        let p = SyntheticParams {
            feat_dim: 3,
            ..SyntheticParams::rmat(100, 500, 1)
        };
        let g = generate_synthetic(&p).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::write_partitioned(&g, &dir.path().join("rmat"), "rmat").unwrap();
        let back = crate::load(&cfg).unwrap();
        let et = synthetic_etype();
        assert_eq!(
            back.csc(&et).unwrap().indices(),
            g.csc(&et).unwrap().indices()
        );
        assert_eq!(
            back.node_array(SYNTHETIC_NTYPE, "feat").unwrap().as_f32(),
            g.node_array(SYNTHETIC_NTYPE, "feat").unwrap().as_f32()
        );
    }
}

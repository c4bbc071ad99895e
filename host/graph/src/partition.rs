//! Splitting a graph into parts: which part owns each node ([`PartAssignment`]), and the graph
//! renumbered so that each part's nodes are contiguous per type, as DGL reshuffles them
//! ([`reshuffle`]). Edges belong to the part of their destination node, so a part holds the
//! in-edges of its nodes, which is what a sampler on that part reads.
//!
//! Choosing the parts (random, METIS) lives in the gs-partition crate; this module only
//! applies an assignment, so gs-graph stays free of METIS.

use std::collections::BTreeMap;

use crate::error::GraphError;
use crate::graph::HeteroGraph;
use crate::types::{EdgeType, NodeId};

/// The part (`0..num_parts`) of every node, per node type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartAssignment {
    num_parts: u32,
    parts: BTreeMap<String, Vec<u32>>,
}

impl PartAssignment {
    /// An assignment of `graph`'s nodes: `parts[ntype][id]` is the part of node `id`. Every node
    /// type of the graph needs one entry per node, each below `num_parts`.
    pub fn new(
        graph: &HeteroGraph,
        num_parts: u32,
        parts: BTreeMap<String, Vec<u32>>,
    ) -> Result<Self, GraphError> {
        if num_parts == 0 {
            return Err(GraphError::BadParam {
                name: "num_parts",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        for nt in graph.node_types() {
            let n = graph.node_count(nt)?;
            let given = parts.get(nt).map_or(0, Vec::len);
            if given as u64 != n {
                return Err(GraphError::LengthMismatch {
                    what: format!("part assignment of node type `{nt}` vs its nodes"),
                    left: given,
                    right: n as usize,
                });
            }
        }
        if let Some(nt) = parts.keys().find(|nt| graph.num_nodes(nt).is_none()) {
            return Err(GraphError::UnknownNodeType {
                ntype: nt.clone(),
                known: graph.known_ntypes(),
            });
        }
        if let Some(&p) = parts.values().flatten().find(|&&p| p >= num_parts) {
            return Err(GraphError::BadParam {
                name: "part",
                value: p.to_string(),
                expected: "below num_parts (parts are numbered from 0)",
            });
        }
        Ok(PartAssignment { num_parts, parts })
    }

    /// Number of parts.
    pub fn num_parts(&self) -> u32 {
        self.num_parts
    }

    /// The part of each node of `ntype`.
    pub fn parts(&self, ntype: &str) -> Option<&[u32]> {
        self.parts.get(ntype).map(Vec::as_slice)
    }

    /// How many nodes of `ntype` each part owns.
    pub fn part_sizes(&self, ntype: &str) -> Vec<u64> {
        let mut sizes = vec![0u64; self.num_parts as usize];
        for &p in self.parts(ntype).unwrap_or_default() {
            sizes[p as usize] += 1;
        }
        sizes
    }

    /// Number of edges of `graph` whose two endpoints lie in different parts: the edges a
    /// distributed sampler has to fetch across machines.
    pub fn edge_cut(&self, graph: &HeteroGraph) -> u64 {
        graph
            .edge_types()
            .map(|et| {
                let (src, dst) = (&self.parts[&et.src], &self.parts[&et.dst]);
                let csc = graph.csc(et).expect("edge type listed by the graph");
                (0..csc.num_dst())
                    .map(|d| {
                        let (_, sources) = csc.in_edges(d);
                        let pd = dst[d as usize];
                        sources.iter().filter(|&&s| src[s as usize] != pd).count() as u64
                    })
                    .sum::<u64>()
            })
            .sum()
    }
}

/// How many nodes of each type and edges of each type every part holds, in part order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartLayout {
    pub(crate) nodes: Vec<BTreeMap<String, u64>>,
    pub(crate) edges: Vec<BTreeMap<EdgeType, u64>>,
}

impl PartLayout {
    /// The whole graph as one part.
    pub(crate) fn single(graph: &HeteroGraph) -> Self {
        PartLayout {
            nodes: vec![
                graph
                    .node_types()
                    .map(|nt| (nt.to_string(), graph.num_nodes(nt).unwrap_or(0)))
                    .collect(),
            ],
            edges: vec![
                graph
                    .edge_types()
                    .map(|et| (et.clone(), graph.num_edges(et).unwrap_or(0)))
                    .collect(),
            ],
        }
    }

    pub(crate) fn num_parts(&self) -> usize {
        self.nodes.len()
    }

    /// The `[start, end)` per-type id range of `ntype` in part `part` (parts are contiguous).
    pub(crate) fn node_range(&self, part: usize, ntype: &str) -> std::ops::Range<u64> {
        let start: u64 = self.nodes[..part].iter().map(|m| m[ntype]).sum();
        start..start + self.nodes[part][ntype]
    }
}

/// A graph renumbered for partitioning, with the way back to the input's ids.
#[derive(Debug, Clone)]
pub(crate) struct Reshuffled {
    /// The graph with part 0's nodes of each type first, then part 1's, ...; edges grouped the
    /// same way by destination. Raw ids and data arrays follow their nodes and edges.
    pub(crate) graph: HeteroGraph,
    pub(crate) layout: PartLayout,
    /// Per node type: the input graph's id of each new id (DGL's `node_mapping.pt`).
    pub(crate) node_mapping: BTreeMap<String, Vec<i64>>,
    /// Per edge type: the input graph's edge id of each new edge id.
    pub(crate) edge_mapping: BTreeMap<EdgeType, Vec<i64>>,
}

/// Renumbers `graph` so that each part of `assignment` is contiguous. Within a part, nodes keep
/// their relative order, and so do edges that share a destination.
pub(crate) fn reshuffle(
    graph: &HeteroGraph,
    assignment: &PartAssignment,
) -> Result<Reshuffled, GraphError> {
    let num_parts = assignment.num_parts as usize;
    let mut out = HeteroGraph::new();
    let mut new_to_old = BTreeMap::new();
    let mut old_to_new = BTreeMap::new();
    let mut nodes = vec![BTreeMap::new(); num_parts];
    for nt in graph.node_types() {
        let parts = &assignment.parts[nt];
        let sizes = assignment.part_sizes(nt);
        // Counting sort by part, stable in the old id.
        let mut next: Vec<u64> = sizes
            .iter()
            .scan(0u64, |acc, &s| {
                let start = *acc;
                *acc += s;
                Some(start)
            })
            .collect();
        let mut forward = vec![0 as NodeId; parts.len()];
        let mut backward = vec![0i64; parts.len()];
        for (old, &p) in parts.iter().enumerate() {
            let new = next[p as usize];
            next[p as usize] += 1;
            forward[old] = new;
            backward[new as usize] = old as i64;
        }
        for (p, &s) in sizes.iter().enumerate() {
            nodes[p].insert(nt.to_string(), s);
        }
        out.add_node_type(nt, parts.len() as u64)?;
        let rows: Vec<usize> = backward.iter().map(|&o| o as usize).collect();
        for (name, array) in graph.node_data_all(nt) {
            out.set_node_data(nt, name, array.take_rows(&rows))?;
        }
        if let Some(raw) = graph.raw_ids(nt) {
            let ids: Vec<NodeId> = backward.iter().map(|&o| o as NodeId).collect();
            let raw = raw.gather(&ids).expect("a permutation of the node ids");
            out.set_raw_ids(nt, raw)?;
        }
        old_to_new.insert(nt.to_string(), forward);
        new_to_old.insert(nt.to_string(), backward);
    }

    let mut edges = vec![BTreeMap::new(); num_parts];
    let mut edge_mapping = BTreeMap::new();
    for et in graph.edge_types() {
        let csc = graph.csc_of(et)?;
        let (src_map, dst_map) = (&old_to_new[&et.src], &old_to_new[&et.dst]);
        let mut src = Vec::with_capacity(csc.num_edges() as usize);
        let mut dst = Vec::with_capacity(csc.num_edges() as usize);
        for d in 0..csc.num_dst() {
            let (_, sources) = csc.in_edges(d);
            src.extend(sources.iter().map(|&s| src_map[s as usize]));
            dst.extend(std::iter::repeat_n(dst_map[d as usize], sources.len()));
        }
        // Input order is the old edge-id order, so `order[new]` is the old edge id.
        let order = out.add_edges(et, &src, &dst)?;
        for (name, array) in graph.edge_data_all(et) {
            out.set_edge_data(et, name, array.take_rows(&order))?;
        }
        let dst_parts = &assignment.parts[&et.dst];
        for d in 0..csc.num_dst() {
            *edges[dst_parts[d as usize] as usize]
                .entry(et.clone())
                .or_insert(0u64) += csc.in_degree(d);
        }
        for part in &mut edges {
            part.entry(et.clone()).or_insert(0);
        }
        edge_mapping.insert(et.clone(), order.into_iter().map(|o| o as i64).collect());
    }
    Ok(Reshuffled {
        graph: out,
        layout: PartLayout { nodes, edges },
        node_mapping: new_to_old,
        edge_mapping,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// users 0..4, items 0..3, `users:buys:items` edges with a weight equal to the edge's index.
    fn shop() -> HeteroGraph {
        let mut g = HeteroGraph::new();
        g.add_node_type("user", 4).unwrap();
        g.add_node_type("item", 3).unwrap();
        let et: EdgeType = "user:buys:item".parse().unwrap();
        let (src, dst) = (vec![0, 1, 2, 3, 3, 0], vec![0, 0, 1, 2, 0, 2]);
        let order = g.add_edges(&et, &src, &dst).unwrap();
        let w: Vec<f32> = order.iter().map(|&i| i as f32).collect();
        g.set_edge_data(&et, "w", crate::Array::from_f32(w, &[6]).unwrap())
            .unwrap();
        let feat = (0..4).map(|u| u as f32 * 10.0).collect();
        g.set_node_data("user", "f", crate::Array::from_f32(feat, &[4]).unwrap())
            .unwrap();
        g.set_raw_ids("user", crate::RawIds::from_strings(["a", "b", "c", "d"]))
            .unwrap();
        g
    }

    fn assign(g: &HeteroGraph, user: Vec<u32>, item: Vec<u32>) -> PartAssignment {
        let parts = [("user".to_string(), user), ("item".to_string(), item)].into();
        PartAssignment::new(g, 2, parts).unwrap()
    }

    #[test]
    fn assignments_are_checked_and_measured() {
        let g = shop();
        let a = assign(&g, vec![0, 1, 0, 1], vec![1, 0, 1]);
        assert_eq!(a.part_sizes("user"), [2, 2]);
        assert_eq!(a.part_sizes("item"), [1, 2]);
        // Edges by (user part -> item part): 0->1, 1->1, 0->0, 1->1, 1->1, 0->1: two cross.
        assert_eq!(a.edge_cut(&g), 2);
        let short = [
            ("user".to_string(), vec![0]),
            ("item".to_string(), vec![0; 3]),
        ]
        .into();
        let err = PartAssignment::new(&g, 2, short).unwrap_err().to_string();
        assert!(err.contains("`user`"), "{err}");
        let big = [
            ("user".to_string(), vec![0, 0, 0, 2]),
            ("item".to_string(), vec![0; 3]),
        ];
        assert!(PartAssignment::new(&g, 2, big.into()).is_err());
    }

    #[test]
    fn reshuffle_keeps_every_edge_feature_and_raw_id() {
        let g = shop();
        let a = assign(&g, vec![1, 0, 1, 0], vec![1, 0, 1]);
        let r = reshuffle(&g, &a).unwrap();
        assert_eq!(r.node_mapping["user"], [1, 3, 0, 2]);
        assert_eq!(r.node_mapping["item"], [1, 0, 2]);
        assert_eq!(r.layout.nodes[0]["user"], 2);
        assert_eq!(r.layout.node_range(1, "item"), 1..3);
        let et: EdgeType = "user:buys:item".parse().unwrap();
        // Item 1 (part 0) has one in-edge; items 0 and 2 (part 1) have five.
        assert_eq!(r.layout.edges[0][&et], 1);
        assert_eq!(r.layout.edges[1][&et], 5);
        // Every edge, by raw user id and old item id, with its weight, survives.
        let edges = |graph: &HeteroGraph, item_old: &dyn Fn(u64) -> u64| {
            let csc = graph.csc(&et).unwrap();
            let w = graph.edge_data(&et, "w").unwrap().as_f32().unwrap();
            let mut out = Vec::new();
            for d in 0..csc.num_dst() {
                let (ids, sources) = csc.in_edges(d);
                for (e, &s) in ids.zip(sources) {
                    let user = graph.raw_id("user", s).unwrap().to_string();
                    out.push((user, item_old(d), w[e as usize] as i64));
                }
            }
            out.sort();
            out
        };
        let mapping = r.node_mapping["item"].clone();
        assert_eq!(
            edges(&r.graph, &|d| mapping[d as usize] as u64),
            edges(&g, &|d| d)
        );
        let f = r.graph.node_data("user", "f").unwrap().as_f32().unwrap();
        assert_eq!(f, [10.0, 30.0, 0.0, 20.0]);
        assert_eq!(r.graph.raw_id("user", 0).unwrap().to_string(), "b");
        for (new, &old) in r.edge_mapping[&et].iter().enumerate() {
            let w = |graph: &HeteroGraph, e: usize| {
                graph.edge_data(&et, "w").unwrap().as_f32().unwrap()[e]
            };
            assert_eq!(w(&r.graph, new), w(&g, old as usize));
        }
    }
}

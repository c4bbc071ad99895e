//! The payloads of `gs bench serve`: cut from a generated user–item graph around rating
//! edges, as a client's k-hop query with limits returns them.

use std::collections::{BTreeMap, BTreeSet};

use gs_graph::{HeteroGraph, NodeId};
use serde_json::{Value, json};

/// A payload of the benchmark and its size.
pub(crate) struct BenchPayload {
    pub(crate) name: &'static str,
    pub(crate) body: Vec<u8>,
    pub(crate) nodes: usize,
    pub(crate) edges: usize,
    pub(crate) feature_dim: u64,
    pub(crate) targets: usize,
}

/// A tiny deterministic generator (SplitMix64) for choosing targets and neighbours.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    }
}

/// A payload around `targets` rating edges, as a client's k-hop query with limits returns
/// it: from the targets' endpoints, `fanouts[l]` in-neighbours per node and edge type at hop
/// `l`, each sampled edge sent in both directions; then edges among the chosen nodes until
/// there are `edges_per_node` per node. Features are sent as the model reads them.
pub(crate) fn cut_payload(
    name: &'static str,
    graph: &HeteroGraph,
    targets: usize,
    fanouts: &[usize],
    edges_per_node: usize,
    seed: u64,
) -> anyhow::Result<BenchPayload> {
    let mut rng = Rng(seed);
    let rates = gs_graph::user_item_etype();
    let csc = graph.csc_of(&rates)?;
    let mut nodes: BTreeMap<String, BTreeSet<NodeId>> = BTreeMap::new();
    let mut frontier: Vec<(String, NodeId)> = Vec::new();
    let mut target_edges = Vec::new();
    for _ in 0..targets {
        let e = rng.below(csc.num_edges() as usize) as u64;
        let (src, dst) = gs_graph::edge_endpoints(graph, &rates, &[e])?;
        target_edges.push((src[0], dst[0]));
        for (t, v) in [("user", src[0]), ("item", dst[0])] {
            if nodes.entry(t.to_string()).or_default().insert(v) {
                frontier.push((t.to_string(), v));
            }
        }
    }
    // (edge type, source, destination), each once.
    let mut edges: BTreeSet<(gs_graph::EdgeType, NodeId, NodeId)> = BTreeSet::new();
    let reverse = |et: &gs_graph::EdgeType| {
        graph
            .edge_types()
            .find(|r| r.src == et.dst && r.dst == et.src)
            .cloned()
    };
    for &fanout in fanouts {
        let mut next = Vec::new();
        for (ntype, v) in &frontier {
            for et in graph.edge_types().filter(|et| &et.dst == ntype) {
                let c = graph.csc_of(et)?;
                let (a, b) = (c.indptr()[*v as usize], c.indptr()[*v as usize + 1]);
                let degree = (b - a) as usize;
                for _ in 0..fanout.min(degree) {
                    let u = c.indices()[a as usize + rng.below(degree)];
                    edges.insert((et.clone(), u, *v));
                    if let Some(r) = reverse(et) {
                        edges.insert((r, *v, u));
                    }
                    if nodes.entry(et.src.clone()).or_default().insert(u) {
                        next.push((et.src.clone(), u));
                    }
                }
            }
        }
        frontier = next;
    }
    let node_count: usize = nodes.values().map(BTreeSet::len).sum();
    'fill: for et in graph.edge_types() {
        let (Some(srcs), Some(dsts)) = (nodes.get(&et.src), nodes.get(&et.dst)) else {
            continue;
        };
        let c = graph.csc_of(et)?;
        for &v in dsts {
            let (a, b) = (c.indptr()[v as usize], c.indptr()[v as usize + 1]);
            for &u in &c.indices()[a as usize..b as usize] {
                if edges.len() >= edges_per_node * node_count {
                    break 'fill;
                }
                if srcs.contains(&u) {
                    edges.insert((et.clone(), u, v));
                }
            }
        }
    }
    let mut node_values = Vec::new();
    let mut feature_dim = 0;
    for (ntype, ids) in &nodes {
        for &id in ids {
            let mut features = serde_json::Map::new();
            let mut width = 0;
            for f in ["feat", "group"] {
                let (row, w) = graph.gather_as_f32(ntype, f, &[id])?;
                width += w as u64;
                features.insert(f.to_string(), json!(row));
            }
            feature_dim = width;
            node_values.push(
                json!({"node_type": ntype, "node_id": raw(graph, ntype, id), "features": features}),
            );
        }
    }
    let edge_values: Vec<Value> = edges
        .iter()
        .map(|(et, u, v)| {
            json!({
                "edge_type": [et.src, et.rel, et.dst],
                "src_node_id": raw(graph, &et.src, *u),
                "dest_node_id": raw(graph, &et.dst, *v),
            })
        })
        .collect();
    let target_values: Vec<Value> = target_edges
        .iter()
        .map(|&(u, i)| {
            json!({"edge_type": ["user", "rates", "item"], "src_node_id": raw(graph, "user", u),
                   "dest_node_id": raw(graph, "item", i)})
        })
        .collect();
    let (n, e) = (node_values.len(), edge_values.len());
    let body = json!({"version": "gs-realtime-v0.1", "gml_task": "edge_regression",
                      "graph": {"nodes": node_values, "edges": edge_values}, "targets": target_values});
    Ok(BenchPayload {
        name,
        body: serde_json::to_vec(&body)?,
        nodes: n,
        edges: e,
        feature_dim,
        targets,
    })
}

fn raw(graph: &HeteroGraph, ntype: &str, id: NodeId) -> String {
    graph
        .raw_id(ntype, id)
        .map_or_else(|| id.to_string(), |r| r.to_string())
}

//! `metis`: METIS k-way on the graph with every edge type merged and made undirected (no self
//! loops, no duplicate neighbours), all node types numbered one after another.
//!
//! Balance constraints (METIS's multi-constraint `vwgt`), as DGL's `balance_ntypes`: one per
//! node type (1 for that type's nodes), so each part gets its share of every type, and one for
//! the nodes marked in the balance masks (training nodes), so every trainer gets about the
//! same number of seeds per epoch.

use std::collections::BTreeMap;
use std::sync::Mutex;

use gs_graph::HeteroGraph;
use metis::Idx;
use rayon::prelude::*;

use crate::{PartitionError, PartitionOptions};

/// METIS draws random numbers from libc's process-wide `rand()` (the vendored build has no
/// private generator), so two partitionings running at once would disturb each other's
/// sequence and results would no longer follow the seed. One METIS call at a time keeps them
/// reproducible.
static METIS_LOCK: Mutex<()> = Mutex::new(());

/// The largest node count or adjacency length METIS's 32-bit `idx_t` holds.
pub const METIS_INDEX_LIMIT: u64 = i32::MAX as u64;

/// Refuses graphs that METIS's 32-bit indices cannot address: `num_nodes` nodes, or
/// `adjacency` entries (twice the undirected edges without self loops).
pub fn check_metis_limits(num_nodes: u64, adjacency: u64) -> Result<(), PartitionError> {
    for (what, count) in [("nodes", num_nodes), ("adjacency entries", adjacency)] {
        if count > METIS_INDEX_LIMIT {
            return Err(PartitionError::MetisTooLarge {
                what,
                count,
                limit: METIS_INDEX_LIMIT,
            });
        }
    }
    Ok(())
}

pub(crate) fn assign(
    graph: &HeteroGraph,
    options: &PartitionOptions,
) -> Result<BTreeMap<String, Vec<u32>>, PartitionError> {
    let ntypes: Vec<&str> = graph.node_types().collect();
    let mut offsets = Vec::with_capacity(ntypes.len() + 1);
    offsets.push(0u64);
    for nt in &ntypes {
        offsets.push(offsets.last().unwrap() + graph.node_count(nt)?);
    }
    let num_nodes = *offsets.last().unwrap();
    // Upper bound before deduplication: both directions of every edge.
    check_metis_limits(num_nodes, 2 * graph.total_edges())?;
    let offset = |nt: &str| offsets[ntypes.iter().position(|t| *t == nt).expect("listed type")];

    let (xadj, adjncy) = undirected_adjacency(graph, num_nodes as usize, &offset);
    let (ncon, vwgt) = balance_weights(graph, &ntypes, &offsets, &options.balance_masks);

    let mut part = vec![0 as Idx; num_nodes as usize];
    if num_nodes > 0 && options.num_parts > 1 {
        let metis_err = |e: metis::Error| PartitionError::Metis(e.to_string());
        let _one_at_a_time = METIS_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        metis::Graph::new(ncon, options.num_parts as Idx, &xadj, &adjncy)
            .map_err(|e| PartitionError::Metis(e.to_string()))?
            .set_vwgt(&vwgt)
            .set_option(metis::option::Seed(options.seed as Idx))
            .part_kway(&mut part)
            .map_err(metis_err)?;
    }
    Ok(ntypes
        .iter()
        .zip(offsets.windows(2))
        .map(|(nt, w)| {
            let ids = &part[w[0] as usize..w[1] as usize];
            (nt.to_string(), ids.iter().map(|&p| p as u32).collect())
        })
        .collect())
}

/// CSR of the undirected simple graph over homogeneous ids (`offset(ntype) + id`).
fn undirected_adjacency(
    graph: &HeteroGraph,
    num_nodes: usize,
    offset: &dyn Fn(&str) -> u64,
) -> (Vec<Idx>, Vec<Idx>) {
    let mut rows: Vec<Vec<Idx>> = vec![Vec::new(); num_nodes];
    for et in graph.edge_types() {
        let csc = graph.csc(et).expect("edge type listed by the graph");
        let (src_off, dst_off) = (offset(&et.src), offset(&et.dst));
        for d in 0..csc.num_dst() {
            let v = (dst_off + d) as usize;
            for &s in csc.in_edges(d).1 {
                let u = (src_off + s) as usize;
                if u != v {
                    rows[u].push(v as Idx);
                    rows[v].push(u as Idx);
                }
            }
        }
    }
    rows.par_iter_mut().for_each(|r| {
        r.sort_unstable();
        r.dedup();
    });
    let mut xadj = Vec::with_capacity(num_nodes + 1);
    xadj.push(0 as Idx);
    let total: usize = rows.iter().map(Vec::len).sum();
    let mut adjncy = Vec::with_capacity(total);
    for r in rows {
        adjncy.extend_from_slice(&r);
        xadj.push(adjncy.len() as Idx);
    }
    (xadj, adjncy)
}

/// METIS's `vwgt` (node-major, `ncon` weights per node) and `ncon`: one constraint per node type
/// and one for masked nodes when any exist.
fn balance_weights(
    graph: &HeteroGraph,
    ntypes: &[&str],
    offsets: &[u64],
    masks: &[String],
) -> (Idx, Vec<Idx>) {
    let num_nodes = *offsets.last().unwrap() as usize;
    let mut marked = vec![false; num_nodes];
    for (t, nt) in ntypes.iter().enumerate() {
        for name in masks {
            let Some(mask) = graph.node_data(nt, name).and_then(|a| a.as_u8()) else {
                continue;
            };
            for (i, &m) in mask.iter().enumerate() {
                marked[offsets[t] as usize + i] |= m != 0;
            }
        }
    }
    let with_mask = marked.iter().any(|&m| m);
    let ncon = ntypes.len() + usize::from(with_mask);
    let mut vwgt = vec![0 as Idx; num_nodes * ncon];
    for (t, w) in offsets.windows(2).enumerate() {
        for v in w[0] as usize..w[1] as usize {
            vwgt[v * ncon + t] = 1;
            if with_mask && marked[v] {
                vwgt[v * ncon + ncon - 1] = 1;
            }
        }
    }
    (ncon.max(1) as Idx, vwgt)
}

//! `random`: every node type shuffled with a seed and dealt to the parts in turn, so part sizes
//! differ by at most one node per type. (GraphStorm draws each node's part independently,
//! which gives uneven parts; this keeps the randomness and removes the imbalance.)

use std::collections::BTreeMap;

use gs_graph::HeteroGraph;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64Mcg;

pub(crate) fn assign(graph: &HeteroGraph, num_parts: u32, seed: u64) -> BTreeMap<String, Vec<u32>> {
    graph
        .node_types()
        .enumerate()
        .map(|(type_id, nt)| {
            let n = graph.num_nodes(nt).unwrap_or(0) as usize;
            let mut order: Vec<usize> = (0..n).collect();
            let mut rng = Pcg64Mcg::seed_from_u64(
                seed ^ (type_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            order.shuffle(&mut rng);
            let mut parts = vec![0u32; n];
            for (position, &node) in order.iter().enumerate() {
                parts[node] = (position % num_parts as usize) as u32;
            }
            (nt.to_string(), parts)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_even_and_seeded() {
        let g = gs_graph::karate_club();
        let nt = gs_graph::KARATE_NTYPE;
        let a = assign(&g, 3, 7);
        let mut sizes = [0; 3];
        for &p in &a[nt] {
            sizes[p as usize] += 1;
        }
        // 34 members: 12, 11, 11.
        assert_eq!(sizes, [12, 11, 11]);
        assert_eq!(a, assign(&g, 3, 7));
        assert_ne!(a, assign(&g, 3, 8));
    }
}

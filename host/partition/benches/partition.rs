//! Partitioning quality and time, METIS against random, side by side in one run.
//!
//! `cargo bench -p gs-partition --bench partition` (`GS_BENCH_QUICK=1`: 100k nodes / 1M edges).
//!
//! On a uniform random graph and an R-MAT graph of 1M nodes and 10M edges, each with 10% of
//! nodes marked as training nodes, both methods split the graph into 2 and 4 parts. The bench
//! prints the time to choose the parts, the edge cut (edges whose endpoints lie in different
//! parts), the balance of training nodes and of all nodes (largest part over the mean), and
//! METIS's cut over random's.

use std::time::Instant;

use gs_graph::{
    Array, GraphKind, HeteroGraph, SYNTHETIC_NTYPE, SyntheticParams, generate_synthetic,
};
use gs_partition::{PartMethod, PartitionOptions, assign_parts};

fn max_over_mean(sizes: &[u64]) -> f64 {
    let total: u64 = sizes.iter().sum();
    *sizes.iter().max().unwrap() as f64 * sizes.len() as f64 / total.max(1) as f64
}

fn graph(kind: GraphKind, nodes: u64, edges: u64) -> HeteroGraph {
    let mut g = generate_synthetic(&SyntheticParams {
        kind,
        num_nodes: nodes,
        num_edges: edges,
        feat_dim: 0,
        seed: 11,
    })
    .unwrap();
    let mask: Vec<u8> = (0..nodes).map(|i| u8::from(i % 10 == 3)).collect();
    g.set_node_data(
        SYNTHETIC_NTYPE,
        "train_mask",
        Array::from_u8(mask, &[nodes as usize]).unwrap(),
    )
    .unwrap();
    g
}

fn main() {
    let quick = std::env::var_os("GS_BENCH_QUICK").is_some();
    let (nodes, edges) = if quick {
        (100_000, 1_000_000)
    } else {
        (1_000_000, 10_000_000)
    };
    println!("{nodes} nodes, {edges} edges, 10% training nodes");
    println!(
        "{:<8} {:>5} {:<7} {:>9} {:>9} {:>11} {:>11} {:>12}",
        "graph", "parts", "method", "time s", "cut %", "train bal", "node bal", "cut/random"
    );
    for (name, kind) in [
        ("uniform", GraphKind::Uniform),
        ("rmat", GraphKind::rmat_graph500()),
    ] {
        let g = graph(kind, nodes, edges);
        for parts in [2u32, 4] {
            let mut random_cut = 0.0;
            for method in [PartMethod::Random, PartMethod::Metis] {
                let options = PartitionOptions::new(parts, method);
                let t = Instant::now();
                let a = assign_parts(&g, &options).unwrap();
                let secs = t.elapsed().as_secs_f64();
                let cut = a.edge_cut(&g) as f64 / g.total_edges() as f64;
                let mask = g
                    .node_data(SYNTHETIC_NTYPE, "train_mask")
                    .unwrap()
                    .as_u8()
                    .unwrap();
                let mut train = vec![0u64; parts as usize];
                for (&p, &m) in a.parts(SYNTHETIC_NTYPE).unwrap().iter().zip(mask) {
                    train[p as usize] += u64::from(m);
                }
                if method == PartMethod::Random {
                    random_cut = cut;
                }
                println!(
                    "{name:<8} {parts:>5} {method:<7} {secs:>9.2} {:>9.1} {:>11.3} {:>11.3} {:>12.2}",
                    cut * 100.0,
                    max_over_mean(&train),
                    max_over_mean(&a.part_sizes(SYNTHETIC_NTYPE)),
                    cut / random_cut
                );
            }
        }
    }
}

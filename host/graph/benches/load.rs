//! (d) Load time of a 10M-edge partition, side by side in one run.
//!
//! `cargo bench -p gs-graph --bench load` (set `GS_BENCH_QUICK=1` for a small, fast run).
//!
//! A uniform random graph of 1M nodes and 10M edges is written in gs's one-part format three
//! times, with a float32 node feature of 16, 128 and 512 columns (64 MB, 512 MB and 2 GB of
//! features). `gs_graph::load` memory-maps structure and features, so its time must not grow
//! with the feature width; beside it, the same files read into memory (`std::fs::read`, what a
//! copying loader pays at least) and the 2-part METIS-free split of the same graph, which `load`
//! assembles in memory. Each figure is the median of 5 loads with the files in the page cache.

use std::path::Path;
use std::time::Instant;

use gs_graph::{Array, HeteroGraph, PartAssignment, SYNTHETIC_NTYPE, SyntheticParams};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn read_all(dir: &Path) -> usize {
    let mut total = 0;
    for part in std::fs::read_dir(dir).unwrap() {
        let part = part.unwrap().path();
        if part.is_dir() {
            for f in std::fs::read_dir(&part).unwrap() {
                total += std::fs::read(f.unwrap().path()).unwrap().len();
            }
        }
    }
    total
}

fn with_feature(base: &HeteroGraph, dim: usize) -> HeteroGraph {
    let mut g = base.clone();
    let n = g.num_nodes(SYNTHETIC_NTYPE).unwrap() as usize;
    let data: Vec<f32> = (0..n * dim).map(|i| (i % 1000) as f32 * 1e-3).collect();
    g.set_node_data(
        SYNTHETIC_NTYPE,
        "feat",
        Array::from_f32(data, &[n, dim]).unwrap(),
    )
    .unwrap();
    g
}

fn main() {
    let quick = std::env::var_os("GS_BENCH_QUICK").is_some();
    if let Some(json) = std::env::var_os("GS_BENCH_LOAD_ONLY") {
        for _ in 0..20 {
            std::hint::black_box(gs_graph::load(Path::new(&json)).unwrap());
        }
        return;
    }
    let (nodes, edges) = if quick {
        (100_000, 1_000_000)
    } else {
        (1_000_000, 10_000_000)
    };
    let reps = 5;
    let base = gs_graph::generate_synthetic(&SyntheticParams::uniform(nodes, edges, 7)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    println!(
        "graph: uniform, {nodes} nodes, {edges} edges; median of {reps} loads, page cache warm"
    );
    println!(
        "{:>8} {:>12} {:>12} {:>14} {:>12}",
        "feat dim", "files MB", "load ms", "fs::read ms", "read/load"
    );
    // Write all three first, then time them in alternation, so that background writeback of
    // one and page-cache state favour none.
    let dims = [16usize, 128, 512];
    let mut written = Vec::new();
    for dim in dims {
        let g = with_feature(&base, dim);
        let dir = tmp.path().join(format!("d{dim}"));
        let json = gs_graph::write_partitioned(&g, &dir, "bench").unwrap();
        written.push((dir, json));
    }
    let mut load_samples = vec![Vec::new(); dims.len()];
    let mut read_samples = vec![Vec::new(); dims.len()];
    for _ in 0..reps {
        for (i, (dir, json)) in written.iter().enumerate() {
            load_samples[i].push(time(1, || {
                let g = gs_graph::load(json).unwrap();
                assert!(g.node_data(SYNTHETIC_NTYPE, "feat").unwrap().is_mapped());
            }));
            read_samples[i].push(time(1, || {
                std::hint::black_box(read_all(dir));
            }));
        }
    }
    let mut loads = Vec::new();
    for (i, dim) in dims.iter().enumerate() {
        let (load, read) = (
            median(load_samples[i].clone()),
            median(read_samples[i].clone()),
        );
        println!(
            "{dim:>8} {:>12.0} {:>12.2} {:>14.1} {:>12.1}",
            read_all(&written[i].0) as f64 / 1e6,
            load * 1e3,
            read * 1e3,
            read / load
        );
        loads.push(load);
    }
    for (dir, _) in &written {
        std::fs::remove_dir_all(dir).unwrap();
    }
    println!(
        "load time 512-dim / 16-dim: {:.2} (1.0 = independent of feature size)",
        loads[2] / loads[0]
    );

    // The same graph in two parts (every other node), assembled in memory by `load`.
    let g = with_feature(&base, 16);
    let parts = [(
        SYNTHETIC_NTYPE.to_string(),
        (0..nodes).map(|i| (i % 2) as u32).collect(),
    )]
    .into();
    let assignment = PartAssignment::new(&g, 2, parts).unwrap();
    let dir = tmp.path().join("two");
    let json = gs_graph::write_partitions(&g, &assignment, &dir, "bench", "random").unwrap();
    let two = time(reps, || {
        std::hint::black_box(gs_graph::load(&json).unwrap());
    });
    println!(
        "2 parts, 16-dim: load {:.1} ms (copied into memory), {:.1}x the one-part load",
        two * 1e3,
        two / loads[0]
    );
}

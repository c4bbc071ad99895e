//! Sampling and feature-gather throughput, side by side in one run.
//!
//! `cargo bench -p gs-graph --bench sampling` (set `GS_BENCH_QUICK=1` for a small, fast run).
//!
//! (a) Neighbour sampling, batch 1024, fanouts [10,10] and [15,10,5], on a uniform random graph
//!     and an R-MAT graph of 1M nodes / 10M edges, with 1 and 2 threads (separate rayon pools,
//!     alternating repetitions, medians). Each figure is set against a plain gather of as many
//!     random 8-byte ids (from an array the size of the CSC's `indices`) as the sampler returned
//!     edges, on the same pool: the machine's random-access bound.
//! (b) Feature gather of 128-dim f32 rows at random ids through `HeteroGraph::gather_f32`,
//!     against a plain random-row copy loop on the same pool.

use std::hint::black_box;
use std::time::Instant;

use gs_graph::{
    Fanout, GraphKind, HeteroGraph, NodeId, SYNTHETIC_NTYPE, SyntheticParams, generate_synthetic,
    sample_blocks,
};
use rayon::ThreadPool;
use rayon::prelude::*;

const BATCH: usize = 1024;
const FEAT_DIM: usize = 128;

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `count` batches of `BATCH` distinct random seeds.
fn seed_batches(n: u64, count: usize, salt: u64) -> Vec<Vec<NodeId>> {
    (0..count)
        .map(|b| {
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::with_capacity(BATCH);
            let mut i = 0u64;
            while out.len() < BATCH {
                let v = splitmix(salt ^ ((b as u64) << 32) ^ i) % n;
                i += 1;
                if seen.insert(v) {
                    out.push(v);
                }
            }
            out
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn pool(threads: usize) -> ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}

/// Reads `count` random u64 from `table` in parallel chunks; returns a checksum.
fn random_reads(table: &[u64], count: usize, salt: u64) -> u64 {
    let n = table.len() as u64;
    (0..count.div_ceil(4096))
        .into_par_iter()
        .map(|c| {
            let mut acc = 0u64;
            let mut x = splitmix(salt ^ c as u64);
            let end = ((c + 1) * 4096).min(count);
            for _ in c * 4096..end {
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let i = ((u128::from(splitmix(x)) * u128::from(n)) >> 64) as usize;
                acc = acc.wrapping_add(table[i]);
            }
            acc
        })
        .sum()
}

/// CPU seconds this process has used (all threads; `/proc/self/stat`, 100 ticks a second).
/// Unlike wall time it barely moves when other processes share the cores.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields after the command: state is f[0]; utime and stime are fields 14 and 15 overall.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// Per-repetition figures: seeds/s, edges/s, bound reads/s, and (edges, CPU seconds) pairs.
type Samples = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

struct Row {
    graph: &'static str,
    fanout: &'static str,
    /// Pool width, and whether batches were sampled two at a time.
    threads: usize,
    batch_parallel: bool,
    seeds_per_s: f64,
    edges_per_s: f64,
    edges_per_cpu_s: f64,
    bound_per_s: f64,
}

fn bench_sampling(
    name: &'static str,
    g: &HeteroGraph,
    pools: &[(usize, ThreadPool)],
    reps: usize,
    batches: usize,
    rows: &mut Vec<Row>,
) {
    let n = g.num_nodes(SYNTHETIC_NTYPE).unwrap();
    let table: Vec<u64> = (0..g.total_edges()).map(splitmix).collect();
    for (label, fanouts) in [("[10,10]", vec![10i64, 10]), ("[15,10,5]", vec![15, 10, 5])] {
        let fanouts: Vec<Fanout> = fanouts.into_iter().map(Fanout::Uniform).collect();
        let seeds = seed_batches(n, batches, 7);
        // Warm up every pool once (page in the graph, grow the allocator).
        for (_, p) in pools {
            p.install(|| {
                for (i, s) in seeds.iter().take(3).enumerate() {
                    black_box(sample_blocks(g, SYNTHETIC_NTYPE, s, &fanouts, i as u64).unwrap());
                }
            });
        }
        // Every pool samples batch after batch (each batch spread over the pool); the widest
        // pool also samples its batches concurrently, as several prefetch workers would.
        let widest = pools.len() - 1;
        let modes: Vec<(usize, bool)> = (0..pools.len())
            .map(|k| (k, false))
            .chain((pools[widest].0 > 1).then_some((widest, true)))
            .collect();
        let mut per: Vec<Samples> = modes
            .iter()
            .map(|_| (vec![], vec![], vec![], vec![]))
            .collect();
        for rep in 0..reps {
            for (k, &(pool_index, batch_parallel)) in modes.iter().enumerate() {
                let p = &pools[pool_index].1;
                let cpu0 = cpu_seconds();
                let sample = |(i, s): (usize, &Vec<NodeId>)| {
                    let seed = (rep * 1000 + i) as u64;
                    let mb = sample_blocks(g, SYNTHETIC_NTYPE, s, &fanouts, seed).unwrap();
                    black_box(mb.num_edges())
                };
                let (edges, secs) = p.install(|| {
                    let t = Instant::now();
                    let edges: usize = if batch_parallel {
                        seeds.par_iter().enumerate().map(sample).sum()
                    } else {
                        seeds.iter().enumerate().map(sample).sum()
                    };
                    (edges, t.elapsed().as_secs_f64())
                });
                let cpu = cpu_seconds() - cpu0;
                let t = Instant::now();
                black_box(p.install(|| random_reads(&table, edges, rep as u64)));
                let bound = t.elapsed().as_secs_f64();
                per[k].0.push((batches * BATCH) as f64 / secs);
                per[k].1.push(edges as f64 / secs);
                per[k].2.push(edges as f64 / bound);
                per[k].3.push(edges as f64);
                per[k].3.push(cpu);
            }
        }
        for (&(pool_index, batch_parallel), (s, e, b, c)) in modes.iter().zip(per) {
            rows.push(Row {
                graph: name,
                fanout: label,
                threads: pools[pool_index].0,
                batch_parallel,
                seeds_per_s: median(s),
                edges_per_s: median(e),
                // Totals over all repetitions: CPU time is counted in 10 ms ticks.
                edges_per_cpu_s: c.iter().step_by(2).sum::<f64>()
                    / c.iter().skip(1).step_by(2).sum::<f64>().max(0.01),
                bound_per_s: median(b),
            });
        }
    }
}

fn plain_row_gather(feat: &[f32], ids: &[NodeId]) -> Vec<f32> {
    let mut out = vec![0f32; ids.len() * FEAT_DIM];
    out.par_chunks_mut(FEAT_DIM * 64)
        .zip(ids.par_chunks(64))
        .for_each(|(o, ids)| {
            for (row, &id) in o.chunks_mut(FEAT_DIM).zip(ids) {
                let s = id as usize * FEAT_DIM;
                row.copy_from_slice(&feat[s..s + FEAT_DIM]);
            }
        });
    out
}

fn main() {
    let quick = std::env::var_os("GS_BENCH_QUICK").is_some();
    let (nodes, edges, reps, batches) = if quick {
        (100_000u64, 1_000_000u64, 3, 5)
    } else {
        (1_000_000, 10_000_000, 7, 20)
    };
    let pools: Vec<(usize, ThreadPool)> = [1, 2].into_iter().map(|t| (t, pool(t))).collect();
    if let Some(t) = std::env::var("GS_BENCH_PROFILE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        // For a profiler: uniform graph, [10,10], `t` threads, 200 batches.
        let g = generate_synthetic(&SyntheticParams::uniform(nodes, edges, 1)).unwrap();
        let f = vec![Fanout::Uniform(10), Fanout::Uniform(10)];
        let seeds = seed_batches(nodes, 200, 7);
        let p = pool(t);
        let reps = if t == 0 { 0 } else { 5 };
        let best = (0..reps)
            .map(|_| {
                let t0 = Instant::now();
                let e: usize = p.install(|| {
                    seeds
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            sample_blocks(&g, SYNTHETIC_NTYPE, s, &f, i as u64)
                                .unwrap()
                                .num_edges()
                        })
                        .sum()
                });
                e as f64 / t0.elapsed().as_secs_f64() / 1e6
            })
            .fold(0f64, f64::max);
        println!("{t} thread(s): best {best:.1} M edges/s");
        return;
    }
    let t = Instant::now();
    let uniform = generate_synthetic(&SyntheticParams {
        feat_dim: FEAT_DIM,
        ..SyntheticParams::uniform(nodes, edges, 1)
    })
    .unwrap();
    let gen_uniform = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let rmat = generate_synthetic(&SyntheticParams {
        kind: GraphKind::rmat_graph500(),
        ..SyntheticParams::uniform(nodes, edges, 2)
    })
    .unwrap();
    let gen_rmat = t.elapsed().as_secs_f64();
    println!(
        "graphs: {nodes} nodes, {edges} edges; generated uniform (+{FEAT_DIM}-dim feat) in {gen_uniform:.2} s, rmat in {gen_rmat:.2} s; {} logical CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load().trim());
    let mut rows = Vec::new();
    bench_sampling("uniform", &uniform, &pools, reps, batches, &mut rows);
    bench_sampling("rmat", &rmat, &pools, reps, batches, &mut rows);
    println!(
        "\n(a) neighbour sampling, batch {BATCH}, {batches} batches x {reps} repetitions, medians"
    );
    println!(
        "| graph | fanout | threads | seeds/s | sampled edges/s | edges per CPU-second | random 8-B reads/s (bound) | ratio to bound | speed-up 1->2 |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let one = rows
            .iter()
            .find(|o| o.graph == r.graph && o.fanout == r.fanout && o.threads == 1)
            .map_or(f64::NAN, |o| r.edges_per_s / o.edges_per_s);
        println!(
            "| {} | {} | {} | {:.0} k | {:.1} M | {:.1} M | {:.1} M | {:.2} | {} |",
            r.graph,
            r.fanout,
            if r.batch_parallel {
                format!("{}, batches in parallel", r.threads)
            } else {
                r.threads.to_string()
            },
            r.seeds_per_s / 1e3,
            r.edges_per_s / 1e6,
            r.edges_per_cpu_s / 1e6,
            r.bound_per_s / 1e6,
            r.edges_per_s / r.bound_per_s,
            if r.threads == 1 {
                "-".to_string()
            } else {
                format!("{one:.2}x")
            }
        );
    }

    // (b) feature gather.
    let feat = uniform
        .node_array(SYNTHETIC_NTYPE, "feat")
        .unwrap()
        .as_f32()
        .unwrap();
    let num_ids = 200_000usize;
    println!(
        "\n(b) feature gather, {FEAT_DIM}-dim f32 rows ({} B), {num_ids} random ids per gather, medians of {reps}",
        FEAT_DIM * 4
    );
    println!("| threads | gather_f32 GB/s | plain row copy GB/s (bound) | ratio |");
    println!("|---|---:|---:|---:|");
    let bytes = (num_ids * FEAT_DIM * 4) as f64;
    let mut per: Vec<(Vec<f64>, Vec<f64>)> = pools.iter().map(|_| (vec![], vec![])).collect();
    for rep in 0..reps {
        let ids: Vec<NodeId> = (0..num_ids as u64)
            .map(|i| splitmix(i ^ ((rep as u64) << 40)) % nodes)
            .collect();
        for (k, (_, p)) in pools.iter().enumerate() {
            let t = Instant::now();
            black_box(p.install(|| uniform.gather_f32(SYNTHETIC_NTYPE, "feat", &ids).unwrap()));
            per[k].0.push(bytes / t.elapsed().as_secs_f64() / 1e9);
            let t = Instant::now();
            black_box(p.install(|| plain_row_gather(feat, &ids)));
            per[k].1.push(bytes / t.elapsed().as_secs_f64() / 1e9);
        }
    }
    for ((threads, _), (a, b)) in pools.iter().zip(per) {
        let (a, b) = (median(a), median(b));
        println!("| {threads} | {a:.2} | {b:.2} | {:.2} |", a / b);
    }
    println!("\nload average after: {}", load().trim());
}

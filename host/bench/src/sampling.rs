//! `gs bench sampling`: neighbour-sampling throughput on any graph `--part-config` names, gs's
//! format or a GraphStorm/DGL partition, so the figure can be set beside other tools' on the
//! same files (`host/graph/benches/dgl_sampling.py` runs DGL's sampler on a DGL partition).
//!
//! Each batch is `--batch-size` distinct seeds of the target node type drawn at random (seeded),
//! sampled with [`gs_graph::sample_blocks`] on a rayon pool of `--threads` threads. One warm-up
//! pass, then `--reps` timed passes over the same batches; medians are reported.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use gs_graph::{HeteroGraph, NodeId, parse_fanouts, sample_blocks};

use crate::alloc::process_cpu_seconds;
use crate::report::{fmt_time, row, stats, table};

#[derive(Args)]
pub struct SamplingArgs {
    /// The graph: a part-config JSON of gs's format or of a GraphStorm/DGL partition.
    #[arg(long)]
    part_config: PathBuf,
    /// Node type of the seeds (default: the graph's only node type, else required).
    #[arg(long)]
    target_ntype: Option<String>,
    /// Fanout per layer, input-most first, as GraphStorm's `--fanout` (e.g. 10,10).
    #[arg(long, default_value = "10,10")]
    fanout: String,
    /// Seeds per batch (all nodes of the type when it has fewer).
    #[arg(long, default_value_t = 1024)]
    batch_size: usize,
    /// Rayon threads; a comma-separated list gives one row per count.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    threads: Vec<usize>,
    /// Batches per pass.
    #[arg(long, default_value_t = 20)]
    batches: usize,
    /// Timed passes per thread count (medians are reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Seed of the seed-node draws and of the sampler.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// SplitMix64: the seed draws' generator (no dependency, reproducible across platforms).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `count` batches of `min(batch_size, n)` distinct random ids in `0..n` (partial Fisher-Yates
/// over one permutation, reshuffled per batch).
pub(crate) fn seed_batches(n: u64, batch_size: usize, count: usize, seed: u64) -> Vec<Vec<NodeId>> {
    let mut perm: Vec<NodeId> = (0..n).collect();
    let k = batch_size.min(perm.len());
    let mut state = seed;
    (0..count)
        .map(|_| {
            for i in 0..k {
                let j = i + (splitmix(&mut state) % (perm.len() - i) as u64) as usize;
                perm.swap(i, j);
            }
            perm[..k].to_vec()
        })
        .collect()
}

fn target_ntype(graph: &HeteroGraph, asked: Option<&str>) -> anyhow::Result<String> {
    let types: Vec<&str> = graph.node_types().collect();
    match asked {
        Some(t) if types.contains(&t) => Ok(t.to_string()),
        Some(t) => bail!(
            "--target-ntype {t:?} is not a node type of this graph; it has: {}",
            types.join(", ")
        ),
        None if types.len() == 1 => Ok(types[0].to_string()),
        None => bail!(
            "this graph has several node types ({}); choose the seeds' type with --target-ntype",
            types.join(", ")
        ),
    }
}

/// One timed pass: returns (wall seconds, process CPU seconds, sampled edges).
fn pass(
    pool: &rayon::ThreadPool,
    graph: &HeteroGraph,
    ntype: &str,
    batches: &[Vec<NodeId>],
    fanouts: &[gs_graph::Fanout],
    seed: u64,
) -> anyhow::Result<(f64, f64, u64)> {
    let (t, c) = (Instant::now(), process_cpu_seconds());
    let mut edges = 0u64;
    pool.install(|| -> anyhow::Result<()> {
        for (b, seeds) in batches.iter().enumerate() {
            let batch = sample_blocks(graph, ntype, seeds, fanouts, seed ^ b as u64)?;
            edges += batch
                .layers
                .iter()
                .flat_map(|l| &l.blocks)
                .map(|block| block.src.len() as u64)
                .sum::<u64>();
        }
        Ok(())
    })?;
    Ok((t.elapsed().as_secs_f64(), process_cpu_seconds() - c, edges))
}

pub(crate) fn run(args: &SamplingArgs) -> anyhow::Result<()> {
    if args.batch_size == 0 || args.batches == 0 || args.reps == 0 {
        bail!("--batch-size, --batches and --reps must be at least 1");
    }
    if let Some(bad) = args.threads.iter().find(|&&n| n == 0) {
        bail!("--threads must list counts of at least 1, got {bad}");
    }
    let num_layers = args.fanout.split(',').count();
    let fanouts = parse_fanouts(&args.fanout, num_layers)
        .with_context(|| format!("--fanout {:?}", args.fanout))?;
    let t = Instant::now();
    let graph = gs_graph::load(&args.part_config)
        .with_context(|| format!("cannot load {}", args.part_config.display()))?;
    let load = t.elapsed().as_secs_f64();
    let ntype = target_ntype(&graph, args.target_ntype.as_deref())?;
    let n = graph.node_count(&ntype)?;
    let batches = seed_batches(n, args.batch_size, args.batches, args.seed);
    let per_batch = batches[0].len();

    println!("# gs bench sampling");
    println!();
    println!(
        "- graph: {} ({} node types, {} edge types, {} nodes, {} edges), loaded in {}",
        args.part_config.display(),
        graph.node_types().count(),
        graph.edge_types().count(),
        graph.total_nodes(),
        graph.total_edges(),
        fmt_time(load)
    );
    println!(
        "- seeds: {per_batch} distinct random `{ntype}` nodes (of {n}) per batch, {} batches, seed {}; \
         fanout {}; 1 warm-up pass, then {} timed passes per thread count (medians)",
        args.batches, args.seed, args.fanout, args.reps
    );
    println!();
    table(&[
        "threads",
        "seeds/s",
        "sampled edges/s",
        "sampled edges per batch",
        "time per batch",
        "sampled edges per CPU-second",
    ]);
    for &threads in &args.threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("cannot start the sampling threads")?;
        let (_, _, edges) = pass(&pool, &graph, &ntype, &batches, &fanouts, args.seed)?;
        let (mut walls, mut cpus) = (vec![], vec![]);
        for _ in 0..args.reps {
            let (wall, cpu, e) = pass(&pool, &graph, &ntype, &batches, &fanouts, args.seed)?;
            debug_assert_eq!(e, edges, "the same batches sample the same edges");
            walls.push(wall);
            cpus.push(cpu);
        }
        let (wall, cpu) = (stats(&walls).median, stats(&cpus).median);
        let seeds = (per_batch * args.batches) as f64;
        row(&[
            threads.to_string(),
            format!("{:.0}", seeds / wall),
            format!("{:.2} M", edges as f64 / wall / 1e6),
            format!("{:.0}", edges as f64 / args.batches as f64),
            fmt_time(wall / args.batches as f64),
            format!("{:.2} M", edges as f64 / cpu / 1e6),
        ]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_batches_are_distinct_in_range_and_reproducible() {
        let batches = seed_batches(50, 16, 5, 3);
        assert_eq!(batches.len(), 5);
        for b in &batches {
            assert_eq!(b.len(), 16);
            let mut sorted = b.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), 16);
            assert!(b.iter().all(|&id| id < 50));
        }
        assert_ne!(batches[0], batches[1]);
        assert_eq!(batches, seed_batches(50, 16, 5, 3));
        assert_ne!(batches, seed_batches(50, 16, 5, 4));
        // Fewer nodes than the batch size: every node, once.
        let all = seed_batches(7, 1024, 2, 1);
        assert_eq!(all[0].len(), 7);
    }
}

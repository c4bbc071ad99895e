//! `gs gconstruct`: GraphStorm's `python -m graphstorm.gconstruct.construct_graph`, with its
//! flag names, on top of gs-gconstruct.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use gs_gconstruct::{ConstructOptions, PartMethod, construct};

/// Build a graph from node/edge tables (CSV or Parquet) and a gconstruct JSON config.
#[derive(Args)]
pub(crate) struct GconstructArgs {
    /// The gconstruct JSON config (`version: gconstruct-v0.1`).
    #[arg(long)]
    conf_file: PathBuf,
    /// Where to write the graph (must not exist or be empty).
    #[arg(long)]
    output_dir: PathBuf,
    /// The graph name: letters, digits, `_` and `-`.
    #[arg(long)]
    graph_name: String,
    /// Number of partitions (parts are renumbered as DGL does; see `gs partition`).
    #[arg(long, default_value_t = 1)]
    num_parts: usize,
    /// Partition method: metis (balanced on training nodes) or random; no effect with one part.
    #[arg(long, default_value = "metis", value_parser = ["metis", "random"])]
    part_method: String,
    /// Add a `<rel>-rev` edge type for every edge type.
    #[arg(long)]
    add_reverse_edges: bool,
    /// Drop edges whose endpoints are in no node table instead of failing.
    #[arg(long)]
    skip_nonexist_edges: bool,
    /// Build id maps even for integer ids that are already 0..n.
    #[arg(long)]
    remap_node_id: bool,
    /// Where to write the updated config (default `<output-dir>/data_transform_new.json`).
    #[arg(long)]
    output_conf_file: Option<PathBuf>,
    /// Seed of the train/val/test splits (GraphStorm's splits are unseeded; default: random,
    /// printed in the report).
    #[arg(long)]
    seed: Option<u64>,
}

pub(crate) fn run(args: &GconstructArgs) -> anyhow::Result<()> {
    let part_method: PartMethod = args.part_method.parse().map_err(anyhow::Error::msg)?;
    let options = ConstructOptions {
        num_parts: args.num_parts,
        part_method,
        add_reverse_edges: args.add_reverse_edges,
        skip_nonexist_edges: args.skip_nonexist_edges,
        remap_node_id: args.remap_node_id,
        output_conf_file: args.output_conf_file.clone(),
        seed: args.seed,
        ..ConstructOptions::new(&args.conf_file, &args.output_dir, &args.graph_name)
    };
    let report = construct(&options)
        .with_context(|| format!("gs gconstruct --conf-file {}", args.conf_file.display()))?;
    print!("{report}");
    Ok(())
}

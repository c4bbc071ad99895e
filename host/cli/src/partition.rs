//! `gs partition`: split an already-constructed graph (gs's format or a GraphStorm/DGL
//! partition) into parts, as GraphStorm's `--num-parts` / `--part-method` do at construction.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use gs_partition::{PartMethod, PartitionOptions, partition_graph};

/// The file gconstruct writes beside a graph; carried over so that inference can re-apply it.
const TRANSFORM_CONF_FILE: &str = "data_transform_new.json";

/// Split a graph into parts (random, or METIS balanced on training nodes).
#[derive(Args)]
pub(crate) struct PartitionArgs {
    /// The graph's part-config JSON (gs format or GraphStorm/DGL partitions).
    #[arg(long)]
    part_config: PathBuf,
    /// Number of parts.
    #[arg(long)]
    num_parts: u32,
    /// metis (minimises the edge cut, balances node types and training nodes) or random.
    #[arg(long, alias = "partition-algorithm", default_value = "metis", value_parser = ["metis", "random"])]
    part_method: String,
    /// Where to write the parts (must not exist or be empty).
    #[arg(long)]
    output_dir: PathBuf,
    /// Name of the output graph (default: the input part-config's file name).
    #[arg(long)]
    graph_name: Option<String>,
    /// Seed of the random assignment and of METIS.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Node masks whose nodes METIS spreads evenly over the parts (repeatable).
    #[arg(long = "balance-mask", default_value = "train_mask")]
    balance_masks: Vec<String>,
}

pub(crate) fn run(args: &PartitionArgs) -> anyhow::Result<()> {
    let method: PartMethod = args.part_method.parse().map_err(anyhow::Error::msg)?;
    let graph = gs_graph::load(&args.part_config)
        .with_context(|| format!("gs partition: loading `{}`", args.part_config.display()))?;
    let name = match &args.graph_name {
        Some(name) => name.clone(),
        None => args
            .part_config
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .context("the part-config path has no file name; pass --graph-name")?,
    };
    let options = PartitionOptions {
        num_parts: args.num_parts,
        method,
        seed: args.seed,
        balance_masks: args.balance_masks.clone(),
    };
    let report = partition_graph(&graph, &options, &args.output_dir, &name)
        .with_context(|| format!("gs partition --output-dir {}", args.output_dir.display()))?;
    copy_transform_conf(&args.part_config, &args.output_dir)?;
    println!("{report}");
    Ok(())
}

/// Copies `data_transform_new.json` from beside the input, when there, via a temporary name.
fn copy_transform_conf(part_config: &Path, output_dir: &Path) -> anyhow::Result<()> {
    let from = part_config.with_file_name(TRANSFORM_CONF_FILE);
    if !from.is_file() {
        return Ok(());
    }
    let to = output_dir.join(TRANSFORM_CONF_FILE);
    let tmp = output_dir.join(format!(".{TRANSFORM_CONF_FILE}.gs-tmp"));
    std::fs::copy(&from, &tmp)
        .and_then(|_| std::fs::rename(&tmp, &to))
        .with_context(|| format!("copying `{}` to `{}`", from.display(), to.display()))?;
    Ok(())
}

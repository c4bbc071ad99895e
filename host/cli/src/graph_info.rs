//! `gs graph info`: what a partitioned graph holds.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum GraphCommand {
    /// Node and edge types with counts, features with shape and dtype, label fields and splits.
    Info {
        #[arg(long)]
        part_config: PathBuf,
    },
}

pub(crate) fn run(what: GraphCommand) -> anyhow::Result<()> {
    let GraphCommand::Info { part_config } = what;
    let graph = gs_graph::load(&part_config).with_context(|| format!("cannot load `{}`", part_config.display()))?;
    println!("graph `{}`: {} nodes, {} edges", part_config.display(), graph.total_nodes(), graph.total_edges());
    println!("node types:");
    for ntype in graph.node_types() {
        println!("  {ntype}: {} nodes", graph.num_nodes(ntype).unwrap_or(0));
        for (name, array) in graph.node_data_all(ntype) {
            let split = name.ends_with("_mask").then(|| {
                array.as_u8().map(|m| m.iter().filter(|&&v| v != 0).count()).unwrap_or(0)
            });
            match split {
                Some(count) => println!("    {name}: {:?} {} ({count} set)", array.shape(), array.dtype()),
                None => println!("    {name}: {:?} {}", array.shape(), array.dtype()),
            }
        }
    }
    println!("edge types:");
    for etype in graph.edge_types() {
        println!("  {etype}: {} edges", graph.num_edges(etype).unwrap_or(0));
        for (name, array) in graph.edge_data_all(etype) {
            println!("    {name}: {:?} {}", array.shape(), array.dtype());
        }
    }
    Ok(())
}

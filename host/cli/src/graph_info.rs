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

/// How the graph is split, in either format.
enum Parts {
    Dgl(Vec<gs_graph::DglPartitionInfo>),
    Gs(gs_graph::GsPartsSummary),
}

pub(crate) fn run(what: GraphCommand) -> anyhow::Result<()> {
    let GraphCommand::Info { part_config } = what;
    let cannot = || format!("cannot load `{}`", part_config.display());
    // GraphStorm/DGL partitions name DGL files under `part_graph`; gs's own format never does.
    let is_dgl = std::fs::read_to_string(&part_config)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| {
            v["part-0"].get("part_graph").is_some() && v.get("gs_format_version").is_none()
        });
    let (graph, parts) = if is_dgl {
        let dgl = gs_graph::load_dgl(&part_config).with_context(cannot)?;
        (dgl.graph, Parts::Dgl(dgl.parts))
    } else {
        let summary = gs_graph::inspect_gs_partitions(&part_config).with_context(cannot)?;
        (
            gs_graph::load(&part_config).with_context(cannot)?,
            Parts::Gs(summary),
        )
    };
    println!(
        "graph `{}`: {} nodes, {} edges",
        part_config.display(),
        graph.total_nodes(),
        graph.total_edges()
    );
    match &parts {
        Parts::Dgl(parts) => {
            println!("format: GraphStorm/DGL partition, {} parts", parts.len());
            for p in parts {
                println!(
                    "  part {}: {} local nodes ({} inner), {} local edges ({} inner)",
                    p.part,
                    p.num_local_nodes,
                    p.num_inner_nodes,
                    p.num_local_edges,
                    p.num_inner_edges
                );
            }
        }
        Parts::Gs(summary) => {
            let n = summary.nodes.len();
            let plural = if n == 1 { "" } else { "s" };
            println!(
                "format: gs partition, {n} part{plural} (part_method: {})",
                summary.part_method
            );
            if n > 1 {
                for (p, (nodes, edges)) in summary.nodes.iter().zip(&summary.edges).enumerate() {
                    let by_type: Vec<String> =
                        nodes.iter().map(|(nt, c)| format!("{nt} {c}")).collect();
                    println!(
                        "  part {p}: {} nodes ({}), {} edges",
                        nodes.values().sum::<u64>(),
                        by_type.join(", "),
                        edges.values().sum::<u64>()
                    );
                }
            }
        }
    }
    println!("node types:");
    for ntype in graph.node_types() {
        let raw = match graph.raw_ids(ntype) {
            Some(ids) if ids.is_int() => "raw ids: int64",
            Some(_) => "raw ids: string",
            None => "no raw ids",
        };
        println!(
            "  {ntype}: {} nodes, {raw}",
            graph.num_nodes(ntype).unwrap_or(0)
        );
        for (name, array) in graph.node_data_all(ntype) {
            let split = name.ends_with("_mask").then(|| {
                array
                    .as_u8()
                    .map(|m| m.iter().filter(|&&v| v != 0).count())
                    .unwrap_or(0)
            });
            match split {
                Some(count) => println!(
                    "    {name}: {:?} {} ({count} set)",
                    array.shape(),
                    array.dtype()
                ),
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

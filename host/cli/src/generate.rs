//! `gs generate`: datasets that need no download.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use gs_graph::{DemoParams, UserItemParams, generate_demo, generate_user_item, write_partitioned};

#[derive(Subcommand)]
pub(crate) enum Generate {
    /// The embedded default graph: a degree-corrected stochastic block model with `paper`
    /// and `author` nodes whose classes live mostly in the graph structure.
    Demo {
        /// Directory to write (must not exist or be empty); the part-config is `<dir>/<graph-name>.json`.
        #[arg(long)]
        output_dir: PathBuf,
        #[arg(long, default_value = "demo")]
        graph_name: String,
        #[arg(long)]
        num_papers: Option<u64>,
        #[arg(long)]
        num_authors: Option<u64>,
        #[arg(long)]
        num_classes: Option<usize>,
        #[arg(long)]
        feat_dim: Option<usize>,
        #[arg(long)]
        avg_degree: Option<f64>,
        #[arg(long)]
        intra_fraction: Option<f64>,
        #[arg(long)]
        feature_signal: Option<f32>,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// A user–item rating graph with a planted edge signal, for edge classification
    /// (`label`, 3 classes) and edge regression (`rating`) on `user,rates,item`, with the
    /// reverse `item,rated-by,user` and train/val/test masks on the ratings; the edge feature
    /// `review` (on both edge types) carries the only signal of the edge label `quality`.
    UserItem {
        /// Directory to write (must not exist or be empty); the part-config is `<dir>/<graph-name>.json`.
        #[arg(long)]
        output_dir: PathBuf,
        #[arg(long, default_value = "user-item")]
        graph_name: String,
        #[arg(long)]
        num_users: Option<u64>,
        #[arg(long)]
        num_items: Option<u64>,
        #[arg(long)]
        num_ratings: Option<u64>,
        #[arg(long)]
        feat_dim: Option<usize>,
        #[arg(long)]
        seed: Option<u64>,
    },
}

pub(crate) fn run(what: Generate) -> anyhow::Result<()> {
    match what {
        Generate::Demo {
            output_dir,
            graph_name,
            num_papers,
            num_authors,
            num_classes,
            feat_dim,
            avg_degree,
            intra_fraction,
            feature_signal,
            seed,
        } => {
            let d = DemoParams::default();
            let params = DemoParams {
                num_papers: num_papers.unwrap_or(d.num_papers),
                num_authors: num_authors.unwrap_or(d.num_authors),
                num_classes: num_classes.unwrap_or(d.num_classes),
                feat_dim: feat_dim.unwrap_or(d.feat_dim),
                avg_degree: avg_degree.unwrap_or(d.avg_degree),
                intra_fraction: intra_fraction.unwrap_or(d.intra_fraction),
                feature_signal: feature_signal.unwrap_or(d.feature_signal),
                seed: seed.unwrap_or(d.seed),
            };
            params.validate().context("invalid demo parameters")?;
            let graph = generate_demo(&params);
            let json = write_partitioned(&graph, &output_dir, &graph_name).with_context(|| {
                format!("cannot write the demo graph to `{}`", output_dir.display())
            })?;
            eprintln!(
                "wrote `{}`: {} nodes, {} edges ({} classes on `paper`)",
                json.display(),
                graph.total_nodes(),
                graph.total_edges(),
                params.num_classes
            );
            Ok(())
        }
        Generate::UserItem {
            output_dir,
            graph_name,
            num_users,
            num_items,
            num_ratings,
            feat_dim,
            seed,
        } => {
            let d = UserItemParams::default();
            let params = UserItemParams {
                num_users: num_users.unwrap_or(d.num_users),
                num_items: num_items.unwrap_or(d.num_items),
                num_ratings: num_ratings.unwrap_or(d.num_ratings),
                feat_dim: feat_dim.unwrap_or(d.feat_dim),
                seed: seed.unwrap_or(d.seed),
                ..d
            };
            let graph = generate_user_item(&params).context("invalid user-item parameters")?;
            let json = write_partitioned(&graph, &output_dir, &graph_name).with_context(|| {
                format!(
                    "cannot write the user-item graph to `{}`",
                    output_dir.display()
                )
            })?;
            eprintln!(
                "wrote `{}`: {} nodes, {} edges ({} ratings on `user,rates,item`)",
                json.display(),
                graph.total_nodes(),
                graph.total_edges(),
                params.num_ratings
            );
            Ok(())
        }
    }
}

//! Node embeddings in GraphStorm's remapped layout (`<dir>/<ntype>/embed-00000_00000.parquet`
//! with columns `emb`, `nid`, plus `<dir>/emb_info.json`), with raw node ids.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gs_config::LaunchOptions;
use gs_graph::NodeId;
use gs_output::write_node_embeddings;
use gs_train::{NoProgress, NodeTask, TaskModel, checkpoint};

use crate::Frontend;
use crate::outputs::node_predictions::{NodeRows, output_options};

/// After training: the embeddings of every target node by the best checkpoint (`best`, when
/// the run saved one; else by the model as training left it), written to `dir`.
pub(crate) fn after_training(
    dir: &Path,
    task: &NodeTask,
    model: &mut TaskModel,
    best: Option<PathBuf>,
    launch: &LaunchOptions,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<()> {
    if let Some(best) = best {
        let best = checkpoint::load(&best)?;
        model
            .load_weights(&best.weights)
            .with_context(|| format!("cannot restore `{}`", best.dir.display()))?;
    }
    let target = &task.config().target_ntype;
    let ids: Vec<NodeId> = (0..task.graph().num_nodes(target).unwrap_or(0)).collect();
    of_nodes(dir, task, model, &ids, launch, frontend)
}

/// The embeddings of `ids` (target nodes) by `model`, written to `dir`.
pub(crate) fn of_nodes(
    dir: &Path,
    task: &NodeTask,
    model: &mut TaskModel,
    ids: &[NodeId],
    launch: &LaunchOptions,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<()> {
    let rows = rows(task, model, ids)?;
    let files = write_node_embeddings(dir, &[rows.entry()], &output_options(launch))
        .with_context(|| format!("cannot write embeddings to `{}`", dir.display()))?;
    frontend.line(&format!(
        "embeddings of {} nodes in `{}` ({} files)",
        rows.len(),
        dir.display(),
        files.len()
    ));
    Ok(())
}

/// The embeddings of `ids` (target nodes) by `model`, with raw ids.
pub(crate) fn rows(
    task: &NodeTask,
    model: &mut TaskModel,
    ids: &[NodeId],
) -> anyhow::Result<NodeRows> {
    let (ids, rows) = task.embeddings(model, ids, &mut NoProgress)?;
    let target = &task.config().target_ntype;
    NodeRows::new(task.graph(), target, &ids, &rows, "embeddings")
}

/// Writes node embeddings `all` to `dir` and reports them; returns the number of nodes.
pub(crate) fn write_embedding_rows(
    dir: &Path,
    all: &[NodeRows],
    launch: &LaunchOptions,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<usize> {
    let entries: Vec<_> = all.iter().map(NodeRows::entry).collect();
    let files = write_node_embeddings(dir, &entries, &output_options(launch))
        .with_context(|| format!("cannot write embeddings to `{}`", dir.display()))?;
    let nodes: usize = all.iter().map(NodeRows::len).sum();
    frontend.line(&format!(
        "embeddings of {nodes} nodes in `{}` ({} files)",
        dir.display(),
        files.len()
    ));
    Ok(nodes)
}

//! Node embeddings in GraphStorm's remapped layout (`<dir>/<ntype>/embed-00000_00000.parquet`
//! with columns `emb`, `nid`, plus `<dir>/emb_info.json`), with raw node ids.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gs_config::LaunchOptions;
use gs_graph::{HeteroGraph, NodeId};
use gs_output::{NodeIds, OutputOptions, Values, write_node_embeddings};
use gs_tensor::{Kind, Tensor};
use gs_train::{NoProgress, NodeTask, TaskModel, checkpoint};

/// After training: the embeddings of every target node by the best checkpoint (`best`, when
/// the run saved one; else by the model as training left it), written to `dir`.
pub(crate) fn after_training(
    dir: &Path,
    task: &NodeTask,
    model: &mut TaskModel,
    best: Option<PathBuf>,
    launch: &LaunchOptions,
) -> anyhow::Result<()> {
    if let Some(best) = best {
        let best = checkpoint::load(&best)?;
        model
            .load_weights(&best.weights)
            .with_context(|| format!("cannot restore `{}`", best.dir.display()))?;
    }
    let target = &task.config().target_ntype;
    let ids: Vec<NodeId> = (0..task.graph().num_nodes(target).unwrap_or(0)).collect();
    of_nodes(dir, task, model, &ids, launch)
}

/// The embeddings of `ids` (target nodes) by `model`, written to `dir`.
pub(crate) fn of_nodes(
    dir: &Path,
    task: &NodeTask,
    model: &mut TaskModel,
    ids: &[NodeId],
    launch: &LaunchOptions,
) -> anyhow::Result<()> {
    let (ids, rows) = task.embeddings(model, ids, &mut NoProgress)?;
    let target = &task.config().target_ntype;
    let files = write(dir, task.graph(), target, &ids, &rows, launch)?;
    println!(
        "embeddings of {} nodes in `{}` ({files} files)",
        ids.len(),
        dir.display()
    );
    Ok(())
}

/// Write the embeddings `rows` of `ids` (target nodes of `node_type`) under `dir`; returns the
/// number of files written.
fn write(
    dir: &Path,
    graph: &HeteroGraph,
    node_type: &str,
    ids: &[NodeId],
    rows: &Tensor,
    launch: &LaunchOptions,
) -> anyhow::Result<usize> {
    let (ints, strings) = crate::predictions::raw_ids(graph, node_type, ids);
    let ids = if strings.is_empty() {
        NodeIds::Int(&ints)
    } else {
        NodeIds::Raw(&strings)
    };
    let width = rows.size().get(1).copied().unwrap_or(1).max(1) as usize;
    let data = Vec::<f32>::try_from(rows.to_kind(Kind::Float).flatten(0, -1))
        .context("cannot read the embeddings")?;
    let options = OutputOptions {
        chunk_size: launch.output_chunk_size.max(1) as usize,
        ..OutputOptions::default()
    };
    let files = write_node_embeddings(
        dir,
        &[(node_type, ids, Values::F32 { data: &data, width })],
        &options,
    )
    .with_context(|| format!("cannot write embeddings to `{}`", dir.display()))?;
    Ok(files.len())
}

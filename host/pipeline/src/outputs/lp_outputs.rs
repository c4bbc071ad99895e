//! Link-prediction outputs, as GraphStorm's link-prediction inference writes them under
//! `--save-embed-path`: the embeddings of every node (`<dir>/<ntype>/embed-*.parquet` with raw
//! ids, `emb_info.json`; message passing over `train_mask` edges) and, for the relational score
//! functions, `relation2id_map.json` with the relation table (see gs-output's `relations`).

use std::path::Path;

use anyhow::Context;
use gs_config::LaunchOptions;
use gs_output::write_relation_embeddings;
use gs_tensor::Kind;
use gs_train::{LinkPredictionTask, NoProgress, NodeEmbeddings, TaskModel};

use crate::Frontend;
use crate::outputs::node_embeddings::write_embedding_rows;
use crate::outputs::node_predictions::NodeRows;

/// Writes `embeddings` of every node type to `dir`, with raw ids.
pub(crate) fn write_node_rows(
    dir: &Path,
    graph: &gs_graph::HeteroGraph,
    embeddings: &NodeEmbeddings,
    launch: &LaunchOptions,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<usize> {
    let mut all = Vec::new();
    for (ntype, rows) in embeddings {
        let ids: Vec<u64> = (0..rows.size()[0] as u64).collect();
        all.push(NodeRows::new(graph, ntype, &ids, rows, "embeddings")?);
    }
    write_embedding_rows(dir, &all, launch, frontend)
}

/// Writes the node embeddings, then the relation embeddings when the score function has them.
pub(crate) fn write_embeddings(
    dir: &Path,
    task: &LinkPredictionTask,
    model: &mut TaskModel,
    launch: &LaunchOptions,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<()> {
    let embeddings = task.all_node_embeddings(model, true, &mut NoProgress)?;
    write_node_rows(dir, task.graph(), &embeddings, launch, frontend)?;
    if let Some((etypes, table)) = task.relation_embeddings(model) {
        let names: Vec<[&str; 3]> = etypes
            .iter()
            .map(|e| [e.src.as_str(), e.rel.as_str(), e.dst.as_str()])
            .collect();
        let width = table.size()[1] as usize;
        let data = Vec::<f32>::try_from(table.to_kind(Kind::Float).flatten(0, -1))
            .context("cannot read the relation embeddings")?;
        write_relation_embeddings(dir, &names, &data, width)
            .with_context(|| format!("cannot write relation embeddings to `{}`", dir.display()))?;
        frontend.line(&format!(
            "relation embeddings of {} edge types in `{}`",
            names.len(),
            dir.display()
        ));
    }
    Ok(())
}

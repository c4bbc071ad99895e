//! Inference runs from a checkpoint: node, edge and link-prediction inference, and the
//! embeddings of every node (`gs gen-node-embedding`).

use std::path::Path;

use anyhow::{Context, bail};
use gs_config::Resolved;
use gs_train::{EdgeTask, LinkPredictionTask, TaskModel};

use crate::Frontend;
use crate::outputs::node_predictions::{self, NodeRows};
use crate::outputs::{edge_outputs, lp_outputs, node_embeddings};
use crate::restore::{TrainedModel, restored};
use crate::run_task::RunTask;

/// The embeddings of every node of every type by the `trained` model, with every edge
/// carrying messages, written to `dir`.
pub fn gen_node_embedding(
    resolved: &Resolved,
    trained: TrainedModel,
    dir: &Path,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<()> {
    let (setup, mut model) = restored(resolved, trained, frontend)?;
    let embeddings = gs_train::embed_every_node(
        &setup.graph,
        &resolved.train,
        &mut model,
        setup.device,
        &mut *frontend.progress("embed", 0),
    )?;
    lp_outputs::write_node_rows(dir, &setup.graph, &embeddings, &resolved.launch, frontend)?;
    Ok(())
}

/// Inference with the `trained` model on the test targets: scores, predictions and
/// embeddings where the configuration asks for them.
pub fn infer(
    resolved: &Resolved,
    trained: TrainedModel,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<()> {
    let (setup, mut model) = restored(resolved, trained, frontend)?;
    let task = match &setup.task {
        RunTask::Node(task) => task,
        RunTask::Edge(task) => return infer_edges(resolved, task, &mut model, frontend),
        RunTask::Lp(task) => return infer_links(resolved, task, &mut model, frontend),
    };
    let ids = task.inference_ids()?;
    let metric = setup.task.metric();
    let output = task.infer(&mut model, &ids, &mut *frontend.progress(&metric, 0))?;
    for (m, s) in &output.scores {
        frontend.line(&format!(
            "test {m}: {s:.4} on {} `{}` nodes",
            output.ids.len(),
            output.node_type
        ));
    }
    let (pred_dir, embed_dir) = (
        &resolved.train.save_prediction_path,
        &resolved.train.save_embed_path,
    );
    match (pred_dir, embed_dir) {
        // GraphStorm's default: `save_prediction_path` falls back to `save_embed_path`, and
        // both sets then share the folder.
        (Some(pred), Some(embed)) if pred == embed => {
            let predictions = NodeRows::of_predictions(task.graph(), &output)?;
            let embeddings = node_embeddings::rows(task, &mut model, &ids)?;
            let files = gs_output::write_node_predictions_and_embeddings(
                pred,
                &[predictions.entry()],
                &[embeddings.entry()],
                &node_predictions::output_options(&resolved.launch),
            )
            .with_context(|| format!("cannot write predictions to `{}`", pred.display()))?;
            frontend.line(&format!(
                "predictions and embeddings of {} nodes in `{}` ({} files)",
                predictions.len(),
                pred.display(),
                files.len()
            ));
            return Ok(());
        }
        (Some(dir), _) => {
            let files = node_predictions::write(dir, task.graph(), &output, &resolved.launch)?;
            frontend.line(&format!(
                "predictions for {} nodes in `{}` ({} files)",
                output.ids.len(),
                dir.display(),
                files
            ));
        }
        (None, _) => frontend.line("no --save-prediction-path given: predictions not saved"),
    }
    if let Some(dir) = embed_dir {
        node_embeddings::of_nodes(dir, task, &mut model, &ids, &resolved.launch, frontend)?;
    }
    Ok(())
}

/// Inference of link prediction, as GraphStorm's `lp_infer_gnn`: ranking scores on the test
/// edges, and the node (and relation) embeddings with `--save-embed-path`. Link prediction
/// writes no per-edge predictions.
fn infer_links(
    resolved: &Resolved,
    task: &LinkPredictionTask,
    model: &mut TaskModel,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<()> {
    let metric = task.metrics()[0].to_string();
    let scores = task.test_scores(model, &mut *frontend.progress(&metric, 0))?;
    let etypes: Vec<String> = task.eval_etypes().iter().map(ToString::to_string).collect();
    for (m, s) in &scores {
        frontend.line(&format!("test {m}: {s:.4} on {etypes:?}"));
    }
    if let Some(dir) = &resolved.train.save_prediction_path
        && resolved.train.save_embed_path.as_ref() != Some(dir)
    {
        bail!(
            "link prediction writes no predictions (`--save-prediction-path {}`); hint: pass \
             --save-embed-path for the node and relation embeddings, as GraphStorm's \
             link-prediction inference writes",
            dir.display()
        );
    }
    match &resolved.train.save_embed_path {
        Some(dir) => lp_outputs::write_embeddings(dir, task, model, &resolved.launch, frontend)?,
        None => frontend.line("no --save-embed-path given: embeddings not saved"),
    }
    Ok(())
}

/// Inference of an edge task: scores on the test edges, predictions and embeddings.
fn infer_edges(
    resolved: &Resolved,
    task: &EdgeTask,
    model: &mut TaskModel,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<()> {
    let ids = task.inference_ids()?;
    let metric = task.metrics()[0].to_string();
    let output = task.infer(model, &ids, &mut *frontend.progress(&metric, 0))?;
    for (m, s) in &output.scores {
        frontend.line(&format!(
            "test {m}: {s:.4} on {} `{}` edges",
            output.src.len(),
            output.etype
        ));
    }
    let (pred_dir, embed_dir) = (
        &resolved.train.save_prediction_path,
        &resolved.train.save_embed_path,
    );
    if let (Some(pred), Some(embed)) = (pred_dir, embed_dir)
        && pred == embed
    {
        bail!(
            "edge predictions and node embeddings cannot share `{}` yet; hint: pass \
             --save-prediction-path and --save-embed-path with different folders",
            pred.display()
        );
    }
    match pred_dir {
        Some(dir) => {
            let files = edge_outputs::write_predictions(dir, task, &output, &resolved.launch)?;
            frontend.line(&format!(
                "predictions for {} edges in `{}` ({files} files)",
                output.src.len(),
                dir.display()
            ));
        }
        None => frontend.line("no --save-prediction-path given: predictions not saved"),
    }
    if let Some(dir) = embed_dir {
        edge_outputs::write_embeddings(dir, task, model, &resolved.launch, frontend)?;
    }
    Ok(())
}

//! `gs model import --graphstorm DIR`: a model GraphStorm trained, converted once into a gs
//! model directory, as training writes one: the checkpoint `epoch-0/` (the built-in plugin's
//! component, the weights by gs name, GraphStorm's learnable embeddings included, the resolved
//! configuration), `training_summary.json` naming it the best, the runtime YAML
//! (`GRAPHSTORM_RUNTIME_UPDATED_TRAINING_CONFIG.yaml`) and the graph's fitted transforms
//! (`data_transform_new.json`, GraphStorm's own when it saved one beside the model). Inference,
//! `gen-node-embedding` and continued training load `epoch-0/` like any other checkpoint,
//! with no `--cf` and no `model.bin` beside it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use gs_config::Resolved;
use gs_train::TrainingSummary;
use gs_train::checkpoint::{self, CHECKPOINT_VERSION, CheckpointMeta};

use crate::Frontend;
use crate::restore::graphstorm_model;

/// The checkpoint folder of an imported model, inside the model directory.
pub(crate) const IMPORTED_CHECKPOINT: &str = "epoch-0";

/// Converts the model GraphStorm saved in `dir` (`model.bin`, built as the configuration
/// says) into the gs model directory `output`, written atomically (into a temporary sibling,
/// then renamed).
pub fn import_graphstorm(
    resolved: &Resolved,
    dir: &Path,
    output: &Path,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<()> {
    let restored = graphstorm_model(resolved, dir, frontend)?;
    let meta = CheckpointMeta {
        gs_checkpoint_version: CHECKPOINT_VERSION,
        epoch: 0,
        plugin: restored.identity,
        config: checkpoint::model_config(&resolved.train),
        custom_args: restored.custom_args.clone(),
        metrics: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    let weights = restored.model.checkpoint_weights();
    let serving = restored
        .setup
        .task
        .serving_file(&restored.model, restored.custom_args.clone())?;
    let name = output
        .file_name()
        .with_context(|| format!("`{}` names no folder", output.display()))?;
    let tmp = output.with_file_name(format!(
        ".{}.import-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = write_model_dir(
        &tmp,
        resolved,
        dir,
        &meta,
        &weights,
        &restored.plugin_bytes,
        serving,
    )
    .and_then(|()| Ok(std::fs::rename(&tmp, output)?));
    if let Err(e) = written {
        // Nothing half-written stays behind.
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e.context(format!("cannot import `{}`", dir.display())));
    }
    frontend.line(&format!(
        "imported GraphStorm's model `{}` ({} weights of `{}` {}) into `{}` (checkpoint \
         `{IMPORTED_CHECKPOINT}`)",
        dir.display(),
        weights.len(),
        meta.plugin.name,
        meta.plugin.version,
        output.display()
    ));
    Ok(())
}

/// The model directory's files in `root`.
fn write_model_dir(
    root: &Path,
    resolved: &Resolved,
    graphstorm_dir: &Path,
    meta: &CheckpointMeta,
    weights: &[(String, gs_tensor::Tensor)],
    plugin_bytes: &[u8],
    serving: (String, Vec<u8>),
) -> anyhow::Result<()> {
    checkpoint::save(
        &root.join(IMPORTED_CHECKPOINT),
        meta,
        weights,
        &[],
        plugin_bytes,
    )?;
    for (file, bytes) in runtime_files(resolved, graphstorm_dir)
        .into_iter()
        .chain([serving])
    {
        std::fs::write(root.join(&file), bytes)
            .with_context(|| format!("cannot write `{file}`"))?;
    }
    TrainingSummary {
        eval_metric: resolved.train.eval_metric.clone(),
        best_epoch: Some(0),
        best_checkpoint: Some(IMPORTED_CHECKPOINT.to_string()),
        best_val_score: None,
        test_score: None,
        epochs: vec![],
        iterations: vec![],
    }
    .save(root)?;
    Ok(())
}

/// The runtime YAML and `data_transform_new.json` of the imported model: GraphStorm writes
/// its transforms into the save-model-path root, the parent of an `epoch-N` folder, so gs
/// takes them from the model's folder or its parent when they are there, else from the
/// graph's folder as training does.
fn runtime_files(resolved: &Resolved, graphstorm_dir: &Path) -> Vec<(String, Vec<u8>)> {
    const TRANSFORMS: &str = "data_transform_new.json";
    let mut files = crate::training::runtime_config_files(resolved);
    let graphstorm_transforms = [Some(graphstorm_dir), graphstorm_dir.parent()]
        .into_iter()
        .flatten()
        .find_map(|d| std::fs::read(d.join(TRANSFORMS)).ok());
    if let Some(bytes) = graphstorm_transforms {
        files.retain(|(name, _)| name != TRANSFORMS);
        files.push((TRANSFORMS.to_string(), bytes));
    }
    files
}

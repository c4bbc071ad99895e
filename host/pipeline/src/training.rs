//! A training run: the plugin, the warm start, the training loop, the best epoch's report and
//! the embeddings after training.

use anyhow::Context;
use gs_config::{PluginRef, Resolved};
use gs_train::checkpoint;
use gs_train::{RunOptions, TaskModel};

use crate::Frontend;
use crate::metrics_line::all_metrics_line;
use crate::outputs::{edge_outputs, lp_outputs, node_embeddings};
use crate::plugin::{identity, plugin_custom_args};
use crate::run_task::RunTask;
use crate::setup::Setup;
use crate::warm_start::WarmStart;

/// Trains the plugin `--plugin` names on the configured task, reports the best epoch and
/// writes the embeddings after training when `--save-embed-path` asks for them.
pub fn train(resolved: &Resolved, frontend: &mut dyn Frontend) -> anyhow::Result<()> {
    let plugin = resolved.launch.plugin.clone().ok_or_else(|| {
        anyhow::anyhow!(gs_config::ConfigError::Missing {
            missing: vec!["`--plugin`".into()],
            hint:
                "name a built-in plugin (`--plugin sage`) or a component (`--plugin model.wasm`), \
                   or set `model_encoder_type` in the YAML"
                    .into(),
        })
    })?;
    let (source, bytes) = frontend.plugin_bytes(&plugin)?;
    let warm = WarmStart::load(&resolved.train)?;
    let setup = Setup::new(resolved, frontend)?;
    let instance = setup.instantiate(resolved, &source, &bytes)?;
    let custom_args = plugin_custom_args(&instance, resolved, &resolved.custom_args)?;
    let mut identity = identity(&instance);
    if let PluginRef::Registry(_) = &plugin {
        // The frontend names a registry plugin by its pinned, pullable reference.
        identity.source = Some(source.clone());
    }
    let mut model = setup.task.plugin_model(instance, custom_args.clone())?;
    let start_epoch = warm.restore_weights(&mut model, frontend)?;
    let weights: usize = model.named_weights().iter().map(|(_, t)| t.numel()).sum();
    frontend.note(&format!(
        "training `{}` {} (sha256:{}…) on `{}`: {} weights, {} on {:?}, {} tensor threads",
        identity.name,
        identity.version,
        &identity.digest[..12],
        resolved.launch.part_config.display(),
        weights,
        resolved.train.task_type.name(),
        setup.device,
        gs_tensor::tch::get_num_threads(),
    ));
    let mut beside_checkpoints = runtime_config_files(resolved);
    beside_checkpoints.push(setup.task.serving_file(&model, custom_args.clone())?);
    let options = RunOptions {
        save_model_path: resolved.train.save_model_path.clone(),
        plugin: identity,
        plugin_bytes: bytes,
        custom_args,
        beside_checkpoints,
        start_epoch,
        restore_optimizer: warm.optimizer,
        continued_summary: warm.continued_summary,
    };
    let metric = setup.task.metric();
    let summary = setup.task.train(
        &mut model,
        &options,
        &mut *frontend.progress(&metric, resolved.train.log_report_frequency),
    )?;
    let score = |s: Option<f64>| s.map_or_else(|| "n/a".to_string(), |s| format!("{s:.4}"));
    match summary.best_epoch {
        Some(epoch) => frontend.line(&format!(
            "best epoch {epoch}{}: validation {metric} {}, test {metric} {}",
            summary
                .best_checkpoint
                .as_ref()
                .map_or_else(String::new, |c| format!(" ({c})")),
            score(summary.best_val_score),
            score(summary.test_score),
        )),
        None => frontend.line("no epoch was trained (num_epochs is 0)"),
    }
    let best = summary
        .best_epoch
        .and_then(|b| summary.epochs.iter().find(|e| e.epoch == b))
        // Not when the best checkpoint is one inside that epoch (`save_model_frequency`).
        .filter(|e| e.checkpoint == summary.best_checkpoint);
    if let Some(best) = best {
        for (split, metrics) in [
            ("validation", &best.val_metrics),
            ("test", &best.test_metrics),
        ] {
            if let Some(line) = all_metrics_line(metrics) {
                frontend.line(&format!("best epoch {split}: {line}"));
            }
        }
    }
    if let Some(dir) = &resolved.train.save_model_path {
        frontend.line(&format!(
            "checkpoints and {} in `{}`",
            gs_train::SUMMARY_FILE,
            dir.display()
        ));
    }
    if let Some(dir) = &resolved.train.save_embed_path {
        let best = (resolved.train.save_model_path.as_ref())
            .zip(summary.best_checkpoint.as_ref())
            .map(|(save, best)| save.join(best));
        match &setup.task {
            RunTask::Node(task) => node_embeddings::after_training(
                dir,
                task,
                &mut model,
                best,
                &resolved.launch,
                frontend,
            )?,
            RunTask::Edge(task) => {
                restore_best(&mut model, best)?;
                edge_outputs::write_embeddings(dir, task, &mut model, &resolved.launch, frontend)?
            }
            RunTask::Lp(task) => {
                restore_best(&mut model, best)?;
                lp_outputs::write_embeddings(dir, task, &mut model, &resolved.launch, frontend)?
            }
        }
    }
    Ok(())
}

/// Loads the best checkpoint's weights into `model`, when there is one.
fn restore_best(model: &mut TaskModel, best: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    if let Some(best) = best {
        let best = checkpoint::load(&best)?;
        model
            .load_weights(&best.weights)
            .with_context(|| format!("cannot restore `{}`", best.dir.display()))?;
    }
    Ok(())
}

/// As GraphStorm does beside saved models: the merged configuration in GraphStorm's YAML
/// layout, and the graph's `data_transform_new.json` (which serving needs) when it has one.
/// Training writes them together with the first checkpoint.
pub(crate) fn runtime_config_files(resolved: &Resolved) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(
        gs_config::RUNTIME_CONFIG_FILE.to_string(),
        gs_config::graphstorm_yaml(&resolved.train).into_bytes(),
    )];
    let transforms = resolved
        .launch
        .part_config
        .with_file_name("data_transform_new.json");
    if let Ok(bytes) = std::fs::read(&transforms) {
        files.push(("data_transform_new.json".to_string(), bytes));
    }
    files
}

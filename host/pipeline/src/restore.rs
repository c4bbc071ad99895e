//! A trained model back from its checkpoint, or from a model directory GraphStorm saved, for
//! inference and embeddings.

use std::path::PathBuf;

use anyhow::{Context, bail};
use gs_config::Resolved;
use gs_train::checkpoint::{LoadedCheckpoint, PluginIdentity};
use gs_train::{TaskModel, graphstorm_import};
use sha2::{Digest, Sha256};

use crate::Frontend;
use crate::plugin::{identity, plugin_custom_args};
use crate::setup::Setup;

/// What `--restore-model-path` names.
pub enum TrainedModel {
    /// A gs checkpoint (`model/epoch-3`).
    Checkpoint(Box<LoadedCheckpoint>),
    /// A model directory GraphStorm saved (`model.bin`): the configuration (`--cf`) builds
    /// the built-in plugin `model_encoder_type` names, and `model.bin`'s weights load into it
    /// by name.
    GraphStorm(PathBuf),
}

/// The run's setup and the trained model, ready to infer.
pub(crate) fn restored(
    resolved: &Resolved,
    trained: TrainedModel,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<(Setup, TaskModel)> {
    match trained {
        TrainedModel::Checkpoint(ckpt) => restored_checkpoint(resolved, *ckpt, frontend),
        TrainedModel::GraphStorm(dir) => {
            let restored = graphstorm_model(resolved, &dir, frontend)?;
            Ok((restored.setup, restored.model))
        }
    }
}

/// A model GraphStorm saved, rebuilt in gs, and what a checkpoint of it records.
pub(crate) struct GraphStormModel {
    pub(crate) setup: Setup,
    pub(crate) model: TaskModel,
    pub(crate) identity: PluginIdentity,
    pub(crate) plugin_bytes: Vec<u8>,
    pub(crate) custom_args: Vec<(String, String)>,
}

/// The model GraphStorm saved in `dir`, rebuilt from the run's configuration: the plugin
/// `--plugin` (by default the built-in `model_encoder_type` names) with `model.bin`'s weights.
pub(crate) fn graphstorm_model(
    resolved: &Resolved,
    dir: &std::path::Path,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<GraphStormModel> {
    let plugin = resolved.launch.plugin.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "`{}` is a GraphStorm model directory, and the configuration names no encoder; \
             hint: pass GraphStorm's YAML with --cf (its `model_encoder_type` names the built-in \
             plugin)",
            dir.display()
        )
    })?;
    let (source, plugin_bytes) = frontend.plugin_bytes(&plugin)?;
    let setup = Setup::new(resolved, frontend)?;
    let instance = setup.instantiate(resolved, &source, &plugin_bytes)?;
    let identity = identity(&instance);
    let custom_args = plugin_custom_args(&instance, resolved, &resolved.custom_args)?;
    let mut model = setup.task.plugin_model(instance, custom_args.clone())?;
    let layers = &resolved.train.restore_model_layers;
    let (model_bin, tensors) =
        graphstorm_import::load_graphstorm_model_dir(&mut model, dir, layers)?;
    frontend.note(&format!(
        "restored GraphStorm's model `{}` ({tensors} tensors) into `{source}`",
        model_bin.display()
    ));
    Ok(GraphStormModel {
        setup,
        model,
        identity,
        plugin_bytes,
        custom_args,
    })
}

/// The run's setup and the model a checkpoint holds: its plugin (or `--plugin`, checked
/// against it) with the checkpoint's weights.
fn restored_checkpoint(
    resolved: &Resolved,
    ckpt: LoadedCheckpoint,
    frontend: &mut dyn Frontend,
) -> anyhow::Result<(Setup, TaskModel)> {
    let saved = &ckpt.meta.plugin;
    // The bytes that are checked are the bytes that run: `--plugin`'s when given (checked
    // against the checkpoint's record), else the checkpoint's copy (checked by `load`).
    let mut run_bytes = None;
    if let Some(plugin) = &resolved.launch.plugin {
        let (source, bytes) = frontend.plugin_bytes(plugin)?;
        let digest = hex::encode(Sha256::digest(&bytes));
        if digest != saved.digest {
            bail!(
                "plugin `{source}` (sha256:{digest}) is not the plugin that trained `{}` \
                 (`{}` {}, sha256:{})\nhint: leave out --plugin to use the copy saved in the checkpoint",
                ckpt.dir.display(),
                saved.name,
                saved.version,
                saved.digest
            );
        }
        run_bytes = Some((source, bytes));
    }
    let setup = Setup::new(resolved, frontend)?;
    let (source, bytes) = run_bytes.unwrap_or_else(|| {
        (
            format!("{} (from {})", saved.name, ckpt.dir.display()),
            ckpt.plugin_bytes.clone(),
        )
    });
    let instance = setup.instantiate(resolved, &source, &bytes)?;
    // GraphStorm keys (`num_bases`, ...) come back through the checkpoint's saved config.
    let mut args: Vec<String> = ckpt
        .meta
        .custom_args
        .iter()
        .filter(|(k, _)| !gs_config::PLUGIN_KEYS.contains(&k.as_str()))
        .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
        .collect();
    args.extend(resolved.custom_args.iter().cloned());
    let custom_args = plugin_custom_args(&instance, resolved, &args)?;
    let mut model = setup.task.plugin_model(instance, custom_args)?;
    model
        .load_model_layers(&ckpt.weights, &resolved.train.restore_model_layers)
        .with_context(|| format!("cannot restore `{}`", ckpt.dir.display()))?;
    Ok((setup, model))
}

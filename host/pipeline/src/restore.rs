//! A trained model back from its checkpoint, for inference and embeddings.

use anyhow::{Context, bail};
use gs_config::Resolved;
use gs_train::TaskModel;
use gs_train::checkpoint::LoadedCheckpoint;
use sha2::{Digest, Sha256};

use crate::Frontend;
use crate::plugin::plugin_custom_args;
use crate::setup::Setup;

/// The run's setup and the model a checkpoint holds: its plugin (or `--plugin`, checked
/// against it) with the checkpoint's weights.
pub(crate) fn restored(
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
        .load_weights(&ckpt.weights)
        .with_context(|| format!("cannot restore `{}`", ckpt.dir.display()))?;
    Ok((setup, model))
}

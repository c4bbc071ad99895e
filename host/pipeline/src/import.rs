//! `gs model import --graphstorm DIR`: a model GraphStorm trained, converted once into a gs
//! checkpoint (the built-in plugin's component, the weights by gs name, the resolved
//! configuration) that inference, `gen-node-embedding` and continued training load like any
//! other, with no `--cf` and no `model.bin` beside it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use gs_config::Resolved;
use gs_train::checkpoint::{self, CHECKPOINT_VERSION, CheckpointMeta};

use crate::Frontend;
use crate::restore::graphstorm_model;

/// Converts the model GraphStorm saved in `dir` (`model.bin`, built as the configuration
/// says) into the gs checkpoint `output`, written atomically.
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
        custom_args: restored.custom_args,
        metrics: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    let weights = restored.model.checkpoint_weights();
    checkpoint::save(output, &meta, &weights, &[], &restored.plugin_bytes)
        .with_context(|| format!("cannot import `{}`", dir.display()))?;
    frontend.line(&format!(
        "imported GraphStorm's model `{}` ({} weights of `{}` {}) into `{}`",
        dir.display(),
        weights.len(),
        meta.plugin.name,
        meta.plugin.version,
        output.display()
    ));
    Ok(())
}

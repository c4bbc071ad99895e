//! Which checkpoint a model directory serves: `--model-dir model/` serves the best epoch
//! `training_summary.json` records, `--model-dir model/epoch-7/` that epoch (its parent being
//! the model directory). With no `--model-dir`, SageMaker's `/opt/ml/model`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use gs_train::TrainingSummary;
use gs_train::checkpoint::META_FILE;

/// Overrides SageMaker's `/opt/ml` root (tests point it at a temporary folder).
pub const SAGEMAKER_ROOT_ENV: &str = "GS_SAGEMAKER_ROOT";
const SAGEMAKER_ROOT: &str = "/opt/ml";

/// A model directory and the checkpoint in it to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDir {
    /// Holds `serving.json`, the runtime YAML and `data_transform_new.json`.
    pub root: PathBuf,
    /// The `epoch-N` checkpoint.
    pub checkpoint: PathBuf,
}

/// The model directory `arg` names, or SageMaker's `<root>/model` without one.
pub fn resolve_model_dir(arg: Option<&Path>) -> anyhow::Result<ModelDir> {
    let dir = match arg {
        Some(dir) => dir.to_path_buf(),
        None => std::env::var_os(SAGEMAKER_ROOT_ENV)
            .map_or_else(|| PathBuf::from(SAGEMAKER_ROOT), PathBuf::from)
            .join("model"),
    };
    if dir.join(META_FILE).is_file() {
        let root = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        return Ok(ModelDir {
            root,
            checkpoint: dir,
        });
    }
    if !dir.is_dir() {
        bail!(
            "model directory `{}` does not exist; hint: pass --model-dir with the folder \
             training's --save-model-path wrote (or one `epoch-N` folder in it)",
            dir.display()
        );
    }
    let summary = TrainingSummary::load(&dir).with_context(|| {
        format!(
            "`{}` holds no `{}` naming the best checkpoint; hint: pass one checkpoint, e.g. \
             --model-dir {}",
            dir.display(),
            gs_train::SUMMARY_FILE,
            dir.join("epoch-0").display()
        )
    })?;
    let Some(best) = summary.best_checkpoint else {
        bail!(
            "`{}` records no best checkpoint (no epoch was saved); hint: pass one checkpoint \
             folder with --model-dir",
            dir.join(gs_train::SUMMARY_FILE).display()
        );
    };
    Ok(ModelDir {
        checkpoint: dir.join(best),
        root: dir,
    })
}

//! Training from a checkpoint: `--restore-model-path M/epoch-N` starts from its weights and
//! continues with epoch N + 1; `--restore-optimizer-path` continues from its Adam state. Both
//! checkpoints are verified against their recorded digests before anything is read.
//! `--restore-model-path` may also name a model directory GraphStorm saved (`model.bin`):
//! training then starts from its weights at epoch 0, as GraphStorm's does.
//! `restore_model_layers` limits what loads to those parts of the model. Also the check that
//! `--save-model-path` holds no other run's checkpoints (a run restored from `M/epoch-N` may
//! go on saving into `M`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use gs_config::TrainConfig;
use gs_tensor::Tensor;
use gs_train::checkpoint::{self, LoadedCheckpoint};
use gs_train::graphstorm_import::{is_graphstorm_model_dir, load_graphstorm_model_dir};
use gs_train::{TaskModel, TrainingSummary};

use crate::Frontend;

fn same_dir(a: Option<&std::path::Path>, b: &std::path::Path) -> bool {
    let canonical = |p: &std::path::Path| std::fs::canonicalize(p).ok();
    a.is_some_and(|a| canonical(a).is_some() && canonical(a) == canonical(b))
}

/// What a training run starts from.
pub(crate) struct WarmStart {
    model: Option<LoadedCheckpoint>,
    /// A model directory GraphStorm saved, named by `--restore-model-path`.
    graphstorm: Option<PathBuf>,
    /// `restore_model_layers` (empty: every part).
    layers: Vec<String>,
    /// Adam state from `--restore-optimizer-path`.
    pub(crate) optimizer: Option<Vec<(String, Tensor)>>,
    /// The summary in `--save-model-path` when the run continues a checkpoint of that folder.
    pub(crate) continued_summary: Option<TrainingSummary>,
}

impl WarmStart {
    /// Load and verify the checkpoints `config` names, and check the save folder.
    pub(crate) fn load(config: &TrainConfig) -> anyhow::Result<Self> {
        let graphstorm = config
            .restore_model_path
            .clone()
            .filter(|p| is_graphstorm_model_dir(p));
        let model = match &config.restore_model_path {
            Some(path) if graphstorm.is_none() => Some(checkpoint::load(path)?),
            _ => None,
        };
        if let Some(save) = &config.save_model_path {
            gs_train::check_save_folder(save, config.restore_model_path.as_deref())?;
            gs_train::remove_stale_temporaries(save);
        }
        let optimizer = match &config.restore_optimizer_path {
            None => None,
            Some(path) if is_graphstorm_model_dir(path) => bail!(
                "`restore_optimizer_path` `{}` is a model directory GraphStorm saved: its \
                 `optimizers.bin` keeps Adam's state by parameter position, not by name, so gs \
                 cannot tell which weight each entry belongs to\nhint: drop \
                 --restore-optimizer-path to continue from GraphStorm's weights \
                 (--restore-model-path) with a fresh optimizer",
                path.display()
            ),
            Some(path) => {
                let loaded = match &model {
                    Some(m) if config.restore_model_path.as_ref() == Some(path) => {
                        m.optimizer.as_ref().map(|state| {
                            state
                                .iter()
                                .map(|(n, t)| (n.clone(), t.shallow_clone()))
                                .collect()
                        })
                    }
                    _ => checkpoint::load(path)?.optimizer,
                };
                match loaded {
                    Some(state) => Some(state),
                    None => bail!(
                        "`restore_optimizer_path` `{}` has no `{}`\nhint: name a checkpoint \
                         folder written by gs training, such as `model/epoch-3`",
                        path.display(),
                        checkpoint::OPTIMIZER_FILE
                    ),
                }
            }
        };
        let continued_summary = match (&config.save_model_path, &model) {
            (Some(save), Some(m)) if same_dir(m.dir.parent(), save) => TrainingSummary::load(save),
            _ => None,
        };
        Ok(Self {
            model,
            graphstorm,
            layers: config.restore_model_layers.clone(),
            optimizer,
            continued_summary,
        })
    }

    /// Overwrite `model`'s weights with the restored checkpoint's; returns the first epoch to
    /// train (N + 1 after `epoch-N`, 0 without a checkpoint).
    pub(crate) fn restore_weights(
        &self,
        model: &mut TaskModel,
        frontend: &mut dyn Frontend,
    ) -> anyhow::Result<usize> {
        if let Some(dir) = &self.graphstorm {
            let (model_bin, _) = load_graphstorm_model_dir(model, dir, &self.layers)?;
            frontend.note(&format!(
                "starting from GraphStorm's model `{}`{}: training starts with epoch 0",
                model_bin.display(),
                self.layers_note()
            ));
            return Ok(0);
        }
        let Some(ckpt) = &self.model else {
            return Ok(0);
        };
        model
            .load_model_layers(&ckpt.weights, &self.layers)
            .with_context(|| {
                format!(
                    "cannot start training from `{}`; hint: --restore-model-path must name a \
                 checkpoint of the same plugin and model configuration",
                    ckpt.dir.display()
                )
            })?;
        frontend.note(&format!(
            "starting from `{}` (epoch {}){}: training continues with epoch {}",
            ckpt.dir.display(),
            ckpt.meta.epoch,
            self.layers_note(),
            ckpt.meta.epoch + 1
        ));
        Ok(ckpt.meta.epoch + 1)
    }

    /// ` (restore_model_layers [..])` when only some parts load.
    fn layers_note(&self) -> String {
        if self.layers.is_empty() {
            String::new()
        } else {
            format!(" (restore_model_layers {:?})", self.layers)
        }
    }
}

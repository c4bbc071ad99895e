//! `training_summary.json`: what each epoch scored and which checkpoint is best.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::TrainError;

/// One epoch's figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    /// Validation score of the primary metric (`null` without validation).
    pub val_score: Option<f64>,
    pub test_score: Option<f64>,
    pub seconds: f64,
    /// The checkpoint directory name, when one was saved.
    pub checkpoint: Option<String>,
}

/// An evaluation inside an epoch (`eval_frequency`), or the validation score of an
/// iteration checkpoint (`save_model_frequency`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IterationReport {
    pub epoch: usize,
    /// The batch index inside the epoch (the `I` of `epoch-E-iter-I`).
    pub iteration: usize,
    /// Training steps since the start of training (GraphStorm's `total_steps`).
    pub total_steps: u64,
    pub val_score: Option<f64>,
    /// The checkpoint saved at this iteration, when one is still on disk.
    pub checkpoint: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainingSummary {
    /// Primary metric first, as `eval_metric` lists them.
    pub eval_metric: Vec<String>,
    pub best_epoch: Option<usize>,
    pub best_checkpoint: Option<String>,
    pub best_val_score: Option<f64>,
    /// Test score at the best epoch.
    pub test_score: Option<f64>,
    pub epochs: Vec<EpochReport>,
    /// Evaluations and checkpoints inside epochs, in order.
    #[serde(default)]
    pub iterations: Vec<IterationReport>,
}

pub const SUMMARY_FILE: &str = "training_summary.json";

impl TrainingSummary {
    /// Write `dir/training_summary.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        let path = dir.join(SUMMARY_FILE);
        let fail = |e: std::io::Error| TrainError::Output {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        let tmp = dir.join(format!(".{SUMMARY_FILE}.tmp-{}", std::process::id()));
        let text = serde_json::to_vec_pretty(self).expect("summary serialises");
        std::fs::write(&tmp, text).map_err(fail)?;
        std::fs::rename(&tmp, &path).map_err(fail)
    }
}

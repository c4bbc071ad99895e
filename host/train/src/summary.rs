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

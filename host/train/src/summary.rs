//! `training_summary.json`: what each epoch scored and which checkpoint is best. Each epoch
//! records the primary metric's validation and test values (`val_score`, `test_score`) and
//! every `eval_metric` by name (`val_metrics`, `test_metrics`), per-class values included.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Score, TrainError};

/// One epoch's figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    /// Validation score of the primary metric (`null` without validation).
    pub val_score: Option<f64>,
    pub test_score: Option<f64>,
    /// Every `eval_metric` on the validation targets, by name (none without validation).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub val_metrics: BTreeMap<String, Score>,
    /// Every `eval_metric` on the test targets, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub test_metrics: BTreeMap<String, Score>,
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
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
    /// Read `dir/training_summary.json`, if there is a readable one.
    pub fn load(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join(SUMMARY_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The records of the epochs before `start_epoch` (a run continued from `epoch-N` keeps
    /// what epochs 0..=N recorded), with the best checkpoint chosen again among them.
    pub(crate) fn before_epoch(
        mut self,
        start_epoch: usize,
        better: impl Fn(f64, f64) -> bool,
    ) -> Self {
        self.epochs.retain(|e| e.epoch < start_epoch);
        self.iterations.retain(|i| i.epoch < start_epoch);
        self.best_epoch = None;
        self.best_checkpoint = None;
        self.best_val_score = None;
        self.test_score = None;
        for e in &self.epochs {
            let improved = match (e.val_score, self.best_val_score) {
                (Some(v), Some(best)) => better(v, best),
                _ => true,
            };
            if improved {
                self.best_epoch = Some(e.epoch);
                self.best_checkpoint = e.checkpoint.clone();
                self.best_val_score = e.val_score;
                self.test_score = e.test_score;
            }
        }
        self
    }

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

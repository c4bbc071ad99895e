//! Saving during training: a checkpoint at every epoch end and every `save_model_frequency`
//! iterations (GraphStorm's `epoch-E` and `epoch-E-iter-I` folders), the files that belong
//! beside the checkpoints (written with the first one, so a run that fails before it saves
//! anything leaves no configuration that matches no checkpoint), and `topk_model_to_save`.
//!
//! Nothing already saved is lost when a run is killed: each checkpoint is renamed into place
//! whole ([`checkpoint::save`]), each file beside it is written under a temporary name and
//! renamed, and a pruned checkpoint is first renamed to a hidden name and only then deleted.

use std::collections::BTreeMap;
use std::path::Path;

use gs_tensor::Tensor;

use crate::checkpoint::{self, CHECKPOINT_VERSION, CheckpointMeta};
use crate::{RunOptions, TrainError};

/// Configuration keys of the training run's own input and output folders and saving.
const RUN_PATHS: &[&str] = &[
    "save_model_path",
    "save_model_frequency",
    "topk_model_to_save",
    "save_embed_path",
    "save_prediction_path",
    "restore_model_path",
    "restore_model_layers",
    "restore_optimizer_path",
];

/// Where and what a training run saves.
pub(crate) struct CheckpointWriter<'a> {
    options: &'a RunOptions,
    config: BTreeMap<String, serde_json::Value>,
    topk: Option<usize>,
    higher_is_better: bool,
    /// Checkpoints of this run still on disk, with their validation scores.
    saved: Vec<(String, Option<f64>)>,
    wrote_beside: bool,
}

/// `config` without where the run read and wrote, which is not part of the model: an
/// inference run from a checkpoint must not inherit them (it would write into the training's
/// embedding folder).
pub(crate) fn without_run_paths(
    mut config: BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, serde_json::Value> {
    for key in RUN_PATHS {
        config.remove(*key);
    }
    config
}

impl<'a> CheckpointWriter<'a> {
    pub(crate) fn new(
        options: &'a RunOptions,
        config: BTreeMap<String, serde_json::Value>,
        topk: Option<u32>,
        higher_is_better: bool,
    ) -> Self {
        Self {
            options,
            config: without_run_paths(config),
            topk: topk.map(|k| k as usize),
            higher_is_better,
            saved: Vec::new(),
            wrote_beside: false,
        }
    }

    /// Save checkpoint `name` (`epoch-3` or `epoch-3-iter-99`) when the run saves models; returns
    /// the name of the checkpoint when it is still on disk after `topk_model_to_save` pruning.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn save(
        &mut self,
        name: String,
        epoch: usize,
        metrics: BTreeMap<String, f64>,
        val_score: Option<f64>,
        weights: &[(String, Tensor)],
        optimizer: &[(String, Tensor)],
    ) -> Result<Option<String>, TrainError> {
        let Some(dir) = &self.options.save_model_path else {
            return Ok(None);
        };
        let meta = CheckpointMeta {
            gs_checkpoint_version: CHECKPOINT_VERSION,
            epoch,
            plugin: self.options.plugin.clone(),
            config: self.config.clone(),
            custom_args: self.options.custom_args.clone(),
            metrics,
            files: BTreeMap::new(),
        };
        checkpoint::save(
            &dir.join(&name),
            &meta,
            weights,
            optimizer,
            &self.options.plugin_bytes,
        )?;
        if !self.wrote_beside {
            for (file, bytes) in &self.options.beside_checkpoints {
                write_atomic(&dir.join(file), bytes)?;
            }
            self.wrote_beside = true;
        }
        self.saved.retain(|(n, _)| *n != name);
        self.saved.push((name.clone(), val_score));
        if let Some(k) = self.topk {
            prune(dir, &mut self.saved, k, self.higher_is_better)?;
        }
        Ok(self.saved.iter().any(|(n, _)| *n == name).then_some(name))
    }
}

/// Write `path` under a temporary name, flush it, and rename it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    use std::io::Write as _;
    let fail = |e: std::io::Error| TrainError::Output {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

/// Keep the `k` best checkpoints by validation score (the latest ones when there is no
/// score, as GraphStorm does); delete the others.
fn prune(
    dir: &Path,
    saved: &mut Vec<(String, Option<f64>)>,
    k: usize,
    higher_is_better: bool,
) -> Result<(), TrainError> {
    if saved.len() <= k {
        return Ok(());
    }
    // Scored checkpoints: best first, the older one first on a tie (the summary's best is the
    // first to reach its score). Without scores: the newest first, as GraphStorm keeps them.
    let mut ranked: Vec<(String, Option<f64>)> = saved.clone();
    if ranked.iter().any(|(_, s)| s.is_none()) {
        ranked.reverse();
    } else {
        ranked.sort_by(|a, b| {
            let (a, b) = (a.1.unwrap_or(f64::NAN), b.1.unwrap_or(f64::NAN));
            let order = a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
            if higher_is_better {
                order.reverse()
            } else {
                order
            }
        });
    }
    for (name, _) in &ranked[k..] {
        let path = dir.join(name);
        let doomed = dir.join(format!(".{name}.deleted-{}", std::process::id()));
        std::fs::rename(&path, &doomed)
            .and_then(|()| std::fs::remove_dir_all(&doomed))
            .map_err(|e| TrainError::Output {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
    }
    ranked.truncate(k);
    saved.retain(|s| ranked.contains(s));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_best_and_without_scores_the_newest() {
        let root = tempfile::tempdir().unwrap();
        let mut saved = Vec::new();
        for (name, score) in [
            ("a", Some(0.5)),
            ("b", Some(0.9)),
            ("c", Some(0.1)),
            ("d", Some(0.5)),
        ] {
            std::fs::create_dir(root.path().join(name)).unwrap();
            saved.push((name.to_string(), score));
        }
        prune(root.path(), &mut saved, 2, true).unwrap();
        assert_eq!(
            saved,
            vec![("a".to_string(), Some(0.5)), ("b".to_string(), Some(0.9))]
        );
        assert!(!root.path().join("c").exists());
        assert!(!root.path().join("d").exists(), "a tie keeps the older one");
        let mut unscored: Vec<_> = ["x", "y", "z"]
            .iter()
            .map(|n| {
                std::fs::create_dir(root.path().join(n)).unwrap();
                (n.to_string(), None)
            })
            .collect();
        prune(root.path(), &mut unscored, 1, true).unwrap();
        assert_eq!(unscored, vec![("z".to_string(), None)]);
        let left: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(left.iter().all(|n| !n.starts_with('.')), "{left:?}");
    }
}

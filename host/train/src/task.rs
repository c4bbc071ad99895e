//! What the training loop needs of a task: its targets (node or edge ids) per split, batches of
//! them with labels, the width of its outputs and how outputs are scored. Node tasks
//! ([`crate::NodeTask`]) and edge tasks ([`crate::EdgeTask`]) implement it; link prediction is
//! meant to implement it next (its batches carry positive and negative pairs and its scores
//! are rankings). The loop itself is [`crate::train_loop`].

use gs_config::TrainConfig;
use gs_graph::Prefetcher;
use gs_tensor::{Device, Kind, Tensor};

use crate::head::Head;
use crate::metrics::roc_auc_macro;
use crate::{Metric, PreparedBatch, TrainError};

/// Batches of a task, sampled and assembled ahead of the model.
pub(crate) type Batches = Prefetcher<Result<PreparedBatch, TrainError>>;

/// A supervised task over one graph and one resolved configuration.
pub(crate) trait TargetTask {
    fn config(&self) -> &TrainConfig;
    fn device(&self) -> Device;
    /// `eval_metric`, primary first.
    fn metrics(&self) -> &[Metric];
    /// How classification outputs are read.
    fn head(&self) -> Head;
    /// Width of the task outputs per target.
    fn output_dim(&self) -> Result<i64, TrainError>;
    /// The targets for messages, e.g. "node type `paper`".
    fn targets_text(&self) -> String;
    /// Target ids whose split `mask` is set.
    fn split(&self, mask: &str) -> Result<Vec<u64>, TrainError>;
    /// Batches of `ids`: with the training fanout, shuffled by `epoch`, when `train`; else with
    /// the evaluation fanout in order. Returns the number of batches too.
    fn batches(
        &self,
        ids: Vec<u64>,
        batch_size: u32,
        train: bool,
        epoch: u64,
        with_labels: bool,
    ) -> Result<(usize, Batches), TrainError>;

    /// Scores of every metric of `outputs` against `labels`.
    fn scores(&self, outputs: &Tensor, labels: &Tensor) -> Result<Vec<(Metric, f64)>, TrainError> {
        let config = self.config();
        let convert = |e| TrainError::Tensor(gs_tensor::TensorError::torch("read outputs", e));
        self.metrics()
            .iter()
            .map(|&m| {
                let head = self.head();
                let score = if m.is_classification() && head == Head::MultiLabel {
                    // GraphStorm's multilabel `accuracy` is the macro ROC AUC.
                    let probabilities = head.probabilities(outputs).flatten(0, -1);
                    let scores = Vec::<f32>::try_from(probabilities).map_err(convert)?;
                    let truth = Vec::<f32>::try_from(labels.to_kind(Kind::Float).flatten(0, -1))
                        .map_err(convert)?;
                    roc_auc_macro(&scores, &truth, self.output_dim()? as usize)
                } else if m.is_classification() {
                    let predicted = Vec::<i64>::try_from(head.classes(outputs).flatten(0, -1))
                        .map_err(convert)?;
                    let truth =
                        Vec::<i64>::try_from(labels.to_kind(Kind::Int64)).map_err(convert)?;
                    let classes = config.num_classes.unwrap_or(2).max(2) as usize;
                    m.classification(&predicted, &truth, classes)
                } else {
                    let predicted =
                        Vec::<f32>::try_from(outputs.flatten(0, -1)).map_err(convert)?;
                    let truth = Vec::<f32>::try_from(labels.to_kind(Kind::Float).flatten(0, -1))
                        .map_err(convert)?;
                    m.regression(&predicted, &truth)
                };
                Ok((m, score))
            })
            .collect()
    }
}

/// The metrics of `eval_metric`, checked against the task.
pub(crate) fn parse_metrics(config: &TrainConfig) -> Result<Vec<Metric>, TrainError> {
    let task = config.task_type;
    let metrics = config
        .eval_metric
        .iter()
        .map(|m| Metric::parse(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(TrainError::Config)?;
    let classification = task.is_classification();
    if let Some(m) = metrics
        .iter()
        .find(|m| m.is_classification() != classification)
    {
        return Err(TrainError::Config(format!(
            "eval_metric `{m}` does not apply to `{}`",
            task.name()
        )));
    }
    if metrics.is_empty() {
        return Err(TrainError::Config("`eval_metric` is empty".into()));
    }
    if config.multilabel
        && let Some(m) = metrics.iter().find(|m| **m != Metric::Accuracy)
    {
        return Err(TrainError::Config(format!(
            "eval_metric `{m}` is not computed for multilabel classification; hint: use \
             --eval-metric accuracy (the macro ROC AUC, as GraphStorm reports it)"
        )));
    }
    Ok(metrics)
}

//! What the training loop needs of a task: its targets (node or edge ids) per split, batches of
//! them with labels, the width of its outputs and how outputs are scored. Node tasks
//! ([`crate::NodeTask`]), edge tasks ([`crate::EdgeTask`]) and link prediction
//! ([`crate::LinkPredictionTask`], whose batches carry positive and negative pairs and whose
//! scores are rankings) implement it. The loop itself is [`crate::train_loop`].

use gs_config::TrainConfig;
use gs_graph::Prefetcher;
use gs_tensor::{Device, Kind, Tensor};

use gs_batch::Mode;

use crate::head::Head;
use crate::metrics::{CLASSIFICATION_NAMES, RANKING_NAMES, REGRESSION_NAMES, Score, Scores};
use crate::{Metric, PreparedBatch, Progress, TaskModel, TrainError, train_loop};

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

    /// The loss of one training batch (already on the device): by default the model's outputs
    /// for the batch's targets against their labels. Link prediction scores pairs instead.
    fn batch_loss(
        &self,
        model: &mut TaskModel,
        batch: &PreparedBatch,
    ) -> Result<Tensor, TrainError> {
        let labels = batch
            .labels
            .as_ref()
            .ok_or_else(|| TrainError::Config("a training batch came without labels".into()))?;
        let outputs = model.batch_outputs(batch, Mode::Train)?;
        model.loss(&outputs, labels)
    }

    /// Scores of every `eval_metric` on targets `ids` (primary first): by default the outputs
    /// of evaluation batches against their labels. Link prediction ranks pairs instead.
    fn evaluate(
        &self,
        model: &mut TaskModel,
        ids: &[u64],
        what: &str,
        progress: &mut dyn Progress,
    ) -> Result<Scores, TrainError> {
        train_loop::evaluate(self, model, ids, what, progress)
    }

    /// Scores of every metric of `outputs` against `labels`.
    fn scores(&self, outputs: &Tensor, labels: &Tensor) -> Result<Scores, TrainError> {
        let config = self.config();
        let head = self.head();
        let metrics = self.metrics();
        let floats = |t: Tensor| {
            Vec::<f32>::try_from(t.to_kind(Kind::Float).flatten(0, -1)).map_err(read_error)
        };
        if !config.task_type.is_classification() {
            let predicted = floats(outputs.shallow_clone())?;
            let truth = floats(labels.shallow_clone())?;
            return Ok(metrics
                .iter()
                .map(|&m| (m, Score::from(m.regression(&predicted, &truth))))
                .collect());
        }
        let width = self.output_dim()? as usize;
        if head == Head::MultiLabel {
            let probabilities = floats(head.probabilities(outputs))?;
            let truth = floats(labels.shallow_clone())?;
            return Ok(metrics
                .iter()
                .map(|&m| (m, m.multilabel(&probabilities, &truth, width)))
                .collect());
        }
        let truth =
            Vec::<i64>::try_from(labels.to_kind(Kind::Int64).flatten(0, -1)).map_err(read_error)?;
        let probabilities = if metrics.iter().any(|m| m.needs_probabilities()) {
            let p = head.probabilities(outputs);
            // A one-logit binary head (focal loss) scores class 1 by its sigmoid: as columns
            // [1 - p, p], like the softmax of two logits.
            let p = if head == Head::Binary {
                Tensor::cat(&[p.ones_like() - &p, p], 1)
            } else {
                p
            };
            floats(p)?
        } else {
            vec![]
        };
        let probability_width = if head == Head::Binary { 2 } else { width };
        let predicted =
            Vec::<i64>::try_from(head.classes(outputs).flatten(0, -1)).map_err(read_error)?;
        let classes = config.num_classes.unwrap_or(2).max(2) as usize;
        Ok(metrics
            .iter()
            .map(|&m| {
                let score = if m.needs_probabilities() {
                    m.from_probabilities(&probabilities, probability_width, &truth)
                } else {
                    m.from_classes(&predicted, &truth, classes)
                };
                (m, score)
            })
            .collect())
    }
}

fn read_error(e: gs_tensor::tch::TchError) -> TrainError {
    TrainError::Tensor(gs_tensor::TensorError::torch("read outputs", e))
}

/// The metrics of `eval_metric`, checked against the task: each must fit the task type,
/// multilabel classification takes the ROC AUC metrics only, and `precision_recall` binary
/// classification only.
pub(crate) fn parse_metrics(config: &TrainConfig) -> Result<Vec<Metric>, TrainError> {
    let task = config.task_type;
    let metrics = config
        .eval_metric
        .iter()
        .map(|m| Metric::parse(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(TrainError::Config)?;
    let classification = task.is_classification();
    let ranking = task == gs_config::TaskType::LinkPrediction;
    if classification && let Some(m) = metrics.iter().find(|m| m.is_ranking()) {
        return Err(TrainError::Config(format!(
            "eval_metric `{m}` of classification (GraphStorm's hit@k of binary classification) \
             is not computed by gs yet; hint: use one of {CLASSIFICATION_NAMES}"
        )));
    }
    if let Some(m) = metrics.iter().find(|m| {
        m.is_ranking() != ranking || (!ranking && m.is_classification() != classification)
    }) {
        let fits = if ranking {
            RANKING_NAMES
        } else if classification {
            CLASSIFICATION_NAMES
        } else {
            REGRESSION_NAMES
        };
        return Err(TrainError::Config(format!(
            "eval_metric `{m}` does not apply to `{}`; hint: use one of {fits}",
            task.name()
        )));
    }
    if metrics.is_empty() {
        return Err(TrainError::Config("`eval_metric` is empty".into()));
    }
    if config.multilabel
        && let Some(m) = metrics.iter().find(|m| !m.fits_multilabel())
    {
        return Err(TrainError::Config(format!(
            "eval_metric `{m}` is not computed for multilabel classification; hint: use \
             accuracy (the macro ROC AUC, as GraphStorm reports it), roc_auc or \
             per_class_roc_auc"
        )));
    }
    let classes = config.num_classes.unwrap_or(2);
    if classification
        && classes > 2
        && let Some(m) = metrics.iter().find(|m| **m == Metric::PrecisionRecallAuc)
    {
        return Err(TrainError::Config(format!(
            "eval_metric `{m}` is defined for binary classification only (GraphStorm scores \
             the probability of class 1 with sklearn's precision_recall_curve), but \
             num_classes is {classes}; hint: use roc_auc, f1_score or per_class_f1_score"
        )));
    }
    Ok(metrics)
}

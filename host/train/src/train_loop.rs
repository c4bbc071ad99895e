//! The one training loop, over any [`TargetTask`]: epochs of shuffled training batches, Adam
//! steps, evaluation (every epoch end, and every `eval_frequency` iterations), checkpoints,
//! model selection, early stop, and evaluation outputs for inference. It reports how long each
//! phase took through [`Progress::phase_done`] (a few clock reads per step, no allocation).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gs_batch::Mode;

/// Target ids: node ids of node tasks, edge ids of edge tasks.
type TargetId = u64;
use gs_tensor::{Device, Kind, Tensor, tch};

use crate::checkpoint_writer::CheckpointWriter;
use crate::early_stop::EarlyStop;
use crate::node_task::RunOptions;
use crate::task::TargetTask;
use crate::{
    Adam, AdamConfig, EpochReport, IterationReport, Phase, PreparedBatch, Progress, Score, Scores,
    TaskModel, TrainError, TrainingSummary,
};

/// Model outputs and labels for every target of `ids`, in order, under `no_grad`.
pub(crate) fn outputs_for<T: TargetTask + ?Sized>(
    task: &T,
    model: &mut TaskModel,
    ids: &[TargetId],
    with_labels: bool,
    what: &str,
    progress: &mut dyn Progress,
) -> Result<(Vec<TargetId>, Tensor, Option<Tensor>), TrainError> {
    let _guard = tch::no_grad_guard();
    let (count, batches) = task.batches(
        ids.to_vec(),
        task.config().eval_batch_size,
        false,
        0,
        with_labels,
    )?;
    progress.eval_start(what, count);
    let (mut seen, mut outputs, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for batch in batches {
        let batch = batch?.to_device(task.device());
        let out = model.batch_outputs(&batch, Mode::Eval)?;
        outputs.push(out.detach().to_device(Device::Cpu));
        if let Some(l) = &batch.labels {
            labels.push(l.to_device(Device::Cpu));
        }
        seen.extend_from_slice(&batch.seeds);
        progress.eval_batch_done();
    }
    let width = task.output_dim()?;
    let outputs = if outputs.is_empty() {
        Tensor::zeros([0, width], (Kind::Float, Device::Cpu))
    } else {
        Tensor::cat(&outputs, 0)
    };
    let labels = (!labels.is_empty()).then(|| Tensor::cat(&labels, 0));
    Ok((seen, outputs, labels))
}

/// Scores of every `eval_metric` on `ids` (primary first).
pub(crate) fn evaluate<T: TargetTask + ?Sized>(
    task: &T,
    model: &mut TaskModel,
    ids: &[TargetId],
    what: &str,
    progress: &mut dyn Progress,
) -> Result<Scores, TrainError> {
    let (_, outputs, labels) = outputs_for(task, model, ids, true, what, progress)?;
    match labels {
        Some(labels) => task.scores(&outputs, &labels),
        None => Ok(vec![]),
    }
}

/// Train for `num_epochs`, evaluating and checkpointing at every epoch end.
pub(crate) fn train<T: TargetTask + ?Sized>(
    task: &T,
    model: &mut TaskModel,
    options: &RunOptions,
    progress: &mut dyn Progress,
) -> Result<TrainingSummary, TrainError> {
    let c = task.config();
    let train_ids = task.split("train_mask")?;
    if train_ids.is_empty() {
        return Err(TrainError::Config(format!(
            "{} has no training targets in `train_mask`",
            task.targets_text()
        )));
    }
    let (val_ids, test_ids) = if c.no_validation {
        (vec![], vec![])
    } else {
        (
            task.split("val_mask")?,
            task.split("test_mask").unwrap_or_default(),
        )
    };
    let names: Vec<String> = model.named_weights().into_iter().map(|(n, _)| n).collect();
    let mut adam = optimizer(task, model);
    if let Some(state) = &options.restore_optimizer {
        adam.load_state(&names, state)?;
        model.load_sparse_optimizer_state(state)?;
    }
    let optimizer_state = |adam: &Adam, model: &TaskModel| {
        let mut state = adam.state(&names);
        state.extend(model.sparse_optimizer_state());
        state
    };
    let primary = task.metrics()[0];
    let better = |a: f64, b: f64| improves(a, b, primary.higher_is_better());
    let mut summary = match &options.continued_summary {
        Some(previous) => previous.clone().before_epoch(options.start_epoch, better),
        None => TrainingSummary {
            eval_metric: c.eval_metric.clone(),
            ..TrainingSummary::default()
        },
    };
    let mut writer = CheckpointWriter::new(
        options,
        c.to_map(),
        c.topk_model_to_save,
        primary.higher_is_better(),
    );
    let num_epochs = c.num_epochs as usize;
    let steps_per_epoch = train_ids.len().div_ceil(c.batch_size.max(1) as usize) as u64;
    // GraphStorm's `total_steps`, counted as if training had started at epoch 0.
    let mut total_steps = options.start_epoch as u64 * steps_per_epoch;
    for epoch in options.start_epoch..num_epochs {
        let started = Instant::now();
        let (count, mut batches) =
            task.batches(train_ids.clone(), c.batch_size, true, epoch as u64, true)?;
        progress.epoch_start(epoch, num_epochs, count);
        let (mut loss_sum, mut steps) = (0.0, 0usize);
        for iteration in 0usize.. {
            let waiting = Instant::now();
            let Some(batch) = batches.next() else {
                break;
            };
            progress.phase_done(Phase::WaitForBatch, waiting.elapsed());
            let (value, times) = train_step(task, model, &mut adam, batch?)?;
            times.report(progress);
            if !value.is_finite() {
                return Err(TrainError::Config(format!(
                    "the training loss became {value} in epoch {epoch}; hint: lower --lr"
                )));
            }
            loss_sum += value;
            steps += 1;
            total_steps += 1;
            progress.batch_done(value);
            let every = |n: Option<u64>| n.is_some_and(|n| n > 0 && total_steps.is_multiple_of(n));
            let save_now = options.save_model_path.is_some()
                && every(u64::try_from(c.save_model_frequency).ok());
            let eval_now = !val_ids.is_empty() && (every(c.eval_frequency) || save_now);
            if !eval_now && !save_now {
                continue;
            }
            let val = if eval_now {
                timed(progress, Phase::Evaluation, |p| {
                    task.evaluate(model, &val_ids, "val", p)
                })?
            } else {
                vec![]
            };
            let val_score = val.first().map(|(_, s)| s.value);
            let checkpoint = if save_now {
                let metrics = checkpoint_metrics(&val, &[]);
                timed(progress, Phase::Checkpoint, |_| {
                    writer.save(
                        format!("epoch-{epoch}-iter-{iteration}"),
                        epoch,
                        metrics,
                        val_score,
                        &model.checkpoint_weights(),
                        &optimizer_state(&adam, model),
                    )
                })?
            } else {
                None
            };
            if checkpoint.is_some()
                && summary
                    .best_val_score
                    .is_none_or(|best| val_score.is_some_and(|v| better(v, best)))
            {
                summary.best_epoch = Some(epoch);
                summary.best_checkpoint = checkpoint.clone();
                summary.best_val_score = val_score;
                // Iteration checkpoints are scored on the validation set only.
                summary.test_score = None;
            }
            summary.iterations.push(IterationReport {
                epoch,
                iteration,
                total_steps,
                val_score,
                checkpoint,
            });
        }
        progress.phase_done(Phase::PrepareBatches, batches.work_time());
        drop(batches);
        let (val, test) = timed(progress, Phase::Evaluation, |p| {
            let val = if val_ids.is_empty() {
                vec![]
            } else {
                task.evaluate(model, &val_ids, "val", p)?
            };
            let test = if test_ids.is_empty() {
                vec![]
            } else {
                task.evaluate(model, &test_ids, "test", p)?
            };
            Ok::<_, TrainError>((val, test))
        })?;
        let val_score = val.first().map(|(_, s)| s.value);
        let test_score = test.first().map(|(_, s)| s.value);
        let metrics = checkpoint_metrics(&val, &test);
        let checkpoint = timed(progress, Phase::Checkpoint, |_| {
            writer.save(
                format!("epoch-{epoch}"),
                epoch,
                metrics,
                val_score,
                &model.checkpoint_weights(),
                &optimizer_state(&adam, model),
            )
        })?;
        let improved = match (val_score, summary.best_val_score) {
            (Some(v), Some(best)) => better(v, best),
            (Some(_), None) => true,
            (None, _) => true,
        };
        if improved {
            summary.best_epoch = Some(epoch);
            summary.best_checkpoint = checkpoint.clone();
            summary.best_val_score = val_score;
            summary.test_score = test_score;
        }
        let report = EpochReport {
            epoch,
            train_loss: if steps > 0 {
                loss_sum / steps as f64
            } else {
                f64::NAN
            },
            val_score,
            test_score,
            val_metrics: by_name(&val),
            test_metrics: by_name(&test),
            seconds: started.elapsed().as_secs_f64(),
            checkpoint,
        };
        progress.epoch_end(&report);
        summary.epochs.push(report);
        if let Some(dir) = &options.save_model_path {
            timed(progress, Phase::Checkpoint, |_| summary.save(dir))?;
        }
        if c.use_early_stop && should_stop(task, &summary, primary.higher_is_better()) {
            progress.message(&format!(
                "early stop after epoch {epoch}: validation {primary} stopped improving"
            ));
            break;
        }
    }
    Ok(summary)
}

/// Whether validation score `a` beats the best so far, `b`. An undefined score (NaN, e.g. a
/// ROC AUC on a split with one class) never beats a defined one, and a defined one beats it.
fn improves(a: f64, b: f64, higher_is_better: bool) -> bool {
    if b.is_nan() {
        !a.is_nan()
    } else if higher_is_better {
        a > b
    } else {
        a < b
    }
}

/// The figures of a checkpoint's `metrics`: `val_<metric>` and `test_<metric>`, and for the
/// per-class metrics also `val_<metric>_class_<c>` for each class.
fn checkpoint_metrics(
    val: &[(crate::Metric, Score)],
    test: &[(crate::Metric, Score)],
) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    for (split, scores) in [("val", val), ("test", test)] {
        for (m, s) in scores {
            metrics.insert(format!("{split}_{m}"), s.value);
            for (class, value) in &s.per_class {
                metrics.insert(format!("{split}_{m}_class_{class}"), *value);
            }
        }
    }
    metrics
}

/// `scores` by metric name, for the training summary.
fn by_name(scores: &[(crate::Metric, Score)]) -> BTreeMap<String, Score> {
    scores
        .iter()
        .map(|(m, s)| (m.to_string(), s.clone()))
        .collect()
}

/// Runs `work` and reports its wall time as `phase`.
fn timed<R>(
    progress: &mut dyn Progress,
    phase: Phase,
    work: impl FnOnce(&mut dyn Progress) -> R,
) -> R {
    let started = Instant::now();
    let result = work(progress);
    progress.phase_done(phase, started.elapsed());
    result
}

/// How long the phases of one training step took.
struct StepTimes {
    forward: Duration,
    backward: Duration,
    optimizer: Duration,
}

impl StepTimes {
    fn report(&self, progress: &mut dyn Progress) {
        progress.phase_done(Phase::Forward, self.forward);
        progress.phase_done(Phase::Backward, self.backward);
        progress.phase_done(Phase::Optimizer, self.optimizer);
    }
}

/// One optimisation step on `batch`; returns the loss and the time of its phases.
fn train_step<T: TargetTask + ?Sized>(
    task: &T,
    model: &mut TaskModel,
    adam: &mut Adam,
    batch: PreparedBatch,
) -> Result<(f64, StepTimes), TrainError> {
    let c = task.config();
    let started = Instant::now();
    let batch = batch.to_device(task.device());
    let mut loss = task.batch_loss(model, &batch)?;
    if c.alpha_l2norm > 0.0 {
        let l2 = model
            .named_weights()
            .iter()
            .map(|(_, t)| t.pow_tensor_scalar(2).sum(Kind::Float))
            .fold(Tensor::zeros([], (Kind::Float, task.device())), |acc, t| {
                acc + t
            });
        // A new tensor, not `+=`: tch's `+=` adds in place into the autograd graph.
        loss = &loss + l2 * c.alpha_l2norm;
    }
    let forward_done = Instant::now();
    adam.zero_grad();
    let backward_start = Instant::now();
    loss.f_backward()
        .map_err(|e| TrainError::Tensor(gs_tensor::TensorError::torch("backward", e)))?;
    let backward_done = Instant::now();
    if let Some(max_norm) = c.max_grad_norm {
        adam.clip_grad_norm(max_norm, c.grad_norm_type);
    }
    adam.step()?;
    model.step_embeddings()?;
    model.end_batch();
    let times = StepTimes {
        forward: forward_done - started,
        backward: backward_done - backward_start,
        optimizer: (backward_start - forward_done) + backward_done.elapsed(),
    };
    Ok((loss.double_value(&[]), times))
}

/// A fresh optimizer over the model's weights, as `train` makes it.
pub(crate) fn optimizer<T: TargetTask + ?Sized>(task: &T, model: &TaskModel) -> Adam {
    let weights = model.named_weights().into_iter().map(|(_, t)| t).collect();
    Adam::new(
        weights,
        AdamConfig::new(task.config().lr, task.config().wd_l2norm),
    )
}

/// The losses of the first `steps` training steps of epoch 0 (fewer if the epoch is
/// shorter), exactly as `train` runs them, reporting their phases to `progress`: for parity
/// tests and benchmarks.
pub(crate) fn loss_curve<T: TargetTask + ?Sized>(
    task: &T,
    model: &mut TaskModel,
    steps: usize,
    progress: &mut dyn Progress,
) -> Result<Vec<f64>, TrainError> {
    let mut adam = optimizer(task, model);
    let (_, mut batches) = task.batches(
        task.split("train_mask")?,
        task.config().batch_size,
        true,
        0,
        true,
    )?;
    let mut losses = Vec::with_capacity(steps);
    while losses.len() < steps {
        let waiting = Instant::now();
        let Some(batch) = batches.next() else {
            break;
        };
        progress.phase_done(Phase::WaitForBatch, waiting.elapsed());
        let (loss, times) = train_step(task, model, &mut adam, batch?)?;
        times.report(progress);
        losses.push(loss);
    }
    progress.phase_done(Phase::PrepareBatches, batches.work_time());
    Ok(losses)
}

fn should_stop<T: TargetTask + ?Sized>(
    task: &T,
    summary: &TrainingSummary,
    higher_is_better: bool,
) -> bool {
    let scores: Vec<f64> = summary.epochs.iter().filter_map(|e| e.val_score).collect();
    EarlyStop::from_config(task.config())
        .is_some_and(|rule| rule.should_stop(&scores, higher_is_better))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metric;

    #[test]
    fn undefined_scores_lose_to_defined_ones() {
        assert!(improves(0.6, 0.5, true) && !improves(0.5, 0.6, true));
        assert!(improves(0.5, 0.6, false) && !improves(0.6, 0.5, false));
        assert!(improves(0.1, f64::NAN, true) && improves(9.0, f64::NAN, false));
        assert!(!improves(f64::NAN, 0.1, true) && !improves(f64::NAN, f64::NAN, true));
    }

    #[test]
    fn checkpoints_record_every_metric_and_each_class() {
        let val = vec![
            (Metric::RocAuc, Score::from(0.9)),
            (
                Metric::PerClassF1,
                Score::per_class(0.7, BTreeMap::from([(0, 0.6), (1, 0.8)])),
            ),
        ];
        let test = vec![(Metric::RocAuc, Score::from(0.8))];
        let metrics = checkpoint_metrics(&val, &test);
        let expected: BTreeMap<String, f64> = [
            ("test_roc_auc", 0.8),
            ("val_per_class_f1_score", 0.7),
            ("val_per_class_f1_score_class_0", 0.6),
            ("val_per_class_f1_score_class_1", 0.8),
            ("val_roc_auc", 0.9),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(metrics, expected);
        assert_eq!(by_name(&val)["per_class_f1_score"].per_class.len(), 2);
    }
}

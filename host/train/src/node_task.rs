//! Node classification and regression: train, evaluate, infer.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use gs_config::{TaskType, TrainConfig};
use gs_graph::{
    HeteroGraph, NodeId, PREFETCH_CAPACITY, Prefetcher, Sampler, SeedBatches, parse_fanouts,
};
use gs_runtime::{
    EdgeTypeName, GraphSchema, Mode, ModelConfig, NodeTypeSchema, PluginInstance, Task,
};
use gs_tensor::{Device, Kind, ParamStore, Tensor, tch};

use crate::batching::LabelKind;
use crate::checkpoint::PluginIdentity;
use crate::checkpoint_writer::CheckpointWriter;
use crate::decoder::NodeDecoder;
use crate::early_stop::EarlyStop;
use crate::head::Head;
use crate::loss::NodeLoss;
use crate::metrics::roc_auc_macro;
use crate::{
    Adam, AdamConfig, BatchAssembler, Encoder, EpochReport, FeatureSpec, IterationReport, Metric,
    NativeSage, PreparedBatch, Progress, TaskModel, TrainError, TrainingSummary,
};

/// What a checkpoint records besides the weights.
pub struct RunOptions {
    /// Where `epoch-N/` checkpoints and the summary go (`save_model_path`).
    pub save_model_path: Option<PathBuf>,
    pub plugin: PluginIdentity,
    pub plugin_bytes: Vec<u8>,
    pub custom_args: Vec<(String, String)>,
    /// Files written into `save_model_path` together with the first checkpoint (the merged
    /// runtime YAML, `data_transform_new.json`), by file name.
    pub beside_checkpoints: Vec<(String, Vec<u8>)>,
    /// The first epoch to train: `N + 1` when warm-started from `epoch-N`, else 0.
    pub start_epoch: usize,
    /// Adam state to continue from (`--restore-optimizer-path`).
    pub restore_optimizer: Option<Vec<(String, Tensor)>>,
    /// The summary of the run this one continues in the same folder: its records before
    /// `start_epoch` are kept.
    pub continued_summary: Option<TrainingSummary>,
}

/// Predictions of an inference run.
pub struct InferenceOutput {
    pub node_type: String,
    pub ids: Vec<NodeId>,
    /// `[ids.len(), width]` on CPU: probabilities (`return_proba`), logits, or regression values.
    pub outputs: Tensor,
    /// Scores of `eval_metric` on these nodes, when they have labels.
    pub scores: Vec<(Metric, f64)>,
}

/// A node task over one graph and one resolved configuration.
pub struct NodeTask {
    graph: Arc<HeteroGraph>,
    config: TrainConfig,
    features: FeatureSpec,
    device: Device,
    metrics: Vec<Metric>,
    label_kind: LabelKind,
    loss: NodeLoss,
    /// Batches prepared at once ahead of the model (`--num-samplers`, at least 1).
    sampler_workers: usize,
}

impl NodeTask {
    /// Check the configuration against the graph.
    pub fn new(
        graph: Arc<HeteroGraph>,
        config: TrainConfig,
        device: Device,
    ) -> Result<Self, TrainError> {
        let task = config.task_type;
        if !matches!(
            task,
            TaskType::NodeClassification | TaskType::NodeRegression
        ) {
            return Err(TrainError::Config(format!(
                "task `{}` is not supported yet; hint: gs runs node_classification and node_regression so far",
                task.name()
            )));
        }
        let target = &config.target_ntype;
        if graph.num_nodes(target).is_none() {
            let known: Vec<&str> = graph.node_types().collect();
            return Err(TrainError::Config(format!(
                "`target_ntype` is `{target}`, which the graph does not have; its node types are {known:?}"
            )));
        }
        let label = config.label_field.as_deref().ok_or_else(|| {
            TrainError::Config(
                "`label_field` is required for node tasks; hint: pass --label-field".into(),
            )
        })?;
        if graph.node_data(target, label).is_none() {
            let known: Vec<&str> = graph.node_data_all(target).map(|(n, _)| n).collect();
            return Err(TrainError::Config(format!(
                "`label_field` is `{label}`, but node type `{target}` has only {known:?}"
            )));
        }
        crate::labels::check_labels(&graph, &config, label)?;
        let features = FeatureSpec::parse(&graph, config.node_feat_name.as_deref())?;
        crate::feature_values::check_finite(&graph, &features)?;
        let metrics = config
            .eval_metric
            .iter()
            .map(|m| Metric::parse(m))
            .collect::<Result<Vec<_>, _>>()
            .map_err(TrainError::Config)?;
        let classification = task == TaskType::NodeClassification;
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
        let loss = NodeLoss::from_config(&config)?;
        let label_kind = if loss.multi_hot_labels() {
            LabelKind::MultiHot
        } else if classification {
            LabelKind::Class
        } else {
            LabelKind::Value
        };
        Ok(Self {
            graph,
            config,
            features,
            device,
            metrics,
            label_kind,
            loss,
            sampler_workers: 1,
        })
    }

    /// Prepares `n` batches at once ahead of the model (GraphStorm's `--num-samplers`; 0 and 1
    /// both mean one). Each batch is also spread over the rayon pool; more workers help when
    /// one batch's sampling does not use every core. Batches come out in the same order, and
    /// so the same, whatever `n`.
    pub fn set_sampler_workers(&mut self, n: u32) {
        self.sampler_workers = (n as usize).max(1);
    }

    pub fn device(&self) -> Device {
        self.device
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    pub fn graph(&self) -> &HeteroGraph {
        &self.graph
    }

    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    /// The graph as a plugin's `init` sees it: node types with their input widths, edge types.
    pub fn schema(&self) -> GraphSchema {
        GraphSchema {
            node_types: self
                .graph
                .node_types()
                .map(|t| NodeTypeSchema {
                    name: t.to_string(),
                    num_nodes: self.graph.num_nodes(t).unwrap_or(0),
                    feature_dim: self.features.dim(&self.graph, t) as u32,
                })
                .collect(),
            edge_types: self
                .graph
                .edge_types()
                .map(|e| EdgeTypeName {
                    src: e.src.clone(),
                    rel: e.rel.clone(),
                    dst: e.dst.clone(),
                })
                .collect(),
        }
    }

    pub(crate) fn output_dim(&self) -> Result<i64, TrainError> {
        match self.config.task_type {
            TaskType::NodeRegression => Ok(1),
            _ => match self.config.num_classes {
                Some(n) if n >= 2 || self.loss.output_width(2) == 1 => {
                    Ok(self.loss.output_width(i64::from(n)))
                }
                Some(n) => Err(TrainError::Config(format!(
                    "`num_classes` must be at least 2, got {n}"
                ))),
                None => Err(TrainError::Config(
                    "`num_classes` is required for classification".into(),
                )),
            },
        }
    }

    fn expected_outputs(&self) -> Result<crate::plugin_outputs::ExpectedOutputs, TrainError> {
        Ok(crate::plugin_outputs::ExpectedOutputs {
            hidden: i64::from(self.config.hidden_size),
            width: self.output_dim()?,
        })
    }

    /// The model configuration handed to `init`.
    pub fn model_config(
        &self,
        custom_args: Vec<(String, String)>,
    ) -> Result<ModelConfig, TrainError> {
        Ok(ModelConfig {
            task: match self.config.task_type {
                TaskType::NodeRegression => Task::NodeRegression,
                _ => Task::NodeClassification,
            },
            hidden_size: self.config.hidden_size,
            num_layers: self.config.num_layers,
            num_classes: self.output_dim()? as u32,
            dropout: self.config.dropout as f32,
            target_node_type: self.config.target_ntype.clone(),
            custom_args,
        })
    }

    /// Initialise a plugin instance and find out whether it decodes itself.
    pub fn plugin_model(
        &self,
        mut instance: PluginInstance,
        custom_args: Vec<(String, String)>,
    ) -> Result<TaskModel, TrainError> {
        let model_config = self.model_config(custom_args)?;
        instance.init(&model_config, &self.schema())?;
        // Probe `decode` once on a few target nodes: a plugin either decodes or leaves it to the host.
        let probe_ids: Vec<NodeId> = (0..self
            .graph
            .num_nodes(&self.config.target_ntype)
            .unwrap_or(0)
            .min(2))
            .collect();
        let probe = self
            .assemble(&probe_ids, &self.eval_sampler()?, 0, false)?
            .to_device(self.device);
        let plugin_decodes = {
            let _guard = tch::no_grad_guard();
            let embeddings = instance.forward(&probe.data, Mode::Eval)?;
            instance
                .decode(&probe.data, &embeddings, Mode::Eval)?
                .is_some()
        };
        let decoder = if plugin_decodes {
            None
        } else {
            crate::host_memory::check_host_decoder(&self.config, self.output_dim()?)?;
            Some(NodeDecoder::new(
                i64::from(self.config.hidden_size),
                self.output_dim()?,
                self.config.decoder_bias,
                self.config.seed,
                self.device,
            )?)
        };
        Ok(TaskModel::new(
            Encoder::Plugin(Box::new(instance)),
            decoder,
            self.loss.clone(),
            self.expected_outputs()?,
        ))
    }

    /// The native GraphSAGE oracle with the host decoder.
    pub fn native_model(&self) -> Result<TaskModel, TrainError> {
        let mut params = ParamStore::new(self.config.seed, self.device);
        let model = NativeSage::new(&self.model_config(vec![])?, &self.schema(), &mut params)?;
        crate::host_memory::check_host_decoder(&self.config, self.output_dim()?)?;
        let decoder = NodeDecoder::new(
            i64::from(self.config.hidden_size),
            self.output_dim()?,
            self.config.decoder_bias,
            self.config.seed,
            self.device,
        )?;
        Ok(TaskModel::new(
            Encoder::Native { model, params },
            Some(decoder),
            self.loss.clone(),
            self.expected_outputs()?,
        ))
    }

    /// Target nodes whose `mask` is set.
    pub fn split(&self, mask: &str) -> Result<Vec<NodeId>, TrainError> {
        let target = &self.config.target_ntype;
        if self.graph.node_data(target, mask).is_none() {
            return Err(TrainError::Config(format!(
                "node type `{target}` has no `{mask}`; hint: gconstruct writes train_mask, val_mask and test_mask \
                 from a label's split_pct"
            )));
        }
        Ok(self.graph.mask_ids(target, mask)?)
    }

    /// The nodes inference predicts: every target node with `infer_all_target_nodes`,
    /// else the test nodes.
    pub fn inference_ids(&self) -> Result<Vec<NodeId>, TrainError> {
        if self.config.infer_all_target_nodes {
            Ok((0..self.graph.num_nodes(&self.config.target_ntype).unwrap_or(0)).collect())
        } else {
            self.split("test_mask")
        }
    }

    fn train_sampler(&self) -> Result<Sampler, TrainError> {
        let layers = self.config.num_layers as usize;
        let text = self.config.fanout.as_deref().unwrap_or("");
        if layers == 0 {
            return Ok(Sampler::new(vec![]));
        }
        Ok(Sampler::new(
            parse_fanouts(text, layers).map_err(|e| TrainError::Config(e.to_string()))?,
        ))
    }

    pub(crate) fn eval_sampler(&self) -> Result<Sampler, TrainError> {
        let layers = self.config.num_layers as usize;
        // `use_mini_batch_infer: false` is GraphStorm's full-graph inference: every layer
        // sees all neighbours, whatever `eval_fanout` says.
        if !self.config.use_mini_batch_infer {
            return Ok(Sampler::full(layers));
        }
        match self.config.eval_fanout.as_deref() {
            Some(text) if layers > 0 => Ok(Sampler::new(
                parse_fanouts(text, layers).map_err(|e| TrainError::Config(e.to_string()))?,
            )),
            _ => Ok(Sampler::full(layers)),
        }
    }

    fn assembler(&self, with_labels: bool) -> BatchAssembler {
        let label = self
            .config
            .label_field
            .clone()
            .filter(|_| with_labels)
            .map(|l| (l, self.label_kind));
        BatchAssembler::new(
            self.graph.clone(),
            self.features.clone(),
            &self.config.target_ntype,
            label,
        )
    }

    fn assemble(
        &self,
        ids: &[NodeId],
        sampler: &Sampler,
        rng_seed: u64,
        with_labels: bool,
    ) -> Result<PreparedBatch, TrainError> {
        let batch = sampler.sample(&self.graph, &self.config.target_ntype, ids, rng_seed)?;
        self.assembler(with_labels).assemble(&batch)
    }

    /// Batches of `ids`, sampled and assembled ahead on the prefetch threads.
    pub(crate) fn batches(
        &self,
        ids: Vec<NodeId>,
        batch_size: u32,
        sampler: Sampler,
        shuffle: bool,
        epoch: u64,
        with_labels: bool,
    ) -> Result<(usize, Prefetcher<Result<PreparedBatch, TrainError>>), TrainError> {
        let batches = SeedBatches::new(ids, batch_size.max(1) as usize, shuffle, self.config.seed)?;
        let count = batches.num_batches();
        let graph = self.graph.clone();
        let target = self.config.target_ntype.clone();
        let assembler = self.assembler(with_labels);
        let workers = self.sampler_workers;
        let capacity = PREFETCH_CAPACITY.max(2 * workers);
        let prefetcher =
            Prefetcher::with_workers(batches.epoch(epoch), capacity, workers, move |b| {
                let sampled = sampler.sample(&graph, &target, &b.seeds, b.rng_seed)?;
                assembler.assemble(&sampled)
            });
        Ok((count, prefetcher))
    }

    /// Model outputs and labels for every node of `ids`, in order, under `no_grad`.
    fn outputs_for(
        &self,
        model: &mut TaskModel,
        ids: &[NodeId],
        with_labels: bool,
        what: &str,
        progress: &mut dyn Progress,
    ) -> Result<(Vec<NodeId>, Tensor, Option<Tensor>), TrainError> {
        let _guard = tch::no_grad_guard();
        let (count, batches) = self.batches(
            ids.to_vec(),
            self.config.eval_batch_size,
            self.eval_sampler()?,
            false,
            0,
            with_labels,
        )?;
        progress.eval_start(what, count);
        let (mut seen, mut outputs, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for batch in batches {
            let batch = batch?.to_device(self.device);
            let out = model.outputs(&batch.data, Mode::Eval)?;
            outputs.push(out.detach().to_device(Device::Cpu));
            if let Some(l) = &batch.labels {
                labels.push(l.to_device(Device::Cpu));
            }
            seen.extend_from_slice(&batch.seeds);
            progress.eval_batch_done();
        }
        let width = self.output_dim()?;
        let outputs = if outputs.is_empty() {
            Tensor::zeros([0, width], (Kind::Float, Device::Cpu))
        } else {
            Tensor::cat(&outputs, 0)
        };
        let labels = (!labels.is_empty()).then(|| Tensor::cat(&labels, 0));
        Ok((seen, outputs, labels))
    }

    fn scores(&self, outputs: &Tensor, labels: &Tensor) -> Result<Vec<(Metric, f64)>, TrainError> {
        let convert = |e| TrainError::Tensor(gs_tensor::TensorError::torch("read outputs", e));
        self.metrics
            .iter()
            .map(|&m| {
                let head = self.loss.head();
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
                    let classes = self.config.num_classes.unwrap_or(2).max(2) as usize;
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

    /// Scores of every `eval_metric` on `ids` (primary first).
    pub fn evaluate(
        &self,
        model: &mut TaskModel,
        ids: &[NodeId],
        what: &str,
        progress: &mut dyn Progress,
    ) -> Result<Vec<(Metric, f64)>, TrainError> {
        let (_, outputs, labels) = self.outputs_for(model, ids, true, what, progress)?;
        match labels {
            Some(labels) => self.scores(&outputs, &labels),
            None => Ok(vec![]),
        }
    }

    /// Train for `num_epochs`, evaluating and checkpointing at every epoch end.
    pub fn train(
        &self,
        model: &mut TaskModel,
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<TrainingSummary, TrainError> {
        let c = &self.config;
        let train_ids = self.split("train_mask")?;
        if train_ids.is_empty() {
            return Err(TrainError::Config(format!(
                "node type `{}` has no training nodes in `train_mask`",
                c.target_ntype
            )));
        }
        let (val_ids, test_ids) = if c.no_validation {
            (vec![], vec![])
        } else {
            (
                self.split("val_mask")?,
                self.split("test_mask").unwrap_or_default(),
            )
        };
        let names: Vec<String> = model.named_weights().into_iter().map(|(n, _)| n).collect();
        let mut adam = self.optimizer(model);
        if let Some(state) = &options.restore_optimizer {
            adam.load_state(&names, state)?;
        }
        let primary = self.metrics[0];
        let better = |a: f64, b: f64| {
            if primary.higher_is_better() {
                a > b
            } else {
                a < b
            }
        };
        let mut summary = match &options.continued_summary {
            Some(previous) => previous.clone().before_epoch(options.start_epoch, better),
            None => TrainingSummary {
                eval_metric: c.eval_metric.clone(),
                best_epoch: None,
                best_checkpoint: None,
                best_val_score: None,
                test_score: None,
                epochs: vec![],
                iterations: vec![],
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
            let (count, batches) = self.batches(
                train_ids.clone(),
                c.batch_size,
                self.train_sampler()?,
                true,
                epoch as u64,
                true,
            )?;
            progress.epoch_start(epoch, num_epochs, count);
            let (mut loss_sum, mut steps) = (0.0, 0usize);
            for (iteration, batch) in batches.enumerate() {
                let value = self.train_step(model, &mut adam, batch?)?;
                if !value.is_finite() {
                    return Err(TrainError::Config(format!(
                        "the training loss became {value} in epoch {epoch}; hint: lower --lr"
                    )));
                }
                loss_sum += value;
                steps += 1;
                total_steps += 1;
                progress.batch_done(value);
                let every =
                    |n: Option<u64>| n.is_some_and(|n| n > 0 && total_steps.is_multiple_of(n));
                let save_now = options.save_model_path.is_some()
                    && every(u64::try_from(c.save_model_frequency).ok());
                let eval_now = !val_ids.is_empty() && (every(c.eval_frequency) || save_now);
                if !eval_now && !save_now {
                    continue;
                }
                let val = if eval_now {
                    self.evaluate(model, &val_ids, "val", progress)?
                } else {
                    vec![]
                };
                let val_score = val.first().map(|&(_, s)| s);
                let checkpoint = if save_now {
                    let metrics = val.iter().map(|(m, s)| (format!("val_{m}"), *s)).collect();
                    writer.save(
                        format!("epoch-{epoch}-iter-{iteration}"),
                        epoch,
                        metrics,
                        val_score,
                        &model.named_weights(),
                        &adam.state(&names),
                    )?
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
            let val = if val_ids.is_empty() {
                vec![]
            } else {
                self.evaluate(model, &val_ids, "val", progress)?
            };
            let test = if test_ids.is_empty() {
                vec![]
            } else {
                self.evaluate(model, &test_ids, "test", progress)?
            };
            let val_score = val.first().map(|&(_, s)| s);
            let test_score = test.first().map(|&(_, s)| s);
            let mut metrics = std::collections::BTreeMap::new();
            for (m, s) in &val {
                metrics.insert(format!("val_{m}"), *s);
            }
            for (m, s) in &test {
                metrics.insert(format!("test_{m}"), *s);
            }
            let checkpoint = writer.save(
                format!("epoch-{epoch}"),
                epoch,
                metrics,
                val_score,
                &model.named_weights(),
                &adam.state(&names),
            )?;
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
                seconds: started.elapsed().as_secs_f64(),
                checkpoint,
            };
            progress.epoch_end(&report);
            summary.epochs.push(report);
            if let Some(dir) = &options.save_model_path {
                summary.save(dir)?;
            }
            if c.use_early_stop && self.should_stop(&summary, primary.higher_is_better()) {
                progress.message(&format!(
                    "early stop after epoch {epoch}: validation {primary} stopped improving"
                ));
                break;
            }
        }
        Ok(summary)
    }

    /// One optimisation step on `batch`; returns the loss.
    fn train_step(
        &self,
        model: &mut TaskModel,
        adam: &mut Adam,
        batch: PreparedBatch,
    ) -> Result<f64, TrainError> {
        let c = &self.config;
        let batch = batch.to_device(self.device);
        let labels = batch
            .labels
            .as_ref()
            .expect("training batches carry labels");
        let outputs = model.outputs(&batch.data, Mode::Train)?;
        let mut loss = model.loss(&outputs, labels)?;
        if c.alpha_l2norm > 0.0 {
            let l2 = model
                .named_weights()
                .iter()
                .map(|(_, t)| t.pow_tensor_scalar(2).sum(Kind::Float))
                .fold(Tensor::zeros([], (Kind::Float, self.device)), |acc, t| {
                    acc + t
                });
            // A new tensor, not `+=`: tch's `+=` adds in place into the autograd graph.
            loss = &loss + l2 * c.alpha_l2norm;
        }
        adam.zero_grad();
        loss.f_backward()
            .map_err(|e| TrainError::Tensor(gs_tensor::TensorError::torch("backward", e)))?;
        if let Some(max_norm) = c.max_grad_norm {
            adam.clip_grad_norm(max_norm, c.grad_norm_type);
        }
        adam.step()?;
        model.end_batch();
        Ok(loss.double_value(&[]))
    }

    /// A fresh optimizer over the model's weights, as `train` makes it.
    pub fn optimizer(&self, model: &TaskModel) -> Adam {
        let weights = model.named_weights().into_iter().map(|(_, t)| t).collect();
        Adam::new(
            weights,
            AdamConfig::new(self.config.lr, self.config.wd_l2norm),
        )
    }

    /// The losses of the first `steps` training steps of epoch 0 (fewer if the epoch is
    /// shorter), exactly as `train` runs them: for parity tests and benchmarks.
    pub fn loss_curve(&self, model: &mut TaskModel, steps: usize) -> Result<Vec<f64>, TrainError> {
        let mut adam = self.optimizer(model);
        let (_, batches) = self.batches(
            self.split("train_mask")?,
            self.config.batch_size,
            self.train_sampler()?,
            true,
            0,
            true,
        )?;
        batches
            .take(steps)
            .map(|batch| self.train_step(model, &mut adam, batch?))
            .collect()
    }

    /// The first training batch of epoch 0, assembled, for tests and benchmarks.
    pub fn first_training_batch(&self) -> Result<PreparedBatch, TrainError> {
        let (_, mut batches) = self.batches(
            self.split("train_mask")?,
            self.config.batch_size,
            self.train_sampler()?,
            true,
            0,
            true,
        )?;
        batches
            .next()
            .ok_or_else(|| TrainError::Config("no training batch".into()))?
    }

    fn should_stop(&self, summary: &TrainingSummary, higher_is_better: bool) -> bool {
        let scores: Vec<f64> = summary.epochs.iter().filter_map(|e| e.val_score).collect();
        EarlyStop::from_config(&self.config)
            .is_some_and(|rule| rule.should_stop(&scores, higher_is_better))
    }

    /// The encoder's embeddings of `ids` (target nodes), in the order returned, under `no_grad`,
    /// sampled with `eval_fanout` as inference is.
    pub fn embeddings(
        &self,
        model: &mut TaskModel,
        ids: &[NodeId],
        progress: &mut dyn Progress,
    ) -> Result<(Vec<NodeId>, Tensor), TrainError> {
        crate::embeddings::node_embeddings(self, model, ids, progress)
    }

    /// Outputs for `ids` (the test nodes, or every target node), scored when they have labels.
    pub fn infer(
        &self,
        model: &mut TaskModel,
        ids: &[NodeId],
        progress: &mut dyn Progress,
    ) -> Result<InferenceOutput, TrainError> {
        let (seen, outputs, labels) = self.outputs_for(model, ids, true, "predict", progress)?;
        let scores = match &labels {
            Some(labels) => self.scores(&outputs, labels)?,
            None => vec![],
        };
        let outputs = match self.config.task_type {
            TaskType::NodeClassification if self.config.return_proba => {
                self.loss.head().probabilities(&outputs)
            }
            TaskType::NodeClassification => self.loss.head().classes(&outputs),
            _ => outputs,
        };
        Ok(InferenceOutput {
            node_type: self.config.target_ntype.clone(),
            ids: seen,
            outputs,
            scores,
        })
    }
}

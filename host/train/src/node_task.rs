//! Node classification and regression: targets, batches, decoder and loss of node tasks; the
//! training loop is [`crate::train_loop`].

use std::path::PathBuf;
use std::sync::Arc;

use gs_batch::{DecodeTargets, GraphSchema, Mode, ModelConfig, Task};
use gs_config::{TaskType, TrainConfig};
use gs_graph::{
    HeteroGraph, NodeId, PREFETCH_CAPACITY, Prefetcher, Sampler, SeedBatches, parse_fanouts,
};
use gs_runtime::PluginInstance;
use gs_tensor::{Device, ParamStore, Tensor, tch};

use crate::batching::LabelKind;
use crate::checkpoint::PluginIdentity;
use crate::decoder::NodeDecoder;
use crate::head::Head;
use crate::learnable_embeddings::LearnableEmbeddings;
use crate::loss::NodeLoss;
use crate::model::HostDecoder;
use crate::task::{Batches, TargetTask};
use crate::{
    Adam, BatchAssembler, Encoder, FeatureSpec, Metric, NativeSage, PreparedBatch, Progress,
    TaskModel, TrainError, TrainingSummary, train_loop,
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
    pub scores: crate::Scores,
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
        let features = FeatureSpec::from_config(&graph, &config)?;
        crate::feature_values::check_finite(&graph, &features)?;
        let metrics = crate::task::parse_metrics(&config)?;
        let classification = task == TaskType::NodeClassification;
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

    /// What serving needs to rebuild `model` (built by `plugin_model` with `custom_args`)
    /// without the graph.
    pub fn serving_record(
        &self,
        model: &TaskModel,
        custom_args: Vec<(String, String)>,
    ) -> Result<crate::serving::ServingRecord, TrainError> {
        crate::serving::ServingRecord::new(
            &self.graph,
            &self.features,
            &self.config,
            &self.model_config(custom_args)?,
            model.host_decodes(),
            None,
        )
    }

    /// The graph as a plugin's `init` sees it: node types with their input widths, edge types.
    pub fn schema(&self) -> GraphSchema {
        self.features.schema(&self.graph)
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
            hidden: i64::from(self.config.embedding_size()),
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
            custom_args: self.features.plugin_args(&self.graph, custom_args),
        })
    }

    /// Initialise a plugin instance and find out whether it decodes itself: as it declares
    /// (`gs:plugin@0.1.1`), or, for a 0.1.0 component, by calling `decode` once.
    pub fn plugin_model(
        &self,
        mut instance: PluginInstance,
        custom_args: Vec<(String, String)>,
    ) -> Result<TaskModel, TrainError> {
        let model_config = self.model_config(custom_args)?;
        instance.init(&model_config, &self.schema())?;
        let mut learnable =
            LearnableEmbeddings::from_config(&self.features, &self.config, self.device)?;
        let plugin_decodes = match instance.declares_decode(model_config.task) {
            Some(declared) => declared,
            None => self.probe_decode(&mut instance, &mut learnable)?,
        };
        let decoder = if plugin_decodes {
            None
        } else {
            crate::host_memory::check_host_decoder(&self.config, self.output_dim()?)?;
            Some(HostDecoder::Node(NodeDecoder::new(
                i64::from(self.config.embedding_size()),
                self.output_dim()?,
                self.config.decoder_bias,
                self.config.seed,
                self.device,
            )?))
        };
        Ok(TaskModel::new(
            Encoder::Plugin(Box::new(instance)),
            decoder,
            self.loss.clone(),
            self.expected_outputs()?,
            learnable,
        ))
    }

    /// Whether a plugin that declares nothing (a 0.1.0 component) decodes: `decode` called once
    /// on a few target nodes either decodes or leaves it to the host.
    fn probe_decode(
        &self,
        instance: &mut PluginInstance,
        learnable: &mut LearnableEmbeddings,
    ) -> Result<bool, TrainError> {
        let probe_ids: Vec<NodeId> = (0..self
            .graph
            .num_nodes(&self.config.target_ntype)
            .unwrap_or(0)
            .min(2))
            .collect();
        let probe = self
            .assemble(&probe_ids, &self.eval_sampler()?, 0, false)?
            .to_device(self.device);
        let _guard = tch::no_grad_guard();
        let probe = learnable.inputs(&probe.data, false)?.unwrap_or(probe.data);
        let embeddings = instance.forward(&probe, Mode::Eval)?;
        Ok(instance
            .decode(&probe, &DecodeTargets::Nodes, &embeddings, Mode::Eval)?
            .is_some())
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
            Some(HostDecoder::Node(decoder)),
            self.loss.clone(),
            self.expected_outputs()?,
            LearnableEmbeddings::from_config(&self.features, &self.config, self.device)?,
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
    pub(crate) fn node_batches(
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

    /// Scores of every `eval_metric` on `ids` (primary first).
    pub fn evaluate(
        &self,
        model: &mut TaskModel,
        ids: &[NodeId],
        what: &str,
        progress: &mut dyn Progress,
    ) -> Result<crate::Scores, TrainError> {
        train_loop::evaluate(self, model, ids, what, progress)
    }

    /// Train for `num_epochs`, evaluating and checkpointing at every epoch end.
    pub fn train(
        &self,
        model: &mut TaskModel,
        options: &RunOptions,
        progress: &mut dyn Progress,
    ) -> Result<TrainingSummary, TrainError> {
        train_loop::train(self, model, options, progress)
    }

    /// A fresh optimizer over the model's weights, as `train` makes it.
    pub fn optimizer(&self, model: &TaskModel) -> Adam {
        train_loop::optimizer(self, model)
    }

    /// The losses of the first `steps` training steps of epoch 0 (fewer if the epoch is
    /// shorter), exactly as `train` runs them: for parity tests and benchmarks.
    pub fn loss_curve(&self, model: &mut TaskModel, steps: usize) -> Result<Vec<f64>, TrainError> {
        train_loop::loss_curve(self, model, steps, &mut crate::NoProgress)
    }

    /// [`Self::loss_curve`], reporting the time of each phase to `progress` (benchmarks).
    pub fn loss_curve_with(
        &self,
        model: &mut TaskModel,
        steps: usize,
        progress: &mut dyn Progress,
    ) -> Result<Vec<f64>, TrainError> {
        train_loop::loss_curve(self, model, steps, progress)
    }

    /// The first training batch of epoch 0, assembled, for tests and benchmarks.
    pub fn first_training_batch(&self) -> Result<PreparedBatch, TrainError> {
        let mut batches = self.training_batches(1)?;
        batches
            .pop()
            .ok_or_else(|| TrainError::Config("no training batch".into()))
    }

    /// The first `n` training batches of epoch 0 (fewer if the epoch has fewer), assembled,
    /// for benchmarks.
    pub fn training_batches(&self, n: usize) -> Result<Vec<PreparedBatch>, TrainError> {
        let (_, batches) = self.node_batches(
            self.split("train_mask")?,
            self.config.batch_size,
            self.train_sampler()?,
            true,
            0,
            true,
        )?;
        batches.take(n).collect()
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
        let (seen, outputs, labels) =
            train_loop::outputs_for(self, model, ids, true, "predict", progress)?;
        let scores = match &labels {
            Some(labels) => TargetTask::scores(self, &outputs, labels)?,
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

impl TargetTask for NodeTask {
    fn config(&self) -> &TrainConfig {
        &self.config
    }

    fn device(&self) -> Device {
        self.device
    }

    fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    fn head(&self) -> Head {
        self.loss.head()
    }

    fn output_dim(&self) -> Result<i64, TrainError> {
        NodeTask::output_dim(self)
    }

    fn targets_text(&self) -> String {
        format!("node type `{}`", self.config.target_ntype)
    }

    fn split(&self, mask: &str) -> Result<Vec<u64>, TrainError> {
        NodeTask::split(self, mask)
    }

    fn batches(
        &self,
        ids: Vec<u64>,
        batch_size: u32,
        train: bool,
        epoch: u64,
        with_labels: bool,
    ) -> Result<(usize, Batches), TrainError> {
        let sampler = if train {
            self.train_sampler()?
        } else {
            self.eval_sampler()?
        };
        self.node_batches(ids, batch_size, sampler, train, epoch, with_labels)
    }
}

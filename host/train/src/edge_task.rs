//! Edge classification and regression: the targets are the edges of one edge type
//! (`target_etype`), a batch is sampled for their endpoints (gs-graph's edge batches, with
//! `remove_target_edge_type` and `exclude_training_targets`), the plugin's `forward` gives the
//! endpoints' embeddings, and the host's edge decoder ([`crate::edge_decoder`]) scores each
//! target edge, unless the plugin declares its own `decode` for the task (`gs:plugin@0.1.1`,
//! which hands it the batch's target edges). The training loop is [`crate::train_loop`].

use std::collections::BTreeMap;
use std::sync::Arc;

use gs_batch::{GraphSchema, ModelConfig, Task};
use gs_config::{TaskType, TrainConfig};
use gs_graph::{
    EdgeBatchOptions, EdgeId, EdgeType, Fanout, HeteroGraph, NodeId, PREFETCH_CAPACITY, Prefetcher,
    Sampler, SeedBatches, edge_endpoints, full_fanouts, parse_fanouts,
    parse_reverse_edge_types_map, sample_edge_batch,
};
use gs_runtime::PluginInstance;
use gs_tensor::{Device, Kind, ParamStore, Tensor, tch};

use crate::batching::TargetEdges;
use crate::edge_decoder::{DECODER_TYPES, EDGE_FEATURE_DECODER, EdgeDecoder, EdgeDecoderSpec};
use crate::head::Head;
use crate::labels::Expected;
use crate::learnable_embeddings::LearnableEmbeddings;
use crate::loss::NodeLoss;
use crate::model::HostDecoder;
use crate::plugin_outputs::ExpectedOutputs;
use crate::task::{Batches, TargetTask};
use crate::{
    Adam, BatchAssembler, EdgeFeatureSpec, Encoder, FeatureSpec, Metric, NativeSage, PreparedBatch,
    Progress, RunOptions, TaskModel, TrainError, TrainingSummary, edge_labels, train_loop,
};

/// Predictions of an edge inference run.
pub struct EdgeInferenceOutput {
    pub etype: EdgeType,
    /// Source and destination node ids of each predicted edge.
    pub src: Vec<NodeId>,
    pub dst: Vec<NodeId>,
    /// `[edges, width]` on CPU: probabilities (`return_proba`), classes, or regression values.
    pub outputs: Tensor,
    /// Scores of `eval_metric` on these edges.
    pub scores: crate::Scores,
}

/// An edge task over one graph and one resolved configuration.
pub struct EdgeTask {
    graph: Arc<HeteroGraph>,
    config: TrainConfig,
    etype: EdgeType,
    label: String,
    features: FeatureSpec,
    /// The target edges' features `MLPEFeatEdgeDecoder` reads (`decoder_edge_feat`).
    decoder_features: EdgeFeatureSpec,
    device: Device,
    metrics: Vec<Metric>,
    loss: NodeLoss,
    train_opts: EdgeBatchOptions,
    sampler_workers: usize,
}

fn config_error(message: String) -> TrainError {
    TrainError::Config(message)
}

/// GraphStorm's `decoder_edge_feat` for the target edge type `etype`: `feat` or one
/// `src,rel,dst:f1,f2` entry naming `etype`, only with `decoder_type: MLPEFeatEdgeDecoder`, which
/// in turn needs it.
fn decoder_edge_features(
    graph: &HeteroGraph,
    config: &TrainConfig,
    etype: &EdgeType,
) -> Result<EdgeFeatureSpec, TrainError> {
    let entries = config.decoder_edge_feat.clone().unwrap_or_default();
    let efeat_decoder = config.decoder_type == EDGE_FEATURE_DECODER;
    match (entries.as_slice(), efeat_decoder) {
        ([], false) => return Ok(EdgeFeatureSpec::default()),
        ([], true) => {
            return Err(config_error(format!(
                "`decoder_type` is `{EDGE_FEATURE_DECODER}`, which reads the target edges' \
                 features, and `decoder_edge_feat` is unset; hint: set decoder_edge_feat to a \
                 feature of `{},{},{}` (`feat` or `{0},{1},{2}:feat`)",
                etype.src, etype.rel, etype.dst
            )));
        }
        (_, false) => {
            return Err(config_error(format!(
                "`decoder_edge_feat` is {entries:?}, which only `decoder_type: \
                 {EDGE_FEATURE_DECODER}` reads, and `decoder_type` is `{}`; hint: set \
                 decoder_type to {EDGE_FEATURE_DECODER}, or drop decoder_edge_feat",
                config.decoder_type
            )));
        }
        ([_], true) => {}
        (_, true) => {
            return Err(config_error(format!(
                "`decoder_edge_feat` is {entries:?}; GraphStorm takes one entry, for the one \
                 target edge type (`feat` or `src,rel,dst:feat1,feat2`)"
            )));
        }
    }
    let entry = entries[0].trim();
    // `feat` names the target edge type's feature (GraphStorm asserts only that one has it).
    let entry = if entry.contains(':') {
        entry.to_string()
    } else {
        format!("{},{},{}:{entry}", etype.src, etype.rel, etype.dst)
    };
    let spec = EdgeFeatureSpec::parse(
        graph,
        "decoder_edge_feat",
        Some(std::slice::from_ref(&entry)),
    )?;
    if spec.features(etype).is_empty() {
        return Err(config_error(format!(
            "`decoder_edge_feat` entry `{entry}` names another edge type than the target \
             `{},{},{}`; hint: name the target edge type's features",
            etype.src, etype.rel, etype.dst
        )));
    }
    Ok(spec)
}

impl EdgeTask {
    /// Check the configuration against the graph.
    pub fn new(
        graph: Arc<HeteroGraph>,
        config: TrainConfig,
        device: Device,
    ) -> Result<Self, TrainError> {
        if !config.task_type.is_edge_task() {
            return Err(config_error(format!(
                "task `{}` is not an edge task",
                config.task_type.name()
            )));
        }
        let text = config.target_etype.clone().unwrap_or_default();
        let etype = {
            let p: Vec<&str> = text.split(',').map(str::trim).collect();
            match p.as_slice() {
                [s, r, d] => EdgeType::new(*s, *r, *d),
                _ => {
                    return Err(config_error(format!(
                        "`target_etype` is `{text}`; hint: write it as `src,rel,dst`"
                    )));
                }
            }
        };
        if graph.num_edges(&etype).is_none() {
            let known: Vec<String> = graph
                .edge_types()
                .map(|e| format!("{},{},{}", e.src, e.rel, e.dst))
                .collect();
            return Err(config_error(format!(
                "`target_etype` is `{text}`, which the graph does not have; its edge types are \
                 {known:?}; hint: pass --target-etype with one of them"
            )));
        }
        let label = config.label_field.clone().ok_or_else(|| {
            config_error(
                "`label_field` is required for edge tasks; hint: pass --label-field".into(),
            )
        })?;
        edge_labels::check(&graph, &etype, &label, Expected::of(&config))?;
        let features = FeatureSpec::from_config(&graph, &config)?;
        crate::feature_values::check_finite(&graph, &features)?;
        let metrics = crate::task::parse_metrics(&config)?;
        let loss = NodeLoss::from_config(&config)?;
        if !DECODER_TYPES.contains(&config.decoder_type.as_str()) {
            return Err(config_error(format!(
                "`decoder_type` is `{}`; hint: use DenseBiDecoder (GraphStorm's default), \
                 MLPDecoder or MLPEFeatEdgeDecoder (with decoder_edge_feat)",
                config.decoder_type
            )));
        }
        let decoder_features = decoder_edge_features(&graph, &config, &etype)?;
        let entries: Vec<&str> = config
            .reverse_edge_types_map
            .iter()
            .map(String::as_str)
            .collect();
        let reverse = parse_reverse_edge_types_map(&entries)
            .map_err(|e| config_error(format!("`reverse_edge_types_map`: {e}")))?;
        if let Some(rev) = reverse.get(&etype)
            && graph.num_edges(rev).is_none()
        {
            return Err(config_error(format!(
                "`reverse_edge_types_map` names `{rev}` as the reverse of `{etype}`, and the \
                 graph has no such edge type; hint: fix the entry or drop it"
            )));
        }
        let train_opts = EdgeBatchOptions {
            fanouts: vec![],
            exclude_training_targets: config.exclude_training_targets,
            reverse_edge_types_map: reverse,
            edge_mask: None,
            mask_after_sampling: false,
            ..EdgeBatchOptions::default()
        };
        let task = Self {
            graph,
            config,
            etype,
            label,
            features,
            decoder_features,
            device,
            metrics,
            loss,
            train_opts,
            sampler_workers: 1,
        };
        task.output_dim()?;
        Ok(task)
    }

    /// Prepares `n` batches at once ahead of the model (as [`crate::NodeTask`]'s).
    pub fn set_sampler_workers(&mut self, n: u32) {
        self.sampler_workers = (n as usize).max(1);
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

    /// The target edge type.
    pub fn etype(&self) -> &EdgeType {
        &self.etype
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
            Some((&self.etype, &self.decoder_features)),
        )
    }

    /// The graph as a plugin's `init` sees it.
    pub fn schema(&self) -> GraphSchema {
        self.features.schema(&self.graph)
    }

    fn output_dim(&self) -> Result<i64, TrainError> {
        if self.config.task_type == TaskType::EdgeRegression {
            return Ok(1);
        }
        match self.config.num_classes {
            Some(n) if n >= 2 || self.loss.output_width(2) == 1 => {
                Ok(self.loss.output_width(i64::from(n)))
            }
            Some(n) => Err(config_error(format!(
                "`num_classes` must be at least 2, got {n}"
            ))),
            None => Err(config_error(
                "`num_classes` is required for edge classification; hint: pass --num-classes"
                    .into(),
            )),
        }
    }

    /// The model configuration handed to `init`: the target node type is the target edge
    /// type's destination type.
    pub fn model_config(
        &self,
        custom_args: Vec<(String, String)>,
    ) -> Result<ModelConfig, TrainError> {
        Ok(ModelConfig {
            task: match self.config.task_type {
                TaskType::EdgeRegression => Task::EdgeRegression,
                _ => Task::EdgeClassification,
            },
            hidden_size: self.config.hidden_size,
            num_layers: self.config.num_layers,
            num_classes: self.output_dim()? as u32,
            dropout: self.config.dropout as f32,
            target_node_type: self.etype.dst.clone(),
            custom_args: self.features.plugin_args(&self.graph, custom_args),
        })
    }

    fn decoder(&self) -> Result<HostDecoder, TrainError> {
        crate::host_memory::check_host_decoder(&self.config, self.output_dim()?)?;
        let c = &self.config;
        Ok(HostDecoder::Edge(EdgeDecoder::new(
            &EdgeDecoderSpec {
                decoder_type: &c.decoder_type,
                hidden: i64::from(c.embedding_size()),
                out_dim: self.output_dim()?,
                regression: c.task_type == TaskType::EdgeRegression,
                num_basis: i64::from(c.num_decoder_basis),
                bias: c.decoder_bias,
                dropout: c.dropout,
                edge_feat_dim: self.decoder_features.dim(&self.graph, &self.etype) as i64,
            },
            c.seed,
            self.device,
        )?))
    }

    fn expected(&self) -> Result<ExpectedOutputs, TrainError> {
        Ok(ExpectedOutputs {
            hidden: i64::from(self.config.embedding_size()),
            width: self.output_dim()?,
        })
    }

    /// Initialise a plugin instance; the host decodes the target edges unless the plugin
    /// declares `decode` for the task.
    pub fn plugin_model(
        &self,
        mut instance: PluginInstance,
        custom_args: Vec<(String, String)>,
    ) -> Result<TaskModel, TrainError> {
        let config = self.model_config(custom_args)?;
        instance.init(&config, &self.schema())?;
        let decoder = match instance.declares_decode(config.task) {
            Some(true) if !self.decoder_features.is_empty() => {
                return Err(config_error(format!(
                    "`decoder_edge_feat` feeds the host's MLPEFeatEdgeDecoder, and plugin `{}` \
                     decodes the target edges itself; hint: drop decoder_edge_feat, or read the \
                     edge features in the plugin",
                    instance.info().name
                )));
            }
            Some(true) => None,
            _ => Some(self.decoder()?),
        };
        Ok(TaskModel::new(
            Encoder::Plugin(Box::new(instance)),
            decoder,
            self.loss.clone(),
            self.expected()?,
            LearnableEmbeddings::from_config(&self.features, &self.config, self.device)?,
        ))
    }

    /// The native GraphSAGE oracle with the host's edge decoder.
    pub fn native_model(&self) -> Result<TaskModel, TrainError> {
        let mut params = ParamStore::new(self.config.seed, self.device);
        let model = NativeSage::new(&self.model_config(vec![])?, &self.schema(), &mut params)?;
        Ok(TaskModel::new(
            Encoder::Native { model, params },
            Some(self.decoder()?),
            self.loss.clone(),
            self.expected()?,
            LearnableEmbeddings::from_config(&self.features, &self.config, self.device)?,
        ))
    }

    /// Target edges whose split `mask` is set.
    ///
    /// A target edge type without `train_mask` trains on every edge, as GraphStorm's
    /// `GSgnnEdgeTrainData` does; one without `val_mask` or `test_mask` has no such split.
    pub fn split(&self, mask: &str) -> Result<Vec<EdgeId>, TrainError> {
        if mask == "train_mask" {
            return self.all_edges_without(mask);
        }
        edge_labels::mask_ids(&self.graph, &self.etype, mask)?.ok_or_else(|| {
            config_error(format!(
                "edge type `{}` has no `{mask}`; hint: give the target edge type's labels a \
                 split in gconstruct (train_mask, val_mask, test_mask)",
                self.etype
            ))
        })
    }

    /// The edges inference predicts: the test edges, or every edge of the target type when it
    /// has no `test_mask` (GraphStorm's `--inference` predicts them all).
    pub fn inference_ids(&self) -> Result<Vec<EdgeId>, TrainError> {
        self.all_edges_without("test_mask")
    }

    /// The edges of the target type in `mask`, or all of them when the type has no `mask`.
    fn all_edges_without(&self, mask: &str) -> Result<Vec<EdgeId>, TrainError> {
        if self.graph.edge_data(&self.etype, mask).is_none() {
            tracing::warn!(
                "edge type `{}` has no `{mask}`: gs uses all its edges, as GraphStorm does",
                self.etype
            );
        }
        edge_labels::mask_ids_or_all(&self.graph, &self.etype, mask)
    }

    fn layers(&self) -> usize {
        self.config.num_layers as usize
    }

    /// `remove_target_edge_type`: the target edge type and its reverse carry no messages in
    /// training. Evaluation and inference keep them, as GraphStorm's edge test loaders
    /// (`remove_target_edge_type=False`) and its full-graph inference do.
    fn without_targets(&self, fanouts: Vec<Fanout>) -> Vec<Fanout> {
        if !self.config.remove_target_edge_type {
            return fanouts;
        }
        let removed: Vec<&EdgeType> = std::iter::once(&self.etype)
            .chain(self.train_opts.reverse_edge_types_map.get(&self.etype))
            .collect();
        fanouts
            .into_iter()
            .map(|f| {
                let map: BTreeMap<EdgeType, i64> = self
                    .graph
                    .edge_types()
                    .map(|et| {
                        let n = if removed.contains(&et) {
                            0
                        } else {
                            f.count(et).unwrap_or(0)
                        };
                        (et.clone(), n)
                    })
                    .collect();
                Fanout::PerEtype(map)
            })
            .collect()
    }

    fn train_fanouts(&self) -> Result<Vec<Fanout>, TrainError> {
        let text = self.config.fanout.as_deref().unwrap_or("");
        if self.layers() == 0 {
            return Ok(vec![]);
        }
        Ok(self.without_targets(
            parse_fanouts(text, self.layers()).map_err(|e| config_error(e.to_string()))?,
        ))
    }

    fn eval_fanouts(&self) -> Result<Vec<Fanout>, TrainError> {
        let layers = self.layers();
        let fanouts = match self.config.eval_fanout.as_deref() {
            Some(text) if layers > 0 && self.config.use_mini_batch_infer => {
                parse_fanouts(text, layers).map_err(|e| config_error(e.to_string()))?
            }
            _ => full_fanouts(layers),
        };
        Ok(fanouts)
    }

    fn edge_batches(
        &self,
        ids: Vec<EdgeId>,
        batch_size: u32,
        train: bool,
        epoch: u64,
        with_labels: bool,
    ) -> Result<(usize, Batches), TrainError> {
        let mut opts = self.train_opts.clone();
        if train {
            opts.fanouts = self.train_fanouts()?;
        } else {
            // Evaluation and inference see every edge, as GraphStorm's edge test loaders.
            opts.fanouts = self.eval_fanouts()?;
            opts.exclude_training_targets = false;
        }
        let batches = SeedBatches::new(ids, batch_size.max(1) as usize, train, self.config.seed)?;
        let count = batches.num_batches();
        let graph = self.graph.clone();
        let etype = self.etype.clone();
        let label = with_labels.then(|| self.label.clone());
        let decoder_features = self.decoder_features.clone();
        let classes = self.config.task_type.is_classification() && !self.config.multilabel;
        let assembler = BatchAssembler::new(
            self.graph.clone(),
            self.features.clone(),
            &self.etype.dst,
            None,
        );
        let workers = self.sampler_workers;
        let capacity = PREFETCH_CAPACITY.max(2 * workers);
        let prefetcher =
            Prefetcher::with_workers(batches.epoch(epoch), capacity, workers, move |b| {
                let targets = BTreeMap::from([(etype.clone(), b.seeds.clone())]);
                let (sampled, _) =
                    sample_edge_batch(&graph, &targets, &BTreeMap::new(), &opts, b.rng_seed)
                        .map_err(|e| config_error(e.to_string()))?;
                let data =
                    assembler.batch_data(&sampled.layers, &sampled.input_nodes, &etype.dst)?;
                let pairs = &sampled.positives[&etype];
                // The target edges' own features, by edge id (`decoder_edge_feat`).
                let target_features = decoder_features.gather_concat(&graph, &etype, &b.seeds)?;
                let labels = match &label {
                    Some(field) => Some(edge_labels::gather(
                        &graph, &etype, field, &b.seeds, classes,
                    )?),
                    None => None,
                };
                Ok(PreparedBatch {
                    data,
                    seeds: b.seeds,
                    labels,
                    edges: Some(TargetEdges {
                        src_type: etype.src.clone(),
                        rel: etype.rel.clone(),
                        dst_type: etype.dst.clone(),
                        src: Tensor::from_slice(&pairs.src),
                        dst: Tensor::from_slice(&pairs.dst),
                        features: target_features,
                    }),
                    pairs: None,
                })
            });
        Ok((count, prefetcher))
    }

    /// Scores of every `eval_metric` on edges `ids` (primary first).
    pub fn evaluate(
        &self,
        model: &mut TaskModel,
        ids: &[EdgeId],
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

    /// The losses of the first `steps` training steps of epoch 0.
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

    /// Outputs for edges `ids` (the test edges), scored when they have labels.
    pub fn infer(
        &self,
        model: &mut TaskModel,
        ids: &[EdgeId],
        progress: &mut dyn Progress,
    ) -> Result<EdgeInferenceOutput, TrainError> {
        let (seen, outputs, labels) =
            train_loop::outputs_for(self, model, ids, true, "predict", progress)?;
        let scores = match &labels {
            Some(labels) => TargetTask::scores(self, &outputs, labels)?,
            None => vec![],
        };
        let outputs = match self.config.task_type {
            TaskType::EdgeClassification if self.config.return_proba => {
                self.loss.head().probabilities(&outputs)
            }
            TaskType::EdgeClassification => self.loss.head().classes(&outputs),
            _ => outputs,
        };
        let (src, dst) = edge_endpoints(&self.graph, &self.etype, &seen)
            .map_err(|e| config_error(e.to_string()))?;
        Ok(EdgeInferenceOutput {
            etype: self.etype.clone(),
            src,
            dst,
            outputs,
            scores,
        })
    }

    /// The node types whose embeddings `save_embed_path` holds: the target edge type's
    /// endpoint types.
    pub fn embedding_node_types(&self) -> Vec<String> {
        let mut types = vec![self.etype.src.clone()];
        if self.etype.dst != self.etype.src {
            types.push(self.etype.dst.clone());
        }
        types
    }

    /// The encoder's embeddings of every node of `ntype`, `[n, hidden]` on the CPU, sampled
    /// with `eval_fanout` over every edge type (GraphStorm's inference embeddings).
    pub fn node_embeddings(
        &self,
        model: &mut TaskModel,
        ntype: &str,
        progress: &mut dyn Progress,
    ) -> Result<(Vec<NodeId>, Tensor), TrainError> {
        let _guard = tch::no_grad_guard();
        let ids: Vec<NodeId> = (0..self.graph.num_nodes(ntype).unwrap_or(0)).collect();
        let sampler = Sampler::new(self.eval_fanouts()?);
        let assembler = BatchAssembler::new(self.graph.clone(), self.features.clone(), ntype, None);
        let size = self.config.eval_batch_size.max(1) as usize;
        progress.eval_start("embed", ids.len().div_ceil(size));
        let mut rows = Vec::new();
        for chunk in ids.chunks(size) {
            let sampled = sampler.sample(&self.graph, ntype, chunk, self.config.seed)?;
            let batch = assembler.assemble(&sampled)?.to_device(self.device);
            let h = model.target_embeddings(&batch.data)?;
            rows.push(h.detach().to_kind(Kind::Float).to_device(Device::Cpu));
            progress.eval_batch_done();
        }
        let embeddings = if rows.is_empty() {
            Tensor::zeros(
                [0, i64::from(self.config.embedding_size())],
                (Kind::Float, Device::Cpu),
            )
        } else {
            Tensor::cat(&rows, 0)
        };
        Ok((ids, embeddings))
    }
}

impl TargetTask for EdgeTask {
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
        EdgeTask::output_dim(self)
    }

    fn targets_text(&self) -> String {
        format!("edge type `{}`", self.etype)
    }

    fn split(&self, mask: &str) -> Result<Vec<u64>, TrainError> {
        EdgeTask::split(self, mask)
    }

    fn batches(
        &self,
        ids: Vec<u64>,
        batch_size: u32,
        train: bool,
        epoch: u64,
        with_labels: bool,
    ) -> Result<(usize, Batches), TrainError> {
        self.edge_batches(ids, batch_size, train, epoch, with_labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gs_graph::{UserItemParams, generate_user_item};

    const RATES: &str = "user:rates:item";
    const RATED_BY: &str = "item:rated-by:user";

    fn graph() -> Arc<HeteroGraph> {
        let params = UserItemParams {
            num_users: 40,
            num_items: 30,
            num_ratings: 300,
            feat_dim: 4,
            num_groups: 1,
            ..UserItemParams::default()
        };
        Arc::new(generate_user_item(&params).unwrap())
    }

    /// An edge-regression task on `user,rates,item` with one full-neighbourhood layer.
    fn task(extra: &str) -> EdgeTask {
        let line = format!(
            "--part-config g.json --num-trainers 1 --task-type edge_regression \
             --target-etype user,rates,item --label-field rating --node-feat-name user:feat \
             item:feat --num-layers 1 --fanout -1 --hidden-size 4 --lr 0.01 --batch-size 32 {extra}"
        );
        let argv: Vec<String> = line.split_whitespace().map(String::from).collect();
        let config = gs_config::parse(&argv)
            .unwrap()
            .resolve(None)
            .unwrap()
            .train;
        EdgeTask::new(graph(), config, Device::Cpu).unwrap()
    }

    /// Edges per block of the first training batch, keyed `src:rel:dst`, and its size.
    fn first_batch_edges(task: &EdgeTask) -> (BTreeMap<String, i64>, usize) {
        let ids = task.split("train_mask").unwrap();
        let (_, mut batches) = task.edge_batches(ids, 32, true, 0, true).unwrap();
        let batch = batches.next().unwrap().unwrap();
        let counts = batch.data.layers[0]
            .blocks
            .iter()
            .map(|b| {
                let key = format!("{}:{}:{}", b.src_type, b.rel, b.dst_type);
                (key, b.src.size()[0])
            })
            .collect();
        (counts, batch.seeds.len())
    }

    #[test]
    fn remove_target_edge_type_and_the_reverse_map_shape_the_blocks() {
        let reverse = "--reverse-edge-types-map user,rates,rated-by,item";
        // Default: the target type and its reverse carry no messages at all.
        let (removed, _) = first_batch_edges(&task(reverse));
        assert_eq!(removed.get(RATES).copied().unwrap_or(0), 0, "{removed:?}");
        assert_eq!(
            removed.get(RATED_BY).copied().unwrap_or(0),
            0,
            "{removed:?}"
        );

        // Kept, without exclusion: every in-edge of the batch's endpoints.
        let keep = "--remove-target-edge-type false --exclude-training-targets false";
        let (all, n) = first_batch_edges(&task(&format!("{reverse} {keep}")));
        assert!(
            all[RATES] >= n as i64 && all[RATED_BY] >= n as i64,
            "{all:?}"
        );

        // Excluding the training targets drops exactly the batch's own edges, and their
        // reverses when the reverse map names them.
        let keep = "--remove-target-edge-type false --exclude-training-targets true";
        let (excluded, n) = first_batch_edges(&task(&format!("{reverse} {keep}")));
        assert_eq!(excluded[RATES], all[RATES] - n as i64);
        assert_eq!(excluded[RATED_BY], all[RATED_BY] - n as i64);
        let (no_map, n) = first_batch_edges(&task(keep));
        assert_eq!(no_map[RATES], all[RATES] - n as i64);
        assert_eq!(no_map[RATED_BY], all[RATED_BY]);
    }

    fn decoder_shapes(extra: &str) -> BTreeMap<String, Vec<i64>> {
        let model = task(extra).native_model().unwrap();
        model
            .named_weights()
            .into_iter()
            .filter(|(name, _)| name.starts_with("decoder/"))
            .map(|(name, t)| (name, t.size()))
            .collect()
    }

    #[test]
    fn decoder_keys_build_the_decoder_they_name() {
        let dense = decoder_shapes("--num-decoder-basis 3");
        assert_eq!(
            dense["decoder/decoder.basis_para"],
            vec![3, 4, 4],
            "{dense:?}"
        );
        assert_eq!(dense["decoder/decoder.combine_basis.weight"], vec![3, 4]);
        assert_eq!(dense["decoder/decoder.regression_head.weight"], vec![4, 1]);
        let mlp = decoder_shapes("--decoder-type MLPDecoder");
        assert_eq!(mlp["decoder/decoder.decoder"], vec![8, 4], "{mlp:?}");
        assert!(!mlp.contains_key("decoder/decoder.basis_para"));
        let no_bias = decoder_shapes("--decoder-type MLPDecoder --decoder-bias false");
        assert!(!no_bias.contains_key("decoder/decoder.bias"), "{no_bias:?}");
        assert!(mlp.contains_key("decoder/decoder.bias"));
    }
}

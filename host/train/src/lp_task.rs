//! Link prediction: the targets are the edges of `train_etype` (default: every edge type) in
//! `train_mask`; a batch holds positive edges and negatives drawn by
//! `train_negative_sampler` (gs-graph's `sample_lp_batch`), with blocks sampled for every
//! endpoint, the batch's own edges (and reverses) excluded when `exclude_training_targets`, and
//! message passing restricted to `train_mask` edges (GraphStorm's
//! `edge_mask_for_gnn_embeddings`): an edge type with the mask keeps its training edges, one
//! without it keeps every edge, reverse types included, as in GraphStorm; gs's
//! `mask_reverse_edges` restricts a reverse type to the reverses of its forward type's training
//! edges, so validation and test edges cannot carry messages through their reverses. A
//! training edge type without `train_mask` trains on every edge, as in GraphStorm. The
//! plugin's `forward` gives the endpoints' embeddings and the host's score function
//! ([`crate::lp_decoder`]) and loss ([`crate::lp_loss`]) do the rest, unless the plugin
//! declares its own `decode` or `loss` for link prediction (`gs:plugin@0.1.1`): its `decode`
//! then scores each edge type's pairs (`batch.lp-pairs`), in training and in evaluation, and
//! its `loss` turns the scores into the loss.
//!
//! Evaluation is GraphStorm's: embeddings of every node are computed first (with `eval_fanout`
//! and the same `train_mask` edges), then each validation or test edge of `eval_etype` is
//! ranked against negatives of `eval_negative_sampler` — `uniform` or `joint` corrupt the
//! destination and, separately, the source (`num_negative_edges_eval` each); gs adds `full`
//! and `full_filtered`, which rank the destination against every node of its type (filtered:
//! the source's other true destinations do not count). A rank is 1 + the number of negatives
//! whose sigmoid score is at least the positive's. Metrics are averaged over the evaluation
//! edge types.
//!
//! Target ids are flat: edge `e` of the `t`-th target edge type (train and eval types, sorted)
//! is `offset[t] + e`, so the training loop handles them like node or edge ids.

use std::collections::BTreeMap;
use std::sync::Arc;

use gs_batch::{EdgeTypeName, GraphSchema, LpPairsData, Mode, ModelConfig, Task};
use gs_config::{TaskType, TrainConfig};
use gs_graph::{
    EdgeBatchOptions, EdgeBatches, EdgeId, EdgeType, EvalEdgeBatches, EvalNegatives, Fanout,
    HeteroGraph, LpEvalOptions, LpTrainOptions, NegativeSampler, NodeId, PREFETCH_CAPACITY,
    Prefetcher, TrueEdges, full_fanouts, parse_fanouts, parse_reverse_edge_types_map,
    rank_among_all, sample_lp_batch, sample_lp_eval_batch,
};
use gs_runtime::PluginInstance;
use gs_tensor::{Device, Kind, ParamStore, Tensor, tch};

use crate::all_embeddings::NodeEmbeddings;
use crate::batching::LpPairs;
use crate::head::Head;
use crate::learnable_embeddings::LearnableEmbeddings;
use crate::loss::NodeLoss;
use crate::lp_decoder::{LP_DECODER_TYPES, LpDecoder};
use crate::lp_edge_weights::LpEdgeWeights;
use crate::lp_loss::LpLoss;
use crate::lp_rank::{EvalPairs, rank_by_decode};
use crate::model::HostDecoder;
use crate::plugin_outputs::ExpectedOutputs;
use crate::task::{Batches, TargetTask};
use crate::{
    Adam, BatchAssembler, Encoder, FeatureSpec, Metric, NativeSage, PreparedBatch, Progress,
    RunOptions, TaskModel, TrainError, TrainingSummary, train_loop,
};

/// GraphStorm's default `gamma` of the relational score functions.
pub(crate) const DEFAULT_GAMMA: f64 = 12.0;
/// Message passing of link prediction uses only edges in this mask (types without it: all).
const EMBEDDING_EDGE_MASK: &str = "train_mask";

fn config_error(message: String) -> TrainError {
    TrainError::Config(message)
}

/// A link-prediction task over one graph and one resolved configuration.
pub struct LinkPredictionTask {
    graph: Arc<HeteroGraph>,
    config: TrainConfig,
    /// Train and eval edge types, sorted: the flat id space.
    etypes: Vec<EdgeType>,
    offsets: Vec<u64>,
    train_etypes: Vec<EdgeType>,
    eval_etypes: Vec<EdgeType>,
    features: FeatureSpec,
    device: Device,
    metrics: Vec<Metric>,
    loss: LpLoss,
    train_opts: LpTrainOptions,
    eval_opts: LpEvalOptions,
    /// Loss weights of positive edges (`lp_edge_weight_for_loss`).
    edge_weights: Option<LpEdgeWeights>,
    sampler_workers: usize,
}

/// `src,rel,dst` entries as edge types the graph has.
fn parse_etypes(
    graph: &HeteroGraph,
    key: &str,
    entries: Option<&Vec<String>>,
) -> Result<Vec<EdgeType>, TrainError> {
    let known = || -> Vec<String> {
        graph
            .edge_types()
            .map(|e| format!("{},{},{}", e.src, e.rel, e.dst))
            .collect()
    };
    let Some(entries) = entries else {
        return Ok(graph.edge_types().cloned().collect());
    };
    let mut out = Vec::new();
    for text in entries {
        let p: Vec<&str> = text.split(',').map(str::trim).collect();
        let [s, r, d] = p.as_slice() else {
            return Err(config_error(format!(
                "`{key}` entry `{text}` is not `src,rel,dst`; hint: write e.g. `user,rates,item`"
            )));
        };
        let et = EdgeType::new(*s, *r, *d);
        if graph.num_edges(&et).is_none() {
            return Err(config_error(format!(
                "`{key}` names `{text}`, which the graph does not have; its edge types are {:?}; \
                 hint: use one of them",
                known()
            )));
        }
        if !out.contains(&et) {
            out.push(et);
        }
    }
    Ok(out)
}

impl LinkPredictionTask {
    /// Check the configuration against the graph.
    pub fn new(
        graph: Arc<HeteroGraph>,
        config: TrainConfig,
        device: Device,
    ) -> Result<Self, TrainError> {
        if config.task_type != TaskType::LinkPrediction {
            return Err(config_error(format!(
                "task `{}` is not link prediction",
                config.task_type.name()
            )));
        }
        if config.report_eval_per_type {
            return Err(config_error(
                "`report_eval_per_type` is true: gs reports link-prediction metrics as the mean \
                 over evaluation edge types only; hint: remove it, or evaluate one edge type \
                 per run with `eval_etype`"
                    .into(),
            ));
        }
        let train_etypes = parse_etypes(&graph, "train_etype", config.train_etype.as_ref())?;
        let eval_etypes = parse_etypes(&graph, "eval_etype", config.eval_etype.as_ref())?;
        for et in &train_etypes {
            if graph.edge_data(et, "train_mask").is_none() {
                tracing::warn!(
                    "link prediction trains on every edge of `{et}`, which has no \
                     `train_mask`, as GraphStorm does"
                );
            }
        }
        let mut etypes: Vec<EdgeType> = train_etypes.iter().chain(&eval_etypes).cloned().collect();
        etypes.sort();
        etypes.dedup();
        let mut offsets = Vec::with_capacity(etypes.len());
        let mut next = 0;
        for et in &etypes {
            offsets.push(next);
            next += graph.num_edges(et).unwrap_or(0);
        }
        let features = FeatureSpec::from_config(&graph, &config)?;
        crate::feature_values::check_finite(&graph, &features)?;
        let metrics = crate::task::parse_metrics(&config)?;
        let loss = LpLoss::from_config(&config)?;
        if !LP_DECODER_TYPES.contains(&config.lp_decoder_type.as_str()) {
            return Err(config_error(format!(
                "`lp_decoder_type` is `{}`; hint: use one of {}",
                config.lp_decoder_type,
                LP_DECODER_TYPES.join(", ")
            )));
        }
        if let Some(norm) = &config.lp_embed_normalizer
            && norm != "l2_norm"
        {
            return Err(config_error(format!(
                "`lp_embed_normalizer` is `{norm}`; hint: use `l2_norm` or leave it unset"
            )));
        }
        let sampler: NegativeSampler = config
            .train_negative_sampler
            .parse()
            .map_err(|e| config_error(format!("`train_negative_sampler`: {e}")))?;
        if config.num_negative_edges == 0 {
            return Err(config_error(
                "`num_negative_edges` is 0; hint: draw at least 1 negative per positive edge"
                    .into(),
            ));
        }
        let entries: Vec<&str> = config
            .reverse_edge_types_map
            .iter()
            .map(String::as_str)
            .collect();
        let reverse = parse_reverse_edge_types_map(&entries)
            .map_err(|e| config_error(format!("`reverse_edge_types_map`: {e}")))?;
        for (et, rev) in &reverse {
            for t in [et, rev] {
                if graph.num_edges(t).is_none() {
                    return Err(config_error(format!(
                        "`reverse_edge_types_map` names `{t}`, which the graph does not have; \
                         hint: fix the entry or drop it"
                    )));
                }
            }
        }
        let eval_k = config.num_negative_edges_eval as usize;
        let eval_opts = match config.eval_negative_sampler.as_str() {
            "uniform" => LpEvalOptions::Uniform(eval_k),
            "joint" => LpEvalOptions::Joint(eval_k),
            "full" => LpEvalOptions::FullRanking { filtered: false },
            "full_filtered" => LpEvalOptions::FullRanking { filtered: true },
            other => {
                return Err(config_error(format!(
                    "`eval_negative_sampler` is `{other}`; hint: use uniform, joint (GraphStorm's), \
                     or gs's full or full_filtered (rank against every node)"
                )));
            }
        };
        if matches!(
            eval_opts,
            LpEvalOptions::Uniform(0) | LpEvalOptions::Joint(0)
        ) {
            return Err(config_error(
                "`num_negative_edges_eval` is 0; hint: rank against at least 1 negative".into(),
            ));
        }
        let train_opts = LpTrainOptions {
            sampler,
            num_negatives: config.num_negative_edges as usize,
            hard_negatives: crate::hard_negatives::from_config(&graph, &config, &train_etypes)?,
            edges: EdgeBatchOptions {
                fanouts: vec![],
                exclude_training_targets: config.exclude_training_targets,
                reverse_edge_types_map: reverse,
                edge_mask: Some(EMBEDDING_EDGE_MASK.into()),
                mask_after_sampling: false,
                mask_reverse_edges: config.mask_reverse_edges,
                ..EdgeBatchOptions::default()
            }
            .with_derived_masks(&graph)
            .map_err(|e| config_error(e.to_string()))?,
        };
        let edge_weights = LpEdgeWeights::from_config(&graph, &config, &train_etypes)?;
        let task = Self {
            graph,
            config,
            etypes,
            offsets,
            train_etypes,
            eval_etypes,
            features,
            device,
            metrics,
            loss,
            train_opts,
            eval_opts,
            edge_weights,
            sampler_workers: 1,
        };
        task.train_fanouts()?;
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

    /// The edge types link prediction is evaluated on.
    pub fn eval_etypes(&self) -> &[EdgeType] {
        &self.eval_etypes
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
            &self.model_config(custom_args),
            model.host_decodes(),
            None,
        )
    }

    /// The graph as a plugin's `init` sees it.
    pub fn schema(&self) -> GraphSchema {
        self.features.schema(&self.graph)
    }

    /// The model configuration handed to `init`: the target node type is the first training
    /// edge type's destination type.
    pub fn model_config(&self, custom_args: Vec<(String, String)>) -> ModelConfig {
        ModelConfig {
            task: Task::LinkPrediction,
            hidden_size: self.config.hidden_size,
            num_layers: self.config.num_layers,
            num_classes: 0,
            dropout: self.config.dropout as f32,
            target_node_type: self
                .train_etypes
                .first()
                .map(|e| e.dst.clone())
                .unwrap_or_default(),
            custom_args: self.features.plugin_args(&self.graph, custom_args),
        }
    }

    fn decoder(&self) -> Result<HostDecoder, TrainError> {
        let c = &self.config;
        Ok(HostDecoder::Lp(LpDecoder::new(
            &c.lp_decoder_type,
            self.graph.edge_types().cloned().collect(),
            i64::from(c.embedding_size()),
            c.gamma.unwrap_or(DEFAULT_GAMMA),
            c.seed,
            self.device,
        )?))
    }

    fn expected(&self) -> ExpectedOutputs {
        ExpectedOutputs {
            hidden: i64::from(self.config.embedding_size()),
            width: 1,
        }
    }

    /// `host_decodes`: the host's score function scores pairs, else the plugin's `decode`.
    fn new_model(&self, encoder: Encoder, host_decodes: bool) -> Result<TaskModel, TrainError> {
        // The node loss is never used: `batch_loss` scores pairs with the link-prediction loss.
        Ok(TaskModel::new(
            encoder,
            if host_decodes {
                Some(self.decoder()?)
            } else {
                None
            },
            NodeLoss::Mse,
            self.expected(),
            LearnableEmbeddings::from_config(&self.features, &self.config, self.device)?,
        ))
    }

    /// Initialise a plugin instance; the host scores pairs unless the plugin declares
    /// `decode` for link prediction.
    pub fn plugin_model(
        &self,
        mut instance: PluginInstance,
        custom_args: Vec<(String, String)>,
    ) -> Result<TaskModel, TrainError> {
        instance.init(&self.model_config(custom_args), &self.schema())?;
        let host_decodes = instance.declares_decode(Task::LinkPrediction) != Some(true);
        self.new_model(Encoder::Plugin(Box::new(instance)), host_decodes)
    }

    /// The native GraphSAGE oracle with the host's score function.
    pub fn native_model(&self) -> Result<TaskModel, TrainError> {
        let mut params = ParamStore::new(self.config.seed, self.device);
        let model = NativeSage::new(&self.model_config(vec![]), &self.schema(), &mut params)?;
        self.new_model(Encoder::Native { model, params }, true)
    }

    fn layers(&self) -> usize {
        self.config.num_layers as usize
    }

    fn train_fanouts(&self) -> Result<Vec<Fanout>, TrainError> {
        if self.layers() == 0 {
            return Ok(vec![]);
        }
        let text = self.config.fanout.as_deref().unwrap_or("");
        parse_fanouts(text, self.layers()).map_err(|e| config_error(e.to_string()))
    }

    fn eval_fanouts(&self) -> Result<Vec<Fanout>, TrainError> {
        let layers = self.layers();
        Ok(match self.config.eval_fanout.as_deref() {
            Some(text) if layers > 0 => {
                parse_fanouts(text, layers).map_err(|e| config_error(e.to_string()))?
            }
            _ => full_fanouts(layers),
        })
    }

    fn flat(&self, t: usize, e: EdgeId) -> u64 {
        self.offsets[t] + e
    }

    /// Flat ids grouped by edge type.
    fn by_etype(&self, ids: &[u64]) -> BTreeMap<EdgeType, Vec<EdgeId>> {
        let mut out: BTreeMap<EdgeType, Vec<EdgeId>> = BTreeMap::new();
        for &id in ids {
            let t = self.offsets.partition_point(|&o| o <= id) - 1;
            out.entry(self.etypes[t].clone())
                .or_default()
                .push(id - self.offsets[t]);
        }
        out
    }

    /// Edges whose split `mask` is set: of the training edge types for `train_mask` (every
    /// edge of a type without one, as GraphStorm's `GSgnnLinkPredictionTrainData`), of the
    /// evaluation edge types otherwise.
    pub fn split(&self, mask: &str) -> Result<Vec<u64>, TrainError> {
        let types = if mask == "train_mask" {
            &self.train_etypes
        } else {
            &self.eval_etypes
        };
        let mut ids = Vec::new();
        let mut found = false;
        for et in types {
            let values = if mask == "train_mask" {
                crate::edge_labels::mask_ids_or_all(&self.graph, et, mask)?
            } else {
                match crate::edge_labels::mask_ids(&self.graph, et, mask)? {
                    Some(values) => values,
                    None => continue,
                }
            };
            found = true;
            let t = self.etypes.iter().position(|e| e == et).unwrap_or(0);
            ids.extend(values.into_iter().map(|e| self.flat(t, e)));
        }
        if !found {
            let names: Vec<String> = types.iter().map(ToString::to_string).collect();
            return Err(config_error(format!(
                "no edge type of {names:?} has `{mask}`; hint: give them a split in gconstruct, \
                 pick split edge types with `eval_etype`, or set `no_validation: true`"
            )));
        }
        Ok(ids)
    }

    /// The edges inference ranks: the test edges of the evaluation edge types.
    pub fn inference_ids(&self) -> Result<Vec<u64>, TrainError> {
        self.split("test_mask")
    }

    fn train_batches(&self, ids: Vec<u64>, epoch: u64) -> Result<(usize, Batches), TrainError> {
        let mut opts = self.train_opts.clone();
        opts.edges.fanouts = self.train_fanouts()?;
        let batches = EdgeBatches::new(
            self.by_etype(&ids),
            self.config.batch_size.max(1) as usize,
            true,
            opts.sampler.all_etypes(),
            self.config.seed,
        )
        .map_err(|e| config_error(e.to_string()))?
        .epoch(epoch);
        let count = batches.len();
        let graph = self.graph.clone();
        let assembler = BatchAssembler::new(self.graph.clone(), self.features.clone(), "", None);
        let etypes = self.etypes.clone();
        let offsets = self.offsets.clone();
        let edge_weights = self.edge_weights.clone();
        let workers = self.sampler_workers;
        let capacity = PREFETCH_CAPACITY.max(2 * workers);
        let prefetcher = Prefetcher::with_workers(batches, capacity, workers, move |b| {
            let lp = sample_lp_batch(&graph, &b.targets, &opts, b.rng_seed)
                .map_err(|e| config_error(e.to_string()))?;
            let data = assembler.batch_data(&lp.edges.layers, &lp.edges.input_nodes, "")?;
            let mut seeds = Vec::new();
            let mut pairs = Vec::new();
            for (et, eids) in &b.targets {
                let t = etypes.iter().position(|e| e == et).unwrap_or(0);
                seeds.extend(eids.iter().map(|&e| offsets[t] + e));
                let pos = &lp.edges.positives[et];
                let neg = &lp.negatives[et];
                let (b, k) = (pos.src.len() as i64, neg.per_positive as i64);
                let per_positive = |v: &[i64]| -> Tensor {
                    // `inbatch_joint` appends `B - 1` in-batch pairs per positive after the
                    // `B·k` sampled ones: each positive's row gets both.
                    let sampled = Tensor::from_slice(&v[..(b * k) as usize]).reshape([b, k]);
                    if v.len() as i64 > b * k && b > 1 {
                        let extra = Tensor::from_slice(&v[(b * k) as usize..]).reshape([b, b - 1]);
                        Tensor::cat(&[sampled, extra], 1)
                    } else {
                        sampled
                    }
                };
                pairs.push(LpPairs {
                    etype: et.clone(),
                    pos_src: Tensor::from_slice(&pos.src),
                    pos_dst: Tensor::from_slice(&pos.dst),
                    neg_src: per_positive(&neg.src),
                    neg_dst: per_positive(&neg.dst),
                    pos_weight: edge_weights.as_ref().map(|w| w.gather(&graph, et, eids)),
                });
            }
            Ok(PreparedBatch {
                data,
                seeds,
                labels: None,
                edges: None,
                pairs: Some(pairs),
            })
        });
        Ok((count, prefetcher))
    }

    /// `lp_embed_normalizer`: embeddings scaled to unit L2 norm before scoring.
    fn normalize(&self, h: Tensor) -> Tensor {
        normalize_embeddings(&self.config, h)
    }

    /// Embeddings of every node of every type, `[num_nodes, hidden]` on the CPU, sampled with
    /// `eval_fanout`; `masked`: message passing uses only `train_mask` edges (evaluation and
    /// inference, as GraphStorm's), else every edge (`gen-node-embedding`).
    pub fn all_node_embeddings(
        &self,
        model: &mut TaskModel,
        masked: bool,
        progress: &mut dyn Progress,
    ) -> Result<NodeEmbeddings, TrainError> {
        crate::all_embeddings::all_node_embeddings(
            &self.graph,
            &self.features,
            &crate::all_embeddings::EmbeddingOptions {
                fanouts: self.eval_fanouts()?,
                reverse: &self.train_opts.edges.reverse_edge_types_map,
                edge_mask: masked.then_some(EMBEDDING_EDGE_MASK),
                mask_reverse_edges: self.config.mask_reverse_edges,
                batch_size: self.config.eval_batch_size,
                seed: self.config.seed,
                device: self.device,
            },
            model,
            progress,
        )
    }

    /// Scores of every `eval_metric` on flat edge ids `ids`, each averaged over the
    /// evaluation edge types, from embeddings of every node.
    fn rank_edges(
        &self,
        model: &mut TaskModel,
        ids: &[u64],
        what: &str,
        progress: &mut dyn Progress,
    ) -> Result<crate::Scores, TrainError> {
        let _guard = tch::no_grad_guard();
        let embeddings = self.all_node_embeddings(model, true, progress)?;
        let targets = self.by_etype(ids);
        let batches = EvalEdgeBatches::new(
            &targets,
            self.config.eval_batch_size.max(1) as usize,
            self.config.fixed_test_size.map(|n| n as usize),
            self.config.seed,
        )
        .map_err(|e| config_error(e.to_string()))?;
        progress.eval_start(what, batches.batches().len());
        let mut per_type: BTreeMap<EdgeType, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
        for (et, eids, seed) in batches.batches() {
            let true_edges = match self.eval_opts {
                LpEvalOptions::FullRanking { filtered: true } => {
                    Some(TrueEdges::new(&self.graph, et).map_err(|e| config_error(e.to_string()))?)
                }
                _ => None,
            };
            let batch = sample_lp_eval_batch(
                &self.graph,
                et,
                eids,
                &self.eval_opts,
                *seed,
                true_edges.as_ref(),
            )
            .map_err(|e| config_error(e.to_string()))?;
            let hs = self.normalize(embeddings[&et.src].shallow_clone());
            let hd = self.normalize(embeddings[&et.dst].shallow_clone());
            let (ranks, sizes) = per_type.entry(et.clone()).or_default();
            match model.lp_decoder() {
                Some(decoder) => rank_batch(
                    decoder,
                    &batch.negatives,
                    et,
                    &hs,
                    &hd,
                    &batch.pos_src,
                    &batch.pos_dst,
                    ranks,
                    sizes,
                )?,
                None => {
                    let pairs = EvalPairs {
                        et,
                        hs: &hs,
                        hd: &hd,
                        pos_src: &batch.pos_src,
                        pos_dst: &batch.pos_dst,
                    };
                    rank_by_decode(model, &batch.negatives, &pairs, ranks, sizes)?
                }
            }
            progress.eval_batch_done();
        }
        let scores = self
            .metrics
            .iter()
            .map(|&m| {
                let values: Vec<f64> = per_type
                    .values()
                    .map(|(ranks, sizes)| m.ranking(ranks, sizes))
                    .collect();
                let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
                (
                    m,
                    crate::Score::from(if values.is_empty() { f64::NAN } else { mean }),
                )
            })
            .collect();
        Ok(scores)
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

    /// The score function's relation table with the edge type of each row (partition order),
    /// for `relation2id_map.json` and `rel_emb`; `None` for `dot_product`.
    pub fn relation_embeddings(&self, model: &TaskModel) -> Option<(Vec<EdgeType>, Tensor)> {
        let (etypes, table) = model.lp_decoder()?.relation_table()?;
        Some((etypes.to_vec(), table.detach().to_device(Device::Cpu)))
    }

    /// The score function's raw scores (no sigmoid) of pairs of `etype`, `h_src` and `h_dst`
    /// `[n, hidden]` embeddings (after `lp_embed_normalizer`), as GraphStorm's link-prediction
    /// decoders compute them.
    pub fn score_pairs(
        &self,
        model: &TaskModel,
        etype: &EdgeType,
        h_src: &Tensor,
        h_dst: &Tensor,
    ) -> Result<Tensor, TrainError> {
        let decoder = model
            .lp_decoder()
            .ok_or_else(|| config_error("the model has no link-prediction decoder".into()))?;
        let _guard = tch::no_grad_guard();
        Ok(decoder.score(etype, h_src, h_dst)?)
    }

    /// Scores of every `eval_metric` on the test edges (`--inference`).
    pub fn test_scores(
        &self,
        model: &mut TaskModel,
        progress: &mut dyn Progress,
    ) -> Result<crate::Scores, TrainError> {
        let ids = self.inference_ids()?;
        self.rank_edges(model, &ids, "test", progress)
    }
}

/// An edge type as the plugin runtime names it.
fn etype_name(et: &EdgeType) -> EdgeTypeName {
    EdgeTypeName {
        src: et.src.clone(),
        rel: et.rel.clone(),
        dst: et.dst.clone(),
    }
}

/// Candidate scores computed at once while ranking: a chunk of positives is scored against its
/// candidates as `[rows, candidates, hidden]`, about this many floats (64 MiB), however large
/// `eval_batch_size` is. Each score is computed exactly as without chunks.
const RANK_CHUNK_FLOATS: i64 = 1 << 24;

/// Positives per chunk when each is scored against `candidates` rows of width `hidden`.
fn rank_chunk_rows(candidates: i64, hidden: i64) -> i64 {
    (RANK_CHUNK_FLOATS / (candidates.max(1) * hidden.max(1))).max(1)
}

/// `(start, len)` of consecutive chunks of `rows` covering `0..total`.
fn chunks(total: i64, rows: i64) -> impl Iterator<Item = (i64, i64)> {
    (0..total)
        .step_by(rows.max(1) as usize)
        .map(move |start| (start, rows.min(total - start)))
}

/// The ranks of one evaluation batch's positives (appended to `ranks`, with the size of each
/// candidate list to `sizes`): every positive's destination-corrupted ranks, then (when the
/// sampler corrupts sources too) every positive's source-corrupted ones.
#[allow(clippy::too_many_arguments)]
fn rank_batch(
    decoder: &LpDecoder,
    negatives: &EvalNegatives,
    et: &EdgeType,
    hs: &Tensor,
    hd: &Tensor,
    pos_src: &[NodeId],
    pos_dst: &[NodeId],
    ranks: &mut Vec<u64>,
    sizes: &mut Vec<u64>,
) -> Result<(), TrainError> {
    let index = |ids: &[NodeId]| -> Tensor {
        Tensor::from_slice(&ids.iter().map(|&i| i as i64).collect::<Vec<_>>())
    };
    let rows = |h: &Tensor, ids: &[NodeId]| h.index_select(0, &index(ids));
    let (s, d) = (rows(hs, pos_src), rows(hd, pos_dst));
    let b = pos_src.len() as i64;
    let hidden = hs.size().last().copied().unwrap_or(1);
    let positive = decoder.score(et, &s, &d)?;
    // GraphStorm's `calc_ranking` sorts sigmoid scores; ties count against the positive.
    let read =
        |e: tch::TchError| TrainError::Tensor(gs_tensor::TensorError::torch("read scores", e));
    // Ranks of positives `start..start + len` from their negative scores `[len, k]`.
    // Ranks of positives `start..start + len` from their negative scores `[len, k]`.
    let count_ranks =
        |neg: Tensor, start: i64, len: i64, ranks: &mut Vec<u64>, sizes: &mut Vec<u64>| {
            crate::lp_rank::count_ranks(&positive.narrow(0, start, len), &neg, ranks, sizes)
        };
    // Negatives `[B · k]` per positive, paired with `fixed` (the positives' other end).
    let per_positive = |k: i64,
                        negs: &[NodeId],
                        table: &Tensor,
                        fixed: &Tensor,
                        corrupt_src: bool,
                        ranks: &mut Vec<u64>,
                        sizes: &mut Vec<u64>| {
        for (start, len) in chunks(b, rank_chunk_rows(k, hidden)) {
            let ids = &negs[(start * k) as usize..((start + len) * k) as usize];
            let n = rows(table, ids).reshape([len, k, -1]);
            let f = fixed.narrow(0, start, len).unsqueeze(1);
            let scores = if corrupt_src {
                decoder.score(et, &n, &f)?
            } else {
                decoder.score(et, &f, &n)?
            };
            count_ranks(scores, start, len, ranks, sizes)?;
        }
        Ok::<(), TrainError>(())
    };
    match negatives {
        EvalNegatives::PerPositive {
            k,
            neg_src,
            neg_dst,
        } => {
            let k = *k as i64;
            per_positive(k, neg_dst, hd, &s, false, ranks, sizes)?;
            per_positive(k, neg_src, hs, &d, true, ranks, sizes)?;
        }
        EvalNegatives::Shared { neg_src, neg_dst } => {
            let nd = rows(hd, neg_dst).unsqueeze(0);
            for (start, len) in chunks(b, rank_chunk_rows(neg_dst.len() as i64, hidden)) {
                let sc = s.narrow(0, start, len).unsqueeze(1);
                count_ranks(decoder.score(et, &sc, &nd)?, start, len, ranks, sizes)?;
            }
            let ns = rows(hs, neg_src).unsqueeze(0);
            for (start, len) in chunks(b, rank_chunk_rows(neg_src.len() as i64, hidden)) {
                let dc = d.narrow(0, start, len).unsqueeze(1);
                count_ranks(decoder.score(et, &ns, &dc)?, start, len, ranks, sizes)?;
            }
        }
        EvalNegatives::Fixed { k, neg_dst } => {
            per_positive(*k as i64, neg_dst, hd, &s, false, ranks, sizes)?;
        }
        EvalNegatives::AllNodes {
            num_candidates,
            exclude,
        } => {
            let n = *num_candidates as usize;
            let candidates = hd.unsqueeze(0);
            for (start, len) in chunks(b, rank_chunk_rows(n as i64, hidden)) {
                let sc = s.narrow(0, start, len).unsqueeze(1);
                let all = decoder
                    .score(et, &sc, &candidates)?
                    .sigmoid()
                    .to_kind(Kind::Float);
                let all = Vec::<f32>::try_from(all.flatten(0, -1)).map_err(read)?;
                for (j, i) in (start as usize..(start + len) as usize).enumerate() {
                    let row = &all[j * n..(j + 1) * n];
                    let skip: &[NodeId] = exclude.as_ref().map_or(&[], |e| e[i].as_slice());
                    ranks.push(rank_among_all(row, pos_dst[i], skip));
                    sizes.push(num_candidates - skip.len() as u64);
                }
            }
        }
    }
    Ok(())
}

impl TargetTask for LinkPredictionTask {
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
        Head::SingleLabel
    }

    fn output_dim(&self) -> Result<i64, TrainError> {
        Ok(1)
    }

    fn targets_text(&self) -> String {
        let names: Vec<String> = self.train_etypes.iter().map(ToString::to_string).collect();
        format!("link prediction on {names:?}")
    }

    fn split(&self, mask: &str) -> Result<Vec<u64>, TrainError> {
        LinkPredictionTask::split(self, mask)
    }

    fn batches(
        &self,
        ids: Vec<u64>,
        _batch_size: u32,
        train: bool,
        epoch: u64,
        _with_labels: bool,
    ) -> Result<(usize, Batches), TrainError> {
        if !train {
            return Err(config_error(
                "link prediction evaluates from node embeddings, not from batches".into(),
            ));
        }
        self.train_batches(ids, epoch)
    }

    fn batch_loss(
        &self,
        model: &mut TaskModel,
        batch: &PreparedBatch,
    ) -> Result<Tensor, TrainError> {
        let pairs = batch
            .pairs
            .as_ref()
            .ok_or_else(|| config_error("a link-prediction batch came without pairs".into()))?;
        let embeddings: Vec<(String, Tensor)> = model
            .embeddings(&batch.data, Mode::Train)?
            .into_iter()
            .map(|(ntype, h)| (ntype, self.normalize(h)))
            .collect();
        let mut scores = Vec::with_capacity(pairs.len());
        for p in pairs {
            let pairs = LpPairsData {
                etype: etype_name(&p.etype),
                pos_src: p.pos_src.shallow_clone(),
                pos_dst: p.pos_dst.shallow_clone(),
                neg_src: p.neg_src.shallow_clone(),
                neg_dst: p.neg_dst.shallow_clone(),
            };
            scores.push(model.lp_scores(&batch.data, &pairs, &embeddings, Mode::Train)?);
        }
        if model.plugin_declares_loss() {
            if self.edge_weights.is_some() {
                return Err(config_error(
                    "`lp_edge_weight_for_loss` is set, but the plugin computes the \
                     link-prediction loss itself and would not see the weights; hint: drop the \
                     key, or use a plugin that leaves the loss to the host"
                        .into(),
                ));
            }
            return model.plugin_lp_loss(&scores);
        }
        let weights = pairs
            .iter()
            .map(|p| p.pos_weight.as_ref().map(Tensor::shallow_clone))
            .collect::<Option<Vec<_>>>()
            .map(|w| Tensor::cat(&w, 0));
        Ok(self.loss.loss(&scores, weights.as_ref())?)
    }

    fn evaluate(
        &self,
        model: &mut TaskModel,
        ids: &[u64],
        what: &str,
        progress: &mut dyn Progress,
    ) -> Result<crate::Scores, TrainError> {
        self.rank_edges(model, ids, what, progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_row_once_in_order() {
        let got: Vec<(i64, i64)> = chunks(10, 4).collect();
        assert_eq!(got, [(0, 4), (4, 4), (8, 2)]);
        assert_eq!(chunks(0, 4).count(), 0);
        assert_eq!(rank_chunk_rows(100, 64), (1 << 24) / 6400);
        assert_eq!(rank_chunk_rows(1 << 30, 64), 1);
    }
}

/// `lp_embed_normalizer`: embeddings scaled to unit L2 norm before scoring.
pub(crate) fn normalize_embeddings(config: &TrainConfig, h: Tensor) -> Tensor {
    match config.lp_embed_normalizer.as_deref() {
        Some("l2_norm") => {
            let norm = h
                .norm_scalaropt_dim(2.0, [-1i64].as_slice(), true)
                .clamp_min(1e-12);
            h / norm
        }
        _ => h,
    }
}

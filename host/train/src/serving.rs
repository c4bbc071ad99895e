//! Serving a trained model without its graph.
//!
//! Training writes [`ServingRecord`] (`serving.json`) beside the checkpoints: exactly what the
//! plugin's `init` was given (model configuration and graph schema), the input features the
//! host assembles per node and edge type with their widths, the raw ids of the rows of every
//! learnable embedding table, the reverse edge types and whether the host decodes. A server
//! rebuilds the model from it and a checkpoint ([`serving_model`]), builds each request's
//! subgraph as a small graph of its own, and runs full-neighbour inference on it
//! ([`subgraph_batch`], then [`TaskModel::outputs`], [`TaskModel::batch_outputs`] or
//! [`candidate_scores`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use gs_batch::{
    BatchData, EdgeTypeName, GraphSchema, LpPairsData, Mode, ModelConfig, NodeTypeSchema, Task,
};
use gs_config::{TaskType, TrainConfig};
use gs_graph::{EdgeType, HeteroGraph, NodeId, parse_reverse_edge_types_map};
use gs_runtime::PluginInstance;
use gs_tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::edge_decoder::{EdgeDecoder, EdgeDecoderSpec};
use crate::learnable_embeddings::{LearnableEmbeddings, TABLE_PREFIX};
use crate::loss::NodeLoss;
use crate::lp_decoder::LpDecoder;
use crate::model::HostDecoder;
use crate::plugin_outputs::ExpectedOutputs;
use crate::{BatchAssembler, EdgeFeatureSpec, Encoder, FeatureSpec, TaskModel, TrainError};

/// The file training writes beside its checkpoints.
pub const SERVING_FILE: &str = "serving.json";
/// Version of [`ServingRecord`]'s layout.
pub const SERVING_VERSION: u32 = 1;

/// What serving needs of a trained model besides its checkpoint (`serving.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingRecord {
    pub gs_serving_version: u32,
    /// The model configuration `init` was given.
    pub init: InitRecord,
    /// Every node type of the graph, sorted, with the inputs the host assembles for it.
    pub node_types: Vec<NodeInputs>,
    /// Every edge type of the graph, sorted (the graph's edge-type order), with the edge
    /// features message passing reads (`edge_feat_name`).
    pub edge_types: Vec<EdgeInputs>,
    /// Width of a learnable embedding (`hidden_size`).
    pub learnable_dim: usize,
    /// Pairs `[forward, reverse]`: the reverse edge types the graph was built with.
    pub reverse_edge_types: Vec<[[String; 3]; 2]>,
    /// Whether the host decodes (the plugin does not decode the task itself).
    pub host_decodes: bool,
    /// An edge task's `decoder_edge_feat`: the target edges' own features the host's
    /// `MLPEFeatEdgeDecoder` reads, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decoder_edge_features: Vec<FeatureWidth>,
}

/// The model configuration `init` was given (gs-batch's `ModelConfig` without the task).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitRecord {
    pub hidden_size: u32,
    pub num_layers: u32,
    /// Width of the task outputs: the classes, 1 for regression, 0 for link prediction.
    pub num_classes: u32,
    pub dropout: f32,
    pub target_node_type: String,
    pub custom_args: Vec<(String, String)>,
}

/// A named feature and its width (columns of one row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureWidth {
    pub name: String,
    pub width: usize,
}

/// A node type's inputs: its features in order, then its learnable embedding when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeInputs {
    pub name: String,
    /// Nodes of the type in the training graph (what `init` saw).
    pub num_nodes: u64,
    pub features: Vec<FeatureWidth>,
    /// Raw ids of the rows of the type's learnable embedding table, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learnable_ids: Option<Vec<String>>,
}

/// An edge type and the features its blocks carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeInputs {
    pub etype: [String; 3],
    pub features: Vec<FeatureWidth>,
}

fn triple(et: &EdgeType) -> [String; 3] {
    [et.src.clone(), et.rel.clone(), et.dst.clone()]
}

/// The edge type `[src, rel, dst]` names.
pub fn edge_type(t: &[String; 3]) -> EdgeType {
    EdgeType::new(&t[0], &t[1], &t[2])
}

impl ServingRecord {
    /// The record of a model built for `graph` with inputs `features`, as `init` was given
    /// `model_config`. Reverse edge types are those of `reverse_edge_types_map` and, as
    /// GraphStorm's gconstruct names them, every `[dst, rel-rev, src]` the graph has.
    pub(crate) fn new(
        graph: &HeteroGraph,
        features: &FeatureSpec,
        config: &TrainConfig,
        model_config: &ModelConfig,
        host_decodes: bool,
        decoder_features: Option<(&EdgeType, &EdgeFeatureSpec)>,
    ) -> Result<Self, TrainError> {
        let width = |ntype: &str, name: &str| {
            graph
                .node_data(ntype, name)
                .map_or(0, gs_graph::Array::row_width)
        };
        let node_types = graph
            .node_types()
            .map(|t| {
                let learnable_ids = features.learnable_types().get(t).map(|&n| {
                    (0..n)
                        .map(|id| {
                            graph
                                .raw_id(t, id)
                                .map_or(id.to_string(), |r| r.to_string())
                        })
                        .collect()
                });
                NodeInputs {
                    name: t.to_string(),
                    num_nodes: graph.num_nodes(t).unwrap_or(0),
                    features: features
                        .features(t)
                        .iter()
                        .map(|f| FeatureWidth {
                            name: f.clone(),
                            width: width(t, f),
                        })
                        .collect(),
                    learnable_ids,
                }
            })
            .collect();
        let edge_spec = features.edge_features();
        let edge_types = graph
            .edge_types()
            .map(|et| EdgeInputs {
                etype: triple(et),
                features: edge_spec
                    .features(et)
                    .iter()
                    .map(|f| FeatureWidth {
                        name: f.clone(),
                        width: graph.edge_data(et, f).map_or(0, gs_graph::Array::row_width),
                    })
                    .collect(),
            })
            .collect();
        let entries: Vec<&str> = config
            .reverse_edge_types_map
            .iter()
            .map(String::as_str)
            .collect();
        let mut reverse = parse_reverse_edge_types_map(&entries)
            .map_err(|e| TrainError::Config(format!("`reverse_edge_types_map`: {e}")))?;
        for et in graph.edge_types() {
            let rev = EdgeType::new(&et.dst, &format!("{}-rev", et.rel), &et.src);
            if graph.num_edges(&rev).is_some() && !reverse.contains_key(&rev) {
                reverse.entry(et.clone()).or_insert(rev);
            }
        }
        Ok(Self {
            gs_serving_version: SERVING_VERSION,
            init: InitRecord {
                hidden_size: model_config.hidden_size,
                num_layers: model_config.num_layers,
                num_classes: model_config.num_classes,
                dropout: model_config.dropout,
                target_node_type: model_config.target_node_type.clone(),
                custom_args: model_config.custom_args.clone(),
            },
            node_types,
            edge_types,
            learnable_dim: features.learnable_dim(),
            reverse_edge_types: reverse
                .iter()
                .filter(|(f, r)| graph.num_edges(f).is_some() && graph.num_edges(r).is_some())
                .map(|(f, r)| [triple(f), triple(r)])
                .collect(),
            host_decodes,
            decoder_edge_features: decoder_features
                .map(|(et, spec)| {
                    spec.features(et)
                        .iter()
                        .map(|f| FeatureWidth {
                            name: f.clone(),
                            width: graph.edge_data(et, f).map_or(0, gs_graph::Array::row_width),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The node type `name`'s inputs.
    pub fn node_type(&self, name: &str) -> Option<&NodeInputs> {
        self.node_types.iter().find(|n| n.name == name)
    }

    /// The graph as `init` saw it.
    pub fn schema(&self) -> GraphSchema {
        GraphSchema {
            node_types: self
                .node_types
                .iter()
                .map(|n| NodeTypeSchema {
                    name: n.name.clone(),
                    num_nodes: n.num_nodes,
                    feature_dim: n.input_width(self.learnable_dim) as u32,
                })
                .collect(),
            edge_types: self
                .edge_types
                .iter()
                .map(|e| EdgeTypeName {
                    src: e.etype[0].clone(),
                    rel: e.etype[1].clone(),
                    dst: e.etype[2].clone(),
                })
                .collect(),
        }
    }
}

impl NodeInputs {
    /// Width of the model's input row: the features, then the learnable embedding.
    pub fn input_width(&self, learnable_dim: usize) -> usize {
        let features: usize = self.features.iter().map(|f| f.width).sum();
        features + self.learnable_ids.as_ref().map_or(0, |_| learnable_dim)
    }
}

/// The task gs-batch names for a task type.
pub(crate) fn batch_task(task: TaskType) -> Task {
    match task {
        TaskType::NodeClassification => Task::NodeClassification,
        TaskType::NodeRegression => Task::NodeRegression,
        TaskType::EdgeClassification => Task::EdgeClassification,
        TaskType::EdgeRegression => Task::EdgeRegression,
        TaskType::LinkPrediction => Task::LinkPrediction,
    }
}

/// The model configuration `init` was given.
fn model_config(record: &ServingRecord, config: &TrainConfig) -> ModelConfig {
    let init = &record.init;
    ModelConfig {
        task: batch_task(config.task_type),
        hidden_size: init.hidden_size,
        num_layers: init.num_layers,
        num_classes: init.num_classes,
        dropout: init.dropout,
        target_node_type: init.target_node_type.clone(),
        custom_args: init.custom_args.clone(),
    }
}

/// The model of `record` with `instance` as its encoder, initialised as in training; load the
/// checkpoint's weights with [`load_serving_weights`]. The learnable embedding tables stay
/// with the caller, which appends each request's rows to the input features itself.
pub fn serving_model(
    record: &ServingRecord,
    config: &TrainConfig,
    mut instance: PluginInstance,
    device: Device,
) -> Result<TaskModel, TrainError> {
    instance.init(&model_config(record, config), &record.schema())?;
    let decoder = if record.host_decodes {
        Some(host_decoder(record, config, device)?)
    } else {
        None
    };
    with_encoder(Encoder::Plugin(Box::new(instance)), decoder, record, config)
}

/// The native GraphSAGE oracle in place of the plugin of a `sage` model (same weight names),
/// with the host's decoder: what `gs bench serve` compares the plugin with.
pub fn serving_native_model(
    record: &ServingRecord,
    config: &TrainConfig,
    device: Device,
) -> Result<TaskModel, TrainError> {
    let mut params = gs_tensor::ParamStore::new(config.seed, device);
    let model =
        crate::NativeSage::new(&model_config(record, config), &record.schema(), &mut params)?;
    let decoder = host_decoder(record, config, device)?;
    with_encoder(
        Encoder::Native { model, params },
        Some(decoder),
        record,
        config,
    )
}

/// A model of `encoder` and `decoder` whose outputs are checked as training checked them:
/// `num_classes` (the output width `init` was given) per target, one score per pair.
fn with_encoder(
    encoder: Encoder,
    decoder: Option<HostDecoder>,
    record: &ServingRecord,
    config: &TrainConfig,
) -> Result<TaskModel, TrainError> {
    let expected = ExpectedOutputs {
        hidden: i64::from(config.embedding_size()),
        width: match config.task_type {
            TaskType::LinkPrediction => 1,
            _ => i64::from(record.init.num_classes),
        },
    };
    Ok(TaskModel::new(
        encoder,
        decoder,
        NodeLoss::Mse,
        expected,
        LearnableEmbeddings::empty(),
    ))
}

/// The host's decoder of the task, as training built it.
fn host_decoder(
    record: &ServingRecord,
    config: &TrainConfig,
    device: Device,
) -> Result<HostDecoder, TrainError> {
    let hidden = i64::from(config.embedding_size());
    let width = i64::from(record.init.num_classes);
    Ok(match config.task_type {
        TaskType::NodeClassification | TaskType::NodeRegression => {
            HostDecoder::Node(crate::decoder::NodeDecoder::new(
                hidden,
                width,
                config.decoder_bias,
                config.seed,
                device,
            )?)
        }
        TaskType::EdgeClassification | TaskType::EdgeRegression => {
            HostDecoder::Edge(EdgeDecoder::new(
                &EdgeDecoderSpec {
                    decoder_type: &config.decoder_type,
                    hidden,
                    out_dim: width,
                    regression: config.task_type == TaskType::EdgeRegression,
                    num_basis: i64::from(config.num_decoder_basis),
                    bias: config.decoder_bias,
                    dropout: config.dropout,
                    edge_feat_dim: record
                        .decoder_edge_features
                        .iter()
                        .map(|f| f.width)
                        .sum::<usize>() as i64,
                },
                config.seed,
                device,
            )?)
        }
        TaskType::LinkPrediction => HostDecoder::Lp(LpDecoder::new(
            &config.lp_decoder_type,
            record
                .edge_types
                .iter()
                .map(|e| edge_type(&e.etype))
                .collect(),
            hidden,
            config.gamma.unwrap_or(crate::lp_task::DEFAULT_GAMMA),
            config.seed,
            device,
        )?),
    })
}

/// Loads a checkpoint's weights into a [`serving_model`], all but the learnable embedding
/// tables (see [`learnable_tables`]), sharing their storage: every worker's model served
/// from the same checkpoint reads one copy of the weights.
pub fn load_serving_weights(
    model: &mut TaskModel,
    weights: &[(String, Tensor)],
) -> Result<(), TrainError> {
    let dense: Vec<(String, Tensor)> = weights
        .iter()
        .filter(|(n, _)| !n.starts_with(TABLE_PREFIX))
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect();
    Ok(model.share_weights(&dense)?)
}

/// The learnable embedding tables of a checkpoint's weights, by node type.
pub fn learnable_tables(weights: &[(String, Tensor)]) -> BTreeMap<String, Tensor> {
    weights
        .iter()
        .filter_map(|(n, t)| Some((n.strip_prefix(TABLE_PREFIX)?.to_string(), t.shallow_clone())))
        .collect()
}

/// The batch of full-neighbour inference on `graph` (a request's subgraph) for the output
/// nodes `dst`: `num_layers` layers of every in-edge, the input rows of `node_features` (per
/// node type, concatenated in order; a learnable embedding is one of them) and the edge
/// features `edge_feat_name` selects.
pub fn subgraph_batch(
    graph: &Arc<HeteroGraph>,
    node_features: BTreeMap<String, Vec<String>>,
    config: &TrainConfig,
    dst: &BTreeMap<String, Vec<NodeId>>,
    target_node_type: &str,
) -> Result<BatchData, TrainError> {
    let edges = EdgeFeatureSpec::parse(graph, "edge_feat_name", config.edge_feat_name.as_deref())?;
    let features = FeatureSpec::of_names(node_features).with_edge_features(edges);
    let (layers, input_nodes) =
        gs_graph::sample_all_neighbors(graph, dst, config.num_layers as usize)?;
    let assembler = BatchAssembler::new(graph.clone(), features, target_node_type, None);
    assembler.batch_data(&layers, &input_nodes, target_node_type)
}

/// Raw scores of candidate edges `src[i] -> dst[i]` of `etype`, as rows of the last layer's
/// destination nodes of `batch`: the link-prediction decoder on the embeddings after
/// `lp_embed_normalizer`.
pub fn candidate_scores(
    model: &mut TaskModel,
    config: &TrainConfig,
    batch: &BatchData,
    etype: &EdgeType,
    src: &[i64],
    dst: &[i64],
) -> Result<Vec<f32>, TrainError> {
    let embeddings: Vec<(String, Tensor)> = model
        .embeddings(batch, Mode::Predict)?
        .into_iter()
        .map(|(t, h)| (t, crate::lp_task::normalize_embeddings(config, h)))
        .collect();
    let (src, dst) = (Tensor::from_slice(src), Tensor::from_slice(dst));
    // One "negative" per candidate, itself: `decode` always sees `[P, 1 + K]` pairs.
    let pairs = LpPairsData {
        etype: EdgeTypeName {
            src: etype.src.clone(),
            rel: etype.rel.clone(),
            dst: etype.dst.clone(),
        },
        neg_src: src.unsqueeze(1),
        neg_dst: dst.unsqueeze(1),
        pos_src: src,
        pos_dst: dst,
    };
    let (pos, _) = model.lp_scores(batch, &pairs, &embeddings, Mode::Predict)?;
    Vec::<f32>::try_from(pos.to_kind(gs_tensor::Kind::Float).flatten(0, -1))
        .map_err(|e| TrainError::Tensor(gs_tensor::TensorError::torch("read scores", e)))
}

//! Embeddings of every node of every type the encoder returns, in evaluation batches of
//! nodes of one type sampled with `eval_fanout`: what link prediction ranks against, what
//! its `--save-embed-path` writes, and what `gs gen-node-embedding` writes for any trained
//! model (GraphStorm's `gs_gen_node_embedding`, where message passing uses every edge).

use std::collections::BTreeMap;
use std::sync::Arc;

use gs_batch::Mode;
use gs_config::TrainConfig;
use gs_graph::{
    EdgeBatchOptions, EdgeType, Fanout, HeteroGraph, NodeId, full_fanouts, parse_fanouts,
    parse_reverse_edge_types_map, sample_edge_batch,
};
use gs_tensor::{Device, Kind, Tensor, tch};

use crate::{BatchAssembler, FeatureSpec, PreparedBatch, Progress, TaskModel, TrainError};

/// Node embeddings of every node type, `[num_nodes, hidden]` on the CPU.
pub type NodeEmbeddings = BTreeMap<String, Tensor>;

fn config_error(message: String) -> TrainError {
    TrainError::Config(message)
}

/// Embeddings of every node of `graph` from a trained `model`, with every edge carrying
/// messages (`gs gen-node-embedding`): sampled with the configuration's `eval_fanout`
/// (every neighbour by default), in batches of `eval_batch_size` nodes.
pub fn embed_every_node(
    graph: &Arc<HeteroGraph>,
    config: &TrainConfig,
    model: &mut TaskModel,
    device: Device,
    progress: &mut dyn Progress,
) -> Result<NodeEmbeddings, TrainError> {
    let features = FeatureSpec::from_config(graph, config)?;
    let layers = config.num_layers as usize;
    let fanouts: Vec<Fanout> = match config.eval_fanout.as_deref() {
        Some(text) if layers > 0 => {
            parse_fanouts(text, layers).map_err(|e| config_error(e.to_string()))?
        }
        _ => full_fanouts(layers),
    };
    let entries: Vec<&str> = config
        .reverse_edge_types_map
        .iter()
        .map(String::as_str)
        .collect();
    let reverse: BTreeMap<EdgeType, EdgeType> = parse_reverse_edge_types_map(&entries)
        .map_err(|e| config_error(format!("`reverse_edge_types_map`: {e}")))?;
    all_node_embeddings(
        graph,
        &features,
        &EmbeddingOptions {
            fanouts,
            reverse: &reverse,
            edge_mask: None,
            mask_reverse_edges: false,
            batch_size: config.eval_batch_size,
            seed: config.seed,
            device,
        },
        model,
        progress,
    )
}

/// How [`all_node_embeddings`] samples.
pub(crate) struct EmbeddingOptions<'a> {
    pub(crate) fanouts: Vec<Fanout>,
    pub(crate) reverse: &'a BTreeMap<EdgeType, EdgeType>,
    pub(crate) edge_mask: Option<&'a str>,
    /// Reverse edge types without `edge_mask` take their forward type's (`mask_reverse_edges`).
    pub(crate) mask_reverse_edges: bool,
    pub(crate) batch_size: u32,
    pub(crate) seed: u64,
    pub(crate) device: Device,
}

/// Embeddings of every node of every type the encoder returns, in batches of nodes of one
/// type, `[num_nodes, hidden]` on the CPU.
pub(crate) fn all_node_embeddings(
    graph: &Arc<HeteroGraph>,
    features: &FeatureSpec,
    opts: &EmbeddingOptions<'_>,
    model: &mut TaskModel,
    progress: &mut dyn Progress,
) -> Result<NodeEmbeddings, TrainError> {
    let _guard = tch::no_grad_guard();
    let edge_opts = EdgeBatchOptions {
        fanouts: opts.fanouts.clone(),
        exclude_training_targets: false,
        reverse_edge_types_map: opts.reverse.clone(),
        edge_mask: opts.edge_mask.map(String::from),
        mask_after_sampling: false,
        mask_reverse_edges: opts.mask_reverse_edges,
        ..EdgeBatchOptions::default()
    }
    .with_derived_masks(graph)
    .map_err(|e| config_error(e.to_string()))?;
    let size = opts.batch_size.max(1) as usize;
    let ntypes: Vec<String> = graph.node_types().map(String::from).collect();
    let total: usize = ntypes
        .iter()
        .map(|t| (graph.num_nodes(t).unwrap_or(0) as usize).div_ceil(size))
        .sum();
    progress.eval_start("embed", total);
    let mut out = NodeEmbeddings::new();
    for ntype in &ntypes {
        let assembler = BatchAssembler::new(graph.clone(), features.clone(), ntype, None);
        let ids: Vec<NodeId> = (0..graph.num_nodes(ntype).unwrap_or(0)).collect();
        let mut rows = Vec::new();
        for (i, chunk) in ids.chunks(size).enumerate() {
            let extra = BTreeMap::from([(ntype.clone(), chunk.to_vec())]);
            let (sampled, local) = sample_edge_batch(
                graph,
                &BTreeMap::new(),
                &extra,
                &edge_opts,
                opts.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            )
            .map_err(|e| config_error(e.to_string()))?;
            let data = assembler.batch_data(&sampled.layers, &sampled.input_nodes, ntype)?;
            let data = PreparedBatch {
                data,
                seeds: vec![],
                labels: None,
                edges: None,
                pairs: None,
            }
            .to_device(opts.device)
            .data;
            let embeddings = model.embeddings(&data, Mode::Eval)?;
            let Some((_, h)) = embeddings.into_iter().find(|(t, _)| t == ntype) else {
                return Err(config_error(format!(
                    "the model's `forward` returned no embeddings for node type `{ntype}`; hint: \
                     `forward` must return every destination node type of the last layer"
                )));
            };
            let index = Tensor::from_slice(&local[ntype]).to_device(opts.device);
            rows.push(
                h.index_select(0, &index)
                    .to_kind(Kind::Float)
                    .to_device(Device::Cpu),
            );
            progress.eval_batch_done();
        }
        if !rows.is_empty() {
            out.insert(ntype.clone(), Tensor::cat(&rows, 0));
        }
    }
    Ok(out)
}

//! Which node features feed the model (`node_feat_name`), which node types get a learnable
//! embedding appended to them (featureless types always; every type with
//! `use_node_embeddings`), and which edge features the blocks carry (`edge_feat_name`).

use std::collections::BTreeMap;

use gs_config::TrainConfig;
use gs_graph::HeteroGraph;

use crate::{EdgeFeatureSpec, TrainError};

/// The input features of every node type: feature names, concatenated in order, then the
/// node's learnable embedding where it has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureSpec {
    per_type: BTreeMap<String, Vec<String>>,
    /// Node types with a learnable embedding table, with their node counts.
    learnable: BTreeMap<String, u64>,
    /// Width of every learnable embedding (`hidden_size`, as in GraphStorm).
    learnable_dim: usize,
    /// The edge features every block carries (`edge_feat_name`).
    edges: EdgeFeatureSpec,
}

impl FeatureSpec {
    /// The model's inputs under a resolved configuration: `node_feat_name`, plus a learnable
    /// embedding of width `hidden_size` for every node type without features and, with
    /// `use_node_embeddings`, for every node type (GraphStorm's `GSNodeEncoderInputLayer`).
    /// Under `model_encoder_type: learnable_embed` every node type gets the embedding only.
    pub fn from_config(graph: &HeteroGraph, config: &TrainConfig) -> Result<Self, TrainError> {
        // `learnable_embed` (GraphStorm's `GSPureLearnableInputLayer`) reads no features: every
        // node type gets a learnable embedding and nothing else.
        let pure_learnable = config.model_encoder_type.as_deref() == Some("learnable_embed");
        let node_feat_name = config.node_feat_name.as_deref().filter(|_| !pure_learnable);
        let mut spec = Self::parse(graph, node_feat_name)?;
        spec.edges =
            EdgeFeatureSpec::parse(graph, "edge_feat_name", config.edge_feat_name.as_deref())?;
        spec.learnable_dim = config.hidden_size as usize;
        spec.learnable = graph
            .node_types()
            .filter_map(|t| Some((t, graph.num_nodes(t)?)))
            .filter(|&(t, n)| n > 0 && (config.use_node_embeddings || spec.features(t).is_empty()))
            .map(|(t, n)| (t.to_string(), n))
            .collect();
        Ok(spec)
    }

    /// The features `per_type` names, in order, and nothing learnable: for a request's
    /// subgraph, whose rows carry any learnable embedding as a feature of their own.
    pub fn of_names(per_type: BTreeMap<String, Vec<String>>) -> Self {
        Self {
            per_type,
            ..Self::default()
        }
    }

    /// Only learnable embeddings, for unit tests.
    #[cfg(test)]
    pub(crate) fn learnable_only(types: &[(&str, u64)], dim: usize) -> Self {
        Self {
            per_type: BTreeMap::new(),
            learnable: types.iter().map(|&(t, n)| (t.to_string(), n)).collect(),
            learnable_dim: dim,
            edges: EdgeFeatureSpec::default(),
        }
    }

    /// Node types with a learnable embedding, with their node counts.
    pub fn learnable_types(&self) -> &BTreeMap<String, u64> {
        &self.learnable
    }

    /// This selection with the edge features `edges` in place of its own.
    pub fn with_edge_features(self, edges: EdgeFeatureSpec) -> Self {
        Self { edges, ..self }
    }

    /// The edge features of message passing (`edge_feat_name`).
    pub fn edge_features(&self) -> &EdgeFeatureSpec {
        &self.edges
    }

    /// `custom_args` with the value of a plugin's `edge_feat_name` argument replaced by the
    /// resolved selection (see [`EdgeFeatureSpec::plugin_arg`]).
    pub fn plugin_args(
        &self,
        graph: &HeteroGraph,
        custom_args: Vec<(String, String)>,
    ) -> Vec<(String, String)> {
        crate::edge_features::with_resolved_plugin_arg(custom_args, &self.edges, graph)
    }

    /// Width of the learnable embeddings.
    pub fn learnable_dim(&self) -> usize {
        self.learnable_dim
    }

    /// Parse GraphStorm's `node_feat_name`: `feat` (every node type that has it) or
    /// `ntype:f1,f2` entries. `None` means no features, as in GraphStorm.
    pub(crate) fn parse(graph: &HeteroGraph, names: Option<&[String]>) -> Result<Self, TrainError> {
        let mut per_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in names.unwrap_or_default() {
            match entry.split_once(':') {
                Some((ntype, feats)) => {
                    if graph.num_nodes(ntype).is_none() {
                        let known: Vec<&str> = graph.node_types().collect();
                        return Err(TrainError::Config(format!(
                            "`node_feat_name` names node type `{ntype}`, which the graph does not have; \
                             its node types are {known:?}"
                        )));
                    }
                    for feat in feats.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                        if graph.node_data(ntype, feat).is_none() {
                            return Err(missing(graph, ntype, feat));
                        }
                        per_type
                            .entry(ntype.to_string())
                            .or_default()
                            .push(feat.to_string());
                    }
                }
                None => {
                    let mut found = false;
                    for ntype in graph.node_types() {
                        if graph.node_data(ntype, entry).is_some() {
                            per_type
                                .entry(ntype.to_string())
                                .or_default()
                                .push(entry.clone());
                            found = true;
                        }
                    }
                    if !found {
                        return Err(TrainError::Config(format!(
                            "`node_feat_name` is `{entry}`, but no node type has a feature of that name; \
                             hint: `gs graph info` lists the features"
                        )));
                    }
                }
            }
        }
        Ok(Self {
            per_type,
            ..Self::default()
        })
    }

    /// Feature names of a node type (empty: none).
    pub fn features(&self, ntype: &str) -> &[String] {
        self.per_type.get(ntype).map_or(&[], Vec::as_slice)
    }

    /// The graph as a plugin's `init` sees it: node types with their input widths under this
    /// feature selection, and edge types.
    pub fn schema(&self, graph: &HeteroGraph) -> gs_batch::GraphSchema {
        gs_batch::GraphSchema {
            node_types: graph
                .node_types()
                .map(|t| gs_batch::NodeTypeSchema {
                    name: t.to_string(),
                    num_nodes: graph.num_nodes(t).unwrap_or(0),
                    feature_dim: self.dim(graph, t) as u32,
                })
                .collect(),
            edge_types: graph
                .edge_types()
                .map(|e| gs_batch::EdgeTypeName {
                    src: e.src.clone(),
                    rel: e.rel.clone(),
                    dst: e.dst.clone(),
                })
                .collect(),
        }
    }

    /// Total input width of a node type: its features, then its learnable embedding.
    pub fn dim(&self, graph: &HeteroGraph, ntype: &str) -> usize {
        let features: usize = self
            .features(ntype)
            .iter()
            .filter_map(|f| graph.node_data(ntype, f))
            .map(|a| a.row_width())
            .sum();
        let learnable = if self.learnable.contains_key(ntype) {
            self.learnable_dim
        } else {
            0
        };
        features + learnable
    }
}

fn missing(graph: &HeteroGraph, ntype: &str, feat: &str) -> TrainError {
    let known: Vec<&str> = graph.node_data_all(ntype).map(|(n, _)| n).collect();
    TrainError::Config(format!(
        "`node_feat_name` asks for feature `{feat}` of node type `{ntype}`, which has {known:?}"
    ))
}

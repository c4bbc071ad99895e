//! Which node features feed the model (`node_feat_name`).

use std::collections::BTreeMap;

use gs_graph::HeteroGraph;

use crate::TrainError;

/// The input features of every node type: feature names, concatenated in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureSpec {
    per_type: BTreeMap<String, Vec<String>>,
}

impl FeatureSpec {
    /// Parse GraphStorm's `node_feat_name`: `feat` (every node type that has it) or
    /// `ntype:f1,f2` entries. `None` means no features, as in GraphStorm.
    pub fn parse(graph: &HeteroGraph, names: Option<&[String]>) -> Result<Self, TrainError> {
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
        Ok(Self { per_type })
    }

    /// Feature names of a node type (empty: none).
    pub fn features(&self, ntype: &str) -> &[String] {
        self.per_type.get(ntype).map_or(&[], Vec::as_slice)
    }

    /// The graph as a plugin's `init` sees it: node types with their input widths under this
    /// feature selection, and edge types.
    pub fn schema(&self, graph: &HeteroGraph) -> gs_runtime::GraphSchema {
        gs_runtime::GraphSchema {
            node_types: graph
                .node_types()
                .map(|t| gs_runtime::NodeTypeSchema {
                    name: t.to_string(),
                    num_nodes: graph.num_nodes(t).unwrap_or(0),
                    feature_dim: self.dim(graph, t) as u32,
                })
                .collect(),
            edge_types: graph
                .edge_types()
                .map(|e| gs_runtime::EdgeTypeName {
                    src: e.src.clone(),
                    rel: e.rel.clone(),
                    dst: e.dst.clone(),
                })
                .collect(),
        }
    }

    /// Total input width of a node type.
    pub fn dim(&self, graph: &HeteroGraph, ntype: &str) -> usize {
        self.features(ntype)
            .iter()
            .filter_map(|f| graph.node_data(ntype, f))
            .map(|a| a.row_width())
            .sum()
    }
}

fn missing(graph: &HeteroGraph, ntype: &str, feat: &str) -> TrainError {
    let known: Vec<&str> = graph.node_data_all(ntype).map(|(n, _)| n).collect();
    TrainError::Config(format!(
        "`node_feat_name` asks for feature `{feat}` of node type `{ntype}`, which has {known:?}"
    ))
}

//! A mini-batch as the host hands it to a plugin's `forward` and `decode`: the layers of
//! sampled blocks and the input features.

use std::collections::BTreeMap;

use gs_tensor::{InEdges, Tensor, TensorError};

/// One edge type's edges in one layer (DGL message-flow-graph convention).
#[derive(Debug)]
pub struct BlockData {
    pub src_type: String,
    pub rel: String,
    pub dst_type: String,
    pub num_src: i64,
    pub num_dst: i64,
    /// Local source index per edge (int64).
    pub src: Tensor,
    /// Local destination index per edge (int64).
    pub dst: Tensor,
    pub edge_features: BTreeMap<String, Tensor>,
    /// The edges grouped by destination for `block.aggregate`: built with the batch on the
    /// prefetch thread, or on first use when absent.
    pub in_edges: Option<InEdges>,
}

/// The blocks of one layer and its node counts per type.
#[derive(Debug, Default)]
pub struct LayerData {
    pub num_src: BTreeMap<String, i64>,
    pub num_dst: BTreeMap<String, i64>,
    pub blocks: Vec<BlockData>,
}

/// A whole mini-batch as the host hands it to a plugin.
#[derive(Debug, Default)]
pub struct BatchData {
    /// Layer 0 is the input layer; the last layer's destination nodes are the targets.
    pub layers: Vec<LayerData>,
    /// Features of layer 0's source nodes per node type.
    pub input_features: BTreeMap<String, Tensor>,
    /// Graph ids (int64) of layer 0's source nodes, row for row with `input_features`, for the
    /// node types with learnable embeddings. The host reads them to look the embeddings up;
    /// plugins do not see them.
    pub input_nodes: BTreeMap<String, Tensor>,
    pub target_node_type: String,
}

impl BlockData {
    /// A copy that shares the tensors (no data is copied).
    pub fn shallow_clone(&self) -> Self {
        Self {
            src_type: self.src_type.clone(),
            rel: self.rel.clone(),
            dst_type: self.dst_type.clone(),
            num_src: self.num_src,
            num_dst: self.num_dst,
            src: self.src.shallow_clone(),
            dst: self.dst.shallow_clone(),
            edge_features: self
                .edge_features
                .iter()
                .map(|(k, v)| (k.clone(), v.shallow_clone()))
                .collect(),
            in_edges: self.in_edges.as_ref().map(InEdges::shallow_clone),
        }
    }

    /// The edges grouped by destination: the ones built ahead, or built now from `src` and
    /// `dst`.
    pub fn grouped_in_edges(&self) -> Result<InEdges, TensorError> {
        match &self.in_edges {
            Some(edges) => Ok(edges.shallow_clone()),
            None => InEdges::from_tensors(&self.src, &self.dst, self.num_src, self.num_dst),
        }
    }
}

impl LayerData {
    /// A copy that shares the tensors.
    pub fn shallow_clone(&self) -> Self {
        Self {
            num_src: self.num_src.clone(),
            num_dst: self.num_dst.clone(),
            blocks: self.blocks.iter().map(BlockData::shallow_clone).collect(),
        }
    }
}

impl BatchData {
    /// A copy that shares the tensors.
    pub fn shallow_clone(&self) -> Self {
        Self {
            layers: self.layers.iter().map(LayerData::shallow_clone).collect(),
            input_features: self
                .input_features
                .iter()
                .map(|(k, v)| (k.clone(), v.shallow_clone()))
                .collect(),
            input_nodes: self
                .input_nodes
                .iter()
                .map(|(k, v)| (k.clone(), v.shallow_clone()))
                .collect(),
            target_node_type: self.target_node_type.clone(),
        }
    }
}

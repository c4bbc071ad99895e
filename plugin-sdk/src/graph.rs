//! The graph as `init` sees it ([`GraphSchema`]) and the mini-batches `forward` gets
//! ([`Batch`], made of [`Block`]s).

use std::collections::BTreeMap;
use std::fmt;

use crate::bindings::gs::plugin::graph as raw;
use crate::{Error, LpPairs, Reduce, Result, TargetEdges, Tensor};

pub use raw::{EdgeType, GraphSchema, LayerNodes, NodeType};

impl EdgeType {
    /// A canonical edge type from its three parts.
    pub fn new(src: impl Into<String>, rel: impl Into<String>, dst: impl Into<String>) -> Self {
        EdgeType {
            src: src.into(),
            rel: rel.into(),
            dst: dst.into(),
        }
    }

    /// `src:rel:dst`, the name GraphStorm uses for a canonical edge type and the one gs uses
    /// in parameter names.
    pub fn canonical_name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for EdgeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.src, self.rel, self.dst)
    }
}

impl GraphSchema {
    /// An `unsupported` error unless every node type at either end of an edge type has input
    /// features (or a learnable embedding, which the host sends as features); `model` names
    /// the plugin in it.
    pub fn require_features_at_both_ends(&self, model: &str) -> Result<()> {
        for edge_type in &self.edge_types {
            let mut needs = vec![
                (&edge_type.src, "a source"),
                (&edge_type.dst, "a destination"),
            ];
            needs.dedup_by(|a, b| a.0 == b.0);
            for (node_type, role) in needs {
                if self.feature_dim(node_type)? == 0 {
                    return Err(Error::unsupported(format!(
                        "node type `{node_type}` has no input features and is {role} of edge \
                         type `{edge_type}` (the host gives every node type with nodes its \
                         features or a learnable embedding, so this host sent a schema {model} \
                         cannot use)"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The node type called `name`, if the graph has it.
    pub fn node_type(&self, name: &str) -> Option<&NodeType> {
        self.node_types.iter().find(|t| t.name == name)
    }

    /// The input feature width of node type `name` (0 when it has no features), or an
    /// `invalid-argument` error if the graph has no such node type.
    pub fn feature_dim(&self, name: &str) -> Result<i64> {
        self.node_type(name)
            .map(|t| i64::from(t.feature_dim))
            .ok_or_else(|| {
                let known: Vec<&str> = self.node_types.iter().map(|t| t.name.as_str()).collect();
                Error::invalid_argument(format!(
                    "the graph has no node type `{name}`; its node types are {known:?}"
                ))
            })
    }
}

/// A mini-batch: `num_layers` layers of [`Block`]s, from the input layer (0) to the layer whose
/// destination nodes are the batch's targets. Layer `l`'s destination nodes of a type are layer
/// `l + 1`'s source nodes of that type (DGL's message-flow graphs).
#[repr(transparent)]
pub struct Batch(raw::Batch);

impl Batch {
    /// Views a borrowed generated handle as a `Batch`.
    pub(crate) fn from_raw_ref(raw: &raw::Batch) -> &Batch {
        // SAFETY: `Batch` is `repr(transparent)` over `raw::Batch`, so both have the same
        // layout and a reference to one is a valid reference to the other.
        unsafe { &*(raw as *const raw::Batch).cast::<Batch>() }
    }

    /// The handle for the generated bindings, borrowed.
    pub fn as_raw(&self) -> &raw::Batch {
        &self.0
    }

    /// The number of layers of blocks.
    pub fn num_layers(&self) -> u32 {
        self.0.num_layers()
    }

    /// An error unless the batch has `expected` layers of blocks: the check every model with
    /// one layer per sampled hop makes before its forward.
    pub fn expect_layers(&self, expected: usize) -> Result<()> {
        let num_layers = self.num_layers();
        if num_layers as usize == expected {
            return Ok(());
        }
        Err(Error::invalid_argument(format!(
            "the batch has {num_layers} layers of blocks, and this model was built with \
             `num-layers` {expected} (hint: give the sampler one fanout per layer)"
        )))
    }

    /// The blocks of a layer, one per edge type that has edges in it, in the host's order,
    /// with their edge types and node counts: one host call (`described-blocks`).
    pub fn blocks(&self, layer: u32) -> Vec<Block> {
        self.0
            .described_blocks(layer)
            .into_iter()
            .map(|b| Block {
                raw: b.block,
                edge_type: b.edge_type,
                num_src: b.num_src,
                num_dst: b.num_dst,
            })
            .collect()
    }

    /// The blocks of a layer grouped by destination node type, each type's in the host's
    /// order, leaving out a block without destinations or without sources (one that a
    /// fanout of 0 leaves with no edges). One host call.
    pub fn blocks_by_destination(&self, layer: u32) -> BTreeMap<String, Vec<Block>> {
        let mut into: BTreeMap<String, Vec<Block>> = BTreeMap::new();
        for block in self.blocks(layer) {
            if block.num_dst > 0 && block.num_src > 0 {
                into.entry(block.edge_type.dst.clone()).or_default().push(block);
            }
        }
        into
    }

    /// Node types with source nodes in a layer.
    pub fn src_node_types(&self, layer: u32) -> Vec<String> {
        self.0.src_node_types(layer)
    }

    /// Node types with destination nodes in a layer, in the order of
    /// [`src_node_types`](Self::src_node_types) (destination nodes are a prefix of the source
    /// nodes of the same type). One host call.
    pub fn dst_node_types(&self, layer: u32) -> Vec<String> {
        self.dst_node_counts(layer)
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    /// [`dst_node_types`](Self::dst_node_types) with each type's
    /// [`num_dst_nodes`](Self::num_dst_nodes): one host call for all of them.
    pub fn dst_node_counts(&self, layer: u32) -> Vec<(String, i64)> {
        self.layer_nodes(layer)
            .into_iter()
            .filter(|n| n.num_dst > 0)
            .map(|n| (n.node_type, n.num_dst))
            .collect()
    }

    /// Every node type with source nodes in a layer, in the order of
    /// [`src_node_types`](Self::src_node_types), with its source and destination counts: one
    /// host call.
    pub fn layer_nodes(&self, layer: u32) -> Vec<LayerNodes> {
        self.0.layer_nodes(layer)
    }

    /// The number of source nodes of a type in a layer (0 if none).
    pub fn num_src_nodes(&self, layer: u32, node_type: &str) -> i64 {
        self.0.num_src_nodes(layer, node_type)
    }

    /// The number of destination nodes of a type in a layer (0 if none).
    pub fn num_dst_nodes(&self, layer: u32, node_type: &str) -> i64 {
        self.0.num_dst_nodes(layer, node_type)
    }

    /// Input features of layer 0's source nodes of a type, `[num_src_nodes(0, t), dim]`, or
    /// `None` if the type has no features.
    pub fn input_features(&self, node_type: &str) -> Option<Tensor> {
        self.0.input_features(node_type).map(Tensor::from_raw)
    }

    /// The node type of the batch's targets (node tasks).
    pub fn target_node_type(&self) -> String {
        self.0.target_node_type()
    }

    /// The target edges of an edge task's batch, in [`Model::decode`](crate::Model::decode);
    /// `None` in `forward`, for node tasks and for link prediction (`gs:plugin@0.1.1`).
    pub fn target_edges(&self) -> Option<TargetEdges> {
        self.0.target_edges().map(TargetEdges::from_raw)
    }

    /// The pairs of one edge type of a link-prediction batch, in
    /// [`Model::decode`](crate::Model::decode) (called once per target edge type); `None` in
    /// `forward` and for other tasks (`gs:plugin@0.1.1`).
    pub fn lp_pairs(&self) -> Option<LpPairs> {
        self.0.lp_pairs().map(LpPairs::from_raw)
    }
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Batch").field(&self.0.handle()).finish()
    }
}

/// The edges of one edge type in one layer of a mini-batch (a message-flow graph in DGL's
/// convention). Edge `i` goes from source node `src[i]` to destination node `dst[i]`; both are
/// local int64 indices into this layer's nodes of the source and destination types, and the
/// destination nodes are a prefix of the source nodes of the same type.
///
/// Its edge type and node counts come with it (`described-blocks`) and cost no host call.
pub struct Block {
    raw: raw::Block,
    edge_type: EdgeType,
    num_src: i64,
    num_dst: i64,
}

impl Block {
    /// The handle for the generated bindings, borrowed.
    pub fn as_raw(&self) -> &raw::Block {
        &self.raw
    }

    /// The block's canonical edge type.
    pub fn edge_type(&self) -> EdgeType {
        self.edge_type.clone()
    }

    /// The number of source nodes (of the source type) in this layer.
    pub fn num_src(&self) -> i64 {
        self.num_src
    }

    /// The number of destination nodes (of the destination type) in this layer.
    pub fn num_dst(&self) -> i64 {
        self.num_dst
    }

    /// The local source index of every edge (int64, one per edge).
    pub fn src(&self) -> Tensor {
        Tensor::from_raw(self.raw.src())
    }

    /// The local destination index of every edge (int64, one per edge).
    pub fn dst(&self) -> Tensor {
        Tensor::from_raw(self.raw.dst())
    }

    /// An edge feature of these edges, `[num-edges, width]` float32, if the run selected it
    /// (`edge_feat_name`). A plugin learns the selection, with widths, by listing the
    /// hyper-parameter `edge_feat_name`: the host hands it `src,rel,dst:name=width,...`
    /// entries separated by `;` (see the `rgcn` plugin).
    pub fn edge_feature(&self, name: &str) -> Option<Tensor> {
        self.raw.edge_feature(name).map(Tensor::from_raw)
    }

    /// `[num_dst, ...]`: for every destination node, the `reduce` of the rows of `h_src`
    /// (`[num_src, ...]`) of its in-edges' sources, zero where it has none: DGL's
    /// `update_all(copy_u, mean)`. Equal to
    /// `h_src.index_select(0, &self.src()).scatter_reduce(&self.dst(), self.num_dst(), reduce)`,
    /// gradients included, but the host never makes the `[E, ...]` message tensor, which
    /// makes it several times faster, forward and backward (`gs:plugin@0.1.2`).
    pub fn aggregate(&self, h_src: &Tensor, reduce: Reduce) -> Tensor {
        Tensor::from_raw(self.raw.aggregate(h_src.as_raw(), reduce))
    }

    /// [`aggregate`](Self::aggregate) over the in-edges of all of `blocks` at once, blocks of
    /// edge types into one destination type, block `i`'s sources being the rows of
    /// `h_srcs[i]`: a layer that reads every edge type into a node type as one neighbourhood
    /// (GraphSAGE and GAT on a heterogeneous graph). One host call for all of them; with one
    /// block it is that block's `aggregate` (`gs:plugin@0.1.4`).
    ///
    /// # Panics
    /// Unless there is one tensor per block and at least one block.
    pub fn aggregate_many(blocks: &[&Block], h_srcs: &[&Tensor], reduce: Reduce) -> Tensor {
        assert!(
            !blocks.is_empty() && blocks.len() == h_srcs.len(),
            "Block::aggregate_many needs one source tensor per block and at least one block, \
             got {} block(s) and {} tensor(s)",
            blocks.len(),
            h_srcs.len()
        );
        let raw_blocks: Vec<&raw::Block> = blocks.iter().map(|b| &b.raw).collect();
        let raw_sources: Vec<_> = h_srcs.iter().map(|t| t.as_raw()).collect();
        Tensor::from_raw(raw::Block::aggregate_many(&raw_blocks, &raw_sources, reduce))
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block")
            .field("handle", &self.raw.handle())
            .field("edge_type", &self.edge_type)
            .field("num_src", &self.num_src)
            .field("num_dst", &self.num_dst)
            .finish()
    }
}

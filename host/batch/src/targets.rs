//! What a batch handed to `decode` targets (`gs:plugin@0.1.1`): the target edges of an edge
//! task or one edge type's pairs of link prediction, and the output shape `decode` must
//! return for them.

use gs_tensor::Tensor;

use crate::EdgeTypeName;

/// The targets of a batch handed to `decode`, beyond its blocks.
#[derive(Debug, Default)]
pub enum DecodeTargets {
    /// Node tasks: the last layer's destination nodes of the batch's target node type.
    #[default]
    Nodes,
    /// Edge tasks: the batch's target edges (`batch.target-edges`).
    Edges(TargetEdgesData),
    /// Link prediction: one edge type's positive and negative pairs (`batch.lp-pairs`).
    Pairs(LpPairsData),
}

/// The target edges of an edge task's batch: edge `i` joins row `src[i]` of the `etype.src`
/// embeddings handed to `decode` to row `dst[i]` of the `etype.dst` ones.
#[derive(Debug)]
pub struct TargetEdgesData {
    pub etype: EdgeTypeName,
    /// `[E]` int64.
    pub src: Tensor,
    /// `[E]` int64.
    pub dst: Tensor,
}

/// One edge type's pairs of a link-prediction batch, as rows of the embeddings handed to
/// `decode`: `P` positives and `K` negatives per positive.
#[derive(Debug)]
pub struct LpPairsData {
    pub etype: EdgeTypeName,
    /// `[P]` int64.
    pub pos_src: Tensor,
    /// `[P]` int64.
    pub pos_dst: Tensor,
    /// `[P, K]` int64: row `i` holds positive `i`'s negatives.
    pub neg_src: Tensor,
    /// `[P, K]` int64.
    pub neg_dst: Tensor,
}

impl TargetEdgesData {
    /// A copy that shares the tensors.
    pub fn shallow_clone(&self) -> Self {
        Self {
            etype: self.etype.clone(),
            src: self.src.shallow_clone(),
            dst: self.dst.shallow_clone(),
        }
    }
}

impl LpPairsData {
    /// A copy that shares the tensors.
    pub fn shallow_clone(&self) -> Self {
        Self {
            etype: self.etype.clone(),
            pos_src: self.pos_src.shallow_clone(),
            pos_dst: self.pos_dst.shallow_clone(),
            neg_src: self.neg_src.shallow_clone(),
            neg_dst: self.neg_dst.shallow_clone(),
        }
    }

    /// `P`, the number of positive pairs.
    pub fn num_positives(&self) -> i64 {
        self.pos_src.size().first().copied().unwrap_or(0)
    }

    /// `K`, the number of negatives per positive.
    pub fn negatives_per_positive(&self) -> i64 {
        self.neg_src.size().get(1).copied().unwrap_or(0)
    }
}

impl DecodeTargets {
    /// A copy that shares the tensors.
    pub fn shallow_clone(&self) -> Self {
        match self {
            DecodeTargets::Nodes => DecodeTargets::Nodes,
            DecodeTargets::Edges(e) => DecodeTargets::Edges(e.shallow_clone()),
            DecodeTargets::Pairs(p) => DecodeTargets::Pairs(p.shallow_clone()),
        }
    }

    /// The shape `decode` must return for these targets: `[E, width]` for target edges,
    /// `[P, 1 + K]` for pairs; `None` for nodes (the caller knows their number).
    pub fn decoded_shape(&self, width: i64) -> Option<[i64; 2]> {
        match self {
            DecodeTargets::Nodes => None,
            DecodeTargets::Edges(e) => Some([e.src.size().first().copied().unwrap_or(0), width]),
            DecodeTargets::Pairs(p) => Some([p.num_positives(), 1 + p.negatives_per_positive()]),
        }
    }
}

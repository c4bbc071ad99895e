//! What a batch handed to [`Model::decode`](crate::Model::decode) targets (`gs:plugin@0.1.1`):
//! the target edges of an edge task ([`TargetEdges`]) or one edge type's pairs of link
//! prediction ([`LpPairs`]), with helpers that gather their endpoints' embeddings.

use crate::bindings::gs::plugin::graph as raw;
use crate::{EdgeType, Error, Result, Tensor};

/// The target edges of an edge task's batch: edge `i` joins row `src[i]` of the
/// `edge_type.src` embeddings handed to `decode` to row `dst[i]` of the `edge_type.dst` ones.
/// `decode` returns `[E, C]` for them (`[E, 1]` for regression), in this order.
#[derive(Debug)]
pub struct TargetEdges {
    /// The target edge type.
    pub edge_type: EdgeType,
    /// `[E]` int64 rows of the source type's embeddings.
    pub src: Tensor,
    /// `[E]` int64 rows of the destination type's embeddings.
    pub dst: Tensor,
}

/// One edge type's pairs of a link-prediction batch: `P` positive edges and `K` negatives
/// per positive, as rows of the embeddings handed to `decode`. `decode` returns `[P, 1 + K]`
/// raw scores for them: column 0 the positives, columns 1 to K positive `i`'s negatives.
#[derive(Debug)]
pub struct LpPairs {
    /// The edge type the pairs belong to.
    pub edge_type: EdgeType,
    /// `[P]` int64 sources of the positive edges.
    pub pos_src: Tensor,
    /// `[P]` int64 destinations of the positive edges.
    pub pos_dst: Tensor,
    /// `[P, K]` int64 sources of the negative edges (row `i`: positive `i`'s).
    pub neg_src: Tensor,
    /// `[P, K]` int64 destinations of the negative edges.
    pub neg_dst: Tensor,
}

/// The embeddings `[P, 1 + K, hidden]` of the sources and destinations of every pair of an
/// [`LpPairs`]: index 0 along dimension 1 is the positive pair, 1 to K its negatives.
#[derive(Debug)]
pub struct PairEmbeddings {
    /// `[P, 1 + K, hidden]` source embeddings.
    pub src: Tensor,
    /// `[P, 1 + K, hidden]` destination embeddings.
    pub dst: Tensor,
}

/// The embeddings of node type `node_type` among those handed to `decode`, or an
/// `invalid-argument` error naming the types there are.
pub fn embeddings_of<'a>(
    embeddings: &'a [(String, Tensor)],
    node_type: &str,
) -> Result<&'a Tensor> {
    embeddings
        .iter()
        .find(|(t, _)| t == node_type)
        .map(|(_, h)| h)
        .ok_or_else(|| {
            let got: Vec<&str> = embeddings.iter().map(|(t, _)| t.as_str()).collect();
            Error::invalid_argument(format!(
                "`decode` got embeddings for {got:?}, not for node type `{node_type}`"
            ))
        })
}

impl TargetEdges {
    pub(crate) fn from_raw(raw: raw::TargetEdges) -> Self {
        TargetEdges {
            edge_type: raw.edge_type,
            src: Tensor::from_raw(raw.src),
            dst: Tensor::from_raw(raw.dst),
        }
    }

    /// The number of target edges, `E`.
    pub fn len(&self) -> i64 {
        self.src.size(0)
    }

    /// Whether the batch has no target edges.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `[E, hidden]` embeddings of every target edge's source and destination, gathered
    /// from the embeddings handed to `decode` (two host calls).
    pub fn endpoint_embeddings(&self, embeddings: &[(String, Tensor)]) -> Result<(Tensor, Tensor)> {
        let h_src = embeddings_of(embeddings, &self.edge_type.src)?;
        let h_dst = embeddings_of(embeddings, &self.edge_type.dst)?;
        Ok((
            h_src.index_select(0, &self.src),
            h_dst.index_select(0, &self.dst),
        ))
    }
}

impl LpPairs {
    pub(crate) fn from_raw(raw: raw::LpPairs) -> Self {
        LpPairs {
            edge_type: raw.edge_type,
            pos_src: Tensor::from_raw(raw.pos_src),
            pos_dst: Tensor::from_raw(raw.pos_dst),
            neg_src: Tensor::from_raw(raw.neg_src),
            neg_dst: Tensor::from_raw(raw.neg_dst),
        }
    }

    /// The number of positive pairs, `P`.
    pub fn num_positives(&self) -> i64 {
        self.pos_src.size(0)
    }

    /// The number of negatives per positive, `K`.
    pub fn negatives_per_positive(&self) -> i64 {
        self.neg_src.size(1)
    }

    /// The embeddings of every pair's endpoints, positives and negatives side by side
    /// (`[P, 1 + K, hidden]`), so that a score function over the last dimension returns
    /// `decode`'s `[P, 1 + K]` directly.
    pub fn pair_embeddings(&self, embeddings: &[(String, Tensor)]) -> Result<PairEmbeddings> {
        let (p, k) = (self.num_positives(), self.negatives_per_positive());
        let side = |node_type: &str, pos: &Tensor, neg: &Tensor| -> Result<Tensor> {
            let h = embeddings_of(embeddings, node_type)?;
            let index = Tensor::cat(&[&pos.reshape(&[p, 1]), neg], 1).reshape(&[-1]);
            Ok(h.index_select(0, &index).reshape(&[p, 1 + k, -1]))
        };
        Ok(PairEmbeddings {
            src: side(&self.edge_type.src, &self.pos_src, &self.neg_src)?,
            dst: side(&self.edge_type.dst, &self.pos_dst, &self.neg_dst)?,
        })
    }
}

//! GraphStorm's GraphSAGE layer: the `SAGEConv` of its `SAGEEncoder`, DGL's
//! `SAGEConv(in, out, aggregator, feat_drop=dropout, bias=False)`, applied to a whole layer of a
//! batch. GraphStorm hard-codes the `pool` aggregator (`m_u = relu(fc_pool(h_u))`, the
//! element-wise max over the in-edges); `mean` is DGL's other linear one. GraphStorm runs it on
//! homogeneous graphs only; here a heterogeneous layer is read as one homogeneous graph, as
//! [`crate::gat`] reads it: one set of weights for every node and edge type, and each
//! destination's neighbourhood is all its in-edges, whatever their edge type. On a graph with
//! one node type and one edge type this is exactly GraphStorm's layer. Weights are named and
//! shaped as DGL's (`fc_self.weight` `[out, in]`, used as `x @ Wᵀ`), so a GraphStorm
//! `model.bin` maps onto them by name.

use std::collections::BTreeMap;

use crate::edge_feat::EdgeEncoder;
use crate::nn::Scope;
use crate::{Batch, Block, Dtype, Error, Init, Reduce, Result, Tensor};

/// How a destination combines its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SageAggregator {
    /// `max_u relu(h_u @ fc_poolᵀ + b)`, GraphStorm's (`aggregator_type='pool'`).
    Pool,
    /// The mean of `h_u`.
    Mean,
}

impl SageAggregator {
    /// `pool` or `mean`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "pool" => Some(SageAggregator::Pool),
            "mean" => Some(SageAggregator::Mean),
            _ => None,
        }
    }

    fn reduce(self) -> Reduce {
        match self {
            SageAggregator::Pool => Reduce::Max,
            SageAggregator::Mean => Reduce::Mean,
        }
    }
}

/// One GraphSAGE layer: `out_v = h_v @ fc_selfᵀ + neigh_v @ fc_neighᵀ` (no bias, no
/// activation: the encoder applies it), `neigh_v` the aggregate over `v`'s in-edges, zero
/// without in-edges.
#[derive(Debug)]
pub struct GraphSageConv {
    /// `fc_pool.weight` `[in, in]` and `fc_pool.bias` `[in]` (pool only).
    fc_pool: Option<(Tensor, Tensor)>,
    /// `fc_self.weight`, `fc_neigh.weight` `[out, in]`.
    fc_self: Tensor,
    fc_neigh: Tensor,
    aggregator: SageAggregator,
    in_dim: i64,
    /// With edge features (GraphStorm's `SAGEConvWithEdgeFeat`): the edge embeddings' width,
    /// and `fc_edge.{weight,bias}`, which GraphStorm creates and never uses.
    edge_dim: Option<i64>,
    _unused_fc_edge: Option<(Tensor, Tensor)>,
}

impl GraphSageConv {
    /// A layer under `scope` (`<scope>.fc_pool.{weight,bias}` with `pool`,
    /// `<scope>.fc_self.weight`, `<scope>.fc_neigh.weight`) from `in_dim` to `out_dim`,
    /// initialised as DGL does: Xavier-uniform with ReLU gain for the weights, `nn.Linear`'s
    /// default `U(±1/√in)` for `fc_pool.bias`.
    pub fn new(scope: &Scope, in_dim: i64, out_dim: i64, aggregator: SageAggregator) -> Self {
        Self::build(scope, (in_dim, 0), out_dim, aggregator)
    }

    /// GraphStorm's `SAGEConvWithEdgeFeat`, whose weights sit directly under the layer's
    /// `scope` (`gnn._layers.<l>`): as [`new`](Self::new), but each in-edge's message is
    /// `[m_u, e_uv]` with the raw edge embedding (`fc_neigh.weight` `[out, in + edge_dim]`),
    /// and the layer also holds `fc_edge.{weight,bias}` `[edge_dim, edge_dim]`, which GraphStorm
    /// computes and never reads (kept so that its `model.bin` maps one to one).
    pub fn with_edge_features(
        scope: &Scope,
        (in_dim, edge_dim): (i64, i64),
        out_dim: i64,
        aggregator: SageAggregator,
    ) -> Self {
        Self::build(scope, (in_dim, edge_dim), out_dim, aggregator)
    }

    fn build(
        scope: &Scope,
        (in_dim, edge_dim): (i64, i64),
        out_dim: i64,
        aggregator: SageAggregator,
    ) -> Self {
        let xavier_uniform = |shape: &[i64]| crate::torch_xavier_uniform(shape, Init::RELU_GAIN);
        let fc_pool = (aggregator == SageAggregator::Pool).then(|| {
            let s = scope.sub("fc_pool");
            let bound = 1.0 / (in_dim as f64).sqrt();
            (
                s.param(
                    "weight",
                    &[in_dim, in_dim],
                    xavier_uniform(&[in_dim, in_dim]),
                ),
                s.param("bias", &[in_dim], Init::Uniform((-bound, bound))),
            )
        });
        let weight = |name: &str, cols: i64| {
            let shape = [out_dim, cols];
            scope
                .sub(name)
                .param("weight", &shape, xavier_uniform(&shape))
        };
        let fc_self = weight("fc_self", in_dim);
        let fc_neigh = weight("fc_neigh", in_dim + edge_dim);
        let fc_edge = (edge_dim > 0).then(|| {
            let (s, bound) = (scope.sub("fc_edge"), 1.0 / (edge_dim as f64).sqrt());
            let init = Init::Uniform((-bound, bound));
            (
                s.param("weight", &[edge_dim, edge_dim], init),
                s.param("bias", &[edge_dim], init),
            )
        });
        GraphSageConv {
            fc_pool,
            fc_self,
            fc_neigh,
            aggregator,
            in_dim,
            edge_dim: (edge_dim > 0).then_some(edge_dim),
            _unused_fc_edge: fc_edge,
        }
    }

    /// The layer's output for every destination node type of layer `layer` of `batch`, from
    /// `h`, the layer's input per node type (destinations first in each type's rows);
    /// `dropout` is DGL's `feat_drop` on those inputs.
    pub fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
    ) -> Result<BTreeMap<String, Tensor>> {
        self.forward_inner(batch, layer, h, dropout, None)
    }

    /// [`forward`](Self::forward) of a layer built [`with_edge_features`](Self::with_edge_features):
    /// every block's edge embeddings come from `edges` (unlike the node inputs, GraphStorm does
    /// not drop them out).
    pub fn forward_with_edges(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
        edges: &EdgeEncoder,
    ) -> Result<BTreeMap<String, Tensor>> {
        self.forward_inner(batch, layer, h, dropout, Some(edges))
    }

    fn forward_inner(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
        edges: Option<&EdgeEncoder>,
    ) -> Result<BTreeMap<String, Tensor>> {
        let dropped: Option<BTreeMap<String, Tensor>> = (dropout > 0.0).then(|| {
            h.iter()
                .map(|(t, x)| (t.clone(), x.dropout(dropout)))
                .collect()
        });
        let x = dropped.as_ref().unwrap_or(h);
        // What each source sends: `relu(fc_pool(x))` with pool, `x` itself with mean.
        let pooled: Option<BTreeMap<String, Tensor>> = self.fc_pool.as_ref().map(|(w, b)| {
            x.iter()
                .map(|(t, x)| (t.clone(), x.linear(w, Some(b)).relu()))
                .collect()
        });
        let messages = pooled.as_ref().unwrap_or(x);
        let mut into = batch.blocks_by_destination(layer);
        let mut out = BTreeMap::new();
        for (t, n) in batch.dst_node_counts(layer) {
            let blocks = into.remove(&t).unwrap_or_default();
            let neigh = match (edges, self.edge_dim) {
                (Some(edges), Some(edge_dim)) => {
                    self.aggregate_with_edges(&blocks, messages, n, (edges, edge_dim))?
                }
                _ => self.aggregate(&blocks, messages, n)?,
            };
            let h_self = x.get(&t).ok_or_else(|| {
                Error::unsupported(format!(
                    "node type `{t}` has no input features, and GraphSAGE's self term needs \
                     them (hint: give it a feature with --node-feat-name)"
                ))
            })?;
            let y = &h_self.narrow(0, 0, n).linear(&self.fc_self, None)
                + &neigh.linear(&self.fc_neigh, None);
            out.insert(t, y);
        }
        Ok(out)
    }

    /// `[n, in]`: the aggregate of `messages` over the in-edges of every block in `blocks`
    /// (all into one destination type with `n` destinations): the blocks' own aggregation
    /// for one block, the union of their edges for several.
    /// `[n, in + edge]`: the aggregate of `[messages[u], e_uv]` over the in-edges of every block
    /// in `blocks` (all into one destination type with `n` destinations); zero without
    /// in-edges.
    fn aggregate_with_edges(
        &self,
        blocks: &[Block],
        messages: &BTreeMap<String, Tensor>,
        n: i64,
        (edges, edge_dim): (&EdgeEncoder, i64),
    ) -> Result<Tensor> {
        if blocks.is_empty() {
            return Ok(Tensor::zeros(&[n, self.in_dim + edge_dim], Dtype::F32));
        }
        let mut gathered = Vec::with_capacity(blocks.len());
        let mut dst = Vec::with_capacity(blocks.len());
        for b in blocks {
            let et = b.edge_type();
            let source = messages.get(&et.src).ok_or_else(|| {
                Error::unsupported(format!(
                    "node type `{}` has no input features, and it is a source of edge type \
                     `{et}` (hint: give it a feature with --node-feat-name)",
                    et.src
                ))
            })?;
            let e = edges.embed_required(b, "sage")?;
            gathered.push(Tensor::cat(&[&source.index_select(0, &b.src()), &e], 1));
            dst.push(b.dst());
        }
        let gathered = Tensor::cat(&gathered.iter().collect::<Vec<_>>(), 0);
        let dst = Tensor::cat(&dst.iter().collect::<Vec<_>>(), 0);
        Ok(gathered.scatter_reduce(&dst, n, self.aggregator.reduce()))
    }

    fn aggregate(
        &self,
        blocks: &[Block],
        messages: &BTreeMap<String, Tensor>,
        n: i64,
    ) -> Result<Tensor> {
        let source = |b: &Block| {
            let et = b.edge_type();
            messages.get(&et.src).ok_or_else(|| {
                Error::unsupported(format!(
                    "node type `{}` has no input features, and it is a source of edge type \
                     `{et}` (hint: give it a feature with --node-feat-name)",
                    et.src
                ))
            })
        };
        if blocks.is_empty() {
            return Ok(Tensor::zeros(&[n, self.in_dim], Dtype::F32));
        }
        let sources = blocks.iter().map(source).collect::<Result<Vec<_>>>()?;
        let blocks: Vec<&Block> = blocks.iter().collect();
        Ok(Block::aggregate_many(
            &blocks,
            &sources,
            self.aggregator.reduce(),
        ))
    }
}

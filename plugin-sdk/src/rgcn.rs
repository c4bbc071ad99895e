//! DGL's `RelGraphConv` as GraphStorm's `RelGraphConvLayer` builds it, applied to a whole layer
//! of a batch: a weight per relation (edge type), or DGL's basis decomposition
//! (`regularizer='basis'`, `WeightBasis`), the mean of each relation's messages into a
//! destination, the relations summed, then a self-loop and a bias. Weights are named as
//! GraphStorm's state dict names them (`weight`, or `basis.weight` and `basis.w_comp`;
//! `loop_weight`; `h_bias`), so a GraphStorm `model.bin` maps onto them by name.

use std::collections::BTreeMap;

use crate::nn::Scope;
use crate::{Batch, Block, EdgeType, Error, Init, Reduce, Result, SelfLoopAndBias, Tensor};

/// The relation weights of a [`RelGraphConv`]: one matrix per relation, or DGL's
/// `WeightBasis`.
#[derive(Debug)]
pub enum RelWeights {
    /// `weight` `[num_rels, in, out]`.
    Full(Tensor),
    /// `basis.weight` `[num_bases, in, out]` and `basis.w_comp` `[num_rels, num_bases]`.
    Basis {
        /// `basis.weight`.
        bases: Tensor,
        /// `basis.w_comp`, each relation's coefficients.
        coeff: Tensor,
    },
}

/// A relational graph convolution over one layer of a batch:
///
/// ```text
/// out[v] = Σ_r mean_{u ∈ N_r(v)} h_u W[r]  +  h_v loop_weight  +  h_bias
/// ```
///
/// `W[r]` the relation's weight, or with bases `W[r] = Σ_b w_comp[r, b] · basis[b]`
/// (`w_comp @ bases`, as DGL's `WeightBasis` computes it); `r` the edge type's index in the
/// list given to [`new`](Self::new) (GraphStorm's: the schema's order). The mean is by the
/// in-degree within the block, and a destination without in-edges of a relation gets 0 from
/// it; a destination type no block enters gets just the self-loop and bias. Per block it
/// projects first when that shrinks the messages (`in > out`), else aggregates first, as DGL's
/// `GraphConv(norm='right')` with a given weight. No activation: the encoder applies it.
/// Initialisation as GraphStorm's: Xavier-uniform with the ReLU gain (torch's fans) for the
/// relation, basis, coefficient and loop weights, zeros for `h_bias`.
#[derive(Debug)]
pub struct RelGraphConv {
    weights: RelWeights,
    /// `loop_weight` (with the self-loop) and `h_bias`.
    tail: SelfLoopAndBias,
    /// Each edge type's relation index, by canonical name.
    rel_index: BTreeMap<String, i64>,
    in_dim: i64,
    out_dim: i64,
}

impl RelGraphConv {
    /// A layer under `scope` over `edge_types` (one relation each, in that order) from `in_dim`
    /// to `out_dim`: `<scope>.weight` `[num_rels, in, out]`, or with `num_bases`
    /// `<scope>.basis.weight` `[num_bases, in, out]` and `<scope>.basis.w_comp`
    /// `[num_rels, num_bases]`; with `self_loop` `<scope>.loop_weight` `[in, out]`; and
    /// `<scope>.h_bias` `[out]`, created in that order.
    pub fn new(
        scope: &Scope,
        edge_types: &[EdgeType],
        num_bases: Option<i64>,
        (in_dim, out_dim): (i64, i64),
        self_loop: bool,
    ) -> Self {
        let num_rels = edge_types.len() as i64;
        let xavier = |shape: &[i64]| crate::torch_xavier_uniform(shape, Init::RELU_GAIN);
        let weights = match num_bases {
            Some(b) => {
                let basis = scope.sub("basis");
                let shape = [b, in_dim, out_dim];
                RelWeights::Basis {
                    bases: basis.param("weight", &shape, xavier(&shape)),
                    coeff: basis.param("w_comp", &[num_rels, b], xavier(&[num_rels, b])),
                }
            }
            None => {
                let shape = [num_rels, in_dim, out_dim];
                RelWeights::Full(scope.param("weight", &shape, xavier(&shape)))
            }
        };
        let loop_weight = self_loop.then(|| {
            let shape = [in_dim, out_dim];
            scope.param("loop_weight", &shape, xavier(&shape))
        });
        let tail = SelfLoopAndBias {
            loop_weight,
            h_bias: scope.param("h_bias", &[out_dim], Init::Zeros),
            out_dim,
        };
        let rel_index = edge_types
            .iter()
            .enumerate()
            .map(|(i, e)| (e.canonical_name(), i as i64))
            .collect();
        RelGraphConv {
            weights,
            tail,
            rel_index,
            in_dim,
            out_dim,
        }
    }

    /// The relation weights as created.
    pub fn weights(&self) -> &RelWeights {
        &self.weights
    }

    /// The input width.
    pub fn in_dim(&self) -> i64 {
        self.in_dim
    }

    /// The output width.
    pub fn out_dim(&self) -> i64 {
        self.out_dim
    }

    /// `[num_rels, in, out]`: every relation's weight, combined from the bases if the layer
    /// has them (`w_comp @ bases.reshape([num_bases, -1])`, reshaped).
    pub fn relation_weights(&self) -> Tensor {
        match &self.weights {
            RelWeights::Full(w) => w.narrow(0, 0, w.size(0)),
            RelWeights::Basis { bases, coeff } => self.combine_bases(bases, coeff),
        }
    }

    fn combine_bases(&self, bases: &Tensor, coeff: &Tensor) -> Tensor {
        let (num_bases, num_rels) = (bases.size(0), coeff.size(0));
        coeff.matmul(&bases.reshape(&[num_bases, -1])).reshape(&[
            num_rels,
            self.in_dim,
            self.out_dim,
        ])
    }

    /// The layer's output for every destination node type of layer `layer` of `batch`, from
    /// `h`, the layer's input per node type (destinations first in each type's rows).
    pub fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
    ) -> Result<BTreeMap<String, Tensor>> {
        self.forward_with(batch, layer, h, |_, _| Ok(None))
    }

    /// [`forward`](Self::forward) where `message(block, h_src)` may replace a block's
    /// relation term by its own `[num_dst, out]` output (`Some`), as GraphStorm's
    /// `GraphConvwithEdgeFeat` does on edge types with features; `None` keeps the relation's.
    pub fn forward_with(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        mut message: impl FnMut(&Block, &Tensor) -> Result<Option<Tensor>>,
    ) -> Result<BTreeMap<String, Tensor>> {
        let combined;
        let weights = match &self.weights {
            RelWeights::Full(w) => w,
            RelWeights::Basis { bases, coeff } => {
                combined = self.combine_bases(bases, coeff);
                &combined
            }
        };
        let mut out: BTreeMap<String, Tensor> = BTreeMap::new();
        for block in batch.blocks(layer) {
            let edge_type = block.edge_type();
            let Some(&r) = self.rel_index.get(&edge_type.canonical_name()) else {
                return Err(Error::invalid_argument(format!(
                    "the batch has edge type `{edge_type}`, which the graph schema given to \
                     `init` lacks"
                )));
            };
            let Some(h_src) = h.get(&edge_type.src) else {
                return Err(Error::unsupported(format!(
                    "node type `{}` has no input features, and it is a source of edge type \
                     `{edge_type}` (hint: give it a feature with --node-feat-name)",
                    edge_type.src
                )));
            };
            let y = match message(&block, h_src)? {
                Some(y) => y,
                None => {
                    let w = weights
                        .narrow(0, r, 1)
                        .reshape(&[self.in_dim, self.out_dim]);
                    // DGL's GraphConv(norm='right', weight given): project first when that
                    // shrinks the messages, else aggregate first. Mean by in-degree; no
                    // in-edge gives 0.
                    if self.in_dim > self.out_dim {
                        block.aggregate(&h_src.matmul(&w), Reduce::Mean)
                    } else {
                        block.aggregate(h_src, Reduce::Mean).matmul(&w)
                    }
                }
            };
            let merged = match out.remove(&edge_type.dst) {
                Some(prev) => &prev + &y,
                None => y,
            };
            out.insert(edge_type.dst.clone(), merged);
        }
        self.tail.apply(batch, layer, h, out)
    }
}

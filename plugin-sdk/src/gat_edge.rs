//! GraphStorm's attention layers with edge features in message passing (`edge_feat_name` with
//! `model_encoder_type: gat | gatv2`), each applied to a whole layer of a batch:
//!
//! - [`EdgeGatConv`]: GraphStorm's `GATConvwithEdgeFeat`, DGL's `EdgeGATConv` (its defaults:
//!   a residual, no attention dropout). `z = fc(h)`, `f_uv = fc_edge(e_uv)`, the logit
//!   `leaky_relu(⟨z_u, attn_l⟩ + ⟨z_v, attn_r⟩ + ⟨f_uv, attn_edge⟩)` per head, and
//!   `out_v = Σ_u softmax_v · (z_u + f_uv) + res_fc(h_v) + bias`, then the activation.
//!   Weights under `gnn._layers.<l>.conv`.
//! - [`EdgeGatV2Conv`]: GraphStorm's own `GATv2ConvWithEdgeFeat`. `s = fc_src(h)`,
//!   `d = fc_dst(h)`, `f_uv = fc_edge(e_uv)`, the logit `⟨leaky_relu(s_u + d_v + f_uv), attn⟩`,
//!   `out_v = Σ_u softmax_v · (s_u + f_uv)` (plus `res_fc(h_v)` when the input and output
//!   widths differ), then the activation. Weights directly under `gnn._layers.<l>`.
//!
//! The edge embeddings `e` come from GraphStorm's edge input layer ([`EdgeEncoder`]), for every
//! edge type: GraphStorm runs these encoders on a homogeneous graph, whose one edge type has
//! the features, so a heterogeneous graph must select features for every edge type.

use std::collections::BTreeMap;

use crate::edge_feat::EdgeEncoder;
use crate::gat::{
    GatAttentionWeights, NEGATIVE_SLOPE, ScoredEdges, attention_layer, input_of, map_inputs,
    no_destinations, torch_xavier_normal,
};
use crate::nn::Scope;
use crate::{Batch, Init, Result, Tensor};

/// A layer with edge features that [`GatEncoder`](crate::gat::GatEncoder) stacks when
/// `edge_feat_name` is set.
pub trait EdgeAttentionLayer: Sized + std::fmt::Debug {
    /// Layer `layer_scope` (`gnn._layers.<l>`) from `dims.0` node features and `dims.1`
    /// edge-embedding features to `heads` heads of `head_dim`; `relu` applies ReLU.
    fn new(layer_scope: &Scope, dims: (i64, i64), heads: i64, head_dim: i64, relu: bool) -> Self;

    /// As [`AttentionLayer::forward`](crate::gat::AttentionLayer::forward), with every
    /// block's edge embeddings from `edges`.
    fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
        edges: &EdgeEncoder,
    ) -> Result<BTreeMap<String, Tensor>>;
}

/// `x @ wᵀ` as `[rows, heads, f]`.
fn project(x: &Tensor, w: &Tensor, (heads, f): (i64, i64)) -> Tensor {
    x.matmul(&w.transpose(0, 1)).reshape(&[-1, heads, f])
}

/// GraphStorm's `GATConvwithEdgeFeat` (DGL's `EdgeGATConv`): `fc.weight`, `fc_edge.weight`,
/// `res_fc.weight` `[heads * f, ·]` (no biases), `attn_l`, `attn_r`, `attn_edge` `[1, heads,
/// f]`, `bias` `[heads * f]`.
#[derive(Debug)]
pub struct EdgeGatConv {
    /// `fc.weight`, `attn_l`, `attn_r`, as DGL's `GATConv`.
    weights: GatAttentionWeights,
    fc_edge: Tensor,
    res_fc: Tensor,
    attn_edge: Tensor,
    bias: Tensor,
    heads: i64,
    head_dim: i64,
    relu: bool,
}

impl EdgeAttentionLayer for EdgeGatConv {
    /// Weights under `<layer_scope>.conv`, initialised as DGL's `EdgeGATConv` does
    /// (Xavier-normal with ReLU gain, zero bias).
    fn new(
        layer_scope: &Scope,
        (in_dim, edge_dim): (i64, i64),
        heads: i64,
        head_dim: i64,
        relu: bool,
    ) -> Self {
        let scope = layer_scope.sub("conv");
        let gain = Init::RELU_GAIN;
        let out = heads * head_dim;
        let linear = |name: &str, cols: i64| {
            let shape = [out, cols];
            scope
                .sub(name)
                .param("weight", &shape, torch_xavier_normal(&shape, gain))
        };
        let attn_shape = [1, heads, head_dim];
        EdgeGatConv {
            weights: GatAttentionWeights::new(&scope, in_dim, heads, head_dim),
            fc_edge: linear("fc_edge", edge_dim),
            res_fc: linear("res_fc", in_dim),
            attn_edge: scope.param(
                "attn_edge",
                &attn_shape,
                torch_xavier_normal(&attn_shape, gain),
            ),
            bias: scope.param("bias", &[out], Init::Zeros),
            heads,
            head_dim,
            relu,
        }
    }

    fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
        edges: &EdgeEncoder,
    ) -> Result<BTreeMap<String, Tensor>> {
        let (heads, f) = (self.heads, self.head_dim);
        // Per node type: z and the scores, and the destinations' residual.
        let res_fc = self.res_fc.transpose(0, 1);
        let scored = self
            .weights
            .score_nodes((batch, layer), h, dropout, (heads, f), |x_dst| {
                x_dst.matmul(&res_fc)
            });
        attention_layer(
            batch,
            layer,
            (heads, f),
            |block| {
                let et = block.edge_type();
                let source = input_of(&scored, &et.src, &et)?;
                let destination = input_of(&scored, &et.dst, &et)?;
                let (er, _) = destination
                    .dst
                    .as_ref()
                    .ok_or_else(|| no_destinations(&et))?;
                let fe = project(
                    &edges.embed_required(block, "gat")?,
                    &self.fc_edge,
                    (heads, f),
                );
                let ee = fe.mul(&self.attn_edge).sum_dim(-1, false);
                let (src, dst) = (block.src(), block.dst());
                Ok(ScoredEdges {
                    logits: source
                        .el
                        .index_select(0, &src)
                        .add(&er.index_select(0, &dst))
                        .add(&ee)
                        .leaky_relu(NEGATIVE_SLOPE),
                    values: source.z.index_select(0, &src).add(&fe),
                    dst,
                })
            },
            |t, y| {
                let mut y = &y + &self.bias;
                if let Some((_, residual)) = scored.get(t).and_then(|s| s.dst.as_ref()) {
                    y = &y + residual;
                }
                if self.relu { y.relu() } else { y }
            },
        )
    }
}

/// GraphStorm's `GATv2ConvWithEdgeFeat`: `fc_src.{weight,bias}`, `fc_dst.{weight,bias}`
/// `[heads * f, in]`, `fc_edge.weight` `[heads * f, edge]` (no bias), `attn` `[1, heads, f]`,
/// and `res_fc.{weight,bias}` when `in ≠ heads * f`. No output bias.
#[derive(Debug)]
pub struct EdgeGatV2Conv {
    fc_src: (Tensor, Tensor),
    fc_dst: (Tensor, Tensor),
    fc_edge: Tensor,
    res_fc: Option<(Tensor, Tensor)>,
    attn: Tensor,
    heads: i64,
    head_dim: i64,
    relu: bool,
}

impl EdgeAttentionLayer for EdgeGatV2Conv {
    /// Weights directly under `layer_scope`, initialised as GraphStorm's `reset_parameters`
    /// does (Xavier-normal with ReLU gain, zero biases; `fc_edge` keeps torch's default,
    /// uniform in ±1/√edge).
    fn new(
        layer_scope: &Scope,
        (in_dim, edge_dim): (i64, i64),
        heads: i64,
        head_dim: i64,
        relu: bool,
    ) -> Self {
        let gain = Init::RELU_GAIN;
        let out = heads * head_dim;
        let linear = |name: &str| {
            let (s, shape) = (layer_scope.sub(name), [out, in_dim]);
            (
                s.param("weight", &shape, torch_xavier_normal(&shape, gain)),
                s.param("bias", &[out], Init::Zeros),
            )
        };
        let bound = 1.0 / (edge_dim as f64).sqrt();
        let attn_shape = [1, heads, head_dim];
        EdgeGatV2Conv {
            fc_src: linear("fc_src"),
            fc_dst: linear("fc_dst"),
            fc_edge: layer_scope.sub("fc_edge").param(
                "weight",
                &[out, edge_dim],
                Init::Uniform((-bound, bound)),
            ),
            res_fc: (in_dim != out).then(|| linear("res_fc")),
            attn: layer_scope.param("attn", &attn_shape, torch_xavier_normal(&attn_shape, gain)),
            heads,
            head_dim,
            relu,
        }
    }

    fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
        edges: &EdgeEncoder,
    ) -> Result<BTreeMap<String, Tensor>> {
        let (heads, f) = (self.heads, self.head_dim);
        let linear = |x: &Tensor, (w, b): &(Tensor, Tensor)| &x.matmul(&w.transpose(0, 1)) + b;
        // Per node type: fc_src of all its rows; fc_dst and the residual of its destinations.
        let projected = map_inputs(h, dropout, |t, x| {
            let num_dst = batch.num_dst_nodes(layer, t);
            let dst = (num_dst > 0).then(|| {
                let x_dst = x.narrow(0, 0, num_dst);
                let d = linear(&x_dst, &self.fc_dst).reshape(&[-1, heads, f]);
                let residual = self.res_fc.as_ref().map(|fc| linear(&x_dst, fc));
                (d, residual)
            });
            (linear(x, &self.fc_src).reshape(&[-1, heads, f]), dst)
        });
        attention_layer(
            batch,
            layer,
            (heads, f),
            |block| {
                let et = block.edge_type();
                let (s, _) = input_of(&projected, &et.src, &et)?;
                let (_, dst_side) = input_of(&projected, &et.dst, &et)?;
                let (d, _) = dst_side.as_ref().ok_or_else(|| no_destinations(&et))?;
                let fe = project(
                    &edges.embed_required(block, "gatv2")?,
                    &self.fc_edge,
                    (heads, f),
                );
                let (src, dst) = (block.src(), block.dst());
                let s_u = s.index_select(0, &src);
                let logits = s_u
                    .add(&d.index_select(0, &dst))
                    .add(&fe)
                    .leaky_relu(NEGATIVE_SLOPE)
                    .mul(&self.attn)
                    .sum_dim(-1, false);
                Ok(ScoredEdges {
                    dst,
                    logits,
                    values: s_u.add(&fe),
                })
            },
            |t, y| {
                let y = match projected.get(t) {
                    Some((_, Some((_, Some(residual))))) => &y + residual,
                    _ => y,
                };
                if self.relu { y.relu() } else { y }
            },
        )
    }
}

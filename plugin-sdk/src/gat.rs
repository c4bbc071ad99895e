//! Graph attention layers with DGL's semantics, as GraphStorm's `gat` and `gatv2` encoders
//! use them: [`GatConv`] (DGL `GATConv`) and [`GatV2Conv`] (DGL `GATv2Conv`), each applied to
//! a whole layer of a batch at once. GraphStorm runs them on homogeneous graphs only. Here a
//! heterogeneous layer is read as the homogeneous graph DGL's `to_homogeneous` would make of
//! it: one set of weights for every node and edge type, and each destination's attention
//! softmax taken over all its in-edges, whatever their edge type. On a graph with one node
//! type and one edge type this is exactly DGL's layer. Weights are named and shaped as DGL
//! names them (`fc.weight` `[heads * f, in]`, used as `x @ Wᵀ`), so a GraphStorm `model.bin`
//! maps onto them by name.

use std::collections::BTreeMap;

use crate::edge_feat::{EDGE_FEAT_NAME, EdgeEncoder, parse_selection};
pub use crate::gat_edge::{EdgeAttentionLayer, EdgeGatConv, EdgeGatV2Conv};
use crate::nn::Scope;
use crate::{Batch, Error, Init, Reduce, Result, Tensor};

/// DGL's slope of the leaky ReLU over attention logits (`negative_slope=0.2`).
pub const NEGATIVE_SLOPE: f64 = 0.2;

/// `torch.nn.init.xavier_normal_` for any rank, as DGL initialises its attention layers'
/// weights.
pub fn torch_xavier_normal(shape: &[i64], gain: f64) -> Init {
    let (fan_in, fan_out) = crate::input_layer::torch_fans(shape);
    Init::Normal((0.0, gain * (2.0 / (fan_in + fan_out) as f64).sqrt()))
}

/// The weights of DGL's `GATConv` with one `fc` for sources and destinations: `fc.weight`
/// `[heads * f, in]` (`nn.Linear`, applied as `x @ Wᵀ`), `attn_l` and `attn_r` `[1, heads,
/// f]`, all Xavier-normal with the ReLU gain as DGL initialises them. [`GatConv`] uses them
/// over a whole layer; GraphStorm's RGAT has one set per edge type.
#[derive(Debug)]
pub struct GatAttentionWeights {
    /// `fc.weight`.
    pub fc: Tensor,
    /// `attn_l`, scoring sources.
    pub attn_l: Tensor,
    /// `attn_r`, scoring destinations.
    pub attn_r: Tensor,
}

impl GatAttentionWeights {
    /// The weights under `scope` (`<scope>.fc.weight`, `<scope>.attn_l`, `<scope>.attn_r`)
    /// from `in_dim` to `heads` heads of `head_dim`.
    pub fn new(scope: &Scope, in_dim: i64, heads: i64, head_dim: i64) -> Self {
        let fc_shape = [heads * head_dim, in_dim];
        let attn_shape = [1, heads, head_dim];
        let gain = Init::RELU_GAIN;
        let attn =
            |name: &str| scope.param(name, &attn_shape, torch_xavier_normal(&attn_shape, gain));
        GatAttentionWeights {
            fc: scope
                .sub("fc")
                .param("weight", &fc_shape, torch_xavier_normal(&fc_shape, gain)),
            attn_l: attn("attn_l"),
            attn_r: attn("attn_r"),
        }
    }
}

/// What [`GatAttentionWeights::score_nodes`] computes for one node type: the projection `z`
/// `[N, heads, f]`, its source score `⟨z, attn_l⟩` `[N, heads]` and, when the layer has
/// destinations of the type (its first rows), their score `⟨z, attn_r⟩` with `extra` of their
/// inputs.
pub(crate) struct NodeScores<R> {
    pub(crate) z: Tensor,
    pub(crate) el: Tensor,
    pub(crate) dst: Option<(Tensor, R)>,
}

impl GatAttentionWeights {
    /// The [`NodeScores`] of every node type of `h` (layer `layer`'s inputs, after DGL's
    /// `feat_drop` `dropout`), `extra` computed from each type's destination rows.
    pub(crate) fn score_nodes<R>(
        &self,
        (batch, layer): (&Batch, u32),
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
        (heads, f): (i64, i64),
        extra: impl Fn(&Tensor) -> R,
    ) -> BTreeMap<String, NodeScores<R>> {
        let w = self.fc.transpose(0, 1);
        map_inputs(h, dropout, |t, x| {
            let z = x.matmul(&w).reshape(&[-1, heads, f]);
            let el = z.mul(&self.attn_l).sum_dim(-1, false);
            let num_dst = batch.num_dst_nodes(layer, t);
            let dst = (num_dst > 0).then(|| {
                let er = z.narrow(0, 0, num_dst).mul(&self.attn_r).sum_dim(-1, false);
                (er, extra(&x.narrow(0, 0, num_dst)))
            });
            NodeScores { z, el, dst }
        })
    }
}

/// The in-edges of one edge type into a destination type, scored.
pub(crate) struct ScoredEdges {
    /// `[E]` local destination index of every edge.
    pub(crate) dst: Tensor,
    /// `[E, heads]` attention logits.
    pub(crate) logits: Tensor,
    /// `[E, heads, f]` the message each edge carries.
    pub(crate) values: Tensor,
}

/// `[num_dst, heads * f]`: per destination and head, the softmax over all its in-edges (of
/// every part) of the logits, weighting the sum of the edges' values; 0 without in-edges.
pub(crate) fn attend(parts: Vec<ScoredEdges>, num_dst: i64, heads: i64, f: i64) -> Tensor {
    let (dst, logits, values) = if parts.len() == 1 {
        let p = parts.into_iter().next().expect("one part");
        (p.dst, p.logits, p.values)
    } else {
        let cat = |pick: fn(&ScoredEdges) -> &Tensor| {
            Tensor::cat(&parts.iter().map(pick).collect::<Vec<_>>(), 0)
        };
        (cat(|p| &p.dst), cat(|p| &p.logits), cat(|p| &p.values))
    };
    let attention = logits.segment_softmax(&dst, num_dst);
    values
        .mul(&attention.reshape(&[-1, heads, 1]))
        .scatter_reduce(&dst, num_dst, Reduce::Sum)
        .reshape(&[num_dst, heads * f])
}

/// `f(t, x)` for the layer input `x` of every node type `t` in `h`, after DGL's `feat_drop`
/// (`dropout`): each type's input is dropped once and shared by everything computed from it.
pub(crate) fn map_inputs<R>(
    h: &BTreeMap<String, Tensor>,
    dropout: f64,
    mut f: impl FnMut(&str, &Tensor) -> R,
) -> BTreeMap<String, R> {
    h.iter()
        .map(|(t, x)| {
            let r = if dropout > 0.0 {
                f(t, &x.dropout(dropout))
            } else {
                f(t, x)
            };
            (t.clone(), r)
        })
        .collect()
}

/// `map[node_type]`, or an error saying that the node type, an endpoint of `edge_type`, has
/// no input.
pub(crate) fn input_of<'a, R>(
    map: &'a BTreeMap<String, R>,
    node_type: &str,
    edge_type: &crate::EdgeType,
) -> Result<&'a R> {
    map.get(node_type).ok_or_else(|| {
        Error::unsupported(format!(
            "node type `{node_type}` has no input features, and it is an endpoint of edge type \
             `{edge_type}` (hint: give it a feature with --node-feat-name)"
        ))
    })
}

pub(crate) fn no_destinations(edge_type: &crate::EdgeType) -> Error {
    Error::invalid_argument(format!(
        "the batch has a block of edge type `{edge_type}` but no destination node of type `{}`",
        edge_type.dst
    ))
}

/// Runs `score` over every block of `layer` into each destination type and attends:
/// `[num_dst, heads * f]` per destination type of the layer, zeros for a type no block
/// enters, then `finish(node type, output)` (bias, residual, activation).
pub(crate) fn attention_layer(
    batch: &Batch,
    layer: u32,
    (heads, f): (i64, i64),
    mut score: impl FnMut(&crate::Block) -> Result<ScoredEdges>,
    finish: impl Fn(&str, Tensor) -> Tensor,
) -> Result<BTreeMap<String, Tensor>> {
    let mut parts: BTreeMap<String, Vec<ScoredEdges>> = BTreeMap::new();
    for (dst_type, blocks) in batch.blocks_by_destination(layer) {
        let scored = blocks.iter().map(&mut score).collect::<Result<Vec<_>>>()?;
        parts.insert(dst_type, scored);
    }
    let mut out = BTreeMap::new();
    for (t, num_dst) in batch.dst_node_counts(layer) {
        let y = match parts.remove(&t) {
            Some(p) => attend(p, num_dst, heads, f),
            None => Tensor::zeros(&[num_dst, heads * f], crate::Dtype::F32),
        };
        let y = finish(&t, y);
        out.insert(t, y);
    }
    Ok(out)
}

/// A layer [`GatEncoder`] stacks: [`GatConv`] or [`GatV2Conv`].
pub trait AttentionLayer: Sized + std::fmt::Debug {
    /// The layer GraphStorm uses instead with edge features (`edge_feat_name`).
    type WithEdgeFeatures: EdgeAttentionLayer;

    /// A layer under `scope` from `in_dim` to `heads` heads of `head_dim`; `relu` applies
    /// ReLU to its output.
    fn new(scope: &Scope, in_dim: i64, heads: i64, head_dim: i64, relu: bool) -> Self;

    /// The layer's output for every destination node type of layer `layer` of `batch`, from
    /// `h`, the layer's input per node type (destinations first in each type's rows);
    /// `dropout` is DGL's `feat_drop` on those inputs.
    fn forward(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
    ) -> Result<BTreeMap<String, Tensor>>;
}

/// DGL's `GATConv(in, f, heads, feat_drop=dropout, bias=True)` as GraphStorm's `GATConv`
/// builds it (no residual, no self-loop): `z = fc(h)`, `e_uv = leaky_relu(⟨z_u, attn_l⟩ +
/// ⟨z_v, attn_r⟩)` per head, `out_v = Σ_u softmax_v(e)_uv z_u + bias`, heads concatenated,
/// then the activation (ReLU on hidden layers, none on the last).
#[derive(Debug)]
pub struct GatConv {
    /// `fc.weight`, `attn_l`, `attn_r`.
    weights: GatAttentionWeights,
    /// `bias` `[heads * f]`.
    bias: Tensor,
    heads: i64,
    head_dim: i64,
    relu: bool,
}

impl AttentionLayer for GatConv {
    type WithEdgeFeatures = crate::gat_edge::EdgeGatConv;

    /// A layer under `scope` (`<scope>.fc.weight`, `<scope>.attn_l`, `<scope>.attn_r`,
    /// `<scope>.bias`) from `in_dim` to `heads` heads of `head_dim`, initialised as DGL does
    /// (Xavier-normal with ReLU gain, zero bias). `relu` applies ReLU to the output.
    fn new(scope: &Scope, in_dim: i64, heads: i64, head_dim: i64, relu: bool) -> Self {
        GatConv {
            weights: GatAttentionWeights::new(scope, in_dim, heads, head_dim),
            bias: scope.param("bias", &[heads * head_dim], Init::Zeros),
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
    ) -> Result<BTreeMap<String, Tensor>> {
        let (heads, f) = (self.heads, self.head_dim);
        let scored = self
            .weights
            .score_nodes((batch, layer), h, dropout, (heads, f), |_| ());
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
                let (src, dst) = (block.src(), block.dst());
                Ok(ScoredEdges {
                    logits: source
                        .el
                        .index_select(0, &src)
                        .add(&er.index_select(0, &dst))
                        .leaky_relu(NEGATIVE_SLOPE),
                    values: source.z.index_select(0, &src),
                    dst,
                })
            },
            |_, y| {
                let y = &y + &self.bias;
                if self.relu { y.relu() } else { y }
            },
        )
    }
}

/// DGL's `GATv2Conv(in, f, heads, feat_drop=dropout, bias=True)` as GraphStorm's `GATv2Conv`
/// builds it (no residual, separate source and destination weights): `s = fc_src(h)`,
/// `d = fc_dst(h)` (both with bias), `e_uv = ⟨leaky_relu(s_u + d_v), attn⟩` per head,
/// `out_v = Σ_u softmax_v(e)_uv s_u`, heads concatenated, then the activation. It has no
/// output bias.
#[derive(Debug)]
pub struct GatV2Conv {
    /// `fc_src.{weight,bias}` and `fc_dst.{weight,bias}`: `[heads * f, in]` and `[heads * f]`.
    fc_src: (Tensor, Tensor),
    fc_dst: (Tensor, Tensor),
    /// `attn` `[1, heads, f]`.
    attn: Tensor,
    heads: i64,
    head_dim: i64,
    relu: bool,
}

impl AttentionLayer for GatV2Conv {
    type WithEdgeFeatures = crate::gat_edge::EdgeGatV2Conv;

    /// A layer under `scope` (`<scope>.fc_src.{weight,bias}`, `<scope>.fc_dst.{weight,bias}`,
    /// `<scope>.attn`) from `in_dim` to `heads` heads of `head_dim`, initialised as DGL does
    /// (Xavier-normal with ReLU gain, zero biases). `relu` applies ReLU to the output.
    fn new(scope: &Scope, in_dim: i64, heads: i64, head_dim: i64, relu: bool) -> Self {
        let fc_shape = [heads * head_dim, in_dim];
        let attn_shape = [1, heads, head_dim];
        let gain = Init::RELU_GAIN;
        let fc = |name: &str| {
            let s = scope.sub(name);
            (
                s.param("weight", &fc_shape, torch_xavier_normal(&fc_shape, gain)),
                s.param("bias", &[heads * head_dim], Init::Zeros),
            )
        };
        GatV2Conv {
            fc_src: fc("fc_src"),
            fc_dst: fc("fc_dst"),
            attn: scope.param("attn", &attn_shape, torch_xavier_normal(&attn_shape, gain)),
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
    ) -> Result<BTreeMap<String, Tensor>> {
        let (heads, f) = (self.heads, self.head_dim);
        let linear = |x: &Tensor, (w, b): &(Tensor, Tensor)| {
            (&x.matmul(&w.transpose(0, 1)) + b).reshape(&[-1, heads, f])
        };
        // Per node type: fc_src of all its rows and fc_dst of the layer's destinations.
        let projected = map_inputs(h, dropout, |t, x| {
            let num_dst = batch.num_dst_nodes(layer, t);
            let d = (num_dst > 0).then(|| linear(&x.narrow(0, 0, num_dst), &self.fc_dst));
            (linear(x, &self.fc_src), d)
        });
        attention_layer(
            batch,
            layer,
            (heads, f),
            |block| {
                let et = block.edge_type();
                let (s, _) = input_of(&projected, &et.src, &et)?;
                let (_, d) = input_of(&projected, &et.dst, &et)?;
                let d = d.as_ref().ok_or_else(|| no_destinations(&et))?;
                let (src, dst) = (block.src(), block.dst());
                let values = s.index_select(0, &src);
                let logits = values
                    .add(&d.index_select(0, &dst))
                    .leaky_relu(NEGATIVE_SLOPE)
                    .mul(&self.attn)
                    .sum_dim(-1, false);
                Ok(ScoredEdges {
                    dst,
                    logits,
                    values,
                })
            },
            |_, y| if self.relu { y.relu() } else { y },
        )
    }
}

/// GraphStorm's `GATEncoder` / `GATv2Encoder` after its `GSNodeEncoderInputLayer`:
/// `num-layers` attention layers of `num_heads` heads (`hidden / heads` features each,
/// concatenated; `out_emb_size / heads` in the last), ReLU and `num_ffn_layers_in_gnn` NGNN
/// layers after every layer but the last, DGL's `feat_drop` (`dropout`) on every layer's
/// input. Weights: `node_embed.*`, `gnn._layers.<l>.conv.*` and `gnn._layers.<l>.ngnn_mlp.*`.
/// GraphStorm's GAT encoders have no norm: `gnn_norm` is ignored with a warning, as GraphStorm
/// ignores it.
#[derive(Debug)]
pub struct GatEncoder<L: AttentionLayer> {
    input_projs: crate::NodeInputLayer,
    layers: GatLayers<L>,
    /// The NGNN layers after each layer (none after the last).
    ngnn: Vec<crate::encoder_options::Ngnn>,
    dropout: f64,
}

/// A [`GatEncoder`]'s layers: without edge features, or with them and GraphStorm's edge input
/// layer (`edge_embed.*`).
#[derive(Debug)]
enum GatLayers<L: AttentionLayer> {
    Plain(Vec<L>),
    EdgeFeatures(Vec<L::WithEdgeFeatures>, EdgeEncoder),
}

impl<L: AttentionLayer> GatLayers<L> {
    fn len(&self) -> usize {
        match self {
            GatLayers::Plain(layers) => layers.len(),
            GatLayers::EdgeFeatures(layers, _) => layers.len(),
        }
    }

    fn forward(
        &self,
        l: usize,
        batch: &Batch,
        h: &BTreeMap<String, Tensor>,
        dropout: f64,
    ) -> Result<BTreeMap<String, Tensor>> {
        match self {
            GatLayers::Plain(layers) => layers[l].forward(batch, l as u32, h, dropout),
            GatLayers::EdgeFeatures(layers, edges) => {
                layers[l].forward(batch, l as u32, h, dropout, edges)
            }
        }
    }
}

/// The encoder options a [`GatEncoder`] reads (`gnn_norm` only to warn that it is ignored).
pub const GAT_ENCODER_OPTIONS: &[crate::encoder_options::EncoderOption] =
    crate::encoder_options::EncoderOption::ALL;

impl<L: AttentionLayer> GatEncoder<L> {
    /// The encoder `config` describes over `schema`, or an error naming the setting that
    /// cannot be built (`model` names the plugin): `hidden-size` and `num-layers` of at
    /// least 1, `num_heads` (default 4, GraphStorm's) dividing the hidden size.
    pub fn new(
        model: &str,
        config: &crate::ModelConfig,
        schema: &crate::GraphSchema,
    ) -> Result<Self> {
        let heads = config.num_heads(model, 4)?;
        let hidden = config.gnn_hidden_size(model)?;
        schema.require_features_at_both_ends(model)?;
        let options = crate::encoder_options::EncoderOptions::from_config(config)?;
        options.check_heads(model, heads, hidden)?;
        if options.norm.is_some() {
            crate::warn!(
                "{model}: `gnn_norm` is ignored, as GraphStorm's {model} encoder ignores it \
                 (its layers have no norm)"
            );
        }
        let dropout = f64::from(config.dropout);
        let input_projs = crate::NodeInputLayer::with_options(schema, hidden, &options, dropout);
        let gnn = Scope::root().sub("gnn").sub("_layers");
        let last = config.num_layers - 1;
        let head_dim = |l: u32| options.layer_out_dim(l, config.num_layers, hidden) / heads;
        let selection = parse_selection(config.arg_or(EDGE_FEAT_NAME, ""))?;
        let layers = if selection.is_empty() {
            let layer = |l| {
                L::new(
                    &gnn.sub(l).sub("conv"),
                    hidden,
                    heads,
                    head_dim(l),
                    l != last,
                )
            };
            GatLayers::Plain((0..config.num_layers).map(layer).collect())
        } else {
            if let Some(missing) = schema
                .edge_types
                .iter()
                .find(|et| !selection.contains_key(&et.canonical_name()))
            {
                return Err(Error::unsupported(format!(
                    "edge_feat_name selects no features for edge type `{missing}`; {model} \
                     reads edge features on every edge, as GraphStorm's {model} encoder on its \
                     one edge type (hint: select a feature for every edge type, or none)"
                )));
            }
            let edges = EdgeEncoder::new(&selection, schema, hidden, &options, dropout)?;
            let layer = |l| {
                let dims = (hidden, hidden);
                L::WithEdgeFeatures::new(&gnn.sub(l), dims, heads, head_dim(l), l != last)
            };
            GatLayers::EdgeFeatures((0..config.num_layers).map(layer).collect(), edges)
        };
        let ngnn = (0..last)
            .map(|l| {
                let scope = gnn.sub(l).sub("ngnn_mlp");
                crate::encoder_options::Ngnn::new(
                    &scope,
                    hidden,
                    options.ffn_layers_in_gnn,
                    dropout,
                )
            })
            .collect();
        crate::debug!(
            "{model}: {} layers, hidden size {hidden}, {heads} heads, {} node and {} edge types",
            config.num_layers,
            schema.node_types.len(),
            schema.edge_types.len()
        );
        Ok(GatEncoder {
            input_projs,
            layers,
            ngnn,
            dropout,
        })
    }

    /// The embeddings of the batch's target nodes, per node type.
    pub fn forward(&self, batch: &Batch) -> Result<Vec<(String, Tensor)>> {
        batch.expect_layers(self.layers.len())?;
        let mut h = self.input_projs.forward(batch, batch.src_node_types(0));
        for l in 0..self.layers.len() {
            h = self.layers.forward(l, batch, &h, self.dropout)?;
            if let Some(ngnn) = self.ngnn.get(l) {
                h = h.into_iter().map(|(t, x)| (t, ngnn.forward(x))).collect();
            }
        }
        Ok(h.into_iter().collect())
    }
}

//! GraphStorm's node input layer, shared by the built-in encoders: `GSNodeEncoderInputLayer`,
//! one projection per node type with features, no bias; with `input_activate: relu` a ReLU
//! and dropout after it, and with `num_ffn_layers_in_input` NGNN layers after that. Its
//! weights are named as GraphStorm's state dict names them (`node_embed.input_projs.<ntype>`,
//! `node_embed.ngnn_mlp.<ntype>.ngnn_gnn.<i>`), so a GraphStorm `model.bin` maps onto them by
//! name.

use std::collections::BTreeMap;

use crate::encoder_options::{EncoderOptions, Ngnn};
use crate::nn::Scope;
use crate::{Batch, GraphSchema, Init, Tensor};

/// Xavier-uniform bounds as `torch.nn.init.xavier_uniform_` computes them for any rank:
/// `fan_in = shape[1] * receptive`, `fan_out = shape[0] * receptive`, `receptive` the
/// product of the dimensions after the second.
pub fn torch_xavier_uniform(shape: &[i64], gain: f64) -> Init {
    let (fan_in, fan_out) = torch_fans(shape);
    let bound = gain * (6.0 / (fan_in + fan_out) as f64).sqrt();
    Init::Uniform((-bound, bound))
}

/// `(fan_in, fan_out)` as torch's Xavier initialisers compute them for a weight of `shape`.
pub(crate) fn torch_fans(shape: &[i64]) -> (i64, i64) {
    let receptive: i64 = shape[2..].iter().product();
    (shape[1] * receptive, shape[0] * receptive)
}

/// `h0[t] = x[t] @ W[t]`, `W[t]` the `[feature-dim, hidden]` weight
/// `node_embed.input_projs.<t>` of every node type `t` with features (Xavier-uniform, ReLU
/// gain, as GraphStorm initialises it); then, as GraphStorm's options ask, `relu` and dropout
/// (`input_activate: relu`) and the node type's NGNN layers (`num_ffn_layers_in_input`).
#[derive(Debug)]
pub struct NodeInputLayer {
    projs: BTreeMap<String, Tensor>,
    /// The dropout after the ReLU, with `input_activate: relu`.
    relu_then_dropout: Option<f64>,
    /// `node_embed.ngnn_mlp.<ntype>`, with `num_ffn_layers_in_input`.
    ngnn: BTreeMap<String, Ngnn>,
}

impl NodeInputLayer {
    /// Creates the projections of `schema`'s node types with features, in schema order:
    /// GraphStorm's input layer with `input_activate` unset and no NGNN layers.
    pub fn new(schema: &GraphSchema, hidden: i64) -> Self {
        Self::with_options(schema, hidden, &EncoderOptions::default(), 0.0)
    }

    /// The input layer with GraphStorm's `input_activate` and `num_ffn_layers_in_input` from
    /// `options`; `dropout` is GraphStorm's `dropout`, which both use.
    pub fn with_options(
        schema: &GraphSchema,
        hidden: i64,
        options: &EncoderOptions,
        dropout: f64,
    ) -> Self {
        let node_embed = Scope::root().sub("node_embed");
        let with_features = || schema.node_types.iter().filter(|t| t.feature_dim > 0);
        let projs = with_features()
            .map(|t| {
                let shape = [i64::from(t.feature_dim), hidden];
                let init = torch_xavier_uniform(&shape, Init::RELU_GAIN);
                let scope = node_embed.sub("input_projs");
                (t.name.clone(), scope.param(&t.name, &shape, init))
            })
            .collect();
        let ngnn = if options.ffn_layers_in_input > 0 {
            with_features()
                .map(|t| {
                    let scope = node_embed.sub("ngnn_mlp").sub(&t.name);
                    let layers = Ngnn::new(&scope, hidden, options.ffn_layers_in_input, dropout);
                    (t.name.clone(), layers)
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        NodeInputLayer {
            projs,
            relu_then_dropout: options.input_relu.then_some(dropout),
            ngnn,
        }
    }

    /// The node types with a projection.
    pub fn node_types(&self) -> Vec<&str> {
        self.projs.keys().map(String::as_str).collect()
    }

    /// The projected input features of every type of `node_types` that has features in
    /// `batch` and a projection: one `matmul` per node type.
    pub fn forward(
        &self,
        batch: &Batch,
        node_types: impl IntoIterator<Item = String>,
    ) -> BTreeMap<String, Tensor> {
        node_types
            .into_iter()
            .filter_map(|t| {
                let x = batch.input_features(&t)?;
                let w = self.projs.get(&t)?;
                let mut h = x.matmul(w);
                if let Some(p) = self.relu_then_dropout {
                    h = h.relu().dropout(p);
                }
                if let Some(ngnn) = self.ngnn.get(&t) {
                    h = ngnn.forward(h);
                }
                Some((t, h))
            })
            .collect()
    }
}

/// The end of GraphStorm's relational layers (`RelGraphConvLayer`, `RelationalAttLayer`): a
/// node type with destination nodes in the layer but no block into it gets zeros, then every
/// destination type adds `h_v @ loop_weight` (with `use_self_loop`) and `h_bias`.
#[derive(Debug)]
pub struct SelfLoopAndBias {
    /// `loop_weight` `[in, out]`, when the layer has the self-loop.
    pub loop_weight: Option<Tensor>,
    /// `h_bias` `[out]`.
    pub h_bias: Tensor,
    /// The layer's output width.
    pub out_dim: i64,
}

impl SelfLoopAndBias {
    /// `out` (the relations' sum per destination type of layer `layer`) completed: zeros for
    /// destination types without a block, plus the self-loop of `h` (the layer's inputs) and
    /// the bias.
    pub fn apply(
        &self,
        batch: &Batch,
        layer: u32,
        h: &BTreeMap<String, Tensor>,
        mut out: BTreeMap<String, Tensor>,
    ) -> crate::Result<BTreeMap<String, Tensor>> {
        let dst_counts: BTreeMap<String, i64> = batch.dst_node_counts(layer).into_iter().collect();
        for (t, &n) in &dst_counts {
            if !out.contains_key(t) {
                out.insert(t.clone(), Tensor::zeros(&[n, self.out_dim], crate::Dtype::F32));
            }
        }
        let mut result = BTreeMap::new();
        for (t, mut y) in out {
            if let Some(loop_weight) = &self.loop_weight {
                let n = dst_counts.get(&t).copied().unwrap_or(0);
                let Some(h_dst) = h.get(&t) else {
                    return Err(crate::Error::unsupported(format!(
                        "node type `{t}` has no input features, and the self-loop needs them \
                         (hint: give it a feature with --node-feat-name, or set \
                         use_self_loop: false)"
                    )));
                };
                y = &y + &h_dst.narrow(0, 0, n).matmul(loop_weight);
            }
            result.insert(t, &y + &self.h_bias);
        }
        Ok(result)
    }
}

//! The native oracle: the built-in `sage` plugin's model (GraphStorm's input layer and
//! `SAGEEncoder` with the `pool` aggregator and ReLU) written directly against the host's
//! tensor operations.
//!
//! It creates the same weights under the same names and runs the same operations in the
//! same order as `plugins/sage` with its default arguments (see its README), so with dropout
//! off the two produce equal outputs and losses. Tests compare them; the benchmark uses it as
//! the baseline that measures what the WebAssembly boundary costs.

use std::collections::BTreeMap;

use gs_batch::{BatchData, BlockData, GraphSchema, ModelConfig};
use gs_tensor::ops::{self, Reduce};
use gs_tensor::{Init, Kind, ParamStore, Tensor, TensorError};

/// One layer's weights (`gnn._layers.<l>.conv.*`, `nn.Linear` layout `[out, in]`).
struct SageConvWeights {
    pool_weight: Tensor,
    pool_bias: Tensor,
    self_weight: Tensor,
    neigh_weight: Tensor,
}

/// GraphStorm's GraphSAGE over a batch: `node_embed.input_projs.<ntype>`, then `num_layers`
/// pool `SAGEConv`s without bias, each followed by ReLU; a heterogeneous layer read as one
/// homogeneous graph (shared weights, each destination's neighbourhood all its in-edges).
pub struct NativeSage {
    input_projs: BTreeMap<String, Tensor>,
    layers: Vec<SageConvWeights>,
    hidden: i64,
    dropout: f64,
}

const RELU_GAIN: f64 = std::f64::consts::SQRT_2;

/// The plugin's bounds: `torch.nn.init.xavier_uniform_` with the ReLU gain.
fn xavier_uniform(a: i64, b: i64) -> Init {
    let bound = RELU_GAIN * (6.0 / (a + b) as f64).sqrt();
    Init::Uniform {
        low: -bound,
        high: bound,
    }
}

impl NativeSage {
    /// Build the model's weights in `params`, named as the plugin names them.
    pub fn new(
        config: &ModelConfig,
        schema: &GraphSchema,
        params: &mut ParamStore,
    ) -> Result<Self, TensorError> {
        let hidden = i64::from(config.hidden_size);
        let mut input_projs = BTreeMap::new();
        for t in schema.node_types.iter().filter(|t| t.feature_dim > 0) {
            let dim = i64::from(t.feature_dim);
            let name = format!("node_embed.input_projs.{}", t.name);
            let w = params.get_or_create(&name, &[dim, hidden], xavier_uniform(hidden, dim))?;
            input_projs.insert(t.name.clone(), w);
        }
        let mut layers = Vec::new();
        for l in 0..config.num_layers {
            let scope = format!("gnn._layers.{l}.conv");
            let bound = 1.0 / (hidden as f64).sqrt();
            let mut weight = |name: &str, shape: &[i64], init: Init| {
                params.get_or_create(&format!("{scope}.{name}"), shape, init)
            };
            layers.push(SageConvWeights {
                pool_weight: weight(
                    "fc_pool.weight",
                    &[hidden, hidden],
                    xavier_uniform(hidden, hidden),
                )?,
                pool_bias: weight(
                    "fc_pool.bias",
                    &[hidden],
                    Init::Uniform {
                        low: -bound,
                        high: bound,
                    },
                )?,
                self_weight: weight(
                    "fc_self.weight",
                    &[hidden, hidden],
                    xavier_uniform(hidden, hidden),
                )?,
                neigh_weight: weight(
                    "fc_neigh.weight",
                    &[hidden, hidden],
                    xavier_uniform(hidden, hidden),
                )?,
            });
        }
        Ok(Self {
            input_projs,
            layers,
            hidden,
            dropout: f64::from(config.dropout),
        })
    }

    /// Embeddings of the last layer's destination nodes per node type.
    pub fn forward(
        &self,
        batch: &BatchData,
        train: bool,
    ) -> Result<Vec<(String, Tensor)>, TensorError> {
        if batch.layers.len() != self.layers.len() {
            return Err(TensorError::new(
                "native-sage",
                format!(
                    "batch has {} layers, model {}",
                    batch.layers.len(),
                    self.layers.len()
                ),
            ));
        }
        let mut h: BTreeMap<String, Tensor> = BTreeMap::new();
        for t in batch.layers[0].num_src.keys() {
            if let (Some(x), Some(w)) = (batch.input_features.get(t), self.input_projs.get(t)) {
                h.insert(t.clone(), ops::matmul(x, w)?);
            }
        }
        for (l, w) in self.layers.iter().enumerate() {
            h = self.layer(&batch.layers[l], w, &h, train)?;
        }
        Ok(h.into_iter().collect())
    }

    /// One layer, as the plugin's `GraphSageConv::forward` and its ReLU.
    fn layer(
        &self,
        layer: &gs_batch::LayerData,
        w: &SageConvWeights,
        h: &BTreeMap<String, Tensor>,
        train: bool,
    ) -> Result<BTreeMap<String, Tensor>, TensorError> {
        let x: BTreeMap<String, Tensor> = if self.dropout > 0.0 {
            h.iter()
                .map(|(t, x)| Ok((t.clone(), ops::dropout(x, self.dropout, train)?)))
                .collect::<Result<_, TensorError>>()?
        } else {
            h.iter()
                .map(|(t, x)| (t.clone(), x.shallow_clone()))
                .collect()
        };
        let mut pooled = BTreeMap::new();
        for (t, x) in &x {
            let m = ops::linear(x, &w.pool_weight, Some(&w.pool_bias))?;
            pooled.insert(t.clone(), ops::relu(&m)?);
        }
        let mut into: BTreeMap<&str, Vec<&BlockData>> = BTreeMap::new();
        for b in layer
            .blocks
            .iter()
            .filter(|b| b.num_dst > 0 && b.num_src > 0)
        {
            into.entry(&b.dst_type).or_default().push(b);
        }
        let missing = |t: &str| TensorError::new("native-sage", format!("no inputs of `{t}`"));
        let mut out = BTreeMap::new();
        for (t, &n) in layer.num_dst.iter().filter(|(_, n)| **n > 0) {
            let source =
                |b: &BlockData| pooled.get(&b.src_type).ok_or_else(|| missing(&b.src_type));
            let blocks = into.remove(t.as_str()).unwrap_or_default();
            let neigh = if blocks.is_empty() {
                ops::zeros(&[n, self.hidden], Kind::Float, w.self_weight.device())?
            } else {
                let parts = blocks
                    .iter()
                    .map(|&b| Ok((b, source(b)?)))
                    .collect::<Result<Vec<_>, TensorError>>()?;
                gs_batch::aggregate_blocks(&parts, n, Reduce::Max)?
            };
            let h_self = ops::narrow(x.get(t).ok_or_else(|| missing(t))?, 0, 0, n)?;
            let y = ops::add(
                &ops::linear(&h_self, &w.self_weight, None)?,
                &ops::linear(&neigh, &w.neigh_weight, None)?,
            )?;
            out.insert(t.clone(), ops::relu(&y)?);
        }
        Ok(out)
    }
}

//! The native oracle: the built-in `sage` plugin's model written directly against the
//! host's tensor operations.
//!
//! It creates the same weights under the same names and runs the same operations in the
//! same order as `plugins/sage` (see its README), so with dropout off the two produce equal
//! outputs and losses. Tests compare them; the benchmark uses it as the baseline that
//! measures what the WebAssembly boundary costs.

use std::collections::BTreeMap;

use gs_batch::{BatchData, GraphSchema, ModelConfig};
use gs_tensor::ops::{self, Reduce};
use gs_tensor::{Init, Kind, ParamStore, Tensor, TensorError};

struct SageConvWeights {
    self_weight: Tensor,
    self_bias: Tensor,
    neigh_weight: Tensor,
}

/// Heterogeneous GraphSAGE (mean aggregator, averaged over the edge types into each node
/// type), `num_layers` layers, ReLU and dropout between.
pub struct NativeSage {
    /// Per layer, per canonical edge type `src:rel:dst`.
    layers: Vec<BTreeMap<String, SageConvWeights>>,
    hidden: i64,
    dropout: f64,
}

const RELU_GAIN: f64 = std::f64::consts::SQRT_2;

impl NativeSage {
    /// Build the model's weights in `params`, named as the plugin names them.
    pub fn new(
        config: &ModelConfig,
        schema: &GraphSchema,
        params: &mut ParamStore,
    ) -> Result<Self, TensorError> {
        let hidden = i64::from(config.hidden_size);
        let dim = |node_type: &str| -> Result<i64, TensorError> {
            schema
                .node_types
                .iter()
                .find(|n| n.name == node_type)
                .map(|n| i64::from(n.feature_dim))
                .ok_or_else(|| {
                    TensorError::new("native-sage", format!("unknown node type `{node_type}`"))
                })
        };
        let weight_init = Init::XavierUniform { gain: RELU_GAIN };
        let mut layers = Vec::new();
        for layer in 0..config.num_layers {
            let mut convs = BTreeMap::new();
            for e in &schema.edge_types {
                let key = format!("{}:{}:{}", e.src, e.rel, e.dst);
                let (in_src, in_dst) = if layer == 0 {
                    (dim(&e.src)?, dim(&e.dst)?)
                } else {
                    (hidden, hidden)
                };
                let scope = format!("layers.{layer}.{key}");
                let self_weight = params.get_or_create(
                    &format!("{scope}.fc_self.weight"),
                    &[in_dst, hidden],
                    weight_init,
                )?;
                let self_bias = params.get_or_create(
                    &format!("{scope}.fc_self.bias"),
                    &[hidden],
                    Init::Zeros,
                )?;
                let neigh_weight = params.get_or_create(
                    &format!("{scope}.fc_neigh.weight"),
                    &[in_src, hidden],
                    weight_init,
                )?;
                convs.insert(
                    key,
                    SageConvWeights {
                        self_weight,
                        self_bias,
                        neigh_weight,
                    },
                );
            }
            layers.push(convs);
        }
        Ok(Self {
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
        let mut h: BTreeMap<String, Tensor> = batch.layers[0]
            .num_src
            .keys()
            .filter_map(|t| {
                batch
                    .input_features
                    .get(t)
                    .map(|x| (t.clone(), x.shallow_clone()))
            })
            .collect();
        let last = self.layers.len() - 1;
        for (l, convs) in self.layers.iter().enumerate() {
            let layer = &batch.layers[l];
            let mut out: BTreeMap<String, Tensor> = BTreeMap::new();
            let mut blocks_into: BTreeMap<&str, u32> = BTreeMap::new();
            for block in &layer.blocks {
                let key = format!("{}:{}:{}", block.src_type, block.rel, block.dst_type);
                let w = convs.get(&key).ok_or_else(|| {
                    TensorError::new("native-sage", format!("no weights for edge type `{key}`"))
                })?;
                let missing = |t: &str| {
                    TensorError::new("native-sage", format!("no representations of `{t}`"))
                };
                let h_src = h
                    .get(&block.src_type)
                    .ok_or_else(|| missing(&block.src_type))?;
                let h_dst = h
                    .get(&block.dst_type)
                    .ok_or_else(|| missing(&block.dst_type))?;
                let h_self = ops::narrow(h_dst, 0, 0, block.num_dst)?;
                let h_neigh = block.grouped_in_edges()?.aggregate(h_src, Reduce::Mean)?;
                let y_self = ops::add(&ops::matmul(&h_self, &w.self_weight)?, &w.self_bias)?;
                let y = ops::add(&y_self, &ops::matmul(&h_neigh, &w.neigh_weight)?)?;
                let sum = match out.remove(&block.dst_type) {
                    Some(acc) => ops::add(&acc, &y)?,
                    None => y,
                };
                out.insert(block.dst_type.clone(), sum);
                *blocks_into.entry(&block.dst_type).or_default() += 1;
            }
            // The mean over the edge types into each node type (the plugin's
            // `CrossReduce::Mean`): the sum times 1/n where more than one block reached it.
            for (node_type, n) in blocks_into {
                if n > 1 {
                    let mean = ops::mul_scalar(&out[node_type], 1.0 / f64::from(n))?;
                    out.insert(node_type.to_string(), mean);
                }
            }
            for (node_type, &rows) in &layer.num_dst {
                if !out.contains_key(node_type) {
                    out.insert(
                        node_type.clone(),
                        ops::zeros(&[rows, self.hidden], Kind::Float, h_device(&h))?,
                    );
                }
            }
            h = if l == last {
                out
            } else {
                out.into_iter()
                    .map(|(t, x)| Ok((t, ops::dropout(&ops::relu(&x)?, self.dropout, train)?)))
                    .collect::<Result<_, TensorError>>()?
            };
        }
        Ok(h.into_iter().collect())
    }
}

fn h_device(h: &BTreeMap<String, Tensor>) -> gs_tensor::Device {
    h.values()
        .next()
        .map_or(gs_tensor::Device::Cpu, Tensor::device)
}

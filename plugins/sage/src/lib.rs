//! `sage`, gs's built-in GraphSAGE model (mean aggregator) for node classification and
//! regression and, through the host's edge decoder, edge classification and regression, written
//! only with `gs-plugin-sdk`. The architecture is fixed so that the host can build a
//! bit-identical native oracle: see this crate's README, which states it op by op.

use std::collections::BTreeMap;

use gs_plugin_sdk::prelude::*;

/// The aggregators `--aggregator` accepts.
const AGGREGATORS: &[&str] = &["mean"];

/// The activations `--activation` accepts.
const ACTIVATIONS: &[&str] = &["relu", "elu", "leaky_relu", "sigmoid", "tanh"];

/// The activation between layers.
#[derive(Clone, Copy, Debug)]
enum Activation {
    Relu,
    Elu,
    LeakyRelu,
    Sigmoid,
    Tanh,
}

impl Activation {
    /// One of [`ACTIVATIONS`].
    fn from_name(name: &str) -> Self {
        match name {
            "relu" => Activation::Relu,
            "elu" => Activation::Elu,
            "leaky_relu" => Activation::LeakyRelu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            other => unreachable!("`{other}` is not in ACTIVATIONS"),
        }
    }

    fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::Elu => x.elu(1.0),
            Activation::LeakyRelu => x.leaky_relu(0.01),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// `num_layers` heterogeneous GraphSAGE layers (a `SAGEConv` per edge type, averaged over the
/// edge types into each node type); activation and dropout between them.
struct Sage {
    layers: Vec<HeteroSageConv>,
    activation: Activation,
    dropout: f64,
}

impl Model for Sage {
    fn info() -> Info {
        Info::new("sage", env!("CARGO_PKG_VERSION"))
            .task(Task::NodeClassification)
            .task(Task::NodeRegression)
            // `forward` is task-agnostic: for edge tasks and link prediction the host decodes
            // the target edges (and negative pairs) from the endpoints' embeddings.
            .task(Task::EdgeClassification)
            .task(Task::EdgeRegression)
            .task(Task::LinkPrediction)
            .hyper_param(
                "aggregator",
                "mean",
                "How a node aggregates its neighbours' representations. Supported: mean.",
            )
            .hyper_param(
                "activation",
                "relu",
                "The activation after every layer but the last. \
                 Supported: relu, elu, leaky_relu, sigmoid, tanh.",
            )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        config.choice("aggregator", "mean", AGGREGATORS)?;
        let activation = Activation::from_name(config.choice("activation", "relu", ACTIVATIONS)?);
        if config.num_layers == 0 {
            return Err(Error::invalid_argument(
                "sage needs `num-layers` of at least 1",
            ));
        }
        if config.hidden_size == 0 {
            return Err(Error::invalid_argument(
                "sage needs `hidden-size` of at least 1",
            ));
        }
        schema.feature_dim(&config.target_node_type)?;
        for edge_type in &schema.edge_types {
            for node_type in [&edge_type.src, &edge_type.dst] {
                if schema.feature_dim(node_type)? == 0 {
                    return Err(Error::unsupported(format!(
                        "node type `{node_type}` (in edge type `{edge_type}`) has no input \
                         features, and sage needs features on every node type of an edge type \
                         (hint: give `{node_type}` a feature in gconstruct)"
                    )));
                }
            }
        }

        let hidden = i64::from(config.hidden_size);
        let layers_scope = Scope::root().sub("layers");
        let layers = (0..config.num_layers)
            .map(|layer| {
                let scope = layers_scope.sub(layer);
                let conv = if layer == 0 {
                    HeteroSageConv::new(
                        &scope,
                        &schema.edge_types,
                        |t| schema.feature_dim(t),
                        hidden,
                    )
                } else {
                    HeteroSageConv::new(&scope, &schema.edge_types, |_| Ok(hidden), hidden)
                };
                // The mean over the edge types into a node type, not their sum: with a sum,
                // a node type that three edge types reach gets three self terms and the
                // output scale grows with the number of relations in every layer.
                conv.map(|c| c.with_cross_reduce(CrossReduce::Mean))
            })
            .collect::<Result<Vec<_>>>()?;
        gs_plugin_sdk::debug!(
            "sage: {} layers over {} edge types, hidden size {hidden}",
            layers.len(),
            schema.edge_types.len()
        );
        Ok(Sage {
            layers,
            activation,
            dropout: f64::from(config.dropout),
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        batch.expect_layers(self.layers.len())?;
        let mut h: BTreeMap<String, Tensor> = batch
            .src_node_types(0)
            .into_iter()
            .filter_map(|t| batch.input_features(&t).map(|x| (t, x)))
            .collect();
        let last = self.layers.len() - 1;
        for (layer, conv) in self.layers.iter().enumerate() {
            let out = conv.forward(batch, layer as u32, &h)?;
            h = if layer == last {
                out
            } else {
                out.into_iter()
                    .map(|(t, x)| (t, self.activation.apply(&x).dropout(self.dropout)))
                    .collect()
            };
        }
        Ok(h.into_iter().collect())
    }
}

gs_plugin_sdk::export_model!(Sage);

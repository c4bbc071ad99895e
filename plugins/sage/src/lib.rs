//! `sage`, gs's built-in GraphSAGE with GraphStorm's semantics (`model_encoder_type: sage`,
//! GraphStorm's `SAGEEncoder` after its `GSNodeEncoderInputLayer`): a per-node-type input
//! projection, then `num-layers` DGL `SAGEConv`s with the `pool` aggregator and no bias, the
//! activation after every layer (the last one included, as GraphStorm's), DGL's `feat_drop`
//! on every layer's input. GraphStorm runs `sage` on homogeneous graphs only; gs also runs it on
//! heterogeneous ones, read as one homogeneous graph (see `gs_plugin_sdk::sage`). Its weights
//! are named after GraphStorm's state-dict keys; the architecture is fixed so that the host can
//! build a bit-identical native oracle: see this crate's README, which states it op by op.

use std::collections::BTreeMap;

use gs_plugin_sdk::prelude::*;
use gs_plugin_sdk::sage::{GraphSageConv, SageAggregator};

/// The aggregators `--aggregator` accepts: GraphStorm's `pool` (the default) and `mean`.
const AGGREGATORS: &[&str] = &["pool", "mean"];

/// The activations `--activation` accepts.
const ACTIVATIONS: &[&str] = &["relu", "elu", "leaky_relu", "sigmoid", "tanh"];

/// The activation after every layer.
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

/// GraphStorm's `GSNodeEncoderInputLayer` (features only) and `SAGEEncoder`.
struct Sage {
    /// `node_embed.input_projs.<ntype>`, GraphStorm's input layer.
    input_projs: NodeInputLayer,
    /// `gnn._layers.<l>.conv.*`.
    layers: Vec<GraphSageConv>,
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
                "pool",
                "How a node aggregates its neighbours' representations: pool is GraphStorm's, \
                 the max of relu(fc_pool(h_u)). Supported: pool, mean.",
            )
            .hyper_param(
                "activation",
                "relu",
                "The activation after every layer (GraphStorm's is relu). \
                 Supported: relu, elu, leaky_relu, sigmoid, tanh.",
            )
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let aggregator = config.choice("aggregator", "pool", AGGREGATORS)?;
        let aggregator = SageAggregator::from_name(aggregator).expect("one of AGGREGATORS");
        let activation = Activation::from_name(config.choice("activation", "relu", ACTIVATIONS)?);
        let hidden = config.gnn_hidden_size("sage")?;
        schema.feature_dim(&config.target_node_type)?;
        schema.require_features_at_both_ends("sage")?;

        let input_projs = NodeInputLayer::new(schema, hidden);
        let gnn = Scope::root().sub("gnn").sub("_layers");
        let layers = (0..config.num_layers)
            .map(|l| GraphSageConv::new(&gnn.sub(l).sub("conv"), hidden, hidden, aggregator))
            .collect();
        gs_plugin_sdk::debug!(
            "sage: {} layers ({aggregator:?}) over {} node and {} edge types, hidden size \
             {hidden}",
            config.num_layers,
            schema.node_types.len(),
            schema.edge_types.len()
        );
        Ok(Sage {
            input_projs,
            layers,
            activation,
            dropout: f64::from(config.dropout),
        })
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        batch.expect_layers(self.layers.len())?;
        let mut h: BTreeMap<String, Tensor> =
            self.input_projs.forward(batch, batch.src_node_types(0));
        for (l, conv) in self.layers.iter().enumerate() {
            h = conv
                .forward(batch, l as u32, &h, self.dropout)?
                .into_iter()
                .map(|(t, x)| (t, self.activation.apply(&x)))
                .collect();
        }
        Ok(h.into_iter().collect())
    }
}

gs_plugin_sdk::export_model!(Sage);

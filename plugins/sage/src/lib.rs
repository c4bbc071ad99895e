//! `sage`, gs's built-in GraphSAGE with GraphStorm's semantics (`model_encoder_type: sage`,
//! GraphStorm's `SAGEEncoder` after its `GSNodeEncoderInputLayer`): a per-node-type input
//! projection, then `num-layers` DGL `SAGEConv`s with the `pool` aggregator and no bias, the
//! activation after every layer (the last one included, as GraphStorm's), DGL's `feat_drop`
//! on every layer's input. GraphStorm runs `sage` on homogeneous graphs only; gs also runs it on
//! heterogeneous ones, read as one homogeneous graph (see `gs_plugin_sdk::sage`). Its weights
//! are named after GraphStorm's state-dict keys; the architecture is fixed so that the host can
//! build a bit-identical native oracle: see this crate's README, which states it op by op.

use std::collections::BTreeMap;

use gs_plugin_sdk::edge_feat::{EDGE_FEAT_NAME, EdgeEncoder, parse_selection};
use gs_plugin_sdk::prelude::*;
use gs_plugin_sdk::sage::{GraphSageConv, SageAggregator};

/// The aggregators `--aggregator` accepts: GraphStorm's `pool` (the default) and `mean`.
const AGGREGATORS: &[&str] = &["pool", "mean"];

/// GraphStorm's `GSNodeEncoderInputLayer` and `SAGEEncoder`.
struct Sage {
    /// `node_embed.input_projs.<ntype>`, GraphStorm's input layer.
    input_projs: NodeInputLayer,
    /// `gnn._layers.<l>.conv.*` (`gnn._layers.<l>.*` with edge features).
    layers: Vec<GraphSageConv>,
    /// Norm (hidden layers, `gnn_norm: layer`), the activation and NGNN after each layer.
    ends: Vec<HiddenLayerEnd>,
    /// `edge_embed.*` with edge features (`edge_feat_name`): the layers are then GraphStorm's
    /// `SAGEConvWithEdgeFeat`.
    edge_encoder: Option<EdgeEncoder>,
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
            .edge_features(false)
            .encoder_options(EncoderOption::ALL)
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        let aggregator = config.choice("aggregator", "pool", AGGREGATORS)?;
        let aggregator = SageAggregator::from_name(aggregator).expect("one of AGGREGATORS");
        let activation = config.choice("activation", "relu", Activation::NAMES)?;
        let activation = Activation::from_name(activation).expect("one of Activation::NAMES");
        let hidden = config.gnn_hidden_size("sage")?;
        schema.feature_dim(&config.target_node_type)?;
        schema.require_features_at_both_ends("sage")?;

        let options = EncoderOptions::from_config(config)?;
        let dropout = f64::from(config.dropout);
        let input_projs = NodeInputLayer::with_options(schema, hidden, &options, dropout);
        let gnn = Scope::root().sub("gnn").sub("_layers");
        let num_layers = config.num_layers;
        let edge_encoder = edge_encoder(config, schema, hidden, &options)?;
        let layers = (0..num_layers)
            .map(|l| {
                let out_dim = options.layer_out_dim(l, num_layers, hidden);
                if edge_encoder.is_some() {
                    let dims = (hidden, hidden);
                    GraphSageConv::with_edge_features(&gnn.sub(l), dims, out_dim, aggregator)
                } else {
                    GraphSageConv::new(&gnn.sub(l).sub("conv"), hidden, out_dim, aggregator)
                }
            })
            .collect();
        // GraphStorm's SAGEConv: norm on the hidden layers only; the activation and the NGNN
        // layers after every layer, the last included; no dropout after it (DGL's feat_drop
        // drops the next layer's input).
        let ends = (0..num_layers)
            .map(|l| {
                let out_dim = options.layer_out_dim(l, num_layers, hidden);
                let norm = options
                    .norm
                    .filter(|_| l + 1 < num_layers)
                    .map(|kind| (kind, NormKeys::Shared("norm")));
                let ffn = options.ffn_layers_in_gnn;
                HiddenLayerEnd::new(&gnn.sub(l), out_dim, norm, Some(activation), ffn, dropout)
                    .without_dropout()
            })
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
            ends,
            edge_encoder,
            dropout,
        })
    }

    fn forward(&self, batch: &Batch, mode: Mode) -> Result<Vec<(String, Tensor)>> {
        batch.expect_layers(self.layers.len())?;
        let mut h: BTreeMap<String, Tensor> =
            self.input_projs.forward(batch, batch.src_node_types(0));
        for (l, (conv, end)) in self.layers.iter().zip(&self.ends).enumerate() {
            let layer = l as u32;
            h = match &self.edge_encoder {
                None => end.apply_all(conv.forward(batch, layer, &h, self.dropout)?, mode),
                Some(edges) => conv
                    .forward_with_edges(batch, layer, &h, self.dropout, edges)?
                    .into_iter()
                    .map(|(t, y)| {
                        // SAGEConvWithEdgeFeat activates and normalises inside the layer,
                        // then once more, as GraphStorm 0.5.1 does.
                        let y = match end.activation() {
                            Some(activation) => activation.apply(&y),
                            None => y,
                        };
                        let y = end.normalize(&t, y, mode);
                        let y = end.apply(&t, y, mode);
                        (t, y)
                    })
                    .collect(),
            };
        }
        Ok(h.into_iter().collect())
    }
}

/// GraphStorm's edge input layer for `edge_feat_name`, or `None` without edge features; an
/// error unless every edge type has features (GraphStorm's sage runs on one edge type).
fn edge_encoder(
    config: &ModelConfig,
    schema: &GraphSchema,
    hidden: i64,
    options: &EncoderOptions,
) -> Result<Option<EdgeEncoder>> {
    let selection = parse_selection(config.arg_or(EDGE_FEAT_NAME, ""))?;
    if selection.is_empty() {
        return Ok(None);
    }
    if let Some(missing) = schema
        .edge_types
        .iter()
        .find(|et| !selection.contains_key(&et.canonical_name()))
    {
        return Err(Error::unsupported(format!(
            "edge_feat_name selects no features for edge type `{missing}`; sage reads edge \
             features on every edge, as GraphStorm's sage encoder on its one edge type (hint: \
             select a feature for every edge type, or none)"
        )));
    }
    let dropout = f64::from(config.dropout);
    EdgeEncoder::new(&selection, schema, hidden, options, dropout).map(Some)
}

gs_plugin_sdk::export_model!(Sage);

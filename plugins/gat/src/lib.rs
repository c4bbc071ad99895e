//! `gat`, gs's built-in graph attention network with GraphStorm's semantics
//! (`model_encoder_type: gat`, GraphStorm's `GATEncoder` over DGL's `GATConv`): a per-node-type
//! input projection, then `num-layers` attention layers of `num_heads` heads with a bias,
//! ReLU between layers and none after the last. GraphStorm accepts `gat` on homogeneous graphs
//! only; gs also runs it on a heterogeneous graph, read as the homogeneous graph of all its node
//! and edge types (one set of attention weights; each node's softmax over all its in-edges).
//! The weights are named after GraphStorm's state-dict keys, so a GraphStorm `model.bin` maps
//! onto them one to one. With `edge_feat_name` (on every edge type) the layers are GraphStorm's
//! edge-feature variants, and GraphStorm's encoder options act as in its encoder. This crate's
//! README states the computation and the key mapping.

use gs_plugin_sdk::prelude::*;

/// GraphStorm's `GSNodeEncoderInputLayer` (features only) and `GATEncoder`.
struct Gat(GatEncoder<GatConv>);

impl Model for Gat {
    fn info() -> Info {
        Info::new("gat", env!("CARGO_PKG_VERSION"))
            .all_tasks()
            .hyper_param(
                "num_heads",
                "4",
                "GraphStorm key `num_heads` (`--num-heads`): attention heads of every layer; it \
                 must divide the hidden size.",
            )
            .edge_features(false)
            .encoder_options(gs_plugin_sdk::gat::GAT_ENCODER_OPTIONS)
    }

    fn init(config: &ModelConfig, schema: &GraphSchema) -> Result<Self> {
        GatEncoder::new("gat", config, schema).map(Gat)
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        self.0.forward(batch)
    }
}

gs_plugin_sdk::export_model!(Gat);

//! `gatv2`, gs's built-in GATv2 network with GraphStorm's semantics
//! (`model_encoder_type: gatv2`, GraphStorm's `GATv2Encoder` over DGL's `GATv2Conv`): a
//! per-node-type input projection, then `num-layers` attention layers of `num_heads` heads
//! whose scores see the source and the destination together (`⟨leaky_relu(W_s h_u + W_d h_v),
//! a⟩`), ReLU between layers and none after the last. GraphStorm accepts `gatv2` on
//! homogeneous graphs only; gs also runs it on a heterogeneous graph, read as the homogeneous
//! graph of all its node and edge types. The weights are named after GraphStorm's state-dict
//! keys, so a GraphStorm `model.bin` maps onto them one to one. With `edge_feat_name` (on every
//! edge type) the layers are GraphStorm's `GATv2ConvWithEdgeFeat`, and GraphStorm's encoder
//! options act as in its encoder. This crate's README states the computation and the key
//! mapping.

use gs_plugin_sdk::prelude::*;

/// GraphStorm's `GSNodeEncoderInputLayer` (features only) and `GATv2Encoder`.
struct GatV2(GatEncoder<GatV2Conv>);

impl Model for GatV2 {
    fn info() -> Info {
        Info::new("gatv2", env!("CARGO_PKG_VERSION"))
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
        GatEncoder::new("gatv2", config, schema).map(GatV2)
    }

    fn forward(&self, batch: &Batch, _mode: Mode) -> Result<Vec<(String, Tensor)>> {
        self.0.forward(batch)
    }
}

gs_plugin_sdk::export_model!(GatV2);
